"""The fluid-scim benchmark: a live gunicorn server driven over HTTP with Entra-shaped traffic.

``make bench`` (or ``.venv/bin/python -m bench.run --help``). One run measures, side by side:

* the floor (``bench/floor_app.py``: Flask + SQLite WAL that only stores a user document under a
  unique userName index and reads it back), under fluid-scim's gunicorn settings;
* fluid-scim on each backend (SQLite, PostgreSQL): users created as Entra creates them (a
  ``userName eq`` lookup, then POST), read by id, found by userName and externalId, patched in
  Entra's shapes, listed in pages of 100; a group filled by PATCH batches of 100 members, one
  member added and removed at K = 100 and K = 100,000 members, the group read with
  ``excludedAttributes=members``; users and groups deleted;
* an Entra initial cycle (users, managers, access-group memberships) and a mixed load with
  4 workers under concurrency, and what recording (audit event + status counts) costs a read.
* the lean phase: fluid-scim and the floor loaded alternately by ``bench/lean.py`` (a process per
  connection, requests prebuilt as bytes), on one connection and on 8, with the client's and the
  server workers' CPU per request, each request kind's CPU budget (the floor's CPU per request
  divided by the kind's target ratio), and a page of 100 users against a single GET;
* the Entra cycle's parts timed apart, from which an initial cycle of 50,000 users and 500 groups
  is estimated;
* with ``--phases tenants``: 200 organisations x 500 users written directly into the database, and
  the lean client's GET and ``userName eq`` on one organisation against all of them in turn.

Every phase prints ops/s, p50/p95/p99 latency, errors (never hidden: the first distinct ones are
listed) and each worker's peak memory (VmHWM from /proc), then the targets with PASS/FAIL.
Only loopback addresses are used; every process started here is stopped by PID.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

# Like the test suite, the benchmark controls its own configuration: nothing from the shell or a
# .env file changes what is measured (FLUID_TEST_POSTGRES_URL may name the PostgreSQL server).
for _name in list(os.environ):
    if (_name.startswith("FLUID_") and _name != "FLUID_TEST_POSTGRES_URL") or _name.startswith("VAULT_"):
        del os.environ[_name]
os.environ["FLUID_DOTENV"] = ""

import flask_migrate  # noqa: E402
import psycopg  # noqa: E402
import requests  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import JSON, BigInteger, String, cast, event, func, insert, literal, select, text, type_coerce  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import create_app  # noqa: E402
from bench.lean import WARM_UP, LoadResult, Request, process_cpu_seconds, run_load  # noqa: E402
from fluid_scim.extensions import db  # noqa: E402
from fluid_scim.models import ProvisioningEvent, ScimUser, ScimUserCustomValue, ScimUserValue  # noqa: E402
from fluid_scim.models.types import utcnow  # noqa: E402
from fluid_scim.repositories import mapping  # noqa: E402
from fluid_scim.repositories import organisations as organisations_repo  # noqa: E402
from fluid_scim.schema import ENTERPRISE_URN  # noqa: E402
from fluid_scim.schema.coerce import coerce_resource  # noqa: E402
from fluid_scim.services import directory_attributes, directory_schema  # noqa: E402
from tests.support.services import ROOT, VENV_BIN, LiveServer, PostgresDatabase, Vault, free_port, wait_until  # noqa: E402
from tests.support.tenants import ScimClient, Tenant, make_tenant  # noqa: E402

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# Entra's provisioning agent identifies itself like this; fluid-scim records the dialect "entra".
ENTRA_AGENT = "Microsoft Azure AD SCIM Client (fluid-scim bench)"
ENTRA_DOCUMENTED_RATE = 25.0  # requests/s per tenant: the gallery checklist of Microsoft Learn's SCIM endpoint tutorial
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
# The per-organisation limit (default 100/second;3000/minute per worker) would measure the limiter,
# not the server: it is lifted, and still checked on every request.
LIFTED_RATE_LIMIT = "1000000/second"
# Microsoft Learn's custom extension ("Customize user provisioning attribute mappings", section on
# provisioning a custom extension attribute to a SCIM application), declared as a string: the
# matching attribute an admin may choose in Entra instead of userName.
CUSTOM_URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
CUSTOM_ATTRIBUTE = "CustomAttribute"
CUSTOM_PATH = f"{CUSTOM_URN}:{CUSTOM_ATTRIBUTE}"
PHASES = ("main", "custom", "lean", "tenants", "mix", "pair")
# The many-tenants phase adds about a minute per backend: it runs when asked for (--phases tenants).
# "mix" is the mixed load of "main" alone (with the PostgreSQL-vs-SQLite target), about a minute per backend.
DEFAULT_PHASES = ("main", "custom", "lean")
# The lean phase: (connections, kind) in the order measured; the targets are ratios of our req/s to the floor's.
LEAN_KINDS = {
    "healthz": ("GET /healthz (the floor: its trivial route)", (200,)),
    "get": ("GET /Users/{id}", (200,)),
    "find": ("GET ?filter=userName eq (hit)", (200,)),
    "create": ("POST /Users (Entra body)", (201,)),
    "page": ("GET /Users?startIndex=1&count=100 (page of 100)", (200,)),
}
# The side-by-side phase: each kind on both backends at once, alternately, one connection (run_side_by_side).
PAIR_KINDS = {
    "get": ("GET /Users/{id}", (200,)),
    "find": ("GET ?filter=userName eq (hit)", (200,)),
    "create": ("POST /Users (Entra body)", (201,)),
    "patch": ("PATCH /Users/{id} (Entra's e-mail and familyName)", (200,)),
}
LEAN_SINGLE_TARGETS = {"create": 0.6, "get": 0.7, "find": 0.7}  # one connection: the earlier single-client targets
LEAN_MANY_TARGETS = {"create": 0.5, "get": 0.6, "find": 0.6}  # 8 connections against 2 workers
# The Entra initial-cycle estimate: users and groups of the directory it is made for, the mean
# members of a group (beside the access group, which gets every user), and the groups the cycle
# phase creates to measure a group's cost.
ESTIMATE_USERS = 50_000
ESTIMATE_GROUPS = 500
ESTIMATE_GROUP_MEMBERS = 100
ENTRA_GROUPS = 20
LEAN_POST_RATE = 4000  # POST bodies prepared per second of a run, all connections together: more than either server creates


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class Stat:
    """One phase: latencies of its requests, its errors, and the workers' peak memory after it."""

    name: str
    reference: str | None = None  # the floor phase it is compared with
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    examples: list[str] = field(default_factory=list)
    wall: float | None = None  # set for concurrent phases: ops/s is then n / wall time
    memory_mb: dict[int, float] = field(default_factory=dict)
    note: str = ""
    server_cpu_ms: float | None = None  # lean runs: the server workers' CPU per request
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, seconds: float, error: str | None = None) -> None:
        with self._lock:
            self.latencies.append(seconds)
            if error is not None:
                self.errors += 1
                if len(self.examples) < 3 and error not in self.examples:
                    self.examples.append(error)

    @property
    def n(self) -> int:
        return len(self.latencies)

    @property
    def ops_per_s(self) -> float:
        busy = self.wall if self.wall is not None else sum(self.latencies)
        return self.n / busy if busy > 0 else 0.0

    def pct_ms(self, percent: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, math.ceil(percent / 100 * len(ordered)) - 1))
        return ordered[rank] * 1000


def timed(stat: Stat, call: Callable[[], requests.Response], expect: Sequence[int]) -> requests.Response | None:
    """Run one request, record its latency, and count it as an error unless its status is expected."""
    start = time.perf_counter()
    try:
        response = call()
    except requests.RequestException as exc:
        stat.add(time.perf_counter() - start, f"{type(exc).__name__}: {str(exc)[:160]}")
        return None
    elapsed = time.perf_counter() - start
    if response.status_code in expect:
        stat.add(elapsed)
    else:
        stat.add(elapsed, f"HTTP {response.status_code}: {response.text[:160]}")
    return response


def peak_memory_mb(server: LiveServer) -> dict[int, float]:
    """VmHWM (peak resident set) of each gunicorn worker, in MB."""
    peaks: dict[int, float] = {}
    try:
        workers = server.worker_pids()
    except OSError:
        return peaks
    for pid in sorted(workers):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks[pid] = int(line.split()[1]) / 1024
        except OSError:
            continue
    return peaks


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchClient(ScimClient):
    """tests.support.tenants.ScimClient with one ``requests.Session`` per thread (less client overhead)."""

    def __init__(self, base_url: str, tenant: Tenant) -> None:
        super().__init__(base_url, tenant, user_agent=ENTRA_AGENT)
        self._local = threading.local()
        self._count_lock = threading.Lock()
        self.sent = 0

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        headers = {"Host": self.tenant.host, "User-Agent": self.user_agent, "Authorization": f"Bearer {self.tenant.token}"}
        if body is not None:
            headers["Content-Type"] = "application/scim+json; charset=utf-8"
            kwargs["data"] = json.dumps(body)
        with self._count_lock:
            self.sent += 1
        return session.request(method, f"{self.base_url}/scim/v2{path}", headers=headers, timeout=60, **kwargs)


def run_threads(count: int, items: Sequence[Any], work: Callable[[Any], None]) -> float:
    """Run ``work`` on every item with ``count`` threads; return the wall time."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        for result in pool.map(work, items):
            del result
    return time.perf_counter() - start


# -- Entra-shaped requests ----------------------------------------------------------------------


def entra_user(prefix: str, index: int) -> dict[str, Any]:
    """A POST /Users body with Entra's default attribute mappings (SCIM endpoint tutorial: "Create User", attribute table)."""
    user_name = f"{prefix}-{index:06d}@contoso.example"
    return {
        "schemas": [CORE_USER, ENTERPRISE_URN],
        "externalId": f"{prefix}-nick-{index:06d}",
        "userName": user_name,
        "active": True,
        "displayName": f"Given{index} Family{index}",
        "title": "Engineer",
        "preferredLanguage": "en-GB",
        "emails": [
            {"primary": True, "type": "work", "value": user_name},
            {"type": "other", "value": f"alias-{prefix}-{index:06d}@contoso.example"},
        ],
        "phoneNumbers": [{"type": "work", "value": "+44 20 7946 0000"}, {"type": "mobile", "value": f"+44 7700 {index:06d}"}],
        "addresses": [
            {
                "type": "work",
                "formatted": "1 Main Street, London",
                "streetAddress": "1 Main Street",
                "locality": "London",
                "region": "LDN",
                "postalCode": "N1 1AA",
                "country": "GB",
            }
        ],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"Given{index} Family{index}", "familyName": f"Family{index}", "givenName": f"Given{index}"},
        "roles": [],
        ENTERPRISE_URN: {"employeeNumber": f"{index:06d}", "department": "Engineering"},
    }


def user_name_eq(user_name: str) -> dict[str, str]:
    return {"filter": f'userName eq "{user_name}"'}


def user_patch(index: int, manager_id: str | None) -> list[dict[str, Any]]:
    """Entra's PATCH shapes, in turn (SCIM endpoint tutorial, "User operations"; SCIM 2.0 compliance known issues)."""
    shape = index % 4
    if shape == 0:  # default job: one Replace per path
        return [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": f"moved-{index:06d}@contoso.example"},
            {"op": "Replace", "path": "name.familyName", "value": f"Renamed{index}"},
        ]
    if shape == 1:  # disable, string boolean (no feature flag)
        return [{"op": "Replace", "path": "active", "value": "False"}]
    if shape == 2:  # aadOptscim062020: filtered path, then one path-less replace with dotted and URN keys
        return [
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": f"flag-{index:06d}@contoso.example"},
            {
                "op": "replace",
                "value": {
                    "displayName": f"Flagged {index}",
                    "name.givenName": f"Flagged{index}",
                    "name.familyName": f"Family{index}",
                    f"{ENTERPRISE_URN}:employeeNumber": f"E{index:06d}",
                },
            },
        ]
    return [{"op": "Add", "path": f"{ENTERPRISE_URN}:manager", "value": manager_id}]  # the manager round trip


def members_op(op: str, member_ids: Sequence[str]) -> list[dict[str, Any]]:
    return [{"op": op, "path": "members", "value": [{"$ref": None, "value": member_id} for member_id in member_ids]}]


def entra_group(name: str) -> dict[str, Any]:
    return {
        "schemas": [CORE_GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": str(uuid.uuid4()),
        "displayName": name,
        "meta": {"resourceType": "Group"},
    }


# -- servers ------------------------------------------------------------------------------------


def start_floor(database: Path, log_dir: Path, workers: int) -> LiveServer:
    """The floor app under fluid-scim's gunicorn settings (bench/floor_gunicorn.conf.py)."""
    env = {"WEB_CONCURRENCY": str(workers), "FLOOR_DATABASE": str(database)}
    command = ["-c", str(ROOT / "bench" / "floor_gunicorn.conf.py"), "bench.floor_app:app"]
    return start_gunicorn(command, env, log_dir, name="floor", ready_path="/healthz")


def start_gunicorn(arguments: list[str], env: Mapping[str, str], log_dir: Path, *, name: str, ready_path: str) -> LiveServer:
    """gunicorn with these arguments on a free loopback port, once ``ready_path`` answers 200."""
    port = free_port()
    log_path = log_dir / f"{name}-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), *arguments],
            cwd=ROOT,
            env={**os.environ, **env, "PORT": str(port)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(port=port, process=process, log_path=log_path)

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{name}'s gunicorn exited with {process.returncode}; see {log_path}")
        try:
            return requests.get(f"{server.url}{ready_path}", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(ready, timeout=30, what=f"{name}'s gunicorn start")
    except BaseException:
        server.stop()
        raise
    return server


@contextmanager
def autovacuum_stand_in(url: str, every: float, result: BackendResult) -> Iterator[None]:
    """When the PostgreSQL server runs with ``autovacuum = off``, do its work on the benchmark's database.

    Without statistics the planner believes the tables empty: foreign-key checks and lookups then
    scan ``scim_user`` whole and every request slows down as users are added, which no production
    server (autovacuum on by default) would show. ``VACUUM (ANALYZE)`` runs every ``every`` seconds.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or every <= 0:
        yield
        return
    params = _psycopg_params(url)
    with psycopg.connect(**params) as connection:
        row = connection.execute("SHOW autovacuum").fetchone()
    if row is not None and row[0] == "on":
        result.notes.append("autovacuum is on in this PostgreSQL server")
        yield
        return
    stop = threading.Event()
    runs: list[float] = []

    def loop() -> None:
        while not stop.wait(every):
            try:
                with psycopg.connect(**params) as connection:
                    start = time.perf_counter()
                    connection.execute("VACUUM (ANALYZE)")
                    runs.append(time.perf_counter() - start)
            except psycopg.Error as exc:
                log(f"autovacuum stand-in: {exc}")

    thread = threading.Thread(target=loop, name="autovacuum-stand-in", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=120)
        result.notes.append(
            f"this PostgreSQL server runs with autovacuum = off: the benchmark ran VACUUM (ANALYZE) on its database every"
            f" {every:.0f}s instead ({len(runs)} times, {sum(runs):.1f}s in all), as autovacuum would"
        )


class WaitSampler:
    """What PostgreSQL's active backends of one database wait on, sampled from ``pg_stat_activity``."""

    def __init__(self, params: dict[str, Any] | None) -> None:
        self.params = params
        self.counts: dict[str, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pg-wait-sampler", daemon=True)

    def _loop(self) -> None:
        assert self.params is not None
        query = (
            "SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU'), count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() GROUP BY 1"
        )
        with psycopg.connect(**self.params) as connection:
            while not self._stop.wait(0.02):
                self.samples += 1
                for name, count in connection.execute(query).fetchall():
                    self.counts[name] = self.counts.get(name, 0) + count

    def summary(self) -> str:
        if self.params is None:
            return ""
        busy = sum(self.counts.values())
        if not busy:
            return "PostgreSQL wait events: no active backend seen"
        top = sorted(self.counts.items(), key=lambda item: -item[1])[:6]
        shares = ", ".join(f"{name} {count / busy:.0%}" for name, count in top)
        return f"PostgreSQL backends, {busy / self.samples:.1f} active on average; what they were doing: {shares}"


@dataclass
class CpuSplit:
    """CPU seconds of one phase: the server's workers, PostgreSQL's processes, this process (the client), the machine."""

    workers: float = 0.0
    postgres: float = 0.0
    client: float = 0.0
    machine: float = 0.0  # every core's busy time (/proc/stat), whatever ran

    @classmethod
    def now(cls, server: LiveServer) -> CpuSplit:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
        return cls(
            workers=process_cpu_seconds(sorted(server.worker_pids())),
            postgres=process_cpu_seconds(postgres_pids()),
            client=usage.ru_utime + usage.ru_stime,
            machine=(user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK"),
        )

    def __sub__(self, other: CpuSplit) -> CpuSplit:
        return CpuSplit(*(getattr(self, name) - getattr(other, name) for name in ("workers", "postgres", "client", "machine")))

    def served(self, requests_: int) -> float:
        """Milliseconds of server CPU (workers and PostgreSQL) per request."""
        return (self.workers + self.postgres) / requests_ * 1000 if requests_ else float("nan")

    def describe(self, requests_: int, wall: float, *, postgres: bool) -> str:
        per = {name: getattr(self, name) / requests_ * 1000 for name in ("workers", "postgres", "client")}
        parts = [f"workers {per['workers']:.2f}"] + ([f"PostgreSQL {per['postgres']:.2f}"] if postgres else [])
        return (
            f"CPU ms per request: {', '.join(parts)}, the client {per['client']:.2f};"
            f" the machine's {os.cpu_count()} cores busy {self.machine / wall:.2f} cores on average"
        )


def postgres_pids() -> list[int]:
    """The local PostgreSQL server's processes (the postmaster and its backends), by their command name."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue  # gone meanwhile
    return pids


@contextmanager
def postgres_waits(url: str) -> Iterator[WaitSampler]:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        yield WaitSampler(None)
        return
    sampler = WaitSampler(_psycopg_params(url))
    sampler._thread.start()
    try:
        yield sampler
    finally:
        sampler._stop.set()
        sampler._thread.join(timeout=10)


def _psycopg_params(url: str) -> dict[str, Any]:
    parsed = make_url(url)
    return {
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "password": parsed.password,
        "dbname": parsed.database,
        "autocommit": True,
        "connect_timeout": 5,
    }


@contextmanager
def serving(server_factory: Callable[[], LiveServer]) -> Iterator[LiveServer]:
    server = server_factory()
    try:
        yield server
    finally:
        server.stop()


def wait_for_workers(server: LiveServer, workers: int) -> None:
    wait_until(lambda: len(server.worker_pids()) >= workers, timeout=30, what=f"{workers} gunicorn workers")


def warm_up(client: ScimClient, server: LiveServer, workers: int) -> None:
    """A few unmeasured requests, so that every worker has its connections and caches."""
    for index in range(10 * workers):
        client.get("/Users", params=user_name_eq(f"warm-up-{index}@contoso.example"))
    wait_for_workers(server, workers)


# -- the run ------------------------------------------------------------------------------------


@dataclass
class Section:
    title: str
    stats: list[Stat] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


@dataclass
class Target:
    name: str
    value: str
    passed: bool
    why: str = ""


@dataclass
class LeanSide:
    """One side of an alternating lean measurement: a server, what each connection sends, its headers."""

    stat: Stat
    server: LiveServer
    requests: Callable[[int], list[list[Request]]]  # half (0-3) -> each connection's requests
    headers: Mapping[str, str]


@dataclass
class BackendResult:
    name: str
    notes: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    stats: dict[str, Stat] = field(default_factory=dict)
    concurrency: Stat | None = None
    concurrency_cpu: CpuSplit | None = None  # where the mixed phase's CPU went
    # The floor's lookup/create/get/find measured request by request alternately with ours (see _create_read_phases).
    floor_twin: dict[str, Stat] = field(default_factory=dict)
    # The floor's figures of the lean phase, measured alternately with ours (see Bench._lean).
    lean_floor: dict[str, Stat] = field(default_factory=dict)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_id = uuid.uuid4().hex[:8]
        self.log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="fluid-bench-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.vault: Vault | None = None
        self.floor: dict[str, Stat] = {}
        self.floor_concurrency: Stat | None = None
        self.floor_memory: dict[int, float] = {}
        self.results: list[BackendResult] = []
        self.facts = ""
        self.rng = random.Random(20260101)  # noqa: S311 - a shuffle, not a secret
        self.created: list[tuple[str, dict[str, Any]]] = []  # (id, POST body) of the last users created
        self.side_by_side: tuple[Section, list[Target]] | None = None

    # -- floor --

    def run_floor(self) -> None:
        args = self.args
        log(f"floor: {args.users} users, {args.workers} workers")
        database = self.log_dir / "floor.db"
        tenant = Tenant(slug="floor", token="unused")  # noqa: S106 - the floor checks no token
        with serving(lambda: start_floor(database, self.log_dir, args.workers)) as server:
            client = BenchClient(server.url, tenant)
            warm_up(client, server, args.workers)
            self.floor, _ = self._create_read_phases(client, server, "floor", args.users)
            self.floor["healthz"] = self._healthz(server)
            self.floor_memory = peak_memory_mb(server)
        self.run_floor_mix()

    def run_floor_mix(self) -> None:
        args = self.args
        database = self.log_dir / "floor.db"
        tenant = Tenant(slug="floor", token="unused")  # noqa: S106 - the floor checks no token
        log(f"floor: mixed load, {args.concurrency_workers} workers, {args.concurrency_clients} clients")
        with serving(lambda: start_floor(database, self.log_dir, args.concurrency_workers)) as server:
            client = BenchClient(server.url, tenant)
            warm_up(client, server, args.concurrency_workers)
            self.floor_concurrency = self._mixed_load(client, server, "floor-mix")

    def _create_read_phases(
        self, client: BenchClient, server: LiveServer, prefix: str, count: int, twin: BenchClient | None = None
    ) -> tuple[dict[str, Stat], dict[str, Stat]]:
        """Entra's create (lookup, then POST), then GET by id and ``userName eq``: shared by floor and ours.

        With ``twin`` (a client of a floor server running beside ours), each of our requests is
        followed by the same request to the floor, so that both are measured under the same
        conditions, request by request; the second dict holds the floor's figures (else empty).
        """

        def phases(label: str = "") -> dict[str, Stat]:
            return {
                "lookup": Stat(f"{label}GET ?filter=userName eq (miss)", "lookup"),
                "create": Stat(f"{label}POST /Users", "create"),
                "get": Stat(f"{label}GET /Users/{{id}}", "get"),
                "find": Stat(f"{label}GET ?filter=userName eq (hit)", "find"),
            }

        stats, twin_stats = phases(), phases("floor, interleaved: ") if twin is not None else {}
        prefix = f"{prefix}-{self.run_id}"
        created: list[tuple[str, dict[str, Any]]] = []
        twin_ids: list[str] = []
        for index in range(count):
            body = entra_user(prefix, index)
            for target, measured, made in ((client, stats, True), (twin, twin_stats, False)):
                if target is None:
                    continue
                lookup = user_name_eq(body["userName"])
                timed(measured["lookup"], lambda lookup=lookup, c=target: c.get("/Users", params=lookup), (200,))
                response = timed(measured["create"], lambda body=body, c=target: c.post("/Users", body), (201,))
                if response is not None and response.status_code == 201:
                    if made:
                        created.append((response.json()["id"], body))
                    else:
                        twin_ids.append(response.json()["id"])
        ids = [user_id for user_id, _ in created]
        names = [body["userName"] for _, body in created]
        stats["lookup"].memory_mb = stats["create"].memory_mb = peak_memory_mb(server)
        order = list(range(len(ids)))
        self.rng.shuffle(order)
        order = order[: self.args.reads]
        for position in order:
            timed(stats["get"], lambda position=position: client.get(f"/Users/{ids[position]}"), (200,))
            if twin is not None and position < len(twin_ids):
                timed(twin_stats["get"], lambda position=position: twin.get(f"/Users/{twin_ids[position]}"), (200,))
        stats["get"].memory_mb = peak_memory_mb(server)
        for position in order:
            timed(stats["find"], lambda position=position: client.get("/Users", params=user_name_eq(names[position])), (200,))
            if twin is not None:
                # The floor's users have the same userNames (same prefix and numbers) in their own database.
                find = user_name_eq(names[position])
                timed(twin_stats["find"], lambda find=find: twin.get("/Users", params=find), (200,))
        stats["find"].memory_mb = peak_memory_mb(server)
        self.created = created
        return stats, twin_stats

    def _healthz(self, server: LiveServer) -> Stat:
        stat = Stat("GET /healthz (no database)", "get")
        session = requests.Session()
        for _ in range(self.args.samples):
            timed(stat, lambda: session.get(f"{server.url}/healthz", timeout=10), (200,))
        stat.memory_mb = peak_memory_mb(server)
        return stat

    def _mixed_load(self, client: BenchClient, server: LiveServer, prefix: str) -> Stat:
        """Entra's create (lookup + POST), a GET by id and a ``userName eq`` per user, from many threads."""
        args = self.args
        stat = Stat(f"mixed load: {args.concurrency_clients} clients x (lookup, POST, GET id, userName eq)", "mix")
        prefix = f"{prefix}-{self.run_id}"

        def one_user(index: int) -> None:
            body = entra_user(prefix, index)
            timed(stat, lambda: client.get("/Users", params=user_name_eq(body["userName"])), (200,))
            response = timed(stat, lambda: client.post("/Users", body), (201,))
            if response is None or response.status_code != 201:
                return
            user_id = response.json()["id"]
            timed(stat, lambda: client.get(f"/Users/{user_id}"), (200,))
            timed(stat, lambda: client.get("/Users", params=user_name_eq(body["userName"])), (200,))

        stat.wall = run_threads(args.concurrency_clients, range(args.concurrency_users), one_user)
        stat.memory_mb = peak_memory_mb(server)
        return stat

    # -- fluid-scim --

    def settings(self, database_url: str) -> dict[str, Any]:
        assert self.vault is not None
        return {
            "database_url": database_url,
            "vault_addr": self.vault.addr,
            "vault_token": self.vault.token,
            "log_level": "WARNING",
            "ratelimit_default": LIFTED_RATE_LIMIT,
            **({} if self.args.kept_records is None else {"kept_records": self.args.kept_records}),
        }

    def server_env(self, database_url: str) -> dict[str, str]:
        assert self.vault is not None
        return {
            "FLUID_DATABASE_URL": database_url,
            "VAULT_ADDR": self.vault.addr,
            "VAULT_TOKEN": self.vault.token,
            "FLUID_DOTENV": "",
            "FLUID_RATELIMIT_DEFAULT": LIFTED_RATE_LIMIT,
            **({} if self.args.kept_records is None else {"FLUID_KEPT_RECORDS": str(self.args.kept_records)}),
        }

    @contextmanager
    def database(self, backend: str) -> Iterator[str]:
        if backend == "sqlite":
            yield f"sqlite:///{self.log_dir / f'fluid-{self.run_id}.db'}"
            return
        database = PostgresDatabase(self.args.postgres_url).create()
        try:
            yield database.url
        finally:
            database.drop()

    def run_backend(self, backend: str) -> BackendResult:
        args = self.args
        result = BackendResult(name={"sqlite": "SQLite", "postgresql": "PostgreSQL"}[backend])
        with self.database(backend) as url, autovacuum_stand_in(url, self.args.pg_vacuum_every, result):
            app = create_app(self.settings(url))
            with app.app_context():
                flask_migrate.upgrade()
            if "main" in args.phases:
                self._main_phases(app, url, result)
            elif "mix" in args.phases:
                self._mix_phase(app, url, result)
            if "custom" in args.phases:
                self._custom_attribute(app, url, result)
            if "lean" in args.phases:
                self._lean(app, url, result)
            if "tenants" in args.phases:
                self._tenants(app, url, result)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        return result

    def _main_phases(self, app: Flask, url: str, result: BackendResult) -> None:
        args = self.args
        tenant = make_tenant(app, f"bench-{self.run_id}")
        log(f"{result.name}: {args.workers} workers, {args.users} users")
        with serving(lambda: LiveServer.start(self.server_env(url), self.log_dir, workers=args.workers)) as server:
            client = BenchClient(server.url, tenant)
            warm_up(client, server, args.workers)
            self._users_and_groups(app, tenant, client, server, result)
            self._audit_cost(app, tenant, client, result)
            self._entra_cycle(app, server, result)
        self._mix_phase(app, url, result)

    def _mix_phase(self, app: Flask, url: str, result: BackendResult) -> None:
        args = self.args
        log(f"{result.name}: mixed load, {args.concurrency_workers} workers, {args.concurrency_clients} clients")
        env = self.server_env(url)
        with serving(lambda: LiveServer.start(env, self.log_dir, workers=args.concurrency_workers)) as server:
            mix_tenant = make_tenant(app, f"mix-{self.run_id}")
            client = BenchClient(server.url, mix_tenant)
            warm_up(client, server, args.concurrency_workers)
            with postgres_waits(url) as waits:
                before = CpuSplit.now(server)
                result.concurrency = self._mixed_load(client, server, "mix")
                result.concurrency_cpu = CpuSplit.now(server) - before
            mix = result.concurrency
            spent = result.concurrency_cpu.describe(mix.n, mix.wall or float("nan"), postgres=url.startswith("postgresql"))
            mix.note = "; ".join(part for part in (spent, waits.summary()) if part)

    def _users_and_groups(
        self, app: Flask, tenant: Tenant, client: BenchClient, server: LiveServer, result: BackendResult
    ) -> None:
        args = self.args
        section = Section(f"{result.name}: {args.workers} workers, 1 client (one request at a time)")
        result.sections.append(section)
        twin_database = self.log_dir / f"floor-twin-{result.name.lower()}-{self.run_id}.db"
        with serving(lambda: start_floor(twin_database, self.log_dir, args.workers)) as floor_server:
            twin = BenchClient(floor_server.url, Tenant(slug="floor", token="unused"))  # noqa: S106 - the floor checks no token
            warm_up(twin, floor_server, args.workers)
            stats, result.floor_twin = self._create_read_phases(client, server, "user", args.users, twin=twin)
        ids = [user_id for user_id, _ in self.created]
        order = list(range(len(ids)))
        self.rng.shuffle(order)
        order = order[: args.reads]

        external = Stat("GET ?filter=externalId eq (hit)", "find")
        for position in order:
            params = {"filter": f'externalId eq "{self.created[position][1]["externalId"]}"'}
            timed(external, lambda params=params: client.get("/Users", params=params), (200,))
        external.memory_mb = peak_memory_mb(server)

        patch = Stat("PATCH /Users/{id} (Entra shapes)", "create")
        for position in order:
            path, operations = f"/Users/{ids[position]}", user_patch(position, ids[(position + 1) % len(ids)])
            timed(patch, lambda path=path, operations=operations: client.patch(path, operations), (200, 204))
        patch.memory_mb = peak_memory_mb(server)

        listing = Stat("GET /Users?startIndex&count=100 (page)", "get")
        pages = max(1, math.ceil(len(ids) / 100))
        rounds = max(1, math.ceil(args.samples / pages))
        for _ in range(rounds):
            for page in range(pages):
                timed(
                    listing, lambda page=page: client.get("/Users", params={"startIndex": page * 100 + 1, "count": 100}), (200,)
                )
        listing.memory_mb = peak_memory_mb(server)

        healthz = self._healthz(server)
        section.stats += [stats["lookup"], stats["create"], stats["get"], stats["find"], external, patch, listing, healthz]

        # Groups: Entra's Test Connection probe and group match by displayName, then POST (the tutorial's "Group operations").
        group_section = Section(f"{result.name}: groups, {args.workers} workers, 1 client")
        result.sections.append(group_section)
        lookup = Stat("GET /Groups?filter=displayName eq&excludedAttributes=members", "find")
        create = Stat("POST /Groups", "create")
        groups: dict[int, str] = {}
        for k in args.members:
            name = f"bench-{self.run_id}-K{k}"
            timed(
                lookup,
                lambda name=name: client.get(
                    "/Groups", params={"filter": f'displayName eq "{name}"', "excludedAttributes": "members"}
                ),
                (200,),
            )
            response = timed(create, lambda name=name: client.post("/Groups", entra_group(name)), (201,))
            if response is None or response.status_code != 201:
                raise RuntimeError(f"could not create the group for K={k}: {create.examples}")
            groups[k] = response.json()["id"]
        for index in range(args.samples):
            name = f"bench-{self.run_id}-K{args.members[index % len(args.members)]}"
            timed(
                lookup,
                lambda name=name: client.get(
                    "/Groups", params={"filter": f'displayName eq "{name}"', "excludedAttributes": "members"}
                ),
                (200,),
            )
        lookup.memory_mb = create.memory_mb = peak_memory_mb(server)

        # Members beyond the users created over HTTP: a bulk INSERT through the ORM models.
        biggest = max(args.members)
        wanted = biggest + args.samples
        bulk = Stat("bulk INSERT users via ORM models (direct DB, not HTTP)")
        if wanted > len(ids):
            start = time.perf_counter()
            extra = bulk_users(app, tenant, wanted - len(ids), f"bulk-{self.run_id}", self.run_id)
            bulk.wall = time.perf_counter() - start
            bulk.latencies = [bulk.wall / len(extra)] * len(extra)
            bulk.note = f"{len(extra)} users in {bulk.wall:.1f}s"
        else:
            extra = []
        everyone = ids + extra
        members, spares = everyone[:biggest], everyone[biggest:wanted]

        # Fill every group by PATCH batches of --member-batch, as Entra adds members.
        batch = args.member_batch
        fill: dict[int, Stat] = {}
        for k in args.members:
            stat = Stat(f"PATCH add {batch} members, filling to K={k:,}", "create")
            for start_at in range(0, k, batch):
                chunk = members[start_at : min(start_at + batch, k)]
                timed(stat, lambda k=k, chunk=chunk: client.patch(f"/Groups/{groups[k]}", members_op("Add", chunk)), (204,))
            stat.memory_mb = peak_memory_mb(server)
            fill[k] = stat
            log(f"{result.name}: group filled to K={k:,} ({stat.n} batches, {stat.errors} errors)")

        # One member in and out at each K, interleaved so that every K sees the same database.
        single: dict[tuple[str, int], Stat] = {}
        for k in args.members:
            single["add", k] = Stat(f"PATCH add 1 member @K={k:,}", "create")
            single["remove", k] = Stat(f"PATCH remove 1 member (by value) @K={k:,}", "create")
            single["get", k] = Stat(f"GET /Groups/{{id}}?excludedAttributes=members @K={k:,}", "get")
        for spare in spares:
            for k in args.members:
                path = f"/Groups/{groups[k]}"
                timed(single["add", k], lambda path=path, spare=spare: client.patch(path, members_op("Add", [spare])), (204,))
                timed(single["get", k], lambda path=path: client.get(path, params={"excludedAttributes": "members"}), (200,))
                timed(
                    single["remove", k], lambda path=path, spare=spare: client.patch(path, members_op("Remove", [spare])), (204,)
                )
        for stat in single.values():
            stat.memory_mb = peak_memory_mb(server)

        deletes = Stat("DELETE /Users/{id}", "create")
        for user_id in [ids[position] for position in order]:
            timed(deletes, lambda user_id=user_id: client.delete(f"/Users/{user_id}"), (204,))
        deletes.memory_mb = peak_memory_mb(server)
        group_deletes = Stat("DELETE /Groups/{id} (one per K, members included)", "create")
        for k in args.members:
            timed(group_deletes, lambda k=k: client.delete(f"/Groups/{groups[k]}"), (204,))
        group_deletes.memory_mb = peak_memory_mb(server)

        group_section.stats += [lookup, create, bulk, *fill.values()]
        group_section.stats += [single[kind, k] for kind in ("add", "remove", "get") for k in args.members]
        group_section.stats += [deletes, group_deletes]
        fill_lines = []
        for k, stat in fill.items():
            if stat.n >= 2:
                window = max(1, min(10, stat.n // 10))
                first, last = median(stat.latencies[:window]), median(stat.latencies[-window:])
                fill_lines.append(
                    f"fill to K={k:,}: {stat.n} batches, {k / sum(stat.latencies):,.0f} members/s; first batch"
                    f" {stat.latencies[0] * 1000:.1f} ms, last {stat.latencies[-1] * 1000:.1f} ms; median of the first"
                    f" {window} {first * 1000:.1f} ms, of the last {window} {last * 1000:.1f} ms (x{last / first:.2f})"
                )
        group_section.lines += fill_lines
        result.stats.update({key: stat for key, stat in stats.items()})
        result.stats.update({"external": external, "patch": patch, "list": listing, "healthz": healthz, "deletes": deletes})
        result.stats.update({f"fill{k}": stat for k, stat in fill.items()})
        result.stats.update({f"{kind}{k}": stat for (kind, k), stat in single.items()})
        result.stats["events"] = Stat("events")
        result.stats["events"].note = events_check(app, tenant, client.sent)

    def _audit_cost(self, app: Flask, tenant: Tenant, client: BenchClient, result: BackendResult) -> None:
        """GET /Users/{id} in-process (``app.test_client()``), with and without the recorder, interleaved."""
        from fluid_scim.services.recorder import recorder_of

        section = Section(f"{result.name}: what recording costs a read (in-process, app.test_client(), no HTTP)")
        result.sections.append(section)
        with app.app_context():
            organisation = organisations_repo.find_by_slug(tenant.slug)
            assert organisation is not None
            user_ids = list(
                db.session.execute(select(ScimUser.id).where(ScimUser.organisation_id == organisation.id).limit(500)).scalars()
            )
            db.session.remove()
        test_client = app.test_client()
        headers = {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "User-Agent": ENTRA_AGENT}
        audited = Stat("GET /Users/{id}, recorded (event + status counts)")
        bare = Stat("GET /Users/{id}, recording stubbed out")
        recorder = recorder_of(app)
        real_add = recorder.add

        def get(stat: Stat, user_id: str) -> None:
            start = time.perf_counter()
            response = test_client.get(f"/scim/v2/Users/{user_id}", headers=headers)
            stat.add(time.perf_counter() - start, None if response.status_code == 200 else f"HTTP {response.status_code}")

        for index in range(self.args.samples * 2):
            user_id = user_ids[index % len(user_ids)]
            get(audited, user_id)
            recorder.add = lambda *_args, **_kwargs: None  # type: ignore[method-assign]
            try:
                get(bare, user_id)
            finally:
                recorder.add = real_add  # type: ignore[method-assign]
        recorder.flush()
        section.stats += [audited, bare]
        cost = audited.pct_ms(50) - bare.pct_ms(50)
        section.lines.append(
            f"recording a read costs {cost:.2f} ms at p50 ({cost / audited.pct_ms(50):.0%} of the in-process GET): its event and"
            f" status counts wait in memory; the worker's recorder writes them in one transaction every"
            f" {recorder.interval:g} s (FLUID_RECORD_FLUSH_SECONDS)"
        )
        result.stats["audit_on"], result.stats["audit_off"] = audited, bare

    def _entra_cycle(self, app: Flask, server: LiveServer, result: BackendResult) -> None:
        """Entra's initial cycle for N users: lookup + POST each, the manager round trip, access-group members."""
        args = self.args
        tenant = make_tenant(app, f"entra-{self.run_id}")
        client = BenchClient(server.url, tenant)
        prefix = f"entra-{self.run_id}"
        stat = Stat(f"Entra initial cycle, {args.entra_users} users, {args.entra_threads} threads")
        ids: dict[int, str] = {}
        wall = 0.0
        # Test Connection: a random user and a random group.
        start = time.perf_counter()
        timed(stat, lambda: client.get("/Users", params=user_name_eq(f"{uuid.uuid4()}")), (200,))
        timed(stat, lambda: client.get("/Groups", params={"filter": f'displayName eq "{uuid.uuid4()}"'}), (200,))

        def create(index: int) -> None:
            body = entra_user(prefix, index)
            timed(stat, lambda: client.get("/Users", params=user_name_eq(body["userName"])), (200,))
            response = timed(stat, lambda: client.post("/Users", body), (201,))
            if response is not None and response.status_code == 201:
                ids[index] = response.json()["id"]

        def link_manager(index: int) -> None:
            manager = ids.get(index - index % 10)
            if index in ids and manager is not None:
                operations = [{"op": "Add", "path": f"{ENTERPRISE_URN}:manager", "value": manager}]
                timed(stat, lambda: client.patch(f"/Users/{ids[index]}", operations), (200, 204))

        wall += time.perf_counter() - start
        parts = {"users": run_threads(args.entra_threads, range(args.entra_users), create)}
        parts["managers"] = run_threads(
            args.entra_threads, [index for index in range(args.entra_users) if index % 10], link_manager
        )
        wall += parts["users"] + parts["managers"]
        start = time.perf_counter()
        response = timed(
            stat,
            lambda: client.get("/Groups", params={"filter": 'displayName eq "Fluid User"', "excludedAttributes": "members"}),
            (200,),
        )
        wall += time.perf_counter() - start
        access_group = response.json()["Resources"][0]["id"] if response is not None and response.status_code == 200 else None
        if access_group is not None:
            member_ids = [ids[index] for index in sorted(ids)]
            batches = [member_ids[at : at + args.member_batch] for at in range(0, len(member_ids), args.member_batch)]

            def add_members(chunk: list[str]) -> None:
                timed(stat, lambda: client.patch(f"/Groups/{access_group}", members_op("Add", chunk)), (204,))

            parts["batches"] = run_threads(args.entra_threads, batches, add_members)
            parts["batch_count"] = len(batches)
            wall += parts["batches"]
        stat.wall = wall
        stat.memory_mb = peak_memory_mb(server)
        with app.app_context():
            organisation = organisations_repo.find_by_slug(tenant.slug)
            assert organisation is not None
            granted = db.session.execute(
                select(func.count())
                .select_from(ScimUser)
                .where(ScimUser.organisation_id == organisation.id, ScimUser.access_granted)
            ).scalar_one()
            db.session.remove()
        server_rate = stat.n / wall
        paced = stat.n / min(server_rate, ENTRA_DOCUMENTED_RATE)
        section = Section(f"{result.name}: Entra initial cycle (fresh organisation, {args.workers} workers)")
        section.stats.append(stat)
        section.lines += [
            f"{args.entra_users} users with access-group membership in {wall:.1f}s: {stat.n} requests"
            f" ({stat.n / max(args.entra_users, 1):.2f} per user), {server_rate:.0f} requests/s,"
            f" {args.entra_users / wall * 60:,.0f} users/minute as fast as {args.entra_threads} Entra threads can go;"
            f" {granted} users got access",
            f"at Entra's documented {ENTRA_DOCUMENTED_RATE:.0f} requests/s per tenant: {paced:.0f}s,"
            f" {args.entra_users / paced * 60:,.0f} users/minute (the server is then"
            f" {'not ' if server_rate >= ENTRA_DOCUMENTED_RATE else ''}the limit)",
        ]
        groups = self._entra_groups(client, [ids[index] for index in sorted(ids)], parts)
        groups.memory_mb = peak_memory_mb(server)
        section.stats.append(groups)
        section.lines += entra_estimate(parts, args.entra_users, args.member_batch, stat.n / max(args.entra_users, 1))
        result.sections.append(section)
        result.stats["entra"] = stat

    def _entra_groups(self, client: BenchClient, member_ids: Sequence[str], parts: dict[str, float]) -> Stat:
        """``ENTRA_GROUPS`` groups as Entra creates them (lookup by displayName, POST), then one PATCH batch of members each."""
        args = self.args
        stat = Stat(f"Entra cycle: {ENTRA_GROUPS} groups (lookup, POST), then a batch of members each")
        created: dict[int, str] = {}

        def create(index: int) -> None:
            name = f"entra-{self.run_id}-group-{index}"
            params = {"filter": f'displayName eq "{name}"', "excludedAttributes": "members"}
            timed(stat, lambda: client.get("/Groups", params=params), (200,))
            response = timed(stat, lambda: client.post("/Groups", entra_group(name)), (201,))
            if response is not None and response.status_code == 201:
                created[index] = response.json()["id"]

        def fill(index: int) -> None:
            at = index * args.member_batch % max(len(member_ids), 1)
            chunk = list(member_ids[at : at + args.member_batch])
            if index in created and chunk:
                timed(stat, lambda: client.patch(f"/Groups/{created[index]}", members_op("Add", chunk)), (204,))

        parts["groups"] = run_threads(args.entra_threads, range(ENTRA_GROUPS), create)
        parts["group_count"] = ENTRA_GROUPS
        parts["batches"] = parts.get("batches", 0.0) + run_threads(args.entra_threads, range(ENTRA_GROUPS), fill)
        parts["batch_count"] = parts.get("batch_count", 0) + len(created)
        stat.wall = parts["groups"] + parts["batches"]
        return stat

    def _custom_attribute(self, app: Flask, url: str, result: BackendResult) -> None:
        """Entra's match on a declared custom attribute against ``userName eq``, at ``--lookup-users`` users.

        A fresh organisation declares ``CUSTOM_PATH`` (a string) first, then gets its users in bulk
        (:func:`bulk_users`: the ``custom`` document and the typed ``scim_user_custom_value`` rows as
        POST writes them). Each sample looks up one random existing user both ways, by the same
        client, alternately: ``userName eq`` and ``<urn>:CustomAttribute eq``, the value sent
        upper-cased (both match case-insensitively), each answer checked to be that one user.
        """
        args = self.args
        count = args.lookup_users
        tenant = make_tenant(app, f"custom-{self.run_id}")
        with app.app_context():
            organisation = organisations_repo.find_by_slug(tenant.slug)
            assert organisation is not None
            directory_attributes.declare(organisation=organisation, spec=directory_attributes.Spec(CUSTOM_PATH, "string"))
            db.session.remove()
        log(f"{result.name}: custom matching attribute, {count:,} users written directly into the database")
        prefix, id_prefix = f"match-{self.run_id}", uuid.uuid4().hex[:8]
        extra = {CUSTOM_URN: {CUSTOM_ATTRIBUTE: f"Emp-{NUMBER}-Contoso"}}
        bulk = Stat(f"bulk INSERT {count:,} users with {CUSTOM_ATTRIBUTE} (direct DB, not HTTP)")
        start = time.perf_counter()
        ids = bulk_users(app, tenant, count, prefix, id_prefix, extra=extra)
        bulk.wall = time.perf_counter() - start
        bulk.latencies = [bulk.wall / len(ids)] * len(ids)
        rows = _custom_rows_count(app, tenant)
        bulk.note = f"{len(ids):,} users and {rows:,} typed rows in {bulk.wall:.1f}s"
        by_name = Stat(f"GET ?filter=userName eq (hit) @{count:,} users", "find")
        by_custom = Stat(f"GET ?filter={CUSTOM_ATTRIBUTE} eq (hit) @{count:,} users", "find")
        with serving(lambda: LiveServer.start(self.server_env(url), self.log_dir, workers=args.workers)) as server:
            client = BenchClient(server.url, tenant)
            warm_up(client, server, args.workers)
            for _ in range(args.reads):
                position = self.rng.randrange(count)
                number = str(position + ID_OFFSET)
                user_name = f"{prefix}-{number}@contoso.example".upper()
                value = f"Emp-{number}-Contoso".upper()
                lookups = (
                    (by_name, user_name_eq(user_name)),
                    (by_custom, {"filter": f'{CUSTOM_PATH} eq "{value}"'}),
                )
                for stat, params in lookups:
                    response = timed(stat, lambda params=params: client.get("/Users", params=params), (200,))
                    _expect_one(stat, response, ids[position])
            by_name.memory_mb = by_custom.memory_mb = peak_memory_mb(server)
        section = Section(f"{result.name}: custom matching attribute at {count:,} users ({args.workers} workers, 1 client)")
        section.stats += [bulk, by_name, by_custom]
        p50, p95 = by_custom.pct_ms(50) / by_name.pct_ms(50), by_custom.pct_ms(95) / by_name.pct_ms(95)
        section.lines.append(
            f"{CUSTOM_PATH} eq vs userName eq: p50 {by_custom.pct_ms(50):.2f} vs {by_name.pct_ms(50):.2f} ms (x{p50:.2f}),"
            f" p95 {by_custom.pct_ms(95):.2f} vs {by_name.pct_ms(95):.2f} ms (x{p95:.2f})"
            + ("" if p50 <= 1.5 else " -- MISSED: above 1.5x")
        )
        section.lines.append(f"the custom filter's query plan ({'EXPLAIN' if 'postgresql' in url else 'EXPLAIN QUERY PLAN'}):")
        section.lines += [f"  {line}" for line in custom_filter_plan(app, tenant, f'{CUSTOM_PATH} eq "EMP-{ID_OFFSET}-CONTOSO"')]
        result.sections.append(section)
        result.stats.update({"custom_bulk": bulk, "custom_name": by_name, "custom_value": by_custom})
        result.targets.append(
            Target(
                f"{CUSTOM_ATTRIBUTE} eq p50 <= 1.5 x userName eq p50 @{count:,} users",
                f"{by_custom.pct_ms(50):.2f} vs {by_name.pct_ms(50):.2f} ms (x{p50:.2f}; p95 x{p95:.2f})",
                p50 <= 1.5,
            )
        )

    def _tenants(self, app: Flask, url: str, result: BackendResult) -> None:
        """``--tenants`` organisations x ``--tenant-users`` users: does a request cost more when many organisations call?

        Each organisation is made by the service that creates one and its token
        (``tests.support.tenants.make_tenant``); its users are written directly into the database
        by :func:`bulk_users`. A server with ``--workers`` workers is then loaded by the lean
        client with GET /Users/{id} and ``userName eq`` on random users of one organisation, and
        of every organisation in turn (each request with its organisation's Host and token),
        alternately (one, all, all, one), on one connection and on ``--lean-connections``.
        """
        args = self.args
        count, size = args.tenants, args.tenant_users
        log(f"{result.name}: many tenants, {count} organisations x {size:,} users written directly into the database")
        section = Section(
            f"{result.name}: many tenants, {count} organisations x {size:,} users ({args.workers} workers, lean client)"
        )
        start = time.perf_counter()
        tenants = [make_tenant(app, f"t{index:04d}-{self.run_id}") for index in range(count)]
        made = time.perf_counter() - start
        start = time.perf_counter()
        prefix = f"tenant-{self.run_id}"
        users: list[list[tuple[str, str]]] = []  # per organisation: (id, userName)
        for tenant in tenants:
            ids = bulk_users(app, tenant, size, prefix, uuid.uuid4().hex[:8], analyze=False)
            users.append([(user_id, f"{prefix}-{index + ID_OFFSET}@contoso.example") for index, user_id in enumerate(ids)])
        analyze_tables(app)
        loaded = time.perf_counter() - start
        section.lines.append(
            f"{count} organisations with their tokens made in {made:.1f}s ({made / count * 1000:.0f} ms each);"
            f" {count * size:,} users written directly into the database in {loaded:.1f}s"
        )
        with serving(lambda: LiveServer.start(self.server_env(url), self.log_dir, workers=args.workers)) as server:
            warm_up(BenchClient(server.url, tenants[0]), server, args.workers)
            first = Stat(f"warm-up: GET /Users/{{id}} once in each of the {count} organisations")
            load = run_load(
                "127.0.0.1",
                server.port,
                [self._tenant_requests("get", tenants, users, range(count), 0, count + WARM_UP)],
                headers={"User-Agent": ENTRA_AGENT},
                expect=(200,),
                seconds=600,
                cycle=False,
                work_dir=self.log_dir,
                client=args.lean_client,
            )
            _merge_load(first, load)
            first.note = f"the list's first {WARM_UP} requests warmed the connection; then each organisation once"
            first.memory_mb = peak_memory_mb(server)
            section.stats.append(first)
            for connections in sorted({1, args.lean_connections}):
                for kind in ("get", "find"):
                    self._tenant_pair(server, tenants, users, connections, kind, result, section)
        result.sections.append(section)

    def _tenant_requests(
        self,
        kind: str,
        tenants: Sequence[Tenant],
        users: Sequence[Sequence[tuple[str, str]]],
        organisations: Sequence[int],
        connection: int,
        length: int,
    ) -> list[Request]:
        """``length`` requests to random users of ``organisations`` in turn, each with its organisation's Host and token."""
        rng = random.Random(connection)  # noqa: S311 - a choice of users, not a secret
        out: list[Request] = []
        for index in range(length):
            organisation = organisations[(connection * 7 + index) % len(organisations)]
            tenant, (user_id, user_name) = tenants[organisation], rng.choice(users[organisation])
            path = f"/scim/v2/Users/{user_id}" if kind == "get" else "/scim/v2/Users?" + urlencode(user_name_eq(user_name))
            out.append(("GET", path, None, {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"}))
        return out

    def _tenant_pair(
        self,
        server: LiveServer,
        tenants: Sequence[Tenant],
        users: Sequence[Sequence[tuple[str, str]]],
        connections: int,
        kind: str,
        result: BackendResult,
        section: Section,
    ) -> None:
        """One organisation against all of them, alternately; the target: all <= 1.2 x one in server CPU per request."""
        count, label = len(tenants), LEAN_KINDS[kind][0]
        length = max(1000, 5 * count)
        one = Stat(f"{connections} conn: {label}, one organisation")
        every = Stat(f"{connections} conn: {label}, {count} organisations in turn")
        headers = {"User-Agent": ENTRA_AGENT}

        def of(organisations: Sequence[int]) -> Callable[[int], list[list[Request]]]:
            return lambda _half: [
                self._tenant_requests(kind, tenants, users, organisations, at, length) for at in range(connections)
            ]

        self._alternate(
            LeanSide(one, server, of([0]), headers),
            LeanSide(every, server, of(range(count)), headers),
            connections,
            (200,),
            cycle=True,
            seconds=self.args.tenant_seconds,
        )
        section.stats += [one, every]
        cpu = (every.server_cpu_ms or 0.0) / (one.server_cpu_ms or float("nan"))
        rate = every.ops_per_s / one.ops_per_s if one.ops_per_s else float("nan")
        section.lines.append(
            f"{connections} conn, {label}: {count} organisations vs one: server CPU {every.server_cpu_ms or 0:.2f} vs"
            f" {one.server_cpu_ms or 0:.2f} ms per request (x{cpu:.2f}); {every.ops_per_s:,.0f} vs {one.ops_per_s:,.0f}"
            f" req/s (x{rate:.2f}); p50 {every.pct_ms(50):.2f} vs {one.pct_ms(50):.2f} ms"
        )
        result.targets.append(
            Target(
                f"many tenants, {connections} conn: {label}, server CPU/request with {count} orgs <= 1.2 x one org",
                f"{every.server_cpu_ms or 0:.2f} vs {one.server_cpu_ms or 0:.2f} ms (x{cpu:.2f}; req/s x{rate:.2f})",
                cpu <= 1.2,
            )
        )

    def _lean(self, app: Flask, url: str, result: BackendResult) -> None:
        """fluid-scim and the floor loaded by the lean client (bench/lean.py), alternately, in one run.

        Both servers run side by side with ``--workers`` workers each and the same seeded users
        (``--lean-users``, created over HTTP). Each (connections, kind) is measured on ours, the
        floor, the floor, ours, for ``--lean-seconds`` / 2 each, so that a slow second of the shared
        machine falls on both; one connection for /healthz, GET by id, ``userName eq`` and POST,
        then ``--lean-connections`` for POST, GET by id and ``userName eq``.
        """
        args = self.args
        tenant = make_tenant(app, f"lean-{self.run_id}")
        floor_database = self.log_dir / f"floor-lean-{result.name.lower()}-{self.run_id}.db"
        section = Section(
            f"{result.name}: lean client (bench/lean.py, {args.lean_client}, one process per connection),"
            f" fluid-scim and the floor alternately, {args.workers} workers each"
        )
        log(f"{result.name}: lean client, {args.workers} workers, 1 and {args.lean_connections} connections")
        with (
            serving(lambda: LiveServer.start(self.server_env(url), self.log_dir, workers=args.workers)) as server,
            serving(lambda: start_floor(floor_database, self.log_dir, args.workers)) as floor_server,
        ):
            servers = {"ours": server, "floor": floor_server}
            seeded = {}
            for side, live in servers.items():
                client = BenchClient(live.url, tenant if side == "ours" else Tenant(slug="floor", token="unused"))  # noqa: S106
                warm_up(client, live, args.workers)
                seeded[side] = self._lean_seed(client, f"lean-{self.run_id}")
            headers = {"Host": tenant.host, "User-Agent": ENTRA_AGENT, "Authorization": f"Bearer {tenant.token}"}
            plan = [(1, kind) for kind in ("healthz", "get", "find", "create")]
            plan += [(args.lean_connections, kind) for kind in ("create", "get", "find")]
            for connections, kind in plan:
                pair = self._lean_pair(servers, seeded, headers, connections, kind)
                section.stats += pair
                self._lean_verdict(result, section, connections, kind, *pair)
                if connections == 1 and kind == "find":
                    section.stats += self._lean_page(server, seeded["ours"], headers, result, section)
        result.sections.append(section)

    def _lean_page(
        self,
        server: LiveServer,
        seeded: list[tuple[str, str]],
        headers: Mapping[str, str],
        result: BackendResult,
        section: Section,
    ) -> list[Stat]:
        """A page of 100 users against a single GET on ours, one connection, alternately (the floor lists no pages)."""
        page = Stat(f"1 conn: {LEAN_KINDS['page'][0]}")
        get = Stat(f"1 conn: {LEAN_KINDS['get'][0]}, beside the page")

        def pages(_half: int) -> list[list[Request]]:
            return [[("GET", "/scim/v2/Users?startIndex=1&count=100", None)]]

        def gets(_half: int) -> list[list[Request]]:
            return [self._lean_requests("get", seeded, 0, 1, "")]

        self._alternate(LeanSide(get, server, gets, headers), LeanSide(page, server, pages, headers), 1, (200,), cycle=True)
        at_p50, at_cpu = page.pct_ms(50) / get.pct_ms(50), (page.server_cpu_ms or 0) / (get.server_cpu_ms or float("nan"))
        users = min(100, len(seeded))
        section.lines.append(
            f"1 conn, a page of {users} users vs a single GET: p50 {page.pct_ms(50):.2f} vs {get.pct_ms(50):.2f} ms"
            f" (x{at_p50:.2f}); server CPU {page.server_cpu_ms or 0:.2f} vs {get.server_cpu_ms or 0:.2f} ms (x{at_cpu:.2f})"
        )
        result.targets.append(
            Target(
                f"lean client, 1 conn: list page of {users} <= 3 x single GET (p50)",
                f"{page.pct_ms(50):.2f} vs {get.pct_ms(50):.2f} ms (x{at_p50:.2f}; server CPU x{at_cpu:.2f})",
                at_p50 <= 3,
            )
        )
        return [get, page]

    def run_side_by_side(self) -> None:
        """SQLite and PostgreSQL served at the same time, each with ``--workers`` workers and the same seeded users,
        each kind loaded by the lean client on one connection, alternately (SQLite, PostgreSQL, PostgreSQL,
        SQLite, ``--pair-seconds`` / 2 each): "PostgreSQL p50 <= 1.5 x SQLite" without the machine's drift between
        the backends' own phases, which run minutes apart."""
        args = self.args
        section = Section(
            f"SQLite and PostgreSQL side by side: lean client, 1 connection, alternately, {args.workers} workers each"
        )
        targets: list[Target] = []
        log(f"SQLite and PostgreSQL side by side, {args.workers} workers each, 1 connection")
        with ExitStack() as stack:
            sides: dict[str, tuple[LiveServer, dict[str, str], list[tuple[str, str]]]] = {}
            vacuumed = BackendResult(name="PostgreSQL")  # the autovacuum stand-in's notes
            for backend, name in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
                url = stack.enter_context(self.database(backend))
                stack.enter_context(autovacuum_stand_in(url, args.pg_vacuum_every, vacuumed))
                app = create_app(self.settings(url))
                with app.app_context():
                    flask_migrate.upgrade()
                tenant = make_tenant(app, f"pair-{self.run_id}")
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
                server = stack.enter_context(
                    serving(lambda url=url: LiveServer.start(self.server_env(url), self.log_dir, workers=args.workers))
                )
                client = BenchClient(server.url, tenant)
                warm_up(client, server, args.workers)
                headers = {"Host": tenant.host, "User-Agent": ENTRA_AGENT, "Authorization": f"Bearer {tenant.token}"}
                sides[name] = (server, headers, self._lean_seed(client, f"pair-{self.run_id}"))
            for kind, (label, expect) in PAIR_KINDS.items():
                pair = [self._pair_side(kind, name, *side) for name, side in sides.items()]
                self._alternate(pair[0], pair[1], 1, expect, cycle=kind != "create", seconds=args.pair_seconds)
                section.stats += [side.stat for side in pair]
                a, b = (side.stat.pct_ms(50) for side in pair)
                value = f"{b:.2f} vs {a:.2f} ms (x{b / a:.2f})"
                targets.append(Target(f"PostgreSQL p50 <= 1.5 x SQLite, side by side: {label}", value, b <= 1.5 * a))
        section.lines += vacuumed.notes
        self.side_by_side = (section, targets)

    def _pair_side(
        self, kind: str, name: str, server: LiveServer, headers: Mapping[str, str], seeded: list[tuple[str, str]]
    ) -> LeanSide:
        """One backend's side of a side-by-side kind: GETs and lookups of the seeded users, fresh POSTs, or PATCHes
        that change each user (two rounds of values, so that a cycled list changes a user every time)."""
        run_headers = dict(headers)
        if kind in ("create", "patch"):
            run_headers["Content-Type"] = "application/scim+json; charset=utf-8"

        def requests_of(half: int) -> list[list[Request]]:
            if kind != "patch":
                return [self._lean_requests(kind, seeded, 0, 1, f"pair-{self.run_id}-{name}{half}", self.args.pair_seconds)]
            return [[
                ("PATCH", f"/scim/v2/Users/{user_id}", json.dumps({"schemas": [PATCH_OP], "Operations": [
                    {"op": "Replace", "path": 'emails[type eq "work"].value', "value": f"round{round_}-{index}@contoso.example"},
                    {"op": "Replace", "path": "name.familyName", "value": f"Round{round_}"}]}))
                for round_ in (0, 1) for index, (user_id, _) in enumerate(seeded)
            ]]

        return LeanSide(Stat(f"1 conn: {name}: {PAIR_KINDS[kind][0]}"), server, requests_of, run_headers)

    def _lean_seed(self, client: BenchClient, prefix: str) -> list[tuple[str, str]]:
        """``--lean-users`` users created over HTTP: (id, userName) of each; the same userNames on both servers."""
        seeded = []
        for index in range(self.args.lean_users):
            body = entra_user(prefix, index)
            response = client.post("/Users", body)
            if response.status_code != 201:
                raise RuntimeError(f"lean phase: could not seed a user: HTTP {response.status_code} {response.text[:160]}")
            seeded.append((response.json()["id"], body["userName"]))
        return seeded

    def _lean_requests(
        self, kind: str, seeded: list[tuple[str, str]], connection: int, connections: int, prefix: str,
        seconds: float | None = None,
    ) -> list[Request]:
        """The requests one connection sends: the seeded users from its own offset, or fresh POST bodies (enough
        for half of ``seconds``, default ``--lean-seconds``)."""
        if kind == "healthz":
            return [("GET", "/healthz", None)]
        rotated = seeded[connection * len(seeded) // connections :] + seeded[: connection * len(seeded) // connections]
        if kind == "get":
            return [("GET", f"/scim/v2/Users/{user_id}", None) for user_id, _ in rotated]
        if kind == "find":
            return [("GET", "/scim/v2/Users?" + urlencode(user_name_eq(name)), None) for _, name in rotated]
        count = math.ceil(LEAN_POST_RATE * (seconds or self.args.lean_seconds) / 2 / connections) + 30
        return [("POST", "/scim/v2/Users", json.dumps(entra_user(f"{prefix}-c{connection}", index))) for index in range(count)]

    def _lean_pair(
        self,
        servers: Mapping[str, LiveServer],
        seeded: Mapping[str, list[tuple[str, str]]],
        headers: Mapping[str, str],
        connections: int,
        kind: str,
    ) -> tuple[Stat, Stat]:
        """One kind at one concurrency on ours and on the floor (ours, floor, floor, ours): the two merged Stats."""
        label, expect = LEAN_KINDS[kind]
        run_headers = dict(headers)
        if kind == "create":
            run_headers["Content-Type"] = "application/scim+json; charset=utf-8"

        def side(name: str, stat: Stat) -> LeanSide:
            def requests_of(half: int) -> list[list[Request]]:
                prefix = f"lean-{self.run_id}-{name}{half}-{connections}"
                return [self._lean_requests(kind, seeded[name], at, connections, prefix) for at in range(connections)]

            return LeanSide(stat, servers[name], requests_of, run_headers)

        ours = Stat(f"{connections} conn: {label}", f"{kind}/{connections}")
        floor = Stat(f"{connections} conn: floor {label}")
        self._alternate(side("ours", ours), side("floor", floor), connections, expect, cycle=kind != "create")
        return ours, floor

    def _alternate(
        self, first: LeanSide, second: LeanSide, connections: int, expect: Sequence[int], *, cycle: bool, seconds: float = 0
    ) -> None:
        """Load ``first``, ``second``, ``second``, ``first`` with the lean client, ``seconds`` / 2 each (default
        ``--lean-seconds``), so that a slow second of the shared machine falls on both; fill both Stats with the
        requests, the wall time and the client's and the server workers' CPU per request."""
        seconds = seconds or self.args.lean_seconds
        cpu = {id(side): [0.0, 0.0] for side in (first, second)}  # client, server CPU seconds
        for half, side in enumerate((first, second, second, first)):
            workers = sorted(side.server.worker_pids())
            before = process_cpu_seconds(workers)
            load = run_load(
                "127.0.0.1",
                side.server.port,
                side.requests(half),
                headers=side.headers,
                expect=expect,
                seconds=seconds / 2,
                cycle=cycle,
                work_dir=self.log_dir,
                client=self.args.lean_client,
            )
            cpu[id(side)][1] += process_cpu_seconds(workers) - before
            cpu[id(side)][0] += load.client_cpu
            _merge_load(side.stat, load)
        for side in (first, second):
            stat = side.stat
            client, served = (spent * 1000 / max(stat.n, 1) for spent in cpu[id(side)])
            stat.server_cpu_ms = served
            stat.note = (
                f"CPU per request: client {client:.3f} ms ({connections} process(es)), server workers {served:.3f} ms"
                f" (client/server {client / served if served else float('nan'):.1%})" + stat.note
            )
            stat.memory_mb = peak_memory_mb(side.server)

    def _lean_verdict(
        self, result: BackendResult, section: Section, connections: int, kind: str, ours: Stat, floor: Stat
    ) -> None:
        assert ours.reference is not None
        result.lean_floor[ours.reference] = floor
        ratio = ours.ops_per_s / floor.ops_per_s if floor.ops_per_s else float("nan")
        section.lines.append(
            f"{connections} conn, {LEAN_KINDS[kind][0]}: {ours.ops_per_s:,.0f} vs the floor's {floor.ops_per_s:,.0f} req/s"
            f" ({ratio:.2f}x); p50 {ours.pct_ms(50):.2f} vs {floor.pct_ms(50):.2f} ms, p95 {ours.pct_ms(95):.2f} vs"
            f" {floor.pct_ms(95):.2f} ms"
        )
        minimum = (LEAN_SINGLE_TARGETS if connections == 1 else LEAN_MANY_TARGETS).get(kind)
        if minimum is None:
            return
        result.targets.append(
            Target(
                f"lean client, {connections} conn, {self.args.workers} workers: {LEAN_KINDS[kind][0]} >= {minimum} x floor",
                f"{ratio:.2f}x floor ({ours.ops_per_s:,.0f} vs {floor.ops_per_s:,.0f} req/s)",
                ratio >= minimum,
            )
        )
        # The CPU budget: what the floor's workers spend on this request in this run, divided by the target ratio.
        spent, floor_spent = ours.server_cpu_ms or 0.0, floor.server_cpu_ms or 0.0
        budget = floor_spent / minimum
        section.lines.append(
            f"{connections} conn, {LEAN_KINDS[kind][0]}: server CPU {spent:.2f} ms per request, budget {budget:.2f} ms"
            f" (the floor's {floor_spent:.2f} ms / {minimum}): {spent / budget if budget else float('nan'):.1f}x the budget"
        )
        result.targets.append(
            Target(
                f"CPU budget, {connections} conn: {LEAN_KINDS[kind][0]} <= floor's CPU / {minimum}",
                f"{spent:.2f} ms vs budget {budget:.2f} ms (floor {floor_spent:.2f} ms)",
                0 < spent <= budget,
            )
        )

    # -- targets and report --

    def floor_for(self, result: BackendResult) -> dict[str, Stat]:
        """The floor figures a backend is compared with: those measured interleaved with it, where there are."""
        return {**self.floor, **result.floor_twin, **result.lean_floor}

    def targets(self, result: BackendResult) -> None:
        """The main phases' targets, then those the other phases set (the custom matching attribute), then errors."""
        others, result.targets = result.targets, []
        if "main" in self.args.phases:
            self._main_targets(result)
        result.targets += others
        every = [stat for section in result.sections for stat in section.stats]
        if result.concurrency is not None:
            every.append(result.concurrency)
        errors = sum(stat.errors for stat in every)
        result.targets.append(Target("no errors", f"{errors} errors", errors == 0))
        peaks = [(mb, stat.name) for stat in every for mb in stat.memory_mb.values()]
        if peaks:
            peak, where = max(peaks)
            result.targets.append(
                Target("worker peak memory < 200 MB (VmHWM, every phase run)", f"{peak:.0f} MB (in: {where[:60]})", peak < 200)
            )

    def _main_targets(self, result: BackendResult) -> None:
        stats, floor, members = result.stats, self.floor_for(result), self.args.members
        small, big = min(members), max(members)

        def ratio_to_floor(key: str, floor_key: str, minimum: float, label: str) -> None:
            value = stats[key].ops_per_s / floor[floor_key].ops_per_s
            result.targets.append(Target(label, f"{value:.2f}x floor", value >= minimum))

        ratio_to_floor("create", "create", 0.6, "POST /Users >= 0.6 x floor create rate")
        ratio_to_floor("get", "get", 0.7, "GET /Users/{id} >= 0.7 x floor")
        ratio_to_floor("find", "find", 0.7, "userName eq >= 0.7 x floor")
        for kind, label in (("add", "add 1 member"), ("remove", "remove 1 member"), ("get", "GET excludedAttributes=members")):
            a, b = stats[f"{kind}{small}"].pct_ms(50), stats[f"{kind}{big}"].pct_ms(50)
            result.targets.append(
                Target(
                    f"{label}: p50 @K={big:,} <= 1.2 x p50 @K={small:,}", f"{b:.1f} vs {a:.1f} ms (x{b / a:.2f})", b <= 1.2 * a
                )
            )
        fill = stats[f"fill{big}"]
        window = max(1, min(10, fill.n // 10))
        first, last = median(fill.latencies[:window]), median(fill.latencies[-window:])
        result.targets.append(
            Target(
                f"fill to K={big:,}: last batches <= 1.5 x first (medians of {window})",
                f"{last * 1000:.1f} vs {first * 1000:.1f} ms (x{last / first:.2f})",
                last <= 1.5 * first,
            )
        )
        page, single = stats["list"].pct_ms(50), stats["get"].pct_ms(50)
        result.targets.append(
            Target(
                "list page of 100 <= 3 x single GET (p50)",
                f"{page:.1f} vs {single:.1f} ms (x{page / single:.2f})",
                page <= 3 * single,
            )
        )

    def comparison(self) -> list[Target]:
        by_name = {result.name: result for result in self.results}
        if not {"SQLite", "PostgreSQL"} <= set(by_name) or not {"main", "mix"} & set(self.args.phases):
            return []
        sqlite_stats, pg_stats = by_name["SQLite"].stats, by_name["PostgreSQL"].stats
        targets = []
        single = ("lookup", "create", "get", "find", "external", "patch", "list", f"add{max(self.args.members)}")
        for key in single if "main" in self.args.phases else ():
            a, b = sqlite_stats[key].pct_ms(50), pg_stats[key].pct_ms(50)
            targets.append(
                Target(
                    f"PostgreSQL p50 <= 1.5 x SQLite: {sqlite_stats[key].name}",
                    f"{b:.1f} vs {a:.1f} ms (x{b / a:.2f})",
                    b <= 1.5 * a,
                )
            )
        sqlite_mix, pg_mix = by_name["SQLite"].concurrency, by_name["PostgreSQL"].concurrency
        if sqlite_mix is not None and pg_mix is not None:
            a, b = sqlite_mix.ops_per_s, pg_mix.ops_per_s
            cpu = ""
            sqlite_cpu, pg_cpu = by_name["SQLite"].concurrency_cpu, by_name["PostgreSQL"].concurrency_cpu
            if sqlite_cpu is not None and pg_cpu is not None:
                cpu = f"; server CPU per request {pg_cpu.served(pg_mix.n):.2f} vs {sqlite_cpu.served(sqlite_mix.n):.2f} ms"
            targets.append(
                Target(
                    f"PostgreSQL > SQLite on the mixed phase ({self.args.concurrency_workers} workers each,"
                    f" {self.args.concurrency_clients} clients)",
                    f"{b:.0f} vs {a:.0f} req/s (x{b / a:.2f}){cpu}",
                    b > a,
                )
            )
        return targets

    def _main_lines(self, result: BackendResult, floor: dict[str, Stat]) -> list[str]:
        get, floor_get = result.stats["get"].pct_ms(50), floor["get"].pct_ms(50)
        return [
            f"{result.name}: every SCIM request is audited: {result.stats['events'].note}",
            f"{result.name}: GET /Users/{{id}} p50 {get:.2f} ms vs the floor's {floor_get:.2f} ms: {get - floor_get:+.2f} ms;"
            f" /healthz (Flask + JSON access log, no database) {result.stats['healthz'].pct_ms(50):.2f} ms vs the"
            f" floor's {self.floor['healthz'].pct_ms(50):.2f} ms; recording alone"
            f" {result.stats['audit_on'].pct_ms(50) - result.stats['audit_off'].pct_ms(50):.2f} ms (in-process A/B above)",
        ]

    def report(self) -> str:
        out: list[str] = []
        args = self.args
        out.append("fluid-scim benchmark")
        out.append(self.facts)
        out.append(
            f"settings: --users {args.users} --reads {args.reads} --members {','.join(map(str, args.members))}"
            f" --member-batch {args.member_batch}"
            f" --samples {args.samples} --workers {args.workers} --concurrency-workers {args.concurrency_workers}"
            f" --concurrency-clients {args.concurrency_clients} --concurrency-users {args.concurrency_users}"
            f" --entra-users {args.entra_users} --entra-threads {args.entra_threads} --pg-vacuum-every {args.pg_vacuum_every:g}"
            f" --lookup-users {args.lookup_users} --lean-seconds {args.lean_seconds:g} --lean-connections {args.lean_connections}"
            f" --lean-users {args.lean_users} --lean-client {args.lean_client}"
            f"{'' if args.kept_records is None else f' --kept-records {args.kept_records}'}"
            f" --tenants {args.tenants} --tenant-users {args.tenant_users} --tenant-seconds {args.tenant_seconds:g}"
            f" --phases {','.join(args.phases)} --backends {','.join(args.backends)};"
            f" logs in {self.log_dir}"
        )
        out.append(
            "ops/s: one client thread: n / time spent in the phase's requests (1 / mean latency); with threads:"
            " n / wall time. 'vs floor' divides ops/s by the floor phase named. peak MB: VmHWM of each worker."
        )
        out.append("")
        if self.floor:
            floor_section = Section(f"floor (bench/floor_app.py): {args.workers} workers, 1 client", list(self.floor.values()))
            out += render_section(floor_section, {})
        if self.floor_concurrency is not None:
            out += render_section(Section(f"floor: {args.concurrency_workers} workers, mixed load", [self.floor_concurrency]), {})
        for result in self.results:
            floor = self.floor_for(result)
            if result.floor_twin:
                twin = Section(
                    f"floor, interleaved request by request with {result.name} ({args.workers} workers each, 1 client):"
                    " the ratios below use these",
                    list(result.floor_twin.values()),
                )
                out += render_section(twin, {})
            for section in result.sections:
                out += render_section(section, floor)
            if result.concurrency is not None:
                mix = Section(f"{result.name}: {args.concurrency_workers} workers, mixed load", [result.concurrency])
                out += render_section(mix, {"mix": self.floor_concurrency} if self.floor_concurrency else {})
            out += [f"{result.name}: {note}" for note in result.notes]
            if "events" in result.stats:
                out += self._main_lines(result, floor)
            out.append("")
            out += render_targets(f"{result.name}: targets", result.targets)
        comparison = self.comparison()
        if comparison:
            out += render_targets("PostgreSQL vs SQLite", comparison)
        if self.side_by_side is not None:
            section, targets = self.side_by_side
            out += render_section(section, {})
            out += render_targets("PostgreSQL vs SQLite, side by side", targets)
        return "\n".join(out)


def entra_estimate(parts: Mapping[str, float], users: int, batch: int, requests_per_user: float) -> list[str]:
    """Entra's initial cycle for ``ESTIMATE_USERS`` users and ``ESTIMATE_GROUPS`` groups, from the measured costs.

    With U users, G groups of M members on average, b members per PATCH batch, and the wall time per
    unit measured with ``--entra-threads`` threads: t_user (lookup + POST, and the manager PATCH of
    9 users in 10), t_group (displayName lookup + POST), t_batch (one PATCH of b members):
    T = U t_user + G t_group + (ceil(U / b) + G ceil(M / b)) t_batch; users per minute = 60 U / T.
    The access group gets every user (ceil(U / b) batches); every other group M members.
    """
    if not users or not parts.get("group_count") or not parts.get("batch_count"):
        return ["Entra initial-cycle estimate: not computed (a part of the cycle did not run)"]
    t_user = (parts["users"] + parts["managers"]) / users
    t_group = parts["groups"] / parts["group_count"]
    t_batch = parts["batches"] / parts["batch_count"]
    u, g, m = ESTIMATE_USERS, ESTIMATE_GROUPS, ESTIMATE_GROUP_MEMBERS
    batches = math.ceil(u / batch) + g * math.ceil(m / batch)
    total = u * t_user + g * t_group + batches * t_batch
    requests = u * requests_per_user + 2 * g + batches
    paced = max(total, requests / ENTRA_DOCUMENTED_RATE)
    return [
        f"measured per unit ({parts['group_count']:.0f} groups, {parts['batch_count']:.0f} member batches of up to {batch}):"
        f" t_user {t_user * 1000:.1f} ms (lookup + POST + 0.9 manager PATCH), t_group {t_group * 1000:.1f} ms"
        f" (lookup + POST), t_batch {t_batch * 1000:.1f} ms (PATCH of {batch} members)",
        f"Entra initial-cycle estimate, {u:,} users and {g:,} groups of {m} members ({batches:,} member batches):"
        f" T = U t_user + G t_group + batches t_batch = {u * t_user:,.0f} + {g * t_group:,.0f} + {batches * t_batch:,.0f}"
        f" = {total:,.0f}s = {total / 60:.1f} minutes, {u / total * 60:,.0f} users/minute as fast as the threads go;"
        f" paced at {ENTRA_DOCUMENTED_RATE:.0f} requests/s ({requests:,.0f} requests): {paced / 60:.1f} minutes,"
        f" {u / paced * 60:,.0f} users/minute",
    ]


def _merge_load(stat: Stat, load: LoadResult) -> None:
    """Add one lean run to a Stat: its latencies, errors and wall time (ops/s is then n / the runs' wall time)."""
    stat.latencies += load.latencies
    stat.errors += load.errors
    stat.examples += [example for example in load.examples if example not in stat.examples][: 3 - len(stat.examples)]
    stat.wall = (stat.wall or 0.0) + load.wall
    if load.exhausted:
        stat.note += f" ({load.exhausted} connection(s) ran out of prepared requests before the deadline)"


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def render_section(section: Section, floor: Mapping[str, Stat | None]) -> list[str]:
    out = [f"== {section.title} =="]
    out.append(
        f"{'phase':<62} {'n':>7} {'ops/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}  {'vs floor':<16} peak MB"
    )
    for stat in section.stats:
        reference = floor.get(stat.reference or "") if stat.reference else None
        versus = f"{stat.ops_per_s / reference.ops_per_s:.2f}x {stat.reference}" if reference and reference.ops_per_s else ""
        memory = "/".join(f"{mb:.0f}" for mb in stat.memory_mb.values())
        out.append(
            f"{stat.name[:62]:<62} {stat.n:>7} {stat.ops_per_s:>9.1f} {stat.pct_ms(50):>8.2f} {stat.pct_ms(95):>8.2f}"
            f" {stat.pct_ms(99):>8.2f} {stat.errors:>6}  {versus:<16} {memory}"
        )
        if stat.note:
            out.append(f"    {stat.note}")
        for example in stat.examples:
            out.append(f"    error: {example}")
    out += [f"  {line}" for line in section.lines]
    out.append("")
    return out


def render_targets(title: str, targets: list[Target]) -> list[str]:
    out = [f"== {title} =="]
    for target in targets:
        out.append(f"{'PASS' if target.passed else 'FAIL'}  {target.name:<72} {target.value}")
    out.append("")
    return out


def bulk_users(
    app: Flask,
    tenant: Tenant,
    count: int,
    prefix: str,
    id_prefix: str,
    extra: dict[str, Any] | None = None,
    *,
    analyze: bool = True,
) -> list[str]:
    """Users written straight into the database (not over HTTP), through fluid-scim's ORM models.

    One template user goes through the code POST /Users runs (``coerce_resource`` with the
    organisation's resource type, then ``mapping.write_user`` for the columns, the ``custom``
    document and the multi-valued rows, ``mapping.custom_rows`` for the typed rows of declared
    custom attributes); the database then copies it ``count`` times with ``INSERT … SELECT`` over a
    numbered series (a recursive CTE, so the same statement runs on SQLite and PostgreSQL),
    numbering userName, externalId, id, names, emails and any ``NUMBER`` in ``extra`` (more body
    attributes, custom ones included). Ids are UUID-shaped like the ones fluid-scim issues:
    ``{id_prefix (8 hex)}-0000-4000-8000-1{n:011d}``. On PostgreSQL each table is analysed after
    its copies, unless ``analyze`` is false (the caller then runs :func:`analyze_tables` once).
    """
    if len(id_prefix) != 8 or count >= ID_OFFSET:
        raise ValueError("id_prefix must be 8 hexadecimal digits and count below 10**11")
    user_name = f"{prefix}-{NUMBER}@contoso.example"
    body = {
        "schemas": [CORE_USER, *(key for key in (extra or {}) if key.startswith("urn:"))],
        "userName": user_name,
        "externalId": f"{prefix}-nick-{NUMBER}",
        "active": True,
        "displayName": f"Bulk {NUMBER}",
        "name": {"givenName": "Bulk", "familyName": f"User{NUMBER}"},
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        **(extra or {}),
    }
    now = utcnow()
    with app.app_context():
        organisation = organisations_repo.find_by_slug(tenant.slug)
        assert organisation is not None
        template = ScimUser(
            organisation_id=organisation.id,
            id=f"{id_prefix}-0000-4000-8000-{NUMBER}",
            version=1,
            created_at=now,
            updated_at=now,
            access_granted=False,
            fluid_roles=[],
            origin="scim",
            fluid_extension=True,
        )
        resource_type = directory_schema.user_resource(organisation)
        value_rows = [  # column values, as POST inserts them; read below like the ORM rows
            SimpleNamespace(**{key: row.get(key) for key in (column.key for column in ScimUserValue.__table__.columns)})
            for row in mapping.write_user(template, coerce_resource(resource_type, body, quirks=set()))
        ]
        custom_rows = mapping.custom_rows(template, resource_type)
        postgres = db.session.get_bind().dialect.name == "postgresql"
        series = select(literal(ID_OFFSET, BigInteger).label("n")).cte("series", recursive=True)
        series = series.union_all(select(series.c.n + 1).where(series.c.n < ID_OFFSET + count - 1))
        tables: list[tuple[Any, list[Any]]] = [(ScimUser, [template]), (ScimUserValue, value_rows)]
        if custom_rows:
            tables.append((ScimUserCustomValue, custom_rows))
        for model, rows in tables:
            for row in rows:
                columns = [column for column in model.__table__.columns if getattr(row, column.key) is not None]
                expressions = [_numbered(getattr(row, column.key), column.type, series.c.n, postgres) for column in columns]
                query = select(*expressions).select_from(series)
                db.session.execute(insert(model).from_select([column.key for column in columns], query))
            db.session.commit()
            _analyze_after_load(model, postgres=postgres, wanted=analyze)
        db.session.remove()
    return [f"{id_prefix}-0000-4000-8000-{index + ID_OFFSET}" for index in range(count)]


def _analyze_after_load(model: Any, *, postgres: bool, wanted: bool) -> None:
    """What autovacuum does after a bulk load: without it each foreign-key check scans scim_user."""
    if postgres and wanted:
        db.session.execute(text(f"ANALYZE {model.__tablename__}"))
        db.session.commit()


def analyze_tables(app: Flask) -> None:
    """On PostgreSQL, ``ANALYZE`` the tables :func:`bulk_users` writes (what autovacuum would do after a load)."""
    with app.app_context():
        if db.session.get_bind().dialect.name == "postgresql":
            for model in (ScimUser, ScimUserValue, ScimUserCustomValue):
                db.session.execute(text(f"ANALYZE {model.__tablename__}"))
            db.session.commit()
        db.session.remove()


NUMBER = "~~~"  # placeholder for the user's number (no letters: unchanged by NFKC and lower-casing)
ID_OFFSET = 100_000_000_000  # numbers are n + ID_OFFSET: always 12 digits, the last group of a UUID


def _numbered(value: Any, column_type: Any, number: Any, postgres: bool) -> Any:
    """A SQL expression for one column of the copies: ``value`` with ``NUMBER`` replaced by the row's number."""
    is_json = isinstance(column_type, JSON)
    rendered = json.dumps(value) if is_json else value
    if isinstance(rendered, str) and NUMBER in rendered:
        pieces = rendered.split(NUMBER)
        expression: Any = literal(pieces[0], String)
        for piece in pieces[1:]:
            expression = expression + cast(number, String) + literal(piece, String)
    elif is_json and postgres:
        expression = literal(rendered, String)
    else:
        return literal(value, column_type)  # SQLite's JSON type serialises the value itself
    if is_json:  # PostgreSQL's json column needs a cast; SQLite keeps JSON as text
        return cast(expression, column_type) if postgres else type_coerce(expression, column_type)
    return expression


def _expect_one(stat: Stat, response: requests.Response | None, user_id: str) -> None:
    """Count a lookup as an error unless it found exactly the user it looked for."""
    if response is None or response.status_code != 200:
        return
    found = [resource.get("id") for resource in response.json().get("Resources", [])]
    if found != [user_id]:
        stat.errors += 1
        if len(stat.examples) < 3:
            stat.examples.append(f"expected [{user_id}], found {found[:3]}")


def _custom_rows_count(app: Flask, tenant: Tenant) -> int:
    with app.app_context():
        organisation = organisations_repo.find_by_slug(tenant.slug)
        assert organisation is not None
        rows = db.session.execute(
            select(func.count()).select_from(ScimUserCustomValue).where(ScimUserCustomValue.organisation_id == organisation.id)
        ).scalar_one()
        db.session.remove()
    return int(rows)


def custom_filter_plan(app: Flask, tenant: Tenant, scim_filter: str) -> list[str]:
    """The database's plan of the page query a custom-attribute filter runs, as the server runs it.

    The request runs in-process (``app.test_client()``); the statements it sends that read
    ``scim_user_custom_value`` are caught with their parameters and explained: ``EXPLAIN QUERY
    PLAN`` on SQLite, ``EXPLAIN`` on PostgreSQL.
    """
    caught: list[tuple[str, Any]] = []

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "scim_user_custom_value" in statement and not statement.lstrip().upper().startswith(("INSERT", "DELETE")):
            caught.append((statement, parameters))

    headers = {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "User-Agent": ENTRA_AGENT}
    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", catch)
        try:
            response = app.test_client().get("/scim/v2/Users", query_string={"filter": scim_filter}, headers=headers)
        finally:
            event.remove(engine, "before_cursor_execute", catch)
        from fluid_scim.services.recorder import recorder_of

        recorder_of(app).flush()  # the request's event, written now rather than after the database is gone
        out = [f"(in-process GET: HTTP {response.status_code}, {len(caught)} statement(s) read scim_user_custom_value)"]
        postgres = engine.dialect.name == "postgresql"
        with engine.connect() as connection:
            for statement, parameters in caught:
                out.append("query: " + " ".join(statement.split()))
                prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
                explained = connection.exec_driver_sql(prefix + statement, parameters)
                for row in explained:
                    out.append(str(row[0]) if postgres else f"{'  ' * _depth(row)}{row[-1]}")
        db.session.remove()
    return out


def _depth(row: Any) -> int:
    return 0 if row[1] == 0 else 1  # SQLite's (id, parent, notused, detail): children of the top level indented


def events_check(app: Flask, tenant: Tenant, sent: int) -> str:
    """Events stored for the organisation; the server's recorders write reads within FLUID_RECORD_FLUSH_SECONDS (1 s)."""
    events = 0
    for _ in range(100):  # 10 s at most
        with app.app_context():
            organisation = organisations_repo.find_by_slug(tenant.slug)
            assert organisation is not None
            events = db.session.execute(
                select(func.count()).select_from(ProvisioningEvent).where(ProvisioningEvent.organisation_id == organisation.id)
            ).scalar_one()
            db.session.remove()
        if events >= sent:
            break
        time.sleep(0.1)
    return (
        f"{events:,} provisioning events for {sent:,} requests sent to the organisation ({events / max(sent, 1):.3f} per request)"
    )


def machine_facts(args: argparse.Namespace) -> str:
    memory = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout.strip()
    postgres = "not used"
    if "postgresql" in args.backends:
        parsed = make_url(args.postgres_url)
        with psycopg.connect(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            password=parsed.password,
            dbname=parsed.database or "postgres",
            connect_timeout=5,
        ) as connection:
            row = connection.execute("SHOW server_version").fetchone()
            postgres = row[0] if row else "?"
    return "\n".join(
        [
            f"machine: nproc {os.cpu_count()}, {platform.machine()}, {platform.platform()}",
            memory,
            f"load average at the start {' '.join(f'{value:.2f}' for value in os.getloadavg())}",
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, PostgreSQL {postgres},"
            f" run started {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        ]
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000, help="users created over HTTP per backend (default 2000)")
    parser.add_argument(
        "--members", default="100,100000", help="group sizes K for the one-member add/remove (default 100,100000)"
    )
    parser.add_argument("--member-batch", type=int, default=100, help="members per PATCH when filling a group (default 100)")
    parser.add_argument(
        "--reads", type=int, default=1000, help="requests of the GET, userName, externalId, PATCH, DELETE phases (default 1000)"
    )
    parser.add_argument("--samples", type=int, default=200, help="samples of the one-member add/remove, GET group, list, healthz")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite, postgresql or both (default)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of the main phases (default 2)")
    parser.add_argument("--concurrency-workers", type=int, default=4, help="gunicorn workers of the mixed load (default 4)")
    parser.add_argument("--concurrency-clients", type=int, default=8, help="client threads of the mixed load (default 8)")
    parser.add_argument("--concurrency-users", type=int, default=300, help="users (4 requests each) of the mixed load")
    parser.add_argument("--entra-users", type=int, default=500, help="users of the Entra initial cycle (default 500)")
    parser.add_argument("--entra-threads", type=int, default=4, help="client threads of the Entra initial cycle (default 4)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("FLUID_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL,
        help="PostgreSQL server for throw-away databases (default $FLUID_TEST_POSTGRES_URL or the local server)",
    )
    parser.add_argument(
        "--pg-vacuum-every",
        type=float,
        default=20,
        help="seconds between VACUUM (ANALYZE) runs when the PostgreSQL server has autovacuum off (0: never)",
    )
    parser.add_argument(
        "--lookup-users",
        type=int,
        default=100_000,
        help="users of the custom matching-attribute phase, written directly into the database (default 100000)",
    )
    parser.add_argument(
        "--phases",
        default=",".join(DEFAULT_PHASES),
        help="main (floor, users, groups, Entra cycle, mixed load), custom (the custom matching attribute), lean (the lean"
        " client against the floor), tenants (many organisations), mix (the mixed load alone), pair (SQLite and PostgreSQL"
        " side by side); default main,custom,lean",
    )
    parser.add_argument(
        "--pair-seconds",
        type=float,
        default=8.0,
        help="pair phase: seconds each backend is loaded per kind, in two halves (default 8)",
    )
    parser.add_argument(
        "--lean-seconds",
        type=float,
        default=2.0,
        help="lean phase: seconds each server is loaded per kind and concurrency, in two halves (default 2)",
    )
    parser.add_argument(
        "--lean-connections", type=int, default=8, help="lean phase: concurrent connections (one process each; default 8)"
    )
    parser.add_argument(
        "--lean-client",
        choices=("raw", "http.client"),
        default="raw",
        help="lean phase: prebuilt request bytes on a socket (default) or http.client.HTTPConnection",
    )
    parser.add_argument(
        "--kept-records",
        type=int,
        help="FLUID_KEPT_RECORDS of every fluid-scim server (default: the service's own, 4096); 0 renders every page anew",
    )
    parser.add_argument("--lean-users", type=int, default=200, help="lean phase: users seeded on each server (default 200)")
    parser.add_argument("--tenants", type=int, default=200, help="tenants phase: organisations, each with a token (default 200)")
    parser.add_argument(
        "--tenant-users",
        type=int,
        default=500,
        help="tenants phase: users of each organisation, written directly into the database (default 500)",
    )
    parser.add_argument(
        "--tenant-seconds",
        type=float,
        default=4.0,
        help="tenants phase: seconds of each kind and concurrency on one organisation and on all, in two halves (default 4)",
    )
    parser.add_argument("--log-dir", help="where server logs and databases go (default: a new temporary directory)")
    args = parser.parse_args(argv)
    args.members = sorted({int(value) for value in args.members.split(",") if value.strip()})
    args.backends = [value.strip() for value in args.backends.split(",") if value.strip()]
    unknown = set(args.backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    args.phases = [value.strip() for value in args.phases.split(",") if value.strip()]
    if not args.phases or set(args.phases) - set(PHASES):
        parser.error(f"--phases: one or more of {', '.join(PHASES)}")
    if args.lookup_users < 1:
        parser.error("--lookup-users must be positive")
    _check_lean(parser, args)
    _check_tenants(parser, args)
    sizes = (args.users - 1, args.entra_users - 9, args.concurrency_users, args.reads, args.samples, args.member_batch)
    sizes += tuple(args.members)
    if not args.members or min(sizes) < 1:
        parser.error("--users must be at least 2, --entra-users 10; every other size positive")
    if (make_url(args.postgres_url).host or "127.0.0.1") not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--postgres-url must be a loopback address")
    return args


def _check_lean(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.lean_seconds <= 0 or not 1 <= args.lean_connections <= 64 or args.lean_users < 1:
        parser.error("--lean-seconds and --lean-users must be positive, --lean-connections 1 to 64")


def _check_tenants(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not 1 <= args.tenants <= 10_000 or not 1 <= args.tenant_users <= 1_000_000 or args.tenant_seconds <= 0:
        parser.error("--tenants 1 to 10000, --tenant-users 1 to 1000000, --tenant-seconds positive")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    started = time.perf_counter()
    if "postgresql" in args.backends:
        try:
            PostgresDatabase(args.postgres_url)._admin().close()
        except psycopg.Error as exc:
            print(
                f"bench: PostgreSQL at {args.postgres_url} does not answer ({exc}); run with --backends sqlite", file=sys.stderr
            )
            return 2
    bench.facts = machine_facts(args)
    log(f"logs and databases in {bench.log_dir}")
    bench.vault = Vault.start(bench.log_dir)
    try:
        if "main" in args.phases:
            bench.run_floor()
        elif "mix" in args.phases:
            bench.run_floor_mix()
        for backend in args.backends:
            result = bench.run_backend(backend)
            bench.targets(result)
            bench.results.append(result)
        if "pair" in args.phases and {"sqlite", "postgresql"} <= set(args.backends):
            bench.run_side_by_side()
    finally:
        bench.vault.stop()
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    report = bench.report() + f"\nwhole run: {time.perf_counter() - started:.0f}s; load average at the end {load}\n"
    (bench.log_dir / "report.txt").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
