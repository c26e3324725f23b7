"""Flask application factory. The web app reads the store; it never evaluates rules."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    from engine.config import get_settings

    settings = get_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key or _persistent_secret(settings),
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
    )
    if config:
        app.config.update(config)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # Blueprints (each area registers its own here).
    from web.api import api_bp

    app.register_blueprint(api_bp)
    return app


def _persistent_secret(settings: Any) -> str:
    """A random key kept under the data dir, so sessions survive restarts without configuration."""
    import secrets

    path = settings.resolved_data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
