"""Instructions per request, counted by callgrind: a measure of the service's own work that a busy machine does not move.

``python -m bench.instructions`` runs this module again under ``valgrind --tool=callgrind`` with
instrumentation off; the child migrates a SQLite database, starts a real OpenBao dev server, creates
an organisation and warms up in-process (``app.test_client()``), then for each request kind switches
counting on (``callgrind_control -i on``), sends ``--requests`` requests, switches it off and dumps the
count. The parent prints the instructions per request of each kind. The count is of the Python
process alone: the SQLite library runs inside it and is counted; OpenBao is not (nothing on these
paths calls it). As in a served worker, the access log is written (at INFO, to the run's log file) and a
reading request keeps its connection for the next one (``database.KeptReadingConnection``, which
gunicorn's ``post_fork`` switches on). Reads' events and status counts are batched as in a served worker, and the batch
of each kind is written (one ``Recorder.flush``) before counting stops, so that the recorder's work
is counted, shared by the requests that caused it as a served worker shares it. The same checkout
counted twice gives the same figures to within about 1%, whatever else the machine runs, which
wall-clock or CPU-time figures on a shared two-core machine cannot (bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

KINDS = ("post", "patch", "get", "find", "page100")
LABELS = {
    "post": "POST /Users (Entra's body)",
    "patch": "PATCH /Users/{id} (Entra's shapes, in turn)",
    "get": "GET /Users/{id}",
    "find": 'GET /Users?filter=userName eq "…" (hit)',
    "page100": "GET /Users?startIndex=1&count=100",
}
WARM_UP = 5
SEEDED = 120  # users present when the reads run (a page of 100 is full)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20, help="requests counted per kind (default 20)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.requests, Path(args.child))
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind (with callgrind_control) is needed: apt-get install valgrind", file=sys.stderr)
        return 2
    out = Path(tempfile.mkdtemp(prefix="fluid-instructions-"))
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}/callgrind.%p",
        sys.executable,
        "-m",
        "bench.instructions",
        "--requests",
        str(args.requests),
        "--child",
        str(out),
    ]
    with open(out / "child.log", "w") as log:
        finished = subprocess.run(command, cwd=Path(__file__).resolve().parent.parent, stdout=log, stderr=log, timeout=1800)
    if finished.returncode != 0:
        print(f"the counted run failed (exit {finished.returncode}); see {out / 'child.log'}", file=sys.stderr)
        return 1
    counts = _counts(out)
    print(f"instructions per request (callgrind, in-process, SQLite, {args.requests} requests per kind; files in {out})")
    for kind in KINDS:
        if kind in counts:
            print(f"{LABELS[kind]:<45} {counts[kind] / args.requests / 1e6:8.2f} M")
    if "get" in counts and "page100" in counts:
        print(f"{'page of 100 / GET by id':<45} {counts['page100'] / counts['get']:8.2f} x")
    return 0


def _counts(out: Path) -> dict[str, int]:
    """The total of each dump, by the kind its trigger names (``callgrind_control -d KIND``)."""
    counts: dict[str, int] = {}
    for path in sorted(out.glob("callgrind.*")):
        text = path.read_text(errors="replace")
        trigger = re.search(r"^desc: Trigger: .*dump (\w+)$", text, re.MULTILINE)
        total = re.search(r"^totals: (\d+)", text, re.MULTILINE)
        if trigger and total and trigger.group(1) in KINDS:
            counts[trigger.group(1)] = int(total.group(1))
    return counts


def _child(requests: int, out: Path) -> int:
    import flask_migrate

    from app import create_app
    from bench.run import ENTRA_AGENT, LIFTED_RATE_LIMIT, entra_user, user_name_eq, user_patch
    from fluid_scim.database import KEPT_READING
    from fluid_scim.services.recorder import recorder_of
    from tests.support.services import Vault
    from tests.support.tenants import make_tenant

    vault = Vault.start(out)
    try:
        settings = {"database_url": f"sqlite:///{out / 'instructions.db'}", "vault_addr": vault.addr, "vault_token": vault.token}
        # No timed flush while counting: each kind's batch is flushed at its end, inside the count.
        settings.update({"log_level": "INFO", "ratelimit_default": LIFTED_RATE_LIMIT, "record_flush_seconds": 3600})
        app = create_app(settings)
        with app.app_context():
            flask_migrate.upgrade()
        KEPT_READING.switch_on()  # as gunicorn's post_fork does in a served worker
        tenant = make_tenant(app)
        recorder = recorder_of(app)
        client = app.test_client()
        headers = {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "User-Agent": ENTRA_AGENT}

        def post(index: int) -> dict[str, str]:
            response = client.post("/scim/v2/Users", json=entra_user("counted", index), headers=headers)
            assert response.status_code == 201, response.get_data(as_text=True)
            return {"id": response.json["id"], "userName": response.json["userName"]}

        seeded = [post(-1 - index) for index in range(SEEDED)]

        def patch(index: int) -> None:
            # Each user once (a PATCH that changes nothing writes nothing); the manager is another seeded user.
            user, manager = seeded[index % SEEDED], seeded[(index + 1) % SEEDED]
            body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": user_patch(index, manager["id"])}
            response = client.patch(f"/scim/v2/Users/{user['id']}", json=body, headers=headers)
            assert response.status_code in (200, 204), response.get_data(as_text=True)

        def read(path: str, query: dict[str, object] | None = None) -> None:
            response = client.get(path, query_string=query, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)

        kinds: dict[str, Callable[[int], object]] = {
            "post": post,
            "patch": patch,
            "get": lambda index: read(f"/scim/v2/Users/{seeded[index % SEEDED]['id']}"),
            "find": lambda index: read("/scim/v2/Users", user_name_eq(seeded[index % SEEDED]["userName"])),
            "page100": lambda index: read("/scim/v2/Users", {"startIndex": 1, "count": 100}),
        }
        for kind, run in kinds.items():
            for index in range(WARM_UP):
                run(10_000 + index)
            recorder.flush()
            _control("-z")
            _control("-i", "on")
            for index in range(requests):
                run(index)
            recorder.flush()
            _control("-i", "off")
            _control("-d", kind)
    finally:
        vault.stop()
    return 0


def _control(*arguments: str) -> None:
    """callgrind_control on this process; it returns once callgrind has carried the command out."""
    subprocess.run(["callgrind_control", *arguments, str(os.getpid())], check=True, stdout=subprocess.DEVNULL, timeout=120)


if __name__ == "__main__":
    sys.exit(main())
