"""Flask application factory. The web app reads the store; it never evaluates rules.

Security defaults (see docs/WEB.md): every page needs a logged-in user with the right role
(web.auth.access), every form carries a CSRF token (Flask-WTF), ``/api/*`` needs a scoped API key
(web.auth.apikeys), and every response carries CSP and related headers.

Session cookies are Secure by default; for local plain-http use set ``SANCTIONS_COOKIE_SECURE=0``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from flask import Flask


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    from engine.config import get_settings

    settings = get_settings()
    app = Flask(__name__)
    from web.json_provider import StrictJSONProvider

    app.json = StrictJSONProvider(app)
    app.config.update(
        SECRET_KEY=settings.secret_key or _persistent_secret(settings),
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
        SESSION_COOKIE_SECURE=_env_flag("SANCTIONS_COOKIE_SECURE", True),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="sanctions_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        # CSRF is checked by our own before_request (pages only; the API authenticates by key).
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    if config:
        app.config.update(config)
    app.jinja_env.autoescape = True  # also for templates not named .html (belt and braces)
    from engine.models.decisions import citation_text

    # {{ c|citation }} / {{ c|citation(spelled_out=True) }}: the engine's one written form.
    app.add_template_filter(citation_text, "citation")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    _install_security(app)

    # Blueprints (each area registers its own here).
    from web.alerts import alerts_bp
    from web.auth.admin_views import admin_bp
    from web.auth.views import auth_bp
    from web.desk.dashboard import dashboard_bp
    from web.desk.views import desk_bp

    for bp in (auth_bp, alerts_bp, desk_bp, dashboard_bp, admin_bp):
        app.register_blueprint(bp)
    from web.api import api_bp

    app.register_blueprint(api_bp)
    from web.cases_views import cases_bp

    app.register_blueprint(cases_bp)
    from web.allowlist_views import allowlist_bp

    app.register_blueprint(allowlist_bp)
    from web.approvals_views import approvals_bp

    app.register_blueprint(approvals_bp)
    from web.snoozes_views import snoozes_bp

    app.register_blueprint(snoozes_bp)
    from web.lists_views import lists_bp

    app.register_blueprint(lists_bp)
    from web.rules_views import rules_bp

    app.register_blueprint(rules_bp)
    from web.replays_views import replays_bp

    app.register_blueprint(replays_bp)
    from web.registers_api import registers_api_bp
    from web.registers_views import registers_bp

    app.register_blueprint(registers_api_bp)
    app.register_blueprint(registers_bp)
    from web.audit_views import audit_bp

    app.register_blueprint(audit_bp)
    from web.vessels_views import vessels_bp

    app.register_blueprint(vessels_bp)
    from web.notify_views import notify_bp

    app.register_blueprint(notify_bp)
    from web import health

    health.install(app)  # /readyz, /metrics, 503 on a database outage
    return app


def _install_security(app: Flask) -> None:
    from flask import render_template, request
    from flask_wtf.csrf import CSRFError, CSRFProtect

    from web.auth.access import current_user, load_user, login_required_by_default
    from web.auth.apikeys import enforce_api_key
    from web.auth.headers import set_security_headers

    csrf = CSRFProtect(app)

    def csrf_for_pages() -> None:
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return
        if request.path == "/api" or request.path.startswith("/api/"):
            return
        if app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()

    # Order matters: API key first (API requests never touch sessions), then the user, CSRF, login.
    app.before_request(enforce_api_key)
    app.before_request(load_user)
    app.before_request(csrf_for_pages)
    app.before_request(login_required_by_default)
    app.after_request(set_security_headers)
    app.jinja_env.globals["current_user"] = current_user

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return render_template(
            "error.html", code=400, message=f"Form expired or forged: {exc.description}"
        ), 400

    from werkzeug.exceptions import HTTPException

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        # The API answers JSON for every error (413, 429, 500, ...), never an HTML page.
        if request.path.startswith("/api/"):
            from flask import jsonify

            response = jsonify({"error": exc.description or exc.name})
            response.status_code = exc.code or 500
            return response
        return exc

    for code, message in (
        (403, "Your role does not allow this page or action."),
        (404, "Not found."),
        (405, "Method not allowed."),
        (400, "Bad request."),
        (500, "Internal error: it has been logged."),
    ):
        app.register_error_handler(code, _error_page(code, message))


def _error_page(code: int, message: str) -> Any:
    def handler(exc: Exception) -> Any:
        from flask import jsonify, render_template, request

        if request.path.startswith("/api/"):
            return jsonify({"error": message}), code
        return render_template("error.html", code=code, message=message), code

    return handler


def _persistent_secret(settings: Any) -> str:
    """A random key kept under the data dir, so sessions survive restarts without configuration.

    Several gunicorn workers start at once: the key is written to a private temporary file and
    hard-linked into place, so exactly one key wins and nobody reads a half-written file.
    """
    import secrets

    path = settings.resolved_data_dir / "secret_key"
    if not path.exists():
        tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another worker won the race: use its key
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()
