"""The bundled rule pack: it loads clean, its own tests pass, every alerting rule is tested."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from onelane.cli.main import app
from onelane.detect.models import tag_ids
from onelane.detect.rulepack import BUILTIN_RULES, ENV_VAR, load_pack
from onelane.detect.ruletest import find_test_files, run_tests
from onelane.detect.sigma import Correlator, Engine

runner = CliRunner()


def test_the_bundled_pack_loads_and_compiles_without_errors() -> None:
    ruleset = load_pack()
    assert ruleset.errors == []
    assert Engine(ruleset).errors == []
    assert len(ruleset) >= 60


def test_every_rule_carries_an_attack_technique() -> None:
    ruleset = load_pack()
    for rule in [*ruleset.rules, *ruleset.correlations]:
        techniques, _ = tag_ids([str(t) for t in rule.tags])
        assert any(t.startswith("T") for t in techniques), rule.title


def test_the_bundled_rule_tests_pass() -> None:
    run = run_tests([BUILTIN_RULES])
    assert run.errors == []
    failed = [(r.file, r.name, r.problems) for r in run.results if not r.passed]
    assert failed == []
    assert len(run.results) >= 30


def test_every_alerting_rule_is_named_by_a_test_case() -> None:
    named: set[str] = set()
    for file in find_test_files([BUILTIN_RULES]):
        for case in yaml.safe_load(file.read_text())["tests"]:
            for want in case.get("match") or ():
                named.add(want["rule"] if isinstance(want, dict) else want)
    engine = Engine(load_pack())
    correlator = Correlator(engine.ruleset, engine)
    alerting = {str(r.name) for r in engine.rules if r.output}
    alerting |= {str(node.rule.name) for node in correlator.nodes.values() if node.output}
    assert len(alerting) >= 50
    assert alerting - named == set()


def test_rules_test_prints_pass_per_case_and_exits_zero() -> None:
    result = runner.invoke(app, ["rules", "test", str(BUILTIN_RULES)])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output and "FAIL" not in result.output


def test_a_failing_rule_test_exits_non_zero(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(
        yaml.safe_dump(
            {
                "title": "t",
                "name": "my_rule",
                "logsource": {"product": "aws", "service": "cloudtrail"},
                "detection": {"s": {"eventName": "DeleteTrail"}, "condition": "s"},
                "tags": ["attack.t1562.008"],
            }
        )
    )
    (tmp_path / "r_test.yaml").write_text(
        yaml.safe_dump(
            {
                "tests": [
                    {
                        "name": "wrong event",
                        "events": [{"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging"}],
                        "match": ["my_rule"],
                    }
                ]
            }
        )
    )
    result = runner.invoke(app, ["rules", "test", str(tmp_path)])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "my_rule did not match" in result.output


def test_rules_check_reports_every_problem_with_file_and_rule(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text(
        "title: x\nlogsource: {product: aws}\ndetection: {condition: nothing}\n"
    )
    (tmp_path / "broken.yml").write_text("title: [unclosed\n")
    (tmp_path / "ok.yml").write_text(
        "title: ok\nlogsource: {product: aws}\ndetection: {s: {eventName: X}, condition: s}\n"
    )
    result = runner.invoke(app, ["rules", "check", str(tmp_path), "--json"])
    assert result.exit_code == 1
    problems = json.loads(result.stdout)
    files = {Path(p["file"]).name for p in problems if p["file"]}
    assert {"bad.yml", "broken.yml"} <= files
    assert runner.invoke(app, ["rules", "check", str(BUILTIN_RULES)]).exit_code == 0


def test_rules_match_shows_matches_without_storing(tmp_path: Path) -> None:
    events = tmp_path / "trail.json"
    record = {
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "StopLogging",
        "eventTime": "2026-01-01T00:00:00Z",
        "eventID": "ev-1",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/a"},
    }
    events.write_text(json.dumps({"Records": [record]}))
    result = runner.invoke(app, ["rules", "match", str(events), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["events"] for r in rows if r["title"].startswith("CloudTrail logging")] == [["ev-1"]]
    assert (
        json.loads(runner.invoke(app, ["rules", "match", str(events), "--json", "--no-builtin"]).stdout) == []
    )


def test_user_rule_folders_load_beside_the_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mine.yml").write_text(
        "title: mine\nname: my_own_rule\nlogsource: {product: aws, service: cloudtrail}\n"
        "detection: {s: {eventName: X}, condition: s}\ntags: [attack.t1078]\n"
    )
    listed = json.loads(runner.invoke(app, ["rules", "list", "--json", "--rules", str(tmp_path)]).stdout)
    names = {r["name"] for r in listed}
    assert "my_own_rule" in names and "onelane_aws_cloudtrail_tamper" in names
    assert "behaviour.credential-replay" in names
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert "my_own_rule" in {str(r.name) for r in load_pack(builtin=False).rules}
