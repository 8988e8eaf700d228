"""Vietnamese administrative-procedure assistant."""

__version__ = "0.1.0"
