"""Raw AIS in, ordinary ``vessel_movement`` events out (issue 13).

One job per module: ``settings`` (thresholds and their sources), ``records`` (the few decoded
fields derivation reads), ``nmea`` (NMEA AIVDM/AIVDO via pyais, lazily), ``json_input`` (decoded
position/static JSON), ``mid`` (flag from the MMSI's MID), ``ports`` (port geofences), ``state``
(bounded per-MMSI state), ``derive`` (port calls, STS encounters, gaps, identity changes),
``emit`` (derived behaviour -> v1 event with provenance), ``batches`` (raw batches stored before
anything is queued), ``tasks`` (the ``ais`` Celery queue), ``synthetic`` (NMEA test tracks),
``cli`` (``sanctions ais ...``).
"""
