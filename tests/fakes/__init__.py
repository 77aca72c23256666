"""Shared test fakes, each named as a fake (import as ``fakes.<module>``: tests/ is on sys.path)."""
