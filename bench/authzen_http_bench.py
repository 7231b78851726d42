"""AuthZEN over HTTP: decisions per second and latency of ``onelane serve``, driven from another process.

    .venv/bin/python bench/authzen_http_bench.py [--seconds 10] [--connections 16] [--workers 2]

Sets up a throw-away SQLite inventory of 256 identities and a ``pdp`` token, starts
``onelane serve`` (uvicorn, httptools + uvloop when installed) on a free loopback port,
then a separate driver process keeps ``--connections`` keep-alive HTTP/1.1 connections
busy with ``POST /access/v1/evaluation`` requests (raw asyncio streams, one request in
flight per connection) for ``--seconds`` after a warm-up. Every decision is logged as in
production (write-ahead file with fsync, then the decisions table). Prints decisions/s
and p50/p99 latency as the client saw it; the target is 3,000 decisions/s with p99 under
20 ms on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

KINDS = ["human", "service", "workload", "pipeline", "agent"]
ACTIONS = ["read", "write", "deploy", "delete", "export"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def setup(tmp: Path) -> tuple[str, str, list[str]]:
    """An inventory of 256 identities and a pdp token; returns (db url, token, subject ids)."""
    rng = random.Random(1)
    rows = [{"kind": "human", "name": "owner", "email": "owner@example.com"}]
    for i in range(255):
        kind = rng.choice(KINDS)
        row = {
            "kind": kind,
            "name": f"id{i:03d}",
            "email": f"id{i:03d}@example.com" if kind == "human" else "",
        }
        if kind != "human":
            row["owner"] = "owner@example.com"
            row["external_ids"] = f"bench:id{i:03d}"
        if kind == "agent":
            row["delegates_for"] = "owner@example.com"
        rows.append(row)
    path = tmp / "org.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["kind", "name", "email", "external_ids", "owner", "delegates_for"])
        writer.writeheader()
        writer.writerows(rows)
    url = f"sqlite:///{tmp / 'onelane.db'}"
    from onelane.auth.tokens import Role, create_token
    from onelane.clock import SystemClock
    from onelane.inventory.importers import get
    from onelane.inventory.load import load
    from onelane.store import migrate
    from onelane.store.db import Database

    db = Database(url)
    migrate.upgrade(db)
    for unit in get("csv")([path]):
        summary = load(db, unit, actor="bench", clock=SystemClock())
        if summary.errors:
            raise SystemExit(f"import failed: {summary.errors[:3]}")
    token = create_token(db, name="bench", role=Role.PDP, actor="bench", clock=SystemClock())[1]
    db.dispose()
    subjects = [r["email"] or f"bench:{r['name']}" for r in rows]
    return url, token, subjects


def bodies(subjects: list[str], n: int) -> list[bytes]:
    rng = random.Random(2)
    out = []
    for _ in range(n):
        request = {
            "subject": {"type": "identity", "id": rng.choice(subjects)},
            "action": {"name": rng.choice(ACTIONS)},
            "resource": {
                "type": "environment",
                "id": "e1",
                "properties": {"env": rng.choice(["prod", "dev"])},
            },
            "context": {"mfa": rng.random() < 0.5},
        }
        out.append(json.dumps(request).encode())
    return out


async def _connection(
    port: int, token: str, payloads: list[bytes], stop_at: float, record_from: float, latencies: list[float]
) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /access/v1/evaluation HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
    ).encode()
    done = 0
    i = random.randrange(len(payloads))
    while time.perf_counter() < stop_at:
        body = payloads[i % len(payloads)]
        i += 1
        start = time.perf_counter()
        writer.write(head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        status = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in status.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        payload = await reader.readexactly(length)
        if not status.startswith(b"HTTP/1.1 200") or b'"decision"' not in payload:
            raise SystemExit(f"unexpected answer: {status!r} {payload[:200]!r}")
        end = time.perf_counter()
        if start >= record_from:
            latencies.append(end - start)
            done += 1
    writer.close()
    return done


async def _drive(
    port: int, token: str, payloads: list[bytes], seconds: float, warmup: float, connections: int
) -> dict[str, float]:
    latencies: list[float] = []
    begin = time.perf_counter()
    record_from = begin + warmup
    stop_at = record_from + seconds
    counts = await asyncio.gather(
        *[_connection(port, token, payloads, stop_at, record_from, latencies) for _ in range(connections)]
    )
    elapsed = time.perf_counter() - record_from
    latencies.sort()
    return {
        "decisions": float(sum(counts)),
        "rate": sum(counts) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "p90_ms": latencies[int(len(latencies) * 0.90)] * 1000,
        "p999_ms": latencies[int(len(latencies) * 0.999)] * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
    }


def driver(
    port: int, token: str, payloads: list[bytes], seconds: float, warmup: float, connections: int, out: Any
) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out.send(asyncio.run(_drive(port, token, payloads, seconds, warmup, connections)))


def wait_ready(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                if sock.recv(100).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--policy", default=None, help="policy directory (default: the bundled default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        url, token, subjects = setup(tmp)
        port = free_port()
        env = {**os.environ, "ONELANE_DB": url}
        if args.policy:
            env["ONELANE_POLICY"] = args.policy
        server = subprocess.Popen(
            [sys.executable, "-m", "onelane", "serve", "--port", str(port), "--workers", str(args.workers)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_ready(port)
            receive, send = multiprocessing.Pipe(duplex=False)
            proc = multiprocessing.Process(
                target=driver,
                args=(port, token, bodies(subjects, 4096), args.seconds, args.warmup, args.connections, send),
            )
            proc.start()
            result = receive.recv()
            proc.join()
        finally:
            server.terminate()
            server.wait(timeout=30)
        logged = _count_logged(tmp / "onelane.db")
    print(
        f"AuthZEN /access/v1/evaluation, {args.workers} workers, {args.connections} connections, "
        f"{args.seconds:.0f} s: {result['rate']:,.0f} decisions/s, p50 {result['p50_ms']:.2f} ms, "
        f"p99 {result['p99_ms']:.2f} ms (p90 {result['p90_ms']:.2f}, p99.9 {result['p999_ms']:.2f}, mean {result['mean_ms']:.2f} ms); {logged:,} decisions in the log table"
    )
    print(
        f"target: >= 3,000 decisions/s with p99 < 20 ms: {'met' if result['rate'] >= 3000 and result['p99_ms'] < 20 else 'NOT met'}"
    )


def _count_logged(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM decisions").fetchone()[0])


if __name__ == "__main__":
    main()
