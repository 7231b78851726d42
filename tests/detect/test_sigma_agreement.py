"""onelane's Sigma engine against pySigma-backend-sqlite, rule by rule, event by event.

Every SigmaHQ rule in ``../shared/sigma/sigmahq/rules`` that the backend converts is run as
SQL over a SQLite table per log source holding the same events, flattened the way Zircolite
does it (one ``TEXT COLLATE NOCASE`` column per dotted path; objects and lists as JSON text;
booleans as ``true``/``false``; a ``fulltext`` column with every string value for keywords).
The events are the shared datasets' records for each log source plus records synthesised from
the rules themselves (each selection, case-flipped, and near misses). For each rule the set of
matching rows must be the same; a row where they differ must be explained by one of
``DIVERGENCES`` below (SQLite's own behaviour), and the explained rows are reported.
"""

from __future__ import annotations

import importlib
import json
import re
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import sigma_synth
from sigma.exceptions import SigmaError

from onelane.detect.sigma import Engine, load_rules
from onelane.detect.sigma.fields import MISSING, iter_strings, resolve, text_of

SQLITE: Any = importlib.import_module("sigma.backends.sqlite")  # untyped package
RUNTIME: Any = importlib.import_module("sigma.backends.sqlite.runtime")
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
RULES = SHARED / "sigma" / "sigmahq" / "rules"
DATASETS = SHARED / "datasets"

pytestmark = pytest.mark.skipif(not RULES.is_dir(), reason="../shared is not present")

# Why the two engines may disagree on a row, each checked on the row itself.
DIVERGENCES = {
    "list": "the rule reads a field whose value is (or passes through) a JSON list: onelane "
    "matches if any element matches (Sigma's list semantics); the flattened SQLite row holds "
    "the list as JSON text (or nothing under a path through the list)",
    "field-case": "SQLite column names are case-insensitive, so a rule on `OperationName` reads "
    "an event's `operationName`; onelane reads field names exactly",
    "non-ascii": "SQLite's NOCASE and LIKE fold only ASCII letters; onelane folds all of "
    "Unicode with str.lower()",
    "float-number": "a JSON float equal to a rule's integer (5.0 vs 5) is a numeric match for "
    "onelane but different text ('5.0' vs '5') in the TEXT column",
}

# Log sources and the shared records for each.
PANTHER: dict[tuple[str | None, str | None], list[str]] = {
    ("aws", "cloudtrail"): ["tests_aws_cloudtrail.jsonl"],
    ("okta", "okta"): ["tests_okta_systemlog.jsonl"],
    ("github", "audit"): ["tests_github_audit.jsonl"],
    ("kubernetes", "audit"): ["tests_eks_k8s_audit.jsonl"],
    ("azure", "auditlogs"): ["tests_azure_entra_audit_signin.jsonl"],
    ("azure", "signinlogs"): ["tests_azure_entra_audit_signin.jsonl"],
    ("azure", "activitylogs"): ["tests_azure_monitor_activity.jsonl"],
}


def shared_records(logsource: tuple[str | None, str | None]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in PANTHER.get(logsource, []):
        path = DATASETS / "panther_analysis_tests" / name
        if path.is_file():
            for line in path.read_text().splitlines():
                log = json.loads(line).get("log")
                if isinstance(log, dict):
                    out.append(log)
    if logsource == ("aws", "cloudtrail"):
        files = sorted(DATASETS.glob("*/CloudTrail/*.json"))
        files += sorted(DATASETS.glob("stratus_red_team/detonation_logs/*.json"))
        for f in files:
            data = json.loads(f.read_text())
            out.extend(data["Records"] if isinstance(data, dict) else data)
        for f in sorted(DATASETS.glob("otrf_security_datasets/aws_*/*.json")):
            out.extend(json.loads(line) for line in f.read_text().splitlines() if line.strip())
    if logsource == ("azure", "auditlogs"):
        path = DATASETS / "otrf_security_datasets/golden_saml_adfs_mail_access/AADAuditEvents.json"
        if path.is_file():
            out.extend(json.loads(x) for x in path.read_text().splitlines() if x.strip())
    return [r for r in out if isinstance(r, dict)]


def flatten(record: dict[str, Any], prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Zircolite-style columns: every dotted path, lower-cased (SQLite names ignore case)."""
    out = {} if out is None else out
    for key, value in record.items():
        name = f"{prefix}{key}"
        out.setdefault(name.lower(), text_of(value))
        if isinstance(value, dict):
            flatten(value, name + ".", out)
    return out


def fields_of(rule: Any) -> set[str]:
    from sigma.conditions import ConditionFieldEqualsValueExpression
    from sigma.types import SigmaFieldReference

    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, ConditionFieldEqualsValueExpression):
            found.add(node.field)
            if isinstance(node.value, SigmaFieldReference):
                found.add(node.value.field)
        for arg in getattr(node, "args", []):
            walk(arg)

    for cond in rule.detection.parsed_condition:
        walk(cond.parsed)
    return found


def _crosses_list(obj: Any, parts: list[str]) -> bool:
    for i in range(len(parts)):
        if isinstance(obj, list):
            return True
        if not isinstance(obj, dict):
            return False
        key = ".".join(parts[i:])
        if key in obj and isinstance(obj[key], list):
            return True
        obj = obj.get(parts[i])
    return isinstance(obj, list)


def explain(record: dict[str, Any], fields: set[str]) -> str | None:
    flat = flatten(record)
    for f in fields:
        if _crosses_list(record, f.split(".")):
            return "list"
    for f in fields:
        exact = resolve(record, tuple(f.split(".")))
        if exact is MISSING and flat.get(f.lower()) is not None:
            return "field-case"
        if exact is not MISSING and text_of(exact) != flat.get(f.lower()):
            return "field-case"  # two spellings of one column in the same record
    for f in fields:
        text = flat.get(f.lower())
        if text is not None and not text.isascii():
            return "non-ascii"
    if any(not s.isascii() for s in iter_strings(record)) and any(
        f == sigma_synth.KEYWORD_FIELD for f in fields
    ):
        return "non-ascii"
    for f in fields:
        value = resolve(record, tuple(f.split(".")))
        if isinstance(value, float) and value.is_integer():
            return "float-number"
    return None


@pytest.fixture(scope="module")
def agreement() -> dict[str, Any]:
    ruleset = load_rules(RULES)
    engine = Engine(ruleset)
    backend_rules = load_rules(RULES).rules  # fresh objects: conversion mutates rules
    backend: Any = SQLITE.sqliteBackend(collate_nocase=True, fulltext_field="fulltext")
    queries: dict[str, list[str]] = {}
    unconvertible: dict[str, str] = {}
    by_source: dict[tuple[str | None, str | None], list[Any]] = defaultdict(list)
    for rule in backend_rules:
        key = str(rule.id)
        ls = (rule.logsource.product, rule.logsource.service)
        try:
            queries[key] = [q for q in backend.convert_rule(rule) if isinstance(q, str)]
        except SigmaError as exc:
            unconvertible[key] = f"{type(exc).__name__}: {exc}"
            continue
        by_source[ls].append(rule)

    conn = sqlite3.connect(":memory:")
    conn.create_function("regexp", 2, lambda p, v: v is not None and re.search(p, str(v)) is not None)
    results: dict[str, dict[str, Any]] = {}
    for n, (ls, rules) in enumerate(sorted(by_source.items(), key=str)):
        records = shared_records(ls)
        for rule in rules:
            records.extend(sigma_synth.records_for(rule))
        table = f"t{n}"
        columns: dict[str, str] = {"fulltext": "fulltext"}
        for rule in rules:
            for f in backend.required_fields(rule):
                columns.setdefault(f.lower(), f)
        names = list(columns.values())
        conn.execute(f"CREATE TABLE {table} (" + ", ".join(f"`{c}` TEXT COLLATE NOCASE" for c in names) + ")")
        rows = []
        for i, record in enumerate(records):
            flat = flatten(record)
            flat["fulltext"] = "\n".join(iter_strings(record))
            rows.append((i + 1, *[flat.get(c.lower()) for c in names]))
        cols = ", ".join(["rowid", *[f"`{c}`" for c in names]])
        marks = ", ".join("?" for _ in range(len(names) + 1))
        conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
        engine_hits: dict[str, set[int]] = defaultdict(set)
        for i, record in enumerate(records):
            for m in engine.match(record, ls, include_silenced=True):
                engine_hits[m.rule_id].add(i + 1)
        for rule in rules:
            key = str(rule.id)
            sql_rows: set[int] = set()
            for q in queries[key]:
                q = q.replace("SELECT * FROM logs WHERE", f"SELECT rowid FROM {table} WHERE", 1)
                sql_rows |= {r[0] for r in conn.execute(q)}
            ours = engine_hits.get(key, set())
            fields = fields_of(rule) | (
                {sigma_synth.KEYWORD_FIELD}
                if any("keyword" in name for name in rule.detection.detections)
                else set()
            )
            explained: dict[str, list[int]] = defaultdict(list)
            unexplained = []
            for row in sorted(sql_rows ^ ours):
                reason = explain(records[row - 1], fields)
                if reason is None:
                    unexplained.append((row, "sql" if row in sql_rows else "onelane", records[row - 1]))
                else:
                    explained[reason].append(row)
            results[key] = {
                "title": rule.title,
                "sql": len(sql_rows),
                "onelane": len(ours),
                "explained": dict(explained),
                "unexplained": unexplained,
            }
    return {
        "loaded": len(ruleset.rules),
        "load_errors": ruleset.errors,
        "compiled": len(engine.rules),
        "compile_errors": engine.errors,
        "converted": len(queries),
        "unconvertible": unconvertible,
        "results": results,
    }


def test_every_sigmahq_rule_loads_and_compiles(agreement: dict[str, Any]) -> None:
    assert agreement["load_errors"] == []
    assert agreement["compile_errors"] == []
    assert agreement["compiled"] == agreement["loaded"] >= 250


def test_backend_refuses_only_keyword_rules(agreement: dict[str, Any]) -> None:
    # With fulltext_field set the backend converts keyword rules too; record what it refuses.
    for rule_id, reason in agreement["unconvertible"].items():
        print(f"not converted by pySigma-backend-sqlite: {rule_id}: {reason}")
    assert agreement["converted"] >= 250


def test_onelane_matches_the_same_events_as_sqlite(agreement: dict[str, Any]) -> None:
    results = agreement["results"]
    disagree = {k: r for k, r in results.items() if r["unexplained"]}
    explained = {k: r["explained"] for k, r in results.items() if r["explained"]}
    matched = sum(1 for r in results.values() if r["sql"] or r["onelane"])
    print(
        f"\nrules compared: {len(results)}, with matches: {matched}, "
        f"agreeing exactly: {sum(1 for r in results.values() if not r['explained'] and not r['unexplained'])}, "
        f"differing only for listed reasons: {len(explained)}"
    )
    for key, reasons in sorted(explained.items()):
        summary = ", ".join(f"{reason} ({len(rows)} rows)" for reason, rows in reasons.items())
        print(f"  {results[key]['title']}: {summary}")
    for reason in {r for reasons in explained.values() for r in reasons}:
        assert reason in DIVERGENCES
    report = {
        results[k]["title"]: [(row, side, rec) for row, side, rec in r["unexplained"][:2]]
        for k, r in disagree.items()
    }
    assert not disagree, json.dumps(report, indent=1, default=str)[:4000]
    # The synthesised records exercise (almost) every rule; a harness matching nothing
    # would agree trivially.
    assert matched >= 0.9 * len(results)


# ------------------------------------------------------------------ correlations

CORRELATION_RULES = """
title: Console login failure
name: login_failure
logsource: {product: aws, service: cloudtrail}
detection:
    selection: {eventName: ConsoleLogin, responseElements.ConsoleLogin: Failure}
    condition: selection
---
title: Console login success
name: login_success
logsource: {product: aws, service: cloudtrail}
detection:
    selection: {eventName: ConsoleLogin, responseElements.ConsoleLogin: Success}
    condition: selection
---
title: Access key created
name: key_created
logsource: {product: aws, service: cloudtrail}
detection:
    selection: {eventName: CreateAccessKey}
    condition: selection
---
title: Policy attached to a user
name: policy_attached
logsource: {product: aws, service: cloudtrail}
detection:
    selection: {eventName: AttachUserPolicy}
    condition: selection
---
title: Many login failures
name: many_failures
correlation:
    type: event_count
    rules: [login_failure]
    group-by: [userIdentity.arn]
    timespan: 10m
    condition: {gte: 3}
---
title: Login failures then success
name: brute_then_success
level: high
correlation:
    type: temporal_ordered
    rules: [many_failures, login_success]
    group-by: [userIdentity.arn]
    timespan: 30m
---
title: Logins from many addresses
correlation:
    type: value_count
    rules: [login_success, login_failure]
    group-by: [userIdentity.arn]
    timespan: 1h
    condition: {gte: 3, field: sourceIPAddress}
---
title: Key created and policy attached for one principal
correlation:
    type: temporal
    rules: [key_created, policy_attached]
    group-by: [principal]
    timespan: 15m
    aliases:
        principal:
            key_created: userIdentity.arn
            policy_attached: requestParameters.userName
---
title: Exactly two failures from one address
correlation:
    type: event_count
    rules: [login_failure]
    group-by: [sourceIPAddress]
    timespan: 5m
    condition: {eq: 2}
"""


def correlation_stream(count: int = 2500, seed: int = 11) -> list[dict[str, Any]]:
    import random

    rng = random.Random(seed)
    users = [f"arn:aws:iam::123456789012:user/user{i}" for i in range(12)]
    ips = [f"198.51.100.{i}" for i in range(1, 7)]
    t = 1_700_000_000
    out = []
    for _ in range(count):
        t += rng.choice([0, 1, 5, 20, 40, 90, 200])
        user = rng.choice(users)
        if rng.random() < 0.3:  # the same principal, spelled in another case
            user = user.upper()
        kind = rng.random()
        record: dict[str, Any] = {
            "eventTime": f"{__import__('datetime').datetime.utcfromtimestamp(t).isoformat()}Z",
            "eventSource": "signin.amazonaws.com",
            "sourceIPAddress": rng.choice(ips),
            "userIdentity": {"type": "IAMUser", "arn": user},
        }
        if kind < 0.5:
            record.update(eventName="ConsoleLogin", responseElements={"ConsoleLogin": "Failure"})
        elif kind < 0.62:
            record.update(eventName="ConsoleLogin", responseElements={"ConsoleLogin": "Success"})
        elif kind < 0.74:
            record.update(eventName="CreateAccessKey")
        elif kind < 0.86:
            target = rng.choice(users)
            record.update(eventName="AttachUserPolicy", requestParameters={"userName": target})
        else:
            record.update(eventName="DescribeInstances")
        if rng.random() < 0.03:
            del record["userIdentity"]["arn"]
        record["_ts"] = t
        out.append(record)
    return out


def test_correlations_agree_with_sqlite_plans(tmp_path: Path) -> None:
    from sigma.collection import SigmaCollection

    from onelane.detect.sigma import Correlator

    path = tmp_path / "mr_identity.yml"
    path.write_text(CORRELATION_RULES)
    ruleset = load_rules(path)
    assert ruleset.errors == []
    correlator = Correlator(ruleset)
    assert correlator.errors == []

    events = correlation_stream()
    ours: dict[str, dict[tuple[Any, ...], tuple[int, tuple[str, ...]]]] = defaultdict(dict)
    ls = ("aws", "cloudtrail")
    for rowid, record in enumerate(events, start=1):
        ts = float(record["_ts"])
        for m in correlator.observe(record, ls, ts, str(rowid)):
            key = (tuple(v for _, v in m.group), round(m.window_end, 3))
            ours[m.title][key] = (m.metric, m.event_ids)  # the last emission per window
    for m in correlator.flush():
        ours[m.title][(tuple(v for _, v in m.group), round(m.window_end, 3))] = (
            m.metric,
            m.event_ids,
        )

    backend: Any = SQLITE.sqliteBackend(collate_nocase=True)
    converted = json.loads(backend.convert(SigmaCollection.from_yaml(CORRELATION_RULES), "zircolite"))
    plans = {c["title"]: c["correlation_plan"] for c in converted if c.get("correlation")}
    conn = sqlite3.connect(":memory:")
    flat_rows = []
    for record in events:
        flat = flatten({k: v for k, v in record.items() if k != "_ts"})
        flat["timestamp"] = record["eventTime"]
        flat_rows.append(flat)
    names = sorted({c for row in flat_rows for c in row})
    conn.execute("CREATE TABLE logs (" + ", ".join(f"`{c}` TEXT COLLATE NOCASE" for c in names) + ")")
    marks = ", ".join("?" for _ in range(len(names) + 1))
    conn.executemany(
        f"INSERT INTO logs (rowid, {', '.join(f'`{c}`' for c in names)}) VALUES ({marks})",
        [(i, *[row.get(c) for c in names]) for i, row in enumerate(flat_rows, start=1)],
    )
    assert set(plans) == set(ours) | set(plans)  # every output correlation has a plan
    compared = 0
    for title, plan in plans.items():
        rows, _ = RUNTIME.execute_plan(conn, plan, include_events=False)
        corr = next(c for c in ruleset.correlations if c.title == title)
        group_by = list(corr.group_by or [])
        theirs = {
            (tuple(r["group_keys"][f] for f in group_by), round(r["window_end"], 3)): (
                r["metric_value"],
                tuple(sorted(e.split(":", 1)[1] for e in r["event_ids"])),
            )
            for r in rows
        }
        mine = {k: (metric, tuple(sorted(ids))) for k, (metric, ids) in ours[title].items()}
        assert theirs, f"{title}: the stream should trigger it"
        only_sql = sorted(set(theirs) - set(mine))[:3]
        only_ours = sorted(set(mine) - set(theirs))[:3]
        assert not only_sql and not only_ours, (title, only_sql, only_ours)
        for key, value in theirs.items():
            assert mine[key][0] == value[0], (title, key, "metric", mine[key], value)
            assert mine[key][1] == value[1], (title, key, "events", mine[key], value)
        compared += len(theirs)
        print(f"{title}: {len(theirs)} windows agree")
    assert compared > 100
