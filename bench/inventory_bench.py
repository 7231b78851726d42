"""Import a generated organisation of N identities into SQLite; time the list query.

    python bench/inventory_bench.py [--identities 1000000] [--db URL]

Prints identities/s, peak memory, and the wall time of
``onelane identities list --kind service --json`` against the result.
Targets (2 cores): one million identities in under 60 s; the list in under 1 s.
The anchor printed beside the import is a bare ``executemany`` of the same identity rows
into an empty table: the floor any importer built on SQLite pays.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from onelane.clock import SystemClock
from onelane.inventory import importers
from onelane.inventory.load import load
from onelane.store import migrate
from onelane.store.db import Database

KINDS = [("service", 0.35), ("workload", 0.25), ("pipeline", 0.1), ("agent", 0.1), ("integration", 0.05)]
HEADER = ["kind", "name", "email", "external_ids", "owner", "team", "tags", "credentials", "entitlements"]


def generate(path: Path, total: int, seed: int = 7) -> None:
    """One human in seven; every machine owned by a human (some ownerless, as in life)."""
    rng = random.Random(seed)
    humans = max(1, total // 7)
    teams = [f"team-{i}" for i in range(200)]
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for i in range(humans):
            out.writerow(
                [
                    "human",
                    f"Person {i}",
                    f"p{i}@example.com",
                    f"okta:00u{i:09d}",
                    "",
                    rng.choice(teams),
                    "",
                    f"mfa:webauthn-{i}",
                    "",
                ]
            )
        kinds = [k for k, _ in KINDS]
        weights = [w for _, w in KINDS]
        for i in range(total - humans):
            kind = rng.choices(kinds, weights)[0]
            owner = f"p{rng.randrange(humans)}@example.com" if rng.random() > 0.05 else ""
            ext = f"arn:aws:iam::111122223333:role/{kind}-{i}"
            key = f"AKIA{i:016d}" if kind == "service" else ""
            out.writerow(
                [
                    kind,
                    f"{kind}-{i}",
                    "",
                    ext + (f";{key}" if key else ""),
                    owner,
                    rng.choice(teams),
                    "shared" if rng.random() < 0.02 else "",
                    f"access_key:{key}" if key else "",
                    f"s3:GetObject@arn:aws:s3:::bucket-{i % 1000}/*",
                ]
            )


def anchor(path: Path) -> float:
    """A bare executemany of the identity rows into a fresh SQLite table (WAL)."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "anchor.db")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, kind TEXT, name TEXT, team TEXT, owner TEXT)")
        start = time.perf_counter()
        with path.open(newline="") as handle:
            rows = (
                (f"id{n}", r["kind"], r["name"], r["team"], r["owner"])
                for n, r in enumerate(csv.DictReader(handle))
            )
            conn.executemany("INSERT INTO t VALUES (?,?,?,?,?)", rows)
        conn.commit()
        elapsed = time.perf_counter() - start
        conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--identities", type=int, default=1_000_000)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        org = Path(tmp) / "org.csv"
        t0 = time.perf_counter()
        generate(org, args.identities)
        print(
            f"generated {args.identities:,} identities in {time.perf_counter() - t0:.1f}s ({org.stat().st_size / 1e6:.0f} MB CSV)"
        )
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        migrate.upgrade(db)
        start = time.perf_counter()
        [unit] = importers.get("csv")([org])
        parsed = time.perf_counter() - start
        summary = load(db, unit, actor="bench", clock=SystemClock())
        elapsed = time.perf_counter() - start
        assert summary.written and summary.created == args.identities, summary.to_dict()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        floor = anchor(org)
        print(
            f"onelane import: {elapsed:.1f}s ({args.identities / elapsed:,.0f} identities/s; parse {parsed:.1f}s, write {elapsed - parsed:.1f}s), peak RSS {peak_mb:,.0f} MB"
        )
        print(
            f"anchor (bare sqlite3 executemany of one table): {floor:.1f}s ({args.identities / floor:,.0f} rows/s); onelane/anchor time ratio {elapsed / floor:.1f}x"
        )
        print(f"target: under 60 s -> {'MET' if elapsed < 60 else 'MISSED'}")
        cmd = [
            sys.executable,
            "-m",
            "onelane",
            "identities",
            "list",
            "--kind",
            "service",
            "--json",
            "--db",
            url,
        ]
        start = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True).stdout
        listed = time.perf_counter() - start
        rows = len(json.loads(out))
        print(
            f"identities list --kind service --json: {listed:.2f}s for {rows:,} rows (default limit) -> {'MET' if listed < 1 else 'MISSED'} (target < 1 s)"
        )
        db.dispose()


if __name__ == "__main__":
    main()
