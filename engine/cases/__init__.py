"""Cases: what an officer works instead of a pile of alerts (issue 14).

A flagged event opens one case holding its alerts; a later event about the same vessel (IMO),
party or list entry joins the open case as a linked occurrence. ``filing`` files new alerts,
``keys`` says what an event is about, ``actions`` merges, splits and closes cases.
"""
