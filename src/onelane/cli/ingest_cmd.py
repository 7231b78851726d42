"""``onelane ingest``: read activity logs, normalise them and store them as events."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from onelane.cli.options import (
    CLI_ACTOR,
    DbOption,
    JsonOption,
    console,
    errors,
    fail,
    open_db,
    print_json,
    print_table,
    reported,
)
from onelane.cli.rules_cmd import GeoipOption
from onelane.clock import SystemClock
from onelane.config import DEFAULT_DIR
from onelane.events import source_names
from onelane.events.parallel import default_workers, ingest_inputs
from onelane.events.pipeline import BATCH_SIZE, IngestSummary, RejectsFile
from onelane.events.sources import get_source
from onelane.store.db import Database

if TYPE_CHECKING:
    from onelane.detect.stream import AlertingSink


def default_rejects_path(clock: SystemClock) -> Path:
    return DEFAULT_DIR / f"rejects-{clock.now():%Y%m%dT%H%M%SZ}.jsonl"


def _describe(summary: IngestSummary) -> str:
    return (
        f"read {summary.read:,} · stored {summary.stored:,} · duplicates {summary.duplicates:,}"
        f" · rejected {summary.rejected:,} · unsupported {summary.unsupported:,}"
    )


def register(root: typer.Typer) -> None:
    @root.command("ingest")
    def ingest_cmd(
        paths: Annotated[
            list[str],
            typer.Argument(
                help="Files or directories (JSON, JSON lines, .gz, CloudTrail S3 delivery files); - reads stdin.",
                show_default=False,
            ),
        ],
        format: Annotated[
            str,
            typer.Option("--format", "-f", help=f"Record format: auto, {', '.join(source_names())}."),
        ] = "auto",
        rejects: Annotated[
            Path | None,
            typer.Option(
                "--rejects",
                help="Where rejected and unsupported records go (JSON lines). Default: ./.onelane/rejects-<time>.jsonl.",
                show_default=False,
            ),
        ] = None,
        batch_size: Annotated[
            int, typer.Option("--batch-size", min=1, help="Events per transaction.")
        ] = BATCH_SIZE,
        verbose: Annotated[
            bool, typer.Option("--verbose", "-v", help="Print a line on stderr for each committed batch.")
        ] = False,
        detect: Annotated[
            bool,
            typer.Option(
                "--detect/--no-detect",
                help="Run the Sigma rules, correlations and behaviour analytics on each stored event and save the alerts.",
            ),
        ] = True,
        workers: Annotated[
            int | None,
            typer.Option(
                "--workers",
                "-w",
                min=1,
                help="Processes that read and store at once, with --no-detect (detection follows each"
                " identity in one process). Default: one per CPU, at most 4, with --no-detect; else 1.",
                show_default=False,
            ),
        ] = None,
        rules: Annotated[
            list[Path] | None,
            typer.Option(
                "--rules", help="Extra Sigma rule folder (repeatable), loaded beside the bundled pack."
            ),
        ] = None,
        geoip: GeoipOption = None,
        db: DbOption = None,
        json: JsonOption = False,
    ) -> None:
        """Ingest identity activity: CloudTrail, Okta, GitHub, Kubernetes audit, Entra, OCSF.

        Idempotent: an event is known by its time and id, so ingesting the same files again
        stores nothing new. Events are stored in batches, each one transaction, committed before
        it is counted as stored. A malformed record is reported with file and line and
        written to the rejects file; it never stops the rest. With --no-detect, one worker
        process per CPU reads and stores at once (--workers).
        """
        with reported():
            if format != "auto":
                get_source(format)
            missing = [p for p in paths if p != "-" and not Path(p).exists()]
            if missing:
                raise fail(f"no such file or directory: {', '.join(missing)}")
            if detect and workers is not None and workers > 1:
                raise fail(
                    "--workers needs --no-detect: detection follows each identity's events in one process"
                )
            database = open_db(db)
            clock = SystemClock()
            alerting = _alerting(database, clock, rules or [], geoip) if detect else None
            sink = RejectsFile(rejects or default_rejects_path(clock))
            show_bar = sys.stderr.isatty() and not verbose
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=errors,
                transient=True,
                disable=not show_bar,
            ) as progress:
                task = progress.add_task("ingesting", total=None)

                def on_batch(summary: IngestSummary) -> None:
                    if verbose:
                        errors.print(f"stored batch {summary.batches}: {_describe(summary)}", highlight=False)
                    progress.update(task, description=_describe(summary))

                try:
                    summary = ingest_inputs(
                        database,
                        paths,
                        workers=workers or (1 if detect else default_workers()),
                        clock=clock,
                        actor=CLI_ACTOR,
                        format=format,
                        batch_size=batch_size,
                        rejects=sink,
                        on_batch=on_batch,
                        on_stored=alerting,
                    )
                    if alerting is not None:
                        alerting.finish()
                finally:
                    sink.close()
        body = summary.to_dict()
        if alerting is not None:
            body["alerts"] = {"created": alerting.created, "updated": alerting.updated}
        if json:
            print_json(body)
            return
        _print_summary(summary)
        if alerting is not None:
            console.print(
                f"alerts: {alerting.created:,} new, {alerting.updated:,} updated (onelane alerts list)",
                highlight=False,
            )


def _alerting(database: Database, clock: SystemClock, rules: list[Path], geoip: Path | None) -> AlertingSink:
    from onelane.detect.facts import InventoryFacts
    from onelane.detect.geoip import behaviour_config
    from onelane.detect.pipeline import Detector
    from onelane.detect.stream import AlertingSink

    detector = Detector(rules=rules, facts=InventoryFacts(database), behaviour=behaviour_config(geoip))
    for problem in detector.errors:
        errors.print(f"[yellow]rule skipped:[/yellow] {problem.message}", highlight=False)
    return AlertingSink(database, detector, clock)


def _common_folder(names: list[str]) -> str | None:
    """The folder every named file is in, when they share one (not ``-`` or ``<input>``)."""
    if any(not os.path.isabs(n) and not os.path.exists(n) for n in names):
        return None
    try:
        folder = os.path.commonpath([os.path.dirname(os.path.abspath(n)) for n in names])
    except ValueError:
        return None
    return folder if folder not in ("", os.sep) else None


def _print_summary(summary: IngestSummary) -> None:
    console.print(
        f"{_describe(summary)} · time inferred {summary.time_inferred:,}"
        f" · new identities {summary.discovered:,} ({summary.seconds:.1f}s)",
        highlight=False,
    )
    names = [name for name, c in summary.files.items() if c.rejected or c.unsupported]
    if names:
        under = _common_folder(names)
        troubled = [
            {"file": os.path.relpath(name, under) if under else name, **summary.files[name].to_dict()}
            for name in names
        ]
        print_table(
            troubled,
            ("file", "read", "stored", "rejected", "unsupported"),
            title="files with rejected or unsupported records" + (f" (under {under})" if under else ""),
        )
    if summary.rejects_file:
        console.print(f"rejected and unsupported records: {summary.rejects_file}", highlight=False)
