"""Security headers on every response: CSP (no inline script), nosniff, referrer, framing,
no caching of anything but static files, HSTS over https."""

from __future__ import annotations

from flask import Response, request

HSTS = "max-age=31536000; includeSubDomains"

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def set_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.endpoint != "static":
        # Pages, CSV exports and API answers carry personal and case data: no cache keeps them
        # (a shared proxy, the browser's back button after logout). Static assets may be cached.
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    if request.is_secure:
        # Only over https (behind a TLS proxy: with ProxyFix trusting X-Forwarded-Proto): a
        # plain-http deployment must not be pinned to an https it does not have.
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response
