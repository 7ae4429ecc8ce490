"""Response headers every answer carries (a page or a blueprint may set stricter ones first)."""

from __future__ import annotations

from flask import Flask, Response, current_app, request

from fluid_scim.config import Settings

_API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
_ALWAYS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", _API_CSP),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def add_headers(response: Response) -> Response:
        settings: Settings = current_app.extensions["fluid_settings"]
        headers = response.headers
        wanted = list(_ALWAYS)
        if request.path.startswith("/scim/") or request.path.startswith("/graphql"):
            # Directory data is personal data: no shared or browser cache keeps it.
            wanted.append(("Cache-Control", "no-store"))
        if settings.public_scheme == "https":
            wanted.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
        present = {name.lower() for name, _ in headers}  # one pass over the headers, not one per name
        headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
        return response
