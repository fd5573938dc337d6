"""Lambda sources and helpers for the emulator's own tests (tests/unit/test_emulator_*.py)."""
