"""Throughput of the detector (Sigma rules + correlations + behaviour analytics), end to end.

Usage: python bench/detect_bench.py [--events N] [--sqlite N] [--shared PATH] [--state N]

Generates a CloudTrail stream with ``bench/gen_cloudtrail.py`` (deterministic), normalises it
in chunks (not timed), and times ``Detector.process`` over every event on one core with
SigmaHQ's cloud and identity rules plus the bundled pack loaded, correlations on and the
behaviour analytics on. Prints events/s, alerts and peak memory. Beside it, in the same run,
pySigma-backend-sqlite (flatten + insert + every SigmaHQ aws query, the code of
``bench/sigma_bench.py``) on the first ``--sqlite`` events, and the detector on those same
events, with the ratio. Then measures the behaviour state in bytes per identity with
tracemalloc over ``--state`` synthetic identities.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from gen_cloudtrail import events as generate  # noqa: E402
from sigma_bench import bench_sqlite  # noqa: E402

from onelane.detect.behaviour import MACHINE, BehaviourAnalytics, BehaviourConfig  # noqa: E402
from onelane.detect.pipeline import Detector  # noqa: E402
from onelane.detect.rulepack import load_pack  # noqa: E402
from onelane.events.models import Actor, Event  # noqa: E402
from onelane.events.sources import get_source  # noqa: E402

CHUNK = 50_000


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
    for batch in chunks(n):
        process = detector.process
        start = time.perf_counter()
        for event in batch:
            raised += len(process(event))
        elapsed += time.perf_counter() - start
        seen += len(batch)
        detector.drain()  # what a persisting caller does between batches
    return elapsed, seen, raised


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
    parser.add_argument("--sqlite", type=int, default=50_000)
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
    print(f"peak memory (max RSS of the process): {peak:,.0f} MiB")
    if args.sqlite:
        records = list(generate(args.sqlite))
        load_s, query_s, rows = bench_sqlite(sigmahq, records)
        sql_total = load_s + query_s
        source = get_source("cloudtrail")
        subset = [source.normalize(r) for r in records]
        same = Detector(ruleset)
        start = time.perf_counter()
        for event in subset:
            same.process(event)
        d_elapsed = time.perf_counter() - start
        print(
            f"pySigma-backend-sqlite (SigmaHQ aws rules) on {len(records):,} events: load {load_s:.2f}s + "
            f"queries {query_s:.2f}s = {len(records) / sql_total:,.0f} events/s ({rows:,} rows); "
            f"detector (all rules + correlations + behaviour) on the same events: "
            f"{len(subset) / d_elapsed:,.0f} events/s; ratio {sql_total / d_elapsed:.1f}x"
        )
    if args.state:
        per = state_bytes(args.state)
        print(
            f"behaviour state: {per:,.0f} bytes per identity (20 actions, 20 transitions, 1 network, "
            f"1 credential) -> {per * 1e6 / 2**30:.2f} GiB for 1,000,000 identities"
        )


if __name__ == "__main__":
    main()
