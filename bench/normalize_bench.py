"""CloudTrail read + normalise throughput, beside a plain orjson.loads loop (the floor).

    python bench/normalize_bench.py [N]        # default 1,000,000 events

Generates N synthetic CloudTrail events as JSON lines to a temporary file, then times in
the same run: (a) reading the file line by line with ``orjson.loads`` and (b)
``normalize_records(read_records(path), "cloudtrail")``, and (c) the same with
``--format auto``. Prints events/s, the ratio to the floor, and peak memory.
Target: (b) >= 100,000 events/s on one core.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_cloudtrail import orjson_floor, write_file

from onelane.events import Event, normalize_records, read_records

TARGET = 100_000


def normalise(path: str, fmt: str) -> tuple[int, int, float]:
    start = time.perf_counter()
    events = errors = 0
    for item in normalize_records(read_records(path), fmt):
        if type(item) is Event:
            events += 1
        else:
            errors += 1
    return events, errors, time.perf_counter() - start


def peak_traced(path: str, limit: int) -> int:
    """Peak Python allocation while normalising the first ``limit`` events."""
    tracemalloc.start()
    for i, _ in enumerate(normalize_records(read_records(path), "cloudtrail")):
        if i >= limit:
            break
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cloudtrail.jsonl")
        write_file(path, n)

        gc.collect()
        count, floor_s = orjson_floor(path)
        gc.collect()
        events, errors, norm_s = normalise(path, "cloudtrail")
        gc.collect()
        auto_events, _, auto_s = normalise(path, "auto")
        floor_rate = count / floor_s
        rate = events / norm_s
        auto_rate = auto_events / auto_s
        print(f"(a) orjson.loads floor      {floor_rate:>12,.0f} events/s  ({floor_s:.2f}s)")
        print(f"(b) read + normalise        {rate:>12,.0f} events/s  ({norm_s:.2f}s)"
              f"  errors={errors}")  # fmt: skip
        print(f"(c) read + normalise (auto) {auto_rate:>12,.0f} events/s  ({auto_s:.2f}s)")
        print(f"ratio (b)/(a)               {rate / floor_rate:>12.2f}")
        print(f"target                      {TARGET:>12,} events/s  "
              f"{'PASS' if rate >= TARGET else 'FAIL'}")  # fmt: skip
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS (whole run)        {rss_mb:>12,.0f} MB")
        for limit in (10_000, min(n, 200_000)):
            peak = peak_traced(path, limit)
            print(f"peak traced, {limit:>7,} events {peak / 1e6:>10,.2f} MB")


if __name__ == "__main__":
    main()
