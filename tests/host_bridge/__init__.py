"""Tests of host_bridge/."""
