"""``onelane rules``: check, test, list and try detection rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from onelane.cli.options import JsonOption, console, errors, print_json, print_table, reported
from onelane.detect.models import tag_ids
from onelane.errors import EventError
from onelane.events.models import Event

app = typer.Typer(help="Detection rules: check, test, list and try them on events.", no_args_is_help=True)

RulesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--rules",
        help="A folder (or file) of Sigma rules loaded beside the bundled pack; repeatable. Also $ONELANE_RULES.",
    ),
]
NoBuiltinOption = Annotated[bool, typer.Option("--no-builtin", help="Leave out the bundled rule pack.")]
GeoipOption = Annotated[
    Path | None,
    typer.Option(
        "--geoip",
        help="A city-level MaxMind DB (.mmdb) file, e.g. GeoLite2-City; turns on impossible travel. Also $ONELANE_GEOIP_DB.",
        show_default=False,
    ),
]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="Event source format, or auto.")]


@app.command("check")
def check(
    folders: Annotated[list[Path], typer.Argument(help="Rule folders or files.", exists=True)],
    json: JsonOption = False,
) -> None:
    """Parse and compile rules; report every problem with its file and rule id."""
    from onelane.detect.rulepack import rule_files
    from onelane.detect.sigma import Correlator, Engine, load_rules

    with reported():
        ruleset = load_rules(rule_files(folders))
        engine = Engine(ruleset)
        correlator = Correlator(ruleset, engine)
    problems = [
        {"file": e.source, "rule_id": e.rule_id, "error": e.message}
        for e in (*ruleset.errors, *engine.errors, *correlator.errors)
    ]
    if json:
        print_json(problems)
    else:
        for p in problems:
            where = ": ".join(str(x) for x in (p["file"], p["rule_id"]) if x)
            message = str(p["error"])
            if p["file"] and message.startswith(f"{p['file']}: "):
                message = message[len(str(p["file"])) + 2 :]
            errors.print(f"[red]error:[/red] {where}: {message}", highlight=False)
        console.print(
            f"{len(ruleset.rules)} rules, {len(ruleset.correlations)} correlations, {len(problems)} problems"
        )
    if problems:
        raise typer.Exit(1)


@app.command("test")
def test(
    folders: Annotated[
        list[Path], typer.Argument(help="Rule folders holding *_test.yaml files.", exists=True)
    ],
    rules: RulesOption = None,
    json: JsonOption = False,
) -> None:
    """Run the rule tests (*_test.yaml) found in the folders; PASS/FAIL per case."""
    from onelane.detect.ruletest import run_tests

    with reported():
        run = run_tests(folders, rules or ())
    if json:
        print_json({"errors": run.errors, "results": [r.to_dict() for r in run.results]})
    else:
        for message in run.errors:
            errors.print(f"[red]error:[/red] {message}", highlight=False)
        for r in run.results:
            verdict = "[green]PASS[/green]" if r.passed else "[red]FAIL[/red]"
            console.print(f"{verdict} {r.file}::{r.name}", highlight=False)
            for problem in r.problems:
                console.print(f"     {problem}", highlight=False)
        failed = sum(not r.passed for r in run.results)
        console.print(f"{len(run.results) - failed} passed, {failed} failed")
    if not run.passed or not run.results:
        raise typer.Exit(1)


@app.command("list")
def list_(
    rules: RulesOption = None,
    no_builtin: NoBuiltinOption = False,
    json: JsonOption = False,
) -> None:
    """List the rules that would run: the bundled pack, your folders and the analytics."""
    from onelane.detect.behaviour import ANALYTICS
    from onelane.detect.rulepack import load_pack
    from onelane.detect.sigma.loader import rule_key, source_of

    with reported():
        ruleset = load_pack(rules or (), builtin=not no_builtin)
    rows: list[dict[str, Any]] = []
    for rule in ruleset.rules:
        techniques, nhi = tag_ids([str(t) for t in rule.tags])
        ls = rule.logsource
        rows.append(
            {
                "id": rule_key(rule),
                "name": rule.name,
                "type": "detection",
                "title": rule.title,
                "level": rule.level.name.lower() if rule.level else None,
                "logsource": "/".join(x for x in (ls.product, ls.service, ls.category) if x),
                "techniques": list(techniques),
                "owasp_nhi": list(nhi),
                "file": source_of(rule),
            }
        )
    for corr in ruleset.correlations:
        techniques, nhi = tag_ids([str(t) for t in corr.tags])
        rows.append(
            {
                "id": rule_key(corr),
                "name": corr.name,
                "type": corr.type.name.lower(),
                "title": corr.title,
                "level": corr.level.name.lower() if corr.level else None,
                "logsource": None,
                "techniques": list(techniques),
                "owasp_nhi": list(nhi),
                "file": source_of(corr),
            }
        )
    for analytic in ANALYTICS.values():
        rows.append(
            {
                "id": analytic.id,
                "name": analytic.id,
                "type": "behaviour",
                "title": analytic.title,
                "level": None,
                "logsource": None,
                "techniques": list(analytic.techniques),
                "owasp_nhi": list(analytic.owasp_nhi),
                "file": None,
            }
        )
    if json:
        print_json(rows)
    else:
        print_table(
            rows, ("name", "type", "level", "title", "techniques", "owasp_nhi"), title=f"{len(rows)} rules"
        )
    for e in ruleset.errors:
        errors.print(f"[yellow]warning:[/yellow] {e.message}", highlight=False)


@app.command("match")
def match(
    files: Annotated[list[Path], typer.Argument(help="Event files or folders.", exists=True)],
    rules: RulesOption = None,
    no_builtin: NoBuiltinOption = False,
    format: FormatOption = "auto",
    json: JsonOption = False,
) -> None:
    """Show which events each rule matches (nothing is stored)."""
    from onelane.detect.rulepack import load_pack
    from onelane.detect.sigma import Correlator, Engine

    with reported():
        ruleset = load_pack(rules or (), builtin=not no_builtin)
        engine = Engine(ruleset)
        correlator = Correlator(ruleset, engine)
        events, counts = read_events(files, format)
        rows: list[dict[str, Any]] = []
        for event in events:
            found = engine.match(event.raw, event.logsource, include_silenced=True)
            for m in found:
                if m.rule.output:
                    rows.append(
                        _row(event.time.isoformat(), m.rule_id, m.title, m.level, "detection", [event.id])
                    )
            for cm in correlator.observe(
                event.raw, event.logsource, event.time.timestamp(), event.id, matches=found
            ):
                rows.append(
                    _row(event.time.isoformat(), cm.rule_id, cm.title, cm.level, cm.type, list(cm.event_ids))
                )
        for cm in correlator.flush():
            rows.append(_row(None, cm.rule_id, cm.title, cm.level, cm.type, list(cm.event_ids)))
    if json:
        print_json(rows)
        return
    print_table(
        [
            {**r, "events": ", ".join(r["events"][:3]) + (" ..." if len(r["events"]) > 3 else "")}
            for r in rows
        ],
        ("time", "rule_id", "type", "level", "title", "events"),
        title=f"{len(rows)} matches in {counts.events} events ({counts.skipped} skipped)",
    )


def _row(
    time: str | None, rule_id: str, title: str, level: str | None, kind: str, events: list[str]
) -> dict[str, Any]:
    return {"time": time, "rule_id": rule_id, "title": title, "level": level, "type": kind, "events": events}


@dataclass(slots=True)
class ReadCounts:
    """Counted as the events of :func:`read_events` are consumed."""

    events: int = 0
    skipped: int = 0


def read_events(files: list[Path], format: str) -> tuple[Iterator[Event], ReadCounts]:
    """The events in ``files`` in time order (inputs larger than memory are sorted on
    disk), and their counts; each skipped record is reported on stderr with its file and
    line."""
    from onelane.events.order import in_time_order
    from onelane.events.reader import normalize_records, read_records

    counts = ReadCounts()

    def normalised() -> Iterator[Event]:
        for path in files:
            for item in normalize_records(read_records(path), format):
                if isinstance(item, EventError):
                    counts.skipped += 1
                    errors.print(f"[yellow]skipped:[/yellow] {item.message}", highlight=False)
                else:
                    counts.events += 1
                    yield item

    return in_time_order(normalised()), counts
