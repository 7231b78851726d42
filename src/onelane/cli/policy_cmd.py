"""``onelane policy``: check, test and measure the impact of a policy set."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from onelane.cli.options import DbOption, JsonOption, console, errors, fail, open_db, print_json, reported
from onelane.clock import SystemClock

app = typer.Typer(help="Policy as code: check, test and replay policy sets.", no_args_is_help=True)

DirArgument = Annotated[
    Path | None,
    typer.Argument(
        help="A policy directory (or file). Default: $ONELANE_POLICY, else the bundled default.",
        show_default=False,
    ),
]
_SINCE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str) -> datetime:
    """``7d``, ``12h``, ``30m`` back from now, or an ISO 8601 time."""
    match = _SINCE.match(value.strip())
    if match:
        delta = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        return SystemClock().now() - delta
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--since {value!r} is neither a span (7d, 12h) nor an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SystemClock().now().tzinfo)


@app.command("check")
def check(directory: DirArgument = None, json: JsonOption = False) -> None:
    """Check policy files: schema, CEL syntax and types. Every problem with file and line."""
    from onelane.policy import active_policy_dir, check_policy_dir
    from onelane.policy.model import Severity

    path = active_policy_dir(directory)
    compiled, problems = check_policy_dir(path)
    if json:
        print_json([p.to_dict() for p in problems])
    else:
        for p in problems:
            label = "[red]error[/red]" if p.severity is Severity.ERROR else "[yellow]warning[/yellow]"
            errors.print(f"{label} {p}", highlight=False)
        if compiled is not None and not problems:
            console.print(
                f"[green]ok[/green] {path}: {len(compiled.rules)} rules in "
                f"{len(compiled.policy_set.files)} files, revision {compiled.revision}",
                highlight=False,
            )
    if problems or compiled is None:
        raise typer.Exit(1)


@app.command("test")
def test(directory: DirArgument = None, json: JsonOption = False) -> None:
    """Run the decision cases in *_test.yaml files: PASS/FAIL per case, exit 1 on any failure."""
    from onelane.policy import active_policy_dir, load_policy, run_tests

    path = active_policy_dir(directory)
    with reported():
        policy = load_policy(path)
    report = run_tests(policy, path)
    if json:
        print_json([r.to_dict() for r in report.results])
    else:
        for p in report.problems:
            errors.print(f"[red]error[/red] {p}", highlight=False)
        for r in report.results:
            where = f"{r.file}:{r.line}"
            if r.passed:
                console.print(f"[green]PASS[/green] {r.name}  ({where})", highlight=False)
            else:
                console.print(f"[red]FAIL[/red] {r.name}  ({where})", highlight=False)
                for problem in r.problems:
                    console.print(f"     {problem}", highlight=False)
        failed = sum(not r.passed for r in report.results)
        never = sorted({r.rule.id for r in policy.rules} - report.covered)
        if never:
            console.print(f"[yellow]rules no case exercises:[/yellow] {', '.join(never)}", highlight=False)
        console.print(f"{len(report.results) - failed} passed, {failed} failed", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command("impact")
def impact(
    candidate: Annotated[
        Path, typer.Option("--candidate", help="The candidate policy directory.", exists=True)
    ],
    since: Annotated[str, typer.Option(help="Replay decisions logged since (7d, 12h, or ISO 8601).")] = "7d",
    limit: Annotated[int, typer.Option(min=0, help="Replay at most this many decisions (0: all).")] = 0,
    show: Annotated[int, typer.Option(min=0, help="List at most this many changed decisions.")] = 20,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Replay logged decisions against a candidate policy set and report what would change."""
    from onelane.policy import list_decisions, load_policy, replay

    start = parse_since(since)
    with reported():
        policy = load_policy(candidate)
        database = open_db(db)
        with database.connect() as conn:
            records = list_decisions(conn, since=start, limit=limit or None, newest_first=False)
    report = replay(records, policy)
    if json:
        print_json(report.to_dict())
        return
    console.print(
        f"replayed {report.replayed} decisions since {start.isoformat(timespec='seconds')} against "
        f"{candidate} (revision {report.candidate_revision}): {len(report.changes)} would change",
        highlight=False,
    )
    if report.by_kind:
        console.print("[bold]by identity kind[/bold]")
        for (kind, before, after), n in sorted(report.by_kind.items()):
            console.print(f"  {kind:<12} {before:>16} -> {after:<16} {n}", highlight=False)
    if report.by_rule:
        console.print("[bold]by rule[/bold]")
        for rule, n in report.by_rule.most_common():
            console.print(f"  {rule:<40} {n}", highlight=False)
    for change in report.changes[:show]:
        console.print(
            f"  {change.decision_id} {change.subject_kind} {change.identity_id or '-'} "
            f"{change.action} {change.resource}: {change.before} -> {change.after}",
            highlight=False,
        )
