"""Tests of mapper.store."""
