"""What the lean targets leave for the application: gunicorn's share and the SQL alone, measured (``python -m bench.bounds``).

The lean phase's targets divide the floor's rate (or its CPU per request) by a ratio: a GET by id at
0.7x the floor on one connection means fluid-scim may spend 1 / 0.7 of the floor's CPU on it. Part of
every request's CPU is not the application's: gunicorn accepts the connection, parses the request,
writes the answer and closes the connection, and the floor pays that part too. This measures how the
budget splits, on SQLite, with one worker per server and one connection (the lean client):

* both servers run under ``bench/measured_gunicorn.conf.py``, which adds up the CPU time the worker's
  request thread spends inside the WSGI application; the worker's whole CPU (``/proc``) minus that is
  what it spent outside it (gunicorn, and for fluid-scim its recorder thread);
* each kind is loaded on fluid-scim, the floor, the floor, fluid-scim (``--seconds`` each);
* the statements one create and one GET by id run are captured in-process (SQLAlchemy's
  ``before_cursor_execute``) and replayed through the standard ``sqlite3`` module on a copy of the same
  database, with new ids each time: the cost of the SQL alone, with no Python of ours around it.

For each target it prints the budget (the floor's CPU per request / the ratio), what is left of it once
the floor's own outside-the-application share is taken off (fluid-scim's share is larger: longer
requests and more headers), and fluid-scim's in-application CPU beside it. bench/README.md reads a run.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import flask_migrate
import requests
from sqlalchemy import event

from app import create_app
from bench.lean import process_cpu_seconds, run_load
from bench.run import (  # also clears FLUID_*/VAULT_* from the environment
    ENTRA_AGENT,
    LIFTED_RATE_LIMIT,
    entra_user,
    start_gunicorn,
    user_name_eq,
)
from fluid_scim import database
from fluid_scim.extensions import db
from tests.support.services import ROOT, LiveServer, Vault
from tests.support.tenants import make_tenant

# (kind, label, one-connection target, eight-connection target): the lean phase's (bench.run)
TARGETS = (
    ("get", "GET /Users/{id}", 0.7, 0.6),
    ("find", "GET ?filter=userName eq (hit)", 0.7, 0.6),
    ("create", "POST /Users (Entra body)", 0.6, 0.5),
)
SEEDED = 200
MARK = "boundsmark"  # in every value a replayed create must make unique
_IDS = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{32}\b")
MEASURED_CONF = ROOT / "bench" / "measured_gunicorn.conf.py"
COUNTERS = "/__bench/cpu"  # answered by MEASURED_CONF's wrapper


def start_measured(app_spec: str, base_conf: Path, env: dict[str, str], log_dir: Path, name: str) -> LiveServer:
    """One worker serving ``app_spec`` under the measuring configuration over ``base_conf``."""
    env = {**env, "WEB_CONCURRENCY": "1", "BENCH_BASE_CONF": str(base_conf)}
    return start_gunicorn(["-c", str(MEASURED_CONF), app_spec], env, log_dir, name=name, ready_path=COUNTERS)


def counters(server: LiveServer) -> tuple[int, float]:
    body = requests.get(f"{server.url}{COUNTERS}", timeout=5).json()
    return body["requests"], body["app_cpu_seconds"]


def measure(
    server: LiveServer, requests_: Sequence[Any], headers: dict[str, str], seconds: float, work_dir: Path, *, cycle: bool
) -> dict[str, float]:
    """CPU per request of the worker, inside the application and outside it, over one run of the lean client."""
    pids = sorted(server.worker_pids())
    count_before, app_before = counters(server)
    cpu_before = process_cpu_seconds(pids)
    result = run_load(
        "127.0.0.1", server.port, [list(requests_)], headers=headers, expect=(200, 201), seconds=seconds, cycle=cycle,
        work_dir=work_dir,
    )
    cpu_after = process_cpu_seconds(pids)
    count_after, app_after = counters(server)
    if result.errors:
        raise RuntimeError(f"{result.errors} errors: {result.examples}")
    served = count_after - count_before
    worker = (cpu_after - cpu_before) / served * 1000
    app = (app_after - app_before) / served * 1000
    return {"n": served, "worker": worker, "app": app, "outside": worker - app}


def capture(app: Any, run: Any) -> list[tuple[str, Any, bool]]:
    """The statements (SQL, parameters, executemany) that ``run()`` sends, in order."""
    captured: list[tuple[str, Any, bool]] = []
    with app.app_context():
        engine = db.engine

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        captured.append((statement, parameters, executemany))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return captured


Statements = list[tuple[str, Any, bool]]  # SQL, parameters, executemany


def replay(statements: Statements, database_path: Path, *, write: bool, count: int, keep: Sequence[str]) -> float:
    """CPU milliseconds per replay of ``statements`` through ``sqlite3``, new ids and names each time."""
    connection = sqlite3.connect(database_path, isolation_level=None)
    database._sqlite_pragmas(connection, None)  # the application's own pragmas and lower()

    def fresh(value: Any, ids: dict[str, str], turn: int) -> Any:
        if not isinstance(value, str):
            return value
        value = _IDS.sub(lambda found: _fresh_id(found.group(0), ids, keep), value)
        return value.replace(MARK, f"{MARK}{turn}x")

    def parameters_of(turn: int) -> list[Any]:
        ids: dict[str, str] = {}
        return [
            [tuple(fresh(value, ids, turn) for value in row) for row in parameters]
            if many
            else tuple(fresh(value, ids, turn) for value in parameters)
            for _, parameters, many in statements
        ]

    def once(turn_parameters: list[Any]) -> None:
        if write:
            connection.execute("BEGIN IMMEDIATE")
        for (statement, _, many), parameters in zip(statements, turn_parameters, strict=True):
            if many:
                connection.executemany(statement, parameters)
            else:
                connection.execute(statement, parameters).fetchall()
        if write:
            connection.execute("COMMIT")

    for turn in range(100):  # warm-up
        once(parameters_of(turn))
    prepared = [parameters_of(turn) for turn in range(100, 100 + count)]  # made before the clock starts
    started = time.process_time()
    for turn_parameters in prepared:
        once(turn_parameters)
    spent = time.process_time() - started
    connection.close()
    return spent / count * 1000


def _fresh_id(value: str, ids: dict[str, str], keep: Sequence[str]) -> str:
    """An id of this turn's in place of ``value`` (the same one each time within a turn), unless it is to be kept."""
    if value in keep:
        return value
    return ids.setdefault(value, str(uuid.uuid4()) if "-" in value else uuid.uuid4().hex)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bounds", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per server and kind, twice each (default 3)")
    parser.add_argument("--replays", type=int, default=2000, help="replays of the captured SQL (default 2000)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="fluid-bounds-"))
    print(f"databases and server logs in {work}", file=sys.stderr)
    vault = Vault.start(work)
    servers: list[LiveServer] = []
    try:
        url = f"sqlite:///{work / 'bounds.db'}"
        settings = {"database_url": url, "vault_addr": vault.addr, "vault_token": vault.token}
        app = create_app({**settings, "log_level": "WARNING", "ratelimit_default": LIFTED_RATE_LIMIT})
        with app.app_context():
            flask_migrate.upgrade()
        tenant = make_tenant(app)
        client = app.test_client()
        headers = {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "User-Agent": ENTRA_AGENT}
        seeded = [
            client.post("/scim/v2/Users", json=entra_user("seeded", index), headers=headers).json for index in range(SEEDED)
        ]
        organisation_id = _organisation_id(app, tenant.slug)
        create_sql = capture(app, lambda: client.post("/scim/v2/Users", json=entra_user(MARK, 1), headers=headers))
        get_sql = capture(app, lambda: client.get(f"/scim/v2/Users/{seeded[7]['id']}", headers=headers))
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        copy = work / "replay.db"
        shutil.copy(work / "bounds.db", copy)
        keep = (organisation_id, *(user["id"] for user in seeded))
        sql_alone = {
            "create": replay(create_sql, copy, write=True, count=args.replays, keep=(organisation_id,)),
            "get": replay(get_sql, copy, write=False, count=args.replays, keep=keep),
        }
        env = {"FLUID_DATABASE_URL": url, "VAULT_ADDR": vault.addr, "VAULT_TOKEN": vault.token, "FLUID_DOTENV": ""}
        env["FLUID_RATELIMIT_DEFAULT"] = LIFTED_RATE_LIMIT
        ours = start_measured("wsgi:app", ROOT / "gunicorn.conf.py", env, work, "fluid-scim")
        servers.append(ours)
        floor_env = {"FLOOR_DATABASE": str(work / "floor.db")}
        floor = start_measured("bench.floor_app:app", ROOT / "bench" / "floor_gunicorn.conf.py", floor_env, work, "floor")
        servers.append(floor)
        floor_ids = [
            requests.post(f"{floor.url}/scim/v2/Users", json=entra_user("seeded", index), timeout=10).json()["id"]
            for index in range(SEEDED)
        ]
        floor_copy = work / "floor-replay.db"
        shutil.copy(work / "floor.db", floor_copy)
        body = entra_user(MARK, 1) | {"id": str(uuid.uuid4())}
        floor_insert = "INSERT INTO users (id, user_name_key, document) VALUES (?, ?, ?)"  # bench/floor_app.py's
        floor_create = [(floor_insert, (body["id"], body["userName"], json.dumps(body)), False)]
        floor_get = [("SELECT document FROM users WHERE id = ?", (floor_ids[7],), False)]
        sql_alone["floor create"] = replay(floor_create, floor_copy, write=True, count=args.replays, keep=())
        sql_alone["floor get"] = replay(floor_get, floor_copy, write=False, count=args.replays, keep=tuple(floor_ids))
        figures = _load_kinds(args.seconds, work, ours, floor, headers, seeded, floor_ids)
        _report(figures, sql_alone, create_sql, get_sql, args)
    finally:
        for server in servers:
            server.stop()
        vault.stop()
    return 0


def _organisation_id(app: Any, slug: str) -> str:
    from fluid_scim.models import Organisation

    with app.app_context():
        return db.session.query(Organisation.id).filter_by(slug=slug).scalar().hex  # as SQLite stores it


def _load_kinds(
    seconds: float,
    work: Path,
    ours: LiveServer,
    floor: LiveServer,
    headers: dict[str, str],
    seeded: list[dict[str, Any]],
    floor_ids: list[str],
) -> dict[str, dict[str, dict[str, float]]]:
    ours_headers = {**headers, "Content-Type": "application/scim+json"}
    floor_headers = {"Content-Type": "application/json"}
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for kind, *_ in TARGETS:
        runs: dict[str, list[dict[str, float]]] = {"ours": [], "floor": []}
        for turn, name in enumerate(("ours", "floor", "floor", "ours")):
            server, own_headers = (ours, ours_headers) if name == "ours" else (floor, floor_headers)
            ids = [user["id"] for user in seeded] if name == "ours" else floor_ids
            requests_ = _requests(kind, name, turn, ids, seeded)
            runs[name].append(measure(server, requests_, own_headers, seconds, work, cycle=kind != "create"))
        figures[kind] = {name: _mean(measured) for name, measured in runs.items()}
    return figures


def _requests(kind: str, name: str, turn: int, ids: list[str], seeded: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    if kind == "get":
        return [("GET", f"/scim/v2/Users/{user_id}", None) for user_id in ids]
    if kind == "find":
        return [("GET", "/scim/v2/Users?" + urlencode(user_name_eq(user["userName"])), None) for user in seeded]
    # every create a new user: more bodies than a run can send on this machine
    return [("POST", "/scim/v2/Users", json.dumps(entra_user(f"{name}{turn}", index))) for index in range(20_000)]


def _mean(runs: list[dict[str, float]]) -> dict[str, float]:
    served = sum(run["n"] for run in runs)
    return {key: sum(run[key] * run["n"] for run in runs) / served for key in ("worker", "app", "outside")} | {"n": served}


def _report(
    figures: dict[str, dict[str, dict[str, float]]],
    sql_alone: dict[str, float],
    create_sql: Statements,
    get_sql: Statements,
    args: argparse.Namespace,
) -> None:
    print(f"CPU ms per request, SQLite, 1 worker per server, 1 connection, {args.seconds:g} s x 2 per server and kind")
    print(f"{'request':<32} {'server':<10} {'n':>6} {'worker':>7} {'in app':>7} {'outside':>7}")
    for kind, label, *_ in TARGETS:
        for name in ("floor", "ours"):
            row = figures[kind][name]
            server = "the floor" if name == "floor" else "fluid-scim"
            figures_ = f"{row['n']:>6.0f} {row['worker']:>7.3f} {row['app']:>7.3f} {row['outside']:>7.3f}"
            print(f"{label:<32} {server:<10} {figures_}")
    print()
    print(f"the SQL alone, replayed through sqlite3 (CPU ms): fluid-scim's create ({len(create_sql)} statements, BEGIN, COMMIT)"
          f" {sql_alone['create']:.3f}, its GET by id ({len(get_sql)}) {sql_alone['get']:.3f};"
          f" the floor's create {sql_alone['floor create']:.3f}, its GET {sql_alone['floor get']:.3f}")
    print()
    print(f"{'target':<44} {'budget':>7} {'left for the app':>17} {'at least':>9} {'fluid-scim in app':>18}")
    for kind, label, one, eight in TARGETS:
        floor, ours = figures[kind]["floor"], figures[kind]["ours"]
        sql_kind = "create" if kind == "create" else "get"  # a userName eq hit runs the GET's one statement, by another key
        at_least = floor["app"] - sql_alone[f"floor {sql_kind}"] + sql_alone[sql_kind]
        for connections, ratio in ((1, one), (8, eight)):
            budget = floor["worker"] / ratio
            left = budget - floor["outside"]
            target = f"{label}, {connections} conn, {ratio}x"
            print(f"{target:<44} {budget:>7.3f} {left:>17.3f} {at_least:>9.3f} {ours['app']:>18.3f}")
    print("budget: the floor's worker CPU per request / the ratio (the 8-connection lines use these one-connection figures)")
    print("left for the app: the budget less the floor's CPU outside its application")
    print("at least: the floor's application with fluid-scim's SQL in place of its own (no checks, no audit, no log)")


if __name__ == "__main__":
    sys.exit(main())
