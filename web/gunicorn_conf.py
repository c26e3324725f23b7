"""gunicorn settings for the web app (``gunicorn -c python:web.gunicorn_conf 'web:create_app()'``).

gunicorn writes ``Server: gunicorn`` on every response and has no setting to leave it out; it
names the software to every scanner, so this drops that one line from its default headers.
"""

from __future__ import annotations

from gunicorn.http import wsgi

_default_headers = wsgi.Response.default_headers


def _without_server(self: wsgi.Response) -> list[str]:
    return [h for h in _default_headers(self) if not h.lower().startswith("server:")]


wsgi.Response.default_headers = _without_server


def post_fork(server: object, worker: object) -> None:
    """Each web worker runs the cyclic collector less often, as the pipeline's worker does
    (engine.gc_tuning): the app, its caches and the screening index are long-lived."""
    from engine.gc_tuning import set_long_lived_thresholds

    set_long_lived_thresholds()
