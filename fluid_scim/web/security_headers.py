"""Response headers every answer carries (a page or a blueprint may set stricter ones first)."""

from __future__ import annotations

from flask import Flask, Response, current_app, request

from fluid_scim.config import Settings

_API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def add_headers(response: Response) -> Response:
        settings: Settings = current_app.extensions["fluid_settings"]
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Content-Security-Policy", _API_CSP)
        headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if request.path.startswith("/scim/") or request.path.startswith("/graphql"):
            # Directory data is personal data: no shared or browser cache keeps it.
            headers.setdefault("Cache-Control", "no-store")
        if settings.public_scheme == "https":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
