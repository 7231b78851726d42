"""Render the CLI reference (docs/cli.md) from the commands' own help.

    python -m onelane.cli.reference > docs/cli.md

A test fails when docs/cli.md differs from what this prints, so the reference cannot
fall behind the commands.
"""

from __future__ import annotations

from typing import Any

import typer

from onelane.cli.main import app

HEADER = """# CLI reference

Generated from `onelane --help` by `python -m onelane.cli.reference > docs/cli.md`;
do not edit by hand."""


def _walk(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    found = [(path, command)]
    for name in sorted(getattr(command, "commands", {})):
        found += _walk(command.commands[name], [*path, name])
    return found


def _param_line(param: Any) -> str:
    if param.param_type_name == "argument":
        text = (getattr(param, "help", None) or "").strip()
        name = (param.name or "").upper()
        return f"- `{name}` (argument)" + (f": {text}" if text else "")
    names = ", ".join(f"`{n}`" for n in param.opts + param.secondary_opts)
    text = (param.help or "").strip()
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    members = getattr(annotation, "__members__", None)
    if members:
        text += f" One of: {', '.join(m.value for m in members.values())}."
    if param.default not in (None, False, "", ()) and not param.is_flag and param.show_default is not False:
        text += f" Default: `{param.default}`."
    return f"- {names}: {text}".rstrip()


def render() -> str:
    root = typer.main.get_command(app)
    out = [HEADER]
    for path, command in _walk(root, ["onelane"]):
        if command.hidden:
            continue
        out.append(f"## `{' '.join(path)}`")
        help_text = (command.help or "").strip()
        if help_text:
            out.append(help_text)
        params = [p for p in command.params if p.name != "help" and not getattr(p, "hidden", False)]
        if params and not hasattr(command, "commands"):
            out.append("\n".join(_param_line(p) for p in params))
    return "\n\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
