"""Tests of mapper.api."""
