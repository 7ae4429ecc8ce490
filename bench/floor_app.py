"""The floor: the least a SCIM user store can do over HTTP, served like fluid-scim.

A minimal Flask app on SQLite (WAL, ``synchronous=NORMAL``, the same pragmas as fluid-scim) that
stores a user document under a unique userName index and reads it back by id or by
``filter=userName eq "…"``. No authentication, no validation beyond userName, no audit, no logging:
whatever fluid-scim spends beyond this is the price of what it does. ``bench.run`` serves it with
gunicorn and fluid-scim's own settings (``bench/floor_gunicorn.conf.py``).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import uuid

from flask import Flask, Response, request

DATABASE = os.environ.get("FLOOR_DATABASE", "floor.db")
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
_USER_NAME_EQ = re.compile(r'^\s*userName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)
_SCHEMA = "CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, user_name_key TEXT NOT NULL UNIQUE, document TEXT NOT NULL)"

app = Flask(__name__)
_connection: tuple[int, sqlite3.Connection] | None = None


def _connect() -> sqlite3.Connection:
    connection = sqlite3.connect(DATABASE, timeout=15)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA busy_timeout=15000")
    return connection


def _db() -> sqlite3.Connection:
    """One connection per process, opened after gunicorn forks the worker."""
    global _connection
    if _connection is None or _connection[0] != os.getpid():
        _connection = (os.getpid(), _connect())
    return _connection[1]


def _json(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/scim+json")


def _error(status: int, detail: str) -> Response:
    return _json({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": str(status), "detail": detail}, status)


@app.post("/scim/v2/Users")
def create_user() -> Response:
    document = request.get_json(force=True, silent=True)
    if not isinstance(document, dict) or not isinstance(document.get("userName"), str):
        return _error(400, "userName is required")
    document["id"] = str(uuid.uuid4())
    connection = _db()
    try:
        with connection:
            connection.execute(
                "INSERT INTO users (id, user_name_key, document) VALUES (?, ?, ?)",
                (document["id"], document["userName"].lower(), json.dumps(document)),
            )
    except sqlite3.IntegrityError:
        return _error(409, "userName is already taken")
    return _json(document, 201)


@app.get("/scim/v2/Users/<user_id>")
def get_user(user_id: str) -> Response:
    row = _db().execute("SELECT document FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        return _error(404, f"User {user_id} not found")
    return _json(json.loads(row[0]))


@app.get("/scim/v2/Users")
def find_user() -> Response:
    match = _USER_NAME_EQ.match(request.args.get("filter", ""))
    if match is None:
        return _error(400, 'only filter=userName eq "…" is supported')
    rows = _db().execute("SELECT document FROM users WHERE user_name_key = ?", (match.group(1).lower(),)).fetchall()
    resources = [json.loads(row[0]) for row in rows]
    count = len(resources)
    body = {"schemas": [LIST_RESPONSE], "totalResults": count, "startIndex": 1, "itemsPerPage": count, "Resources": resources}
    return _json(body)


@app.get("/healthz")
def healthz() -> Response:
    return _json({"status": "ok"})


def _create_schema() -> None:
    connection = _connect()
    try:
        connection.execute(_SCHEMA)
        connection.commit()
    finally:
        connection.close()


_create_schema()
