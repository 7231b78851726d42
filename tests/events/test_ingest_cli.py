from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from ingest_helpers import cloudtrail, jsonl
from typer.testing import CliRunner

from onelane.cli.main import app
from onelane.store.db import Database
from onelane.store.tables import events

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _count(url: str) -> int:
    db = Database(url)
    with db.connect() as conn:
        found = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar()
    db.dispose()
    return int(found or 0)


def test_ingest_prints_a_json_summary_and_writes_rejects(url: str, tmp_path: Path) -> None:
    source = tmp_path / "mixed.jsonl"
    source.write_bytes(jsonl([cloudtrail()]) + b"{oops\n" + b'{"product": "other"}\n')
    rejects = tmp_path / "rejects.jsonl"
    out = json.loads(_ok("ingest", str(source), "--db", url, "--json", "--rejects", str(rejects)))
    assert {k: out[k] for k in ("read", "stored", "duplicates", "rejected", "unsupported")} == {
        "read": 3, "stored": 1, "duplicates": 0, "rejected": 1, "unsupported": 1,
    }  # fmt: skip
    assert out["discovered"] == 1 and out["rejects_file"] == str(rejects)
    lines = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert [(r["file"], r["line"], r["kind"]) for r in lines] == [
        (str(source), 2, "rejected"), (str(source), 3, "unsupported"),
    ]  # fmt: skip
    assert lines[0]["raw"] == "{oops"
    again = json.loads(_ok("ingest", str(source), "--db", url, "--json", "--rejects", str(rejects)))
    assert (again["stored"], again["duplicates"]) == (0, 1)


def test_the_table_of_troubled_files_names_each_file_in_full(url: str, tmp_path: Path) -> None:
    folder = tmp_path / "a-long-folder-name-for-the-organisation-under-review" / "cloudtrail-delivery"
    folder.mkdir(parents=True)
    for name in ("us-east-1-first-file-with-a-bad-line.jsonl", "eu-west-3-second-file-with-a-bad-line.jsonl"):
        (folder / name).write_bytes(jsonl([cloudtrail()]) + b"{oops\n")
    rejects = tmp_path / "rejects.jsonl"
    result = runner.invoke(
        app, ["ingest", str(folder), "--db", url, "--rejects", str(rejects)], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    assert f"(under{folder})" in "".join(result.stdout.split())  # the title wraps
    cells = "".join(line.split("│")[1].strip() for line in result.stdout.splitlines() if "│" in line)
    assert "us-east-1-first-file-with-a-bad-line.jsonl" in cells
    assert "eu-west-3-second-file-with-a-bad-line.jsonl" in cells


def test_ingest_reads_gzip_directories_and_stdin(url: str, tmp_path: Path) -> None:
    import gzip

    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.json.gz").write_bytes(
        gzip.compress(json.dumps({"Records": [cloudtrail(), cloudtrail()]}).encode())
    )
    out = json.loads(_ok("ingest", str(folder), "--db", url, "--json", "--format", "cloudtrail"))
    assert out["stored"] == 2
    result = runner.invoke(app, ["ingest", "-", "--db", url, "--json"], input=jsonl([cloudtrail()]).decode())
    assert result.exit_code == 0 and json.loads(result.stdout)["stored"] == 1
    workers = ["--no-detect", "--workers", "2", "--db", url, "--json"]
    out = json.loads(_ok("ingest", str(folder), *workers))
    assert (out["stored"], out["duplicates"]) == (0, 2)
    result = runner.invoke(app, ["ingest", "-", *workers], input=jsonl([cloudtrail(), cloudtrail()]).decode())
    assert result.exit_code == 0 and json.loads(result.stdout)["stored"] == 2


def test_unknown_format_and_missing_path_fail_clearly(url: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", "--format", "splunk", str(tmp_path), "--db", url])
    assert result.exit_code == 1 and "valid sources" in result.output
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope.json"), "--db", url])
    assert result.exit_code == 1 and "no such file" in result.output
    result = runner.invoke(app, ["ingest", str(tmp_path), "--db", url, "--workers", "2"])
    assert result.exit_code == 1 and "--workers needs --no-detect" in result.output


def test_events_list_and_prune(url: str, tmp_path: Path) -> None:
    source = tmp_path / "e.jsonl"
    other_key = cloudtrail(name="GetObject", key="AKIAOTHERKEY00000000", time="2020-01-02T00:00:00Z")
    source.write_bytes(
        jsonl([cloudtrail(time="2020-01-01T00:00:00Z"), cloudtrail(name="ListBuckets"), other_key])
    )
    _ok("ingest", str(source), "--db", url, "--json")
    by_key = json.loads(_ok("events", "list", "--credential", "AKIAOTHERKEY00000000", "--json", "--db", url))
    assert [e["credential_id"] for e in by_key] == ["AKIAOTHERKEY00000000"]
    listed = json.loads(_ok("events", "list", "--action", "s3:List*", "--json", "--db", url))
    assert [e["action"] for e in listed] == ["s3:ListBuckets"]
    mine = json.loads(_ok("events", "list", "--identity", "AKIAIOSFODNN7EXAMPLE", "--json", "--db", url))
    assert len(mine) == 3  # the same user, with both of its keys
    assert json.loads(_ok("events", "list", "--since", "1h", "--json", "--db", url)) == []
    assert json.loads(_ok("events", "prune", "--dry-run", "--json", "--db", url))["deleted"] == 3
    assert json.loads(_ok("events", "prune", "--days", "1000", "--json", "--db", url))["deleted"] == 2
    assert _count(url) == 1
    assert "list" in _ok("events", "--help")


def _generate(path: Path, n: int) -> None:
    subprocess.run([sys.executable, str(REPO / "bench" / "gen_cloudtrail.py"), str(n), str(path)], check=True)


@pytest.mark.parametrize(
    ("options", "n"),
    [((), 20_000), (("--no-detect", "--workers", "2"), 80_000)],
    ids=["one process", "workers"],
)
def test_killed_ingest_loses_nothing_reported_and_a_rerun_completes(
    tmp_path: Path, options: tuple[str, ...], n: int
) -> None:
    source = tmp_path / "ct.jsonl"
    _generate(source, n)
    clean = f"sqlite:///{tmp_path / 'clean.db'}"
    killed = f"sqlite:///{tmp_path / 'killed.db'}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "onelane",
        "ingest",
        str(source),
        "--batch-size",
        "1000",
        "-v",
        "--json",
        *options,
    ]
    subprocess.run([*command, "--db", clean], check=True, capture_output=True, env=env, cwd=tmp_path)
    process = subprocess.Popen(
        [*command, "--db", killed], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, cwd=tmp_path
    )
    assert process.stderr is not None
    reported = 0
    for line in process.stderr:
        if line.startswith(b"stored batch"):
            reported = int(line.split(b"stored ")[2].split(b" ")[0].replace(b",", b""))
            break
    workers = _children(process.pid)
    assert len(workers) >= (2 if options else 0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    _wait_gone(workers)  # workers end with the process that started them
    assert reported >= 1000
    assert _count(killed) >= reported
    assert _count(killed) < n
    subprocess.run([*command, "--db", killed], check=True, capture_output=True, env=env, cwd=tmp_path)
    assert _count(killed) == _count(clean) == n


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _wait_gone(pids: list[int], seconds: float = 10) -> None:
    import time

    def alive(pid: int) -> bool:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return False
        return "State:\tZ" not in status

    deadline = time.monotonic() + seconds
    while any(alive(p) for p in pids):
        assert time.monotonic() < deadline, f"processes still running: {[p for p in pids if alive(p)]}"
        time.sleep(0.1)
