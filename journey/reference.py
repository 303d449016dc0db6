"""The documentation's reference pages, generated from the declarations they describe: the
settings (core.settings), every CLI command and option (journey.cli), every report's parameters
(reports.parameters) and both HTTP APIs (their OpenAPI documents). The docs site's hook
(scripts/mkdocs_hooks.py) puts each in its page, so the reference cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import click

from core.settings import table as settings_table


def _cell(text: Any) -> str:
    """Text for one Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _commands(group: click.Group, ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        path = f"{ctx.command_path} {name}"
        sub = click.Context(command, info_name=name, parent=ctx)
        if isinstance(command, click.Group):
            yield from _commands(command, sub)
        else:
            yield path, command


def _option_rows(command: click.Command, ctx: click.Context) -> list[str]:
    rows = []
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option) or param.hidden or "--help" in param.opts:
            continue
        names = ", ".join(f"`{o}`" for o in param.opts + param.secondary_opts)
        kind = "flag" if param.is_flag else param.type.name.upper()
        if isinstance(param.type, click.Choice):
            kind = " | ".join(str(c) for c in param.type.choices)
        default: Any = param.default
        if callable(default) or default in (None, False, (), []) or "UNSET" in repr(default):
            default = ""
        extra = " (repeatable)" if param.multiple else ""
        extra += " (required)" if param.required else ""
        rows.append(
            f"| {names} | {_cell(kind)} | {_cell(default)} | {_cell(param.help or '')}{extra} |"
        )
    return rows


def cli() -> str:
    """Every `journey` command: its usage, what it does and its options."""
    from journey.cli import main

    root = click.Context(main, info_name="journey")
    out = []
    for path, command in _commands(main, root):
        ctx = click.Context(command, info_name=path.split(" ", 1)[1], parent=root)
        usage = " ".join(command.collect_usage_pieces(ctx))
        out.append(f"### {path}\n\n```\n{path} {usage}\n```\n")
        out.append(_cell((command.help or "").split("\b")[0]) + "\n")
        rows = _option_rows(command, ctx)
        if rows:
            out.append("| option | takes | default | meaning |\n|---|---|---|---|")
            out.extend(rows)
            out.append("")
    return "\n".join(out)


def report_parameters() -> str:
    """Each report's parameters, as `journey report KIND --option` and `?name=` both take them."""
    from reports.parameters import REPORT_PARAMS

    out = []
    for kind, params in REPORT_PARAMS.items():
        out.append(f"### {kind}\n")
        out.append("| parameter | CLI option | takes | default | meaning |")
        out.append("|---|---|---|---|---|")
        for p in params:
            takes = " | ".join(p.choices or (p.kind, *p.words))
            if p.low is not None or p.high is not None:
                takes += f" ({p.low} to {p.high})"
            if p.many:
                takes += ", repeatable"
            option = f"`{p.option}`" if p.cli else "(API only)"
            default = "" if p.default is None else f"`{p.default}`"
            meaning = _cell(p.help) + (" (required)" if p.required else "")
            out.append(f"| `{p.name}` | {option} | {_cell(takes)} | {default} | {meaning} |")
        out.append("")
    return "\n".join(out)


def _schema_text(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    kind = schema.get("type", "")
    if kind == "array":
        return f"array of {_schema_text(schema.get('items', {}))}"
    return str(kind or "any")


def http_api(document: dict[str, Any]) -> str:
    """An OpenAPI document as a page: each endpoint, its parameters and its answers."""
    out = [f"{_cell(document['info'].get('description', document['info']['title']))}\n"]
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            out.append(f"### `{method.upper()} {path}`\n\n{_cell(op.get('summary', ''))}\n")
            params = op.get("parameters", [])
            if params:
                out.append("| parameter | in | takes | default | meaning |\n|---|---|---|---|---|")
                for p in params:
                    schema = p.get("schema", {})
                    default = schema.get("default", schema.get("items", {}).get("default", ""))
                    out.append(
                        f"| `{p['name']}` | {p['in']} | {_cell(_schema_text(schema))} | "
                        f"{_cell(default)} | {_cell(p.get('description', ''))}"
                        + (" (required)" if p.get("required") else "")
                        + " |"
                    )
                out.append("")
            answers = op.get("responses", {})
            out.append(
                "Answers: "
                + "; ".join(
                    f"{code} {_cell(a.get('description', ''))}" for code, a in answers.items()
                )
                + "\n"
            )
    return "\n".join(out)


def tracking_api() -> str:
    from collector.openapi import document

    return http_api(document())


def analyst_api() -> str:
    from reports.openapi import document

    return http_api(document())


# What the docs' pages hold in place of a generated part: ``<!-- journey:NAME -->``.
GENERATED: dict[str, Callable[[], str]] = {
    "settings": settings_table,
    "cli": cli,
    "report-parameters": report_parameters,
    "tracking-api": tracking_api,
    "analyst-api": analyst_api,
}


def fill(markdown: str) -> str:
    """``markdown`` with each ``<!-- journey:NAME -->`` replaced by what it names."""
    for name, make in GENERATED.items():
        marker = f"<!-- journey:{name} -->"
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown
