"""Tests of mapper.io."""
