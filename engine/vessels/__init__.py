"""Vessel memory: profiles built from stored events (profile.py), history facts for the rules'
``vessel_history`` conditions (history.py), watched areas for AIS gaps (areas.py)."""
