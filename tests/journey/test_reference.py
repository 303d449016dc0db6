"""The documentation's reference pages are generated from the declarations they describe, so
each names everything there is: every setting, command, option, report parameter and endpoint.
(CI builds the whole site with `mkdocs build --strict`.)"""

from dataclasses import fields
from pathlib import Path

import click

from collector.openapi import document as tracking_document
from core.settings import Settings, variable
from journey.cli import main
from journey.reference import GENERATED, cli, fill, report_parameters
from reports.openapi import document as analyst_document
from reports.parameters import REPORT_PARAMS

DOCS = Path(__file__).parents[2] / "docs"


def page(name: str) -> str:
    return fill((DOCS / "reference" / f"{name}.md").read_text())


def test_every_generated_part_has_its_page() -> None:
    text = "".join(p.read_text() for p in DOCS.rglob("*.md"))
    for name in GENERATED:
        assert f"<!-- journey:{name} -->" in text, name
    assert "<!-- journey:" not in fill(text)


def test_the_settings_page_names_every_setting_with_its_description() -> None:
    shown = page("settings")
    for item in fields(Settings):
        assert item.metadata["help"], f"{item.name} is not described"
        assert f"| `{variable(item)}` |" in shown, item.name


def test_the_cli_page_names_every_command_and_option() -> None:
    shown = cli()
    root = click.Context(main, info_name="journey")
    for name in main.list_commands(root):
        command = main.get_command(root, name)
        assert command is not None
        subs = command.commands if isinstance(command, click.Group) else {"": command}
        for sub_name, sub in subs.items():
            title = f"### journey {name}" + (f" {sub_name}" if sub_name else "")
            assert title + "\n" in shown, title
            section = shown.split(title + "\n", 1)[1].split("\n### ", 1)[0]
            for param in sub.params:
                if isinstance(param, click.Option) and not param.hidden:
                    assert f"`{param.opts[0]}`" in section, (title, param.opts)
    assert "Sentinel" not in shown and "UNSET" not in shown


def test_the_report_parameters_page_names_every_parameter() -> None:
    shown = report_parameters()
    for kind, params in REPORT_PARAMS.items():
        section = shown.split(f"### {kind}\n", 1)[1].split("\n### ", 1)[0]
        for p in params:
            assert f"| `{p.name}` |" in section, (kind, p.name)


def test_the_http_page_names_every_endpoint_of_both_apis() -> None:
    shown = page("http-api")
    for document in (tracking_document(), analyst_document()):
        for path, item in document["paths"].items():
            for method in item:
                if method in ("get", "post", "put", "delete"):
                    assert f"### `{method.upper()} {path}`" in shown, (method, path)
