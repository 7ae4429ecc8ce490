"""``/admin``: Fluid's "Authentication Providers" page, plain HTML/CSS/JS that speaks only GraphQL.

The page holds no server-side state and sets no cookie: Fluid hands the admin credential over in
the URL fragment (``/admin#token=<jwt>``), the script keeps it in ``sessionStorage`` and sends it
as ``Authorization: Bearer`` to ``/graphql``. Every asset comes from this service, under a strict
Content-Security-Policy (no inline script or style, nothing from elsewhere).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, send_from_directory

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# The assets the page may load; anything else under /admin/static is 404.
ASSETS = frozenset({"admin.css", "admin.js", "admin-render.js"})


def _secure(response: Response, *, cache: str) -> Response:
    # The page's own CSP and caching; nosniff, no-referrer and DENY come with every answer (fluid_scim.web.security_headers).
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = cache
    return response


def register_admin_console(app: Flask) -> None:
    """Mount ``/admin`` (the page) and ``/admin/static/<asset>``."""
    blueprint = Blueprint("admin_console", __name__)

    @blueprint.get("/admin")
    @blueprint.get("/admin/")
    def page() -> Response:
        response = send_from_directory(STATIC_DIR, "admin.html", mimetype="text/html", max_age=0)
        return _secure(response, cache="no-store")

    @blueprint.get("/admin/static/<name>")
    def asset(name: str) -> Response:
        if name not in ASSETS:
            return _secure(Response("Not Found\n", status=404, mimetype="text/plain"), cache="no-store")
        response = send_from_directory(STATIC_DIR, name, max_age=0)
        # Revalidated on every load (ETag), so a deployment is seen at once.
        return _secure(response, cache="no-cache")

    app.register_blueprint(blueprint)
