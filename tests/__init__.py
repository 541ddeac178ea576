"""Tests, mirroring the package layout; shared helpers live in tests/helpers (an importable package)."""
