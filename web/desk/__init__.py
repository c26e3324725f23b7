"""The review desk: alert workflow (states, assignment, four eyes), audit trail, dashboard."""
