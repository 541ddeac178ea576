"""Tests of presets/."""
