"""Tests of mapper.core."""
