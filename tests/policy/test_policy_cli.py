"""``onelane policy check|test|impact``, ``onelane decide`` and ``onelane decisions list``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from policy_helpers import TODO, write_policy
from typer.testing import CliRunner

from onelane.cli.main import app
from onelane.policy import DEFAULT_BUNDLE, check_policy_dir, load_policy, run_tests

runner = CliRunner()

BROKEN = """apiVersion: onelane/v1
kind: Policy
name: broken
params: {max_risk: 40}
rules:
  - id: typo-field
    effect: allow
    whne: subject.risk < 10
  - id: typo-attribute
    effect: allow
    when: subject.riks < params.max_risk
  - id: wrong-type
    effect: deny
    when: |
      subject.kind == 'agent'
      && subject.risk == 'high'
  - id: bad-effect
    effect: maybe
  - id: typo-attribute
    effect: deny
"""


def test_check_reports_every_problem_with_file_and_line(tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "p", BROKEN)
    _, problems = check_policy_dir(policy)
    found = {(p.rule_id, p.line) for p in problems}
    assert ("typo-field", 8) in found  # the unknown field's own line
    assert ("typo-attribute", 11) in found  # the when line
    assert ("wrong-type", 16) in found  # the second line of a multi-line condition
    assert ("bad-effect", 18) in found
    assert ("typo-attribute", 19) in found  # duplicate id
    result = runner.invoke(app, ["policy", "check", str(policy)])
    assert result.exit_code == 1
    assert "policy.yaml:11" in result.output and "riks" in result.output


def test_check_accepts_the_bundled_default_and_the_todo_example() -> None:
    for directory in (DEFAULT_BUNDLE, TODO / "policy"):
        result = runner.invoke(app, ["policy", "check", str(directory)])
        assert result.exit_code == 0, result.output
        assert "ok" in result.output


def test_the_default_bundle_passes_its_own_cases_and_covers_every_rule() -> None:
    policy = load_policy(DEFAULT_BUNDLE)
    report = run_tests(policy, DEFAULT_BUNDLE)
    assert report.ok and len(report.results) >= 20
    assert {r.rule.id for r in policy.rules} <= report.covered


def test_policy_test_prints_pass_and_fail_and_exits_non_zero_on_failure(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    ok = runner.invoke(app, ["policy", "test", str(bundle)])
    assert ok.exit_code == 0 and "PASS" in ok.output and "FAIL" not in ok.output
    cases = bundle / "production_test.yaml"
    cases.write_text(
        cases.read_text().replace("want: {effect: deny, rules: [machine-high-risk]}", "want: {effect: allow}")
    )
    failed = runner.invoke(app, ["policy", "test", str(bundle)])
    assert failed.exit_code == 1
    assert "FAIL a machine above the risk ceiling is denied" in failed.output
    assert "effect: want allow, got deny" in failed.output


def _seed(db_url: str) -> None:
    result = runner.invoke(
        app, ["identities", "import", "-f", "csv", str(TODO / "users.csv"), "--db", db_url]
    )
    assert result.exit_code == 0, result.output


def test_decide_prints_the_decision_and_why_and_logs_it(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'o.db'}"
    _seed(db_url)
    args = [
        "decide",
        "--subject",
        "morty@the-citadel.com",
        "--action",
        "can_update_todo",
        "--resource",
        "todo:1",
    ]
    args += [
        "--resource-properties",
        '{"ownerID": "morty@the-citadel.com"}',
        "--policy",
        str(TODO / "policy"),
    ]
    result = runner.invoke(app, [*args, "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "allow" in result.output and "update-own-todo" in result.output
    listed = runner.invoke(app, ["decisions", "list", "--json", "--db", db_url])
    records = json.loads(listed.output)
    assert len(records) == 1 and records[0]["effect"] == "allow"
    assert records[0]["reasons"][0]["rule"] == "update-own-todo"
    table = runner.invoke(app, ["decisions", "list", "--db", db_url, "--effect", "deny", "--json"])
    assert json.loads(table.output) == []


def test_decide_rejects_a_resource_without_a_type(tmp_path: Path) -> None:
    result = runner.invoke(app, ["decide", "--subject", "x", "--action", "a", "--resource", "nocolon"])
    assert result.exit_code == 1


@pytest.fixture
def logged(tmp_path: Path) -> str:
    db_url = f"sqlite:///{tmp_path / 'o.db'}"
    _seed(db_url)
    todo = str(TODO / "policy")
    for who, action, owner in [
        ("morty@the-citadel.com", "can_delete_todo", "morty@the-citadel.com"),
        ("summer@the-smiths.com", "can_delete_todo", "summer@the-smiths.com"),
        ("beth@the-smiths.com", "can_read_todos", ""),
        ("rick@the-citadel.com", "can_delete_todo", "beth@the-smiths.com"),
    ]:
        args = ["decide", "--subject", who, "--action", action, "--resource", "todo:1", "--policy", todo]
        result = runner.invoke(
            app, [*args, "--resource-properties", json.dumps({"ownerID": owner}), "--db", db_url]
        )
        assert result.exit_code == 0, result.output
    return db_url


def test_impact_reports_the_decisions_a_candidate_would_change(tmp_path: Path, logged: str) -> None:
    candidate = tmp_path / "candidate"
    shutil.copytree(TODO / "policy", candidate)
    text = (candidate / "todo.yaml").read_text()
    start = text.index("  - id: delete-own-todo")
    end = text.index("  - id: delete-any-todo")
    (candidate / "todo.yaml").write_text(text[:start] + text[end:])  # editors may no longer delete
    result = runner.invoke(app, ["policy", "impact", "--candidate", str(candidate), "--db", logged, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["replayed"] == 4 and report["changed"] == 2
    assert report["by_kind"] == [{"subject_kind": "human", "before": "allow", "after": "deny", "count": 2}]
    assert {"rule": "delete-own-todo", "count": 2} in report["by_rule"]
    human = runner.invoke(app, ["policy", "impact", "--candidate", str(candidate), "--db", logged])
    assert "2 would change" in human.output and "delete-own-todo" in human.output


def test_impact_of_the_same_policy_is_nothing(logged: str) -> None:
    result = runner.invoke(
        app, ["policy", "impact", "--candidate", str(TODO / "policy"), "--db", logged, "--json"]
    )
    assert json.loads(result.output)["changed"] == 0


def test_the_policy_directory_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = write_policy(tmp_path / "env", "apiVersion: onelane/v1\nkind: Policy\nname: env\nrules: []\n")
    monkeypatch.setenv("ONELANE_POLICY", str(policy))
    result = runner.invoke(app, ["policy", "check"])
    assert result.exit_code == 0 and "0 rules" in result.output
