"""Throughput of the streaming Sigma engine on CloudTrail records.

Usage: python bench/sigma_bench.py [--events N] [--sqlite N] [--shared PATH]

Builds a stream of realistic CloudTrail records from the shared datasets (``datasets/*/CloudTrail``
and Stratus Red Team detonation logs), varied per copy (event id, time, source address, user
and, for a share of them, the API call, so that more rules are exercised), and times
``Engine.match`` over it on one core with SigmaHQ's cloud and identity rules loaded. Prints
events/s and peak memory. With ``--sqlite N`` it also times pySigma-backend-sqlite on the first
N events (flatten + insert + every aws/cloudtrail query) for comparison.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from onelane.detect.sigma import Engine, load_rules

ROOT = Path(__file__).resolve().parents[1]

# Calls named by SigmaHQ's CloudTrail rules, mixed into a share of the stream.
INTERESTING = [
    "ConsoleLogin",
    "CreateAccessKey",
    "PutBucketVersioning",
    "UpdateLoginProfile",
    "StopLogging",
    "DeleteTrail",
    "AttachUserPolicy",
    "CreateUser",
    "PutUserPolicy",
    "GetPasswordData",
    "ModifyInstanceAttribute",
    "DeleteDetector",
    "AssumeRole",
]


def load_cloudtrail(shared: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    files = sorted(shared.glob("datasets/*/CloudTrail/*.json"))
    files += sorted(shared.glob("datasets/stratus_red_team/detonation_logs/*.json"))
    for f in files:
        data = json.loads(f.read_text())
        batch = data["Records"] if isinstance(data, dict) else data
        records.extend(r for r in batch if isinstance(r, dict))
    return records


def vary(base: list[dict[str, Any]], count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` distinct shallow copies of the base records with varied values."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        r = dict(base[i % len(base)])
        r["eventID"] = f"{i:08x}-0000-4000-8000-{rng.getrandbits(48):012x}"
        clock = f"{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}"
        r["eventTime"] = f"2024-0{1 + i % 9}-1{i % 10}T{clock}Z"
        octets = (rng.randrange(1, 224), rng.randrange(256), rng.randrange(256), 7)
        r["sourceIPAddress"] = ".".join(map(str, octets))
        if rng.random() < 0.2:
            r["eventName"] = rng.choice(INTERESTING)
        ident = r.get("userIdentity")
        if isinstance(ident, dict) and "arn" in ident:
            ident = dict(ident)
            ident["arn"] = f"{ident['arn']}-{i % 97}"
            r["userIdentity"] = ident
        out.append(r)
    return out


def bench_engine(engine: Engine, pool: list[dict[str, Any]], events: int) -> tuple[float, int]:
    logsource = ("aws", "cloudtrail")
    match = engine.match
    n_pool = len(pool)
    hits = 0
    start = time.perf_counter()
    for i in range(events):
        hits += len(match(pool[i % n_pool], logsource))
    return time.perf_counter() - start, hits


def flatten(record: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {} if out is None else out
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            flatten(value, name + ".", out)
        elif isinstance(value, list):
            out[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = value
    return out


def bench_sqlite(rules_path: Path, records: list[dict[str, Any]]) -> tuple[float, float, int]:
    import importlib
    import re

    from sigma.collection import SigmaCollection

    collection = SigmaCollection.load_ruleset([rules_path / "cloud" / "aws"], collect_errors=True)
    backend: Any = importlib.import_module("sigma.backends.sqlite").sqliteBackend(
        collect_errors=True, collate_nocase=True
    )
    queries = [q for q in backend.convert(collection) if isinstance(q, str)]
    start = time.perf_counter()
    conn = sqlite3.connect(":memory:")
    conn.create_function("regexp", 2, lambda p, v: v is not None and re.search(p, str(v)) is not None)
    rows = [flatten(r) for r in records]
    wanted = {f for rule in collection for f in backend.required_fields(rule)}
    by_lower: dict[str, str] = {}  # SQLite column names are case-insensitive
    for name in sorted({c for row in rows for c in row} | wanted):
        by_lower.setdefault(name.lower(), name)
    columns = list(by_lower.values())
    rows = [{by_lower[k.lower()]: v for k, v in row.items()} for row in rows]
    cols_sql = ", ".join(f"`{c}` TEXT COLLATE NOCASE" for c in columns)
    conn.execute(f"CREATE TABLE logs ({cols_sql})")
    placeholders = ", ".join("?" for _ in columns)
    conn.executemany(
        f"INSERT INTO logs VALUES ({placeholders})", ([row.get(c) for c in columns] for row in rows)
    )
    loaded = time.perf_counter()
    hits = 0
    for q in queries:
        hits += len(conn.execute(q).fetchall())
    done = time.perf_counter()
    return loaded - start, done - loaded, hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pool", type=int, default=100_000)
    parser.add_argument("--sqlite", type=int, default=100_000)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    rules_path = args.shared / "sigma" / "sigmahq" / "rules"
    base = load_cloudtrail(args.shared)
    if not base:
        sys.exit(f"no CloudTrail records under {args.shared}")
    t0 = time.perf_counter()
    ruleset = load_rules(rules_path)
    engine = Engine(ruleset)
    t1 = time.perf_counter()
    print(f"rules: {len(ruleset.rules)} loaded, {len(engine.rules)} compiled in {t1 - t0:.2f}s")
    pool = vary(base, min(args.pool, args.events))
    print(f"stream: {args.events:,} events cycled over {len(pool):,} varied copies of {len(base):,} records")
    bench_engine(engine, pool[:10_000], 10_000)  # warm the route cache
    elapsed, hits = bench_engine(engine, pool, args.events)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"engine: {args.events / elapsed:,.0f} events/s ({elapsed:.2f}s, {hits:,} matches)")
    print(f"peak memory (max RSS, includes the event pool): {peak_mib:,.0f} MiB")
    if args.sqlite:
        subset = pool[: args.sqlite]
        load_s, query_s, sql_hits = bench_sqlite(rules_path, subset)
        e_elapsed, e_hits = bench_engine(engine, subset, len(subset))
        total = load_s + query_s
        print(
            f"pySigma-backend-sqlite on {len(subset):,} events: load {load_s:.2f}s + queries "
            f"{query_s:.2f}s = {len(subset) / total:,.0f} events/s ({sql_hits:,} rows); "
            f"engine on the same events: {len(subset) / e_elapsed:,.0f} events/s "
            f"({e_hits:,} matches); "
            f"ratio {total / e_elapsed:.1f}x"
        )


if __name__ == "__main__":
    main()
