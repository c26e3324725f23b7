"""Accounts, roles, login and API keys of the web app.

- ``roles_required(*roles)`` decorates every view with the roles allowed to use it.
- ``create_demo_accounts()`` (web.auth.accounts) makes one demo user per role for `make run`.
- ``enforce_api_key`` (web.auth.apikeys) guards ``/api/*`` with scoped, hashed API keys.
"""

from __future__ import annotations
