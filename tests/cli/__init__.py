"""Tests of mapper.cli."""
