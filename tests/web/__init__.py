"""Tests of mapper.web."""
