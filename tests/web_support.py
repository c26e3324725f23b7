"""Set-up shared by the desk's page tests: the app, clients logged in as a role with the CSRF
token of their session, and form posts that carry it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def desk_app(**config: Any) -> Any:
    """The web app under test (the ``db`` fixture must be active)."""
    from web import create_app

    return create_app({"TESTING": True, **config})


def csrf_token(html: str) -> str:
    """The CSRF token of a page (every page of a logged-in user carries one: the logout form)."""
    found = _CSRF.search(html)
    assert found is not None, "no csrf_token on the page"
    return found.group(1)


def logged_in(
    app: Any,
    login_as: Callable[..., str],
    role: str,
    username: str | None = None,
    page: str = "/alerts",
) -> Any:
    """A test client logged in as (role, username), with its session's CSRF token as ``.token``."""
    client = app.test_client()
    login_as(client, role, username)
    client.token = csrf_token(client.get(page).get_data(as_text=True))
    return client


def post_form(client: Any, url: str, follow_redirects: bool = False, **data: Any) -> Any:
    """POST a form with the client's CSRF token."""
    return client.post(
        url, data={"csrf_token": client.token, **data}, follow_redirects=follow_redirects
    )
