"""Notifications (issue 14): signed webhooks and e-mail on new critical cases, on approvals
requested and on SLA breaches.

``events`` writes the outbox (``notifications``) in the transaction of the change that caused
it; ``dispatch`` fans each notification out to the subscribed webhook endpoints and e-mail, and
delivers with retries, exponential backoff and jitter, logging every attempt; ``signing`` is the
``X-Sanctions-Signature`` scheme (docs/NOTIFICATIONS.md); ``webhook`` and ``mail`` send one
attempt; ``sla`` finds cases gone overdue (once per case); ``endpoints`` and ``routing`` are what
admins keep; ``settings`` the environment; ``journal`` puts endpoint records in the audit journal.
"""
