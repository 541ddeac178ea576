"""Tests of the layering itself."""
