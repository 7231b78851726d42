from __future__ import annotations

import subprocess
import sys


def test_cli_startup_leaves_heavy_engines_unloaded() -> None:
    """Every command pays for what `onelane` imports at start: keep the engines lazy."""
    code = (
        "import sys, onelane.cli.main; "
        "print(sorted(m for m in ('sigma', 'fastapi', 'uvicorn', 'lark', 'alembic', 'onelane.detect.pipeline', "
        "'onelane.policy.evaluator') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
