"""A lean load generator: keep-alive ``http.client`` connections, one per process, requests prebuilt.

The ``lean`` phase of ``bench.run`` measures with it, so that the client's own cost does not
compress the ratios to the floor. Standard library only:

* each connection is a process of its own (``python -m bench.lean SPEC``), so the client is not
  bound by one interpreter's GIL; the parent (:func:`run_load`) starts them, waits until every one
  has connected and sent its warm-up requests, says go, and merges what they report;
* a worker holds one connection (keep-alive, ``TCP_NODELAY``) and, before the go, turns its spec
  into a list of ``(method, path, body bytes, headers)``, with the ``Content-Length`` written in
  (a request may carry headers of its own, such as its organisation's ``Host`` and token, over
  the run's); per request it only sends, reads the whole answer, checks the status and appends
  the latency;
* a worker runs until its deadline (``seconds`` after the go) or the end of its list (a POST list
  does not repeat; a GET list is cycled), and reports its count, errors, latencies, start and end
  (``time.monotonic``, the same clock in every process) and the CPU time it used
  (``resource.getrusage``), so that the client's cost per request is printed next to the server's.

Only loopback addresses are accepted; every loop is bounded; the parent stops every worker it
started by its PID (``Popen.kill``) if anything goes wrong.
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOOPBACK = ("127.0.0.1", "::1", "localhost")
WARM_UP = 20  # unmeasured requests per connection before the go (the start of its list)
MAX_REQUESTS = 1_000_000  # per connection and run: a bound on the loop beside the deadline
MAX_EXAMPLES = 3
MAX_READS = 100_000  # recv calls per answer: a bound on the read loops
TIMEOUT = 30  # seconds a socket waits

# method, path (with its query), body (JSON text) or None; optionally headers of this request alone
# (a Host and an Authorization of its own, say), which replace the run's headers of the same name.
Request = tuple[str, str, str | None] | tuple[str, str, str | None, Mapping[str, str]]


@dataclass
class LoadResult:
    """The merged report of one run's connections."""

    connections: int
    n: int = 0
    errors: int = 0
    examples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0  # from the first connection's start to the last one's end
    client_cpu: float = 0.0  # CPU seconds of the worker processes while measuring
    exhausted: int = 0  # connections that ran out of requests before the deadline

    @property
    def ops_per_s(self) -> float:
        return self.n / self.wall if self.wall > 0 else 0.0


# -- the worker (one process, one connection) ---------------------------------------------------


Prepared = tuple[str, str, bytes | None, dict[str, str], bytes]  # method, path, body, headers, the whole request


def _prepared(spec: Mapping[str, Any]) -> list[Prepared]:
    base = dict(spec["headers"])
    base.setdefault("Host", f"{spec['host']}:{spec['port']}")
    prepared = []
    for method, path, body, *own in spec["requests"]:
        headers = dict(base)
        if own:
            headers.update(own[0])
        data = None if body is None else body.encode()
        if data is not None:
            headers["Content-Length"] = str(len(data))
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        raw = f"{method} {path} HTTP/1.1\r\n{head}\r\n".encode("latin-1") + (data or b"")
        prepared.append((method, path, data, headers, raw))
    return prepared


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class HttpClientConnection:
    """``http.client.HTTPConnection``: keep-alive, reconnecting by itself when the server closes."""

    def __init__(self, host: str, port: int) -> None:
        self.connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)

    def one(self, request: Prepared) -> int:
        method, path, body, headers, _ = request
        self.connection.request(method, path, body, headers)
        response = self.connection.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self.connection.close()


class RawConnection:
    """A socket that sends the prebuilt request bytes and reads the answer by its Content-Length.

    It keeps the connection open unless the answer says ``Connection: close`` (gunicorn's sync
    workers say so every time), and then connects again before the next request. An answer
    without Content-Length (chunked) is an error: neither server sends one.
    """

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(TIMEOUT)
        sock.connect(self.address)
        self.sock = sock
        return sock

    def one(self, request: Prepared) -> int:
        sock = self.sock or self._connect()
        try:
            sock.sendall(request[4])
            status, close = self._read(sock)
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status

    @staticmethod
    def _read(sock: socket.socket) -> tuple[int, bool]:
        data = b""
        for _ in range(MAX_READS):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection before the end of the headers")
            data += chunk
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                break
        else:
            raise ConnectionError("no end of headers")
        head = data[:end].lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            raise http.client.HTTPException("an answer without Content-Length")
        stop = head.find(b"\r\n", at + 17)
        remaining = end + 4 + int(head[at + 17 : stop if stop >= 0 else None]) - len(data)
        for _ in range(MAX_READS):
            if remaining <= 0:
                break
            chunk = sock.recv(max(remaining, 65536))
            if not chunk:
                raise ConnectionError("the server closed the connection before the end of the body")
            remaining -= len(chunk)
        return int(data[9:12]), b"\r\nconnection: close" in head

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


Connection = HttpClientConnection | RawConnection
CLIENTS: dict[str, type[HttpClientConnection] | type[RawConnection]] = {"raw": RawConnection, "http.client": HttpClientConnection}


def _loop(connection: Connection, prepared: Sequence[Prepared], spec: Mapping[str, Any], report: dict[str, Any]) -> None:
    """Send requests until the deadline or the end of the list; fill ``report``."""
    expect, cycle, perf = set(spec["expect"]), spec["cycle"], time.perf_counter
    latencies: list[float] = report["latencies"]
    examples: list[str] = report["examples"]
    count = len(prepared)
    first = min(WARM_UP, count - 1) if not cycle else 0
    limit = MAX_REQUESTS if cycle else count - first
    deadline = perf() + spec["seconds"]
    report["start"], cpu = time.monotonic(), _cpu_seconds()
    for index in range(limit):
        request = prepared[(first + index) % count]
        start = perf()
        try:
            status = connection.one(request)
        except (OSError, http.client.HTTPException) as exc:
            status = 0
            connection.close()
            if len(examples) < MAX_EXAMPLES:
                examples.append(f"{type(exc).__name__}: {str(exc)[:160]}")
        end = perf()
        latencies.append(end - start)
        if status not in expect:
            report["errors"] += 1
            if status and len(examples) < MAX_EXAMPLES:
                examples.append(f"HTTP {status} for {request[0]} {request[1][:80]}")
        if end >= deadline:
            break
    else:
        report["exhausted"] = not cycle
    report["end"], report["cpu"] = time.monotonic(), _cpu_seconds() - cpu


def worker(spec_path: str) -> int:
    """Connect, warm up, say ``ready``, wait for ``go`` on stdin, measure, print the report as JSON."""
    spec = json.loads(Path(spec_path).read_text())
    if spec["host"] not in LOOPBACK:
        print(json.dumps({"fatal": "only loopback addresses"}), flush=True)
        return 2
    prepared = _prepared(spec)
    connection = CLIENTS[spec["client"]](spec["host"], spec["port"])
    warm = prepared[: min(WARM_UP, len(prepared) - 1)] if not spec["cycle"] else prepared[:WARM_UP]
    for request in warm:
        connection.one(request)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    report: dict[str, Any] = {"latencies": [], "examples": [], "errors": 0, "exhausted": False}
    _loop(connection, prepared, spec, report)
    connection.close()
    print(json.dumps(report), flush=True)
    return 0


# -- the parent ---------------------------------------------------------------------------------


def process_cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of these processes so far (``/proc/<pid>/stat``), 0 for any gone."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of proc(5)
    return total / ticks


def run_load(
    host: str,
    port: int,
    per_connection: Sequence[Sequence[Request]],
    *,
    headers: Mapping[str, str],
    expect: Sequence[int],
    seconds: float,
    cycle: bool,
    work_dir: Path,
    client: str = "raw",
    timeout: float = 120,
) -> LoadResult:
    """One run: a process per connection, each with its own list of requests, merged into one result."""
    if host not in LOOPBACK or client not in CLIENTS:
        raise ValueError("only loopback addresses; client raw or http.client")
    processes: list[subprocess.Popen[str]] = []
    try:
        for index, requests in enumerate(per_connection):
            spec = {"host": host, "port": port, "headers": dict(headers), "requests": [_plain(request) for request in requests]}
            spec.update({"expect": list(expect), "seconds": seconds, "cycle": cycle, "client": client})
            path = work_dir / f"lean-{os.getpid()}-{index}.json"
            path.write_text(json.dumps(spec))
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bench.lean", str(path)],
                    cwd=Path(__file__).resolve().parent.parent,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        return _go_and_merge(processes, timeout)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def _plain(request: Request) -> list[Any]:
    """A request as JSON can carry it (its own headers as a plain dict)."""
    return [*request[:3], dict(request[3])] if len(request) > 3 else list(request)


def _go_and_merge(processes: Sequence[subprocess.Popen[str]], timeout: float) -> LoadResult:
    for process in processes:
        assert process.stdout is not None
        line = process.stdout.readline().strip()  # the worker's own socket timeout bounds this
        if line != "ready":
            raise RuntimeError(f"a lean client worker did not start (pid {process.pid}): {line[:200]!r}")
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    result = LoadResult(connections=len(processes))
    starts, ends = [], []
    for process in processes:
        out, _ = process.communicate(timeout=timeout)
        report = json.loads(out.strip().splitlines()[-1])
        result.n += len(report["latencies"])
        result.errors += report["errors"]
        result.latencies += report["latencies"]
        result.examples += [example for example in report["examples"] if example not in result.examples][:MAX_EXAMPLES]
        result.client_cpu += report["cpu"]
        result.exhausted += bool(report["exhausted"])
        starts.append(report["start"])
        ends.append(report["end"])
    result.wall = max(ends) - min(starts)
    return result


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m bench.lean SPEC.json (started by bench.run's lean phase)", file=sys.stderr)
        sys.exit(2)
    sys.exit(worker(sys.argv[1]))
