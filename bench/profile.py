"""Profile fluid-scim's hot paths in-process with pyinstrument (``python -m bench.profile``).

A migrated SQLite database (or ``--database-url``), a real OpenBao dev server, ``create_app`` and
``app.test_client()``: no HTTP and no gunicorn, so the profile shows only what a request costs
inside the application. Two paths are profiled, each after a warm-up:

* Entra's create: ``GET /Users?filter=userName eq "…"`` (no match) then ``POST /Users``;
* Entra's match: ``GET /Users?filter=userName eq "…"`` finding one user.

Each prints a call tree (library frames folded) and the functions with the most self time; the
text reports are also written to ``--out``. bench/README.md summarises a run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import flask_migrate
from pyinstrument import Profiler

from app import create_app
from bench.run import ENTRA_AGENT, LIFTED_RATE_LIMIT, entra_user, user_name_eq  # also clears FLUID_*/VAULT_* from the environment
from fluid_scim.extensions import db
from tests.support.services import Vault
from tests.support.tenants import make_tenant


def profile(name: str, run: Callable[[], int], out: Path, interval: float) -> None:
    profiler = Profiler(interval=interval)
    start = time.perf_counter()
    profiler.start()
    requests = run()
    profiler.stop()
    elapsed = time.perf_counter() - start
    tree = profiler.output_text(unicode=False, color=False, show_all=False)
    flat = profiler.output_text(unicode=False, color=False, flat=True)
    header = f"### {name}: {requests} requests in {elapsed:.2f}s, {elapsed / requests * 1000:.2f} ms per request (profiled)\n"
    slug = name.split(":")[0].replace(" ", "-").lower()
    (out / f"{slug}-tree.txt").write_text(header + tree)
    (out / f"{slug}-flat.txt").write_text(header + flat)
    print(header)
    print(tree)
    print("\n".join(flat.splitlines()[:40]))
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=500, help="users created in the profiled create path (default 500)")
    parser.add_argument("--lookups", type=int, default=1000, help="profiled userName eq lookups (default 1000)")
    parser.add_argument("--interval", type=float, default=0.0002, help="pyinstrument sampling interval in seconds")
    parser.add_argument("--database-url", help="profile on this database (default: a new SQLite file)")
    parser.add_argument("--out", help="where the text reports go (default: a new temporary directory)")
    args = parser.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="fluid-profile-"))
    out.mkdir(parents=True, exist_ok=True)
    vault = Vault.start(out)
    try:
        url = args.database_url or f"sqlite:///{out / 'profile.db'}"
        settings = {"database_url": url, "vault_addr": vault.addr, "vault_token": vault.token, "log_level": "WARNING"}
        app = create_app({**settings, "ratelimit_default": LIFTED_RATE_LIMIT})  # as bench.run: measure the app, not the limit
        with app.app_context():
            flask_migrate.upgrade()
        tenant = make_tenant(app)
        client = app.test_client()
        headers = {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "User-Agent": ENTRA_AGENT}

        def create(prefix: str, count: int) -> int:
            for index in range(count):
                body = entra_user(prefix, index)
                client.get("/scim/v2/Users", query_string=user_name_eq(body["userName"]), headers=headers)
                response = client.post("/scim/v2/Users", json=body, headers=headers)
                assert response.status_code == 201, response.get_data(as_text=True)
            return 2 * count

        def lookups() -> int:
            for index in range(args.lookups):
                name = entra_user("profiled", index % args.users)["userName"]
                response = client.get("/scim/v2/Users", query_string=user_name_eq(name), headers=headers)
                assert response.status_code == 200 and response.json["totalResults"] == 1, response.get_data(as_text=True)
            return args.lookups

        create("warm-up", 50)
        start = time.perf_counter()
        timed = create("unprofiled", args.users)
        unprofiled = f"without the profiler: lookup + POST {(time.perf_counter() - start) / timed * 1000:.2f} ms per request"
        profile("create: lookup (miss) + POST /Users", lambda: create("profiled", args.users), out, args.interval)
        start = time.perf_counter()
        timed = lookups()
        unprofiled += f", userName eq (hit) {(time.perf_counter() - start) / timed * 1000:.2f} ms per request"
        profile("lookup: GET ?filter=userName eq (hit)", lookups, out, args.interval)
        print(unprofiled)
        (out / "unprofiled.txt").write_text(unprofiled + "\n")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        print(f"reports in {out}", file=sys.stderr)
    finally:
        vault.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
