"""Normalisers for messy upstream values (countries, UN/LOCODEs, units, HS codes, dates).

Each returns the canonical v1 value and what it assumed, or None when the value cannot be read;
``engine.models.intake`` applies them and records every interpretation as a data-quality finding.
"""
