"""Throughput of the detector (Sigma rules + correlations + behaviour analytics), end to end.

Usage: python bench/detect_bench.py [--events N] [--sqlite N] [--shared PATH] [--state N]

Generates a CloudTrail stream with ``bench/gen_cloudtrail.py`` (deterministic), normalises it
in chunks (not timed), and times ``Detector.process`` over every event on one core with
SigmaHQ's cloud and identity rules plus the bundled pack loaded, correlations on and the
behaviour analytics on. Prints events/s, alerts and peak memory.

The detector runs under the regime of ``onelane ingest`` and ``onelane detect``: Python's
cyclic garbage collector paused (``onelane.gcpause``) and the young generations swept with
``gc.collect(1)`` once every ``GC_BATCH`` events, inside the timed span (the objects
normalising a chunk leaves are swept before its timing starts).

Beside it, in the same run, the SQLite anchor: pySigma-backend-sqlite with every rule of
that same set that applies to CloudTrail (SigmaHQ ``cloud/aws`` plus the pack's AWS rules,
the pack's AWS correlations through the backend's correlation plans), end to end: flatten
the records, create the table, insert, run every query and plan. It runs on the first
``--sqlite`` events (a subset unless ``--sqlite`` equals ``--events``: its load grows
linearly and every query scans the whole table, so its events/s on a subset is, if
anything, better than on the full stream); the detector runs again, fresh, on the same
subset, and both ratios are printed. Then measures the behaviour state in bytes per
identity with tracemalloc over ``--state`` synthetic identities.
"""

from __future__ import annotations

import argparse
import ast
import gc
import importlib
import json
import re
import resource
import sqlite3
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from gen_cloudtrail import events as generate  # noqa: E402
from sigma_bench import flatten  # noqa: E402

from onelane.detect.behaviour import MACHINE, BehaviourAnalytics, BehaviourConfig  # noqa: E402
from onelane.detect.pipeline import Detector  # noqa: E402
from onelane.detect.rulepack import BUILTIN_RULES, load_pack, rule_files  # noqa: E402
from onelane.events.models import Actor, Event  # noqa: E402
from onelane.events.sources import get_source  # noqa: E402
from onelane.gcpause import paused_gc  # noqa: E402

CHUNK = 50_000
GC_BATCH = 20_000  # events between young-generation sweeps, as the ingest pipeline does


def chunks(n: int) -> Iterator[list[Event]]:
    source = get_source("cloudtrail")
    batch: list[Event] = []
    for record in generate(n):
        batch.append(source.normalize(record))
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def run_detector(detector: Detector, n: int) -> tuple[float, int, int]:
    elapsed = 0.0
    raised = 0
    seen = 0
    with paused_gc():
        for batch in chunks(n):
            gc.collect(1)  # sweep what normalising the chunk left young, before timing
            start = time.perf_counter()
            raised += detect_timed(detector, batch, seen)
            elapsed += time.perf_counter() - start
            seen += len(batch)
            detector.drain()  # what a persisting caller does between batches
    return elapsed, seen, raised


def detect_timed(detector: Detector, batch: list[Event], seen: int) -> int:
    """Run ``batch`` through the detector, sweeping the young generations every
    ``GC_BATCH`` events (``seen`` events came before); the alert updates raised."""
    process = detector.process
    raised = 0
    for i, event in enumerate(batch, seen + 1):
        raised += len(process(event))
        if i % GC_BATCH == 0:
            gc.collect(1)
    return raised


def sqlite_anchor(sigmahq: Path, records: list[dict[str, Any]]) -> tuple[float, float, int, int, int]:
    """pySigma-backend-sqlite end to end: ``(load s, query s, rows, rules, correlations)``."""
    from sigma.collection import SigmaCollection
    from sigma.correlations import SigmaCorrelationRule
    from sigma.rule import SigmaRule

    backend: Any = importlib.import_module("sigma.backends.sqlite").sqliteBackend(
        collect_errors=True, collate_nocase=True
    )
    runtime: Any = importlib.import_module("sigma.backends.sqlite.runtime")
    files: list[str | Path] = [*rule_files([sigmahq / "cloud" / "aws", BUILTIN_RULES])]
    collection = SigmaCollection.load_ruleset(files, collect_errors=True)
    # the rules that apply to CloudTrail, and the correlations over them only
    applies = {str(r.id) for r in collection if isinstance(r, SigmaRule) and _cloudtrail(r)}
    for corr in collection:
        if isinstance(corr, SigmaCorrelationRule) and all(
            str(ref.rule.id) in applies for ref in corr.referenced_rules
        ):
            applies.add(str(corr.id))
    converted = json.loads(backend.convert(collection, "zircolite"))
    queries: list[str] = []
    plans: list[dict[str, Any]] = []
    wanted = {"timestamp"}
    for item in converted:
        if item.get("id") not in applies:
            continue
        wanted.update(item.get("required_fields") or ())
        value = item["correlation_plan"] if item.get("correlation") else item["rule"]
        parsed = ast.literal_eval(value) if isinstance(value, str) else value
        if item.get("correlation"):
            plans.append(parsed)
        else:
            queries.extend(parsed)
    start = time.perf_counter()
    conn = sqlite3.connect(":memory:")
    conn.create_function("regexp", 2, lambda p, v: v is not None and re.search(p, str(v)) is not None)
    rows = []
    for record in records:
        row = flatten(record)
        row["timestamp"] = record["eventTime"]
        rows.append(row)
    by_lower: dict[str, str] = {}  # SQLite column names are case-insensitive
    for name in sorted({c for row in rows for c in row} | wanted):
        by_lower.setdefault(name.lower(), name)
    columns = list(by_lower.values())
    rows = [{by_lower[k.lower()]: v for k, v in row.items()} for row in rows]
    conn.execute(f"CREATE TABLE logs ({', '.join(f'`{c}` TEXT COLLATE NOCASE' for c in columns)})")
    conn.executemany(
        f"INSERT INTO logs VALUES ({', '.join('?' for _ in columns)})",
        ([row.get(c) for c in columns] for row in rows),
    )
    loaded = time.perf_counter()
    hits = 0
    for q in queries:
        hits += len(conn.execute(q).fetchall())
    for plan in plans:
        found, _ = runtime.execute_plan(conn, plan, include_events=False)
        hits += len(found)
    done = time.perf_counter()
    return loaded - start, done - loaded, hits, len(queries), len(plans)


def _cloudtrail(rule: Any) -> bool:
    ls = rule.logsource
    return ls.product in (None, "aws") and ls.service in (None, "cloudtrail")


def state_bytes(identities: int) -> float:
    """Bytes of behaviour state per identity (tracemalloc), 30 events each."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    actions = [f"svc{i % 7}:Action{i}" for i in range(20)]
    warm = BehaviourAnalytics(BehaviourConfig())
    analytics = BehaviourAnalytics(BehaviourConfig(), warm.sensitivity)

    def feed(target: BehaviourAnalytics, count: int) -> None:
        n = 0
        for round_ in range(30):
            for i in range(count):
                n += 1
                arn = f"arn:aws:iam::111122223333:user/svc-{i}"
                target.observe(
                    Event(
                        id=f"e{n}",
                        time=t0 + timedelta(seconds=n),
                        source="cloudtrail",
                        action=actions[(i + round_) % 20],
                        outcome="success",
                        actor=Actor("IAMUser", f"svc-{i}", (arn,)),
                        credential_id=f"AKIA{i:016d}",
                        src_ip=f"10.{i % 200}.{i % 7}.9",
                        user_agent="aws-sdk-go-v2/1.30 os/linux",
                    ),
                    MACHINE,
                )

    feed(warm, 100)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    feed(analytics, identities)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return used / identities


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sqlite", type=int, default=100_000)
    parser.add_argument("--state", type=int, default=20_000)
    parser.add_argument("--shared", type=Path, default=BENCH.parents[0].parent / "shared")
    args = parser.parse_args()
    sigmahq = args.shared / "sigma" / "sigmahq" / "rules"
    t0 = time.perf_counter()
    ruleset = load_pack([sigmahq / "cloud", sigmahq / "identity"])
    detector = Detector(ruleset)
    t1 = time.perf_counter()
    print(
        f"rules: {len(detector.engine.rules)} detection rules and {len(detector.correlator.nodes)} "
        f"correlations (SigmaHQ cloud + identity + bundled pack) compiled in {t1 - t0:.2f}s; "
        f"{len(detector.errors)} skipped"
    )
    run_detector(Detector(ruleset), 20_000)  # warm route caches and memo tables
    elapsed, seen, raised = run_detector(detector, args.events)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    behaviour = detector.behaviour
    assert behaviour is not None
    print(
        f"detector: {seen:,} events in {elapsed:.2f}s = {seen / elapsed:,.0f} events/s on one core "
        f"({raised:,} alert updates; {len(behaviour.profiles):,} identities, "
        f"{len(behaviour.credentials):,} credentials in state)"
    )
    print(
        f"(cyclic garbage collector paused, gc.collect(1) every {GC_BATCH:,} events, timed: "
        "the regime of onelane ingest and onelane detect)"
    )
    print(f"peak memory (max RSS of the process): {peak:,.0f} MiB")
    if args.sqlite:
        records = list(generate(args.sqlite))
        load_s, query_s, rows, n_queries, n_plans = sqlite_anchor(sigmahq, records)
        sql_total = load_s + query_s
        sql_rate = len(records) / sql_total
        source = get_source("cloudtrail")
        subset = [source.normalize(r) for r in records]
        same = Detector(ruleset)
        with paused_gc():
            gc.collect(1)
            start = time.perf_counter()
            detect_timed(same, subset, 0)
            d_elapsed = time.perf_counter() - start
        scope = "the same events" if len(records) >= seen else f"a subset, the first {len(records):,} events"
        print(
            f"SQLite anchor (pySigma-backend-sqlite, {n_queries} rule queries + {n_plans} correlation "
            f"plans: every rule of the set that applies to CloudTrail) on {scope}: flatten + insert "
            f"{load_s:.2f}s + queries {query_s:.2f}s = {sql_rate:,.0f} events/s ({rows:,} rows)"
        )
        print(
            f"detector on those {len(subset):,} events: {len(subset) / d_elapsed:,.0f} events/s, "
            f"ratio {sql_total / d_elapsed:.1f}x; detector over {seen:,} events vs SQLite on "
            f"{len(records):,}: ratio {seen / elapsed / sql_rate:.1f}x"
        )
    if args.state:
        per = state_bytes(args.state)
        print(
            f"behaviour state: {per:,.0f} bytes per identity (20 actions, 20 transitions, 1 network, "
            f"1 credential) -> {per * 1e6 / 2**30:.2f} GiB for 1,000,000 identities"
        )


if __name__ == "__main__":
    main()
