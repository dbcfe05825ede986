"""mtcheck: sentence-level quality checking of machine-translated news copy."""

__version__ = "0.1.0"
