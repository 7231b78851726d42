"""Small helpers for the Sigma unit tests: compile inline YAML rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from onelane.detect.sigma import Engine, load_rules


def engine_for(tmp_path: Path, detection: dict[str, Any] | str, **extra: Any) -> Engine:
    """An engine holding one aws/cloudtrail rule with this detection."""
    if isinstance(detection, str):
        detection = yaml.safe_load(detection)
    rule = {
        "title": "test rule",
        "id": "00000000-0000-4000-8000-000000000001",
        "logsource": {"product": "aws", "service": "cloudtrail"},
        "detection": detection,
        "level": "high",
        "tags": ["attack.persistence", "attack.t1098.001"],
        **extra,
    }
    path = tmp_path / "rule.yml"
    path.write_text(yaml.safe_dump(rule))
    ruleset = load_rules(path)
    assert ruleset.errors == [], ruleset.errors
    engine = Engine(ruleset, placeholders={"admins": ["root", "admin*"]})
    assert engine.errors == [], engine.errors
    return engine


def hits(engine: Engine, record: dict[str, Any]) -> bool:
    return bool(engine.match(record, ("aws", "cloudtrail")))
