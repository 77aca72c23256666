"""tradeplat: the reference trading platform tradestorm tests (see platform/README.md)."""

__version__ = "1.0.0"
