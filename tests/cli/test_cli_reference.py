from __future__ import annotations

from pathlib import Path

import typer

from onelane.cli.main import app
from onelane.cli.reference import _walk, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_matches_the_commands() -> None:
    assert DOC.read_text() == render(), (
        "docs/cli.md is stale: run `python -m onelane.cli.reference > docs/cli.md`"
    )


def test_every_command_and_option_has_help() -> None:
    missing = []
    for path, command in _walk(typer.main.get_command(app), ["onelane"]):
        if not (command.help or "").strip():
            missing.append(" ".join(path))
        for param in command.params:
            if param.param_type_name == "option" and not (param.help or "").strip():
                missing.append(f"{' '.join(path)} {param.opts[0]}")
    assert missing == []
