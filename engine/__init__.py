"""Sanctions-compliance rule engine."""

__version__ = "0.1.0"
