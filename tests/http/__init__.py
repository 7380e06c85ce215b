"""Tests of mapper.http."""
