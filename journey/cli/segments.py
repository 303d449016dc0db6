"""`journey segments define|list|show|refresh|report|members|import|drop`.

Definitions are YAML or JSON files (analyzer/segments/definition.py); ``define`` stores them as
new versions, ``refresh`` computes membership now (or on a schedule with ``--every``), and the
rest read what refreshes kept. Output is ``--format table|json|csv`` like every report.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

import schemas
from analyzer.segments import catalog
from analyzer.segments import refresh as refreshing
from analyzer.segments.definition import DefinitionError, load
from analyzer.segments.predicted import ModelError
from analyzer.segments.report import report
from journey.cli.common import duration, one_line, report_store
from journey.cli.progress import finish, terminal
from loader.csv_traits import CsvImportError, import_csv
from reports import html
from reports.output import FORMAT, emit, format_option, json_text, rejected_rows, render
from reports.segments import as_result, listing


def _errors() -> Any:
    """Definition, model and import errors as one line naming the place, not a traceback."""
    return one_line(DefinitionError, ModelError, CsvImportError)


def _refresh_rows(report: Any) -> list[dict[str, Any]]:
    rows = []
    for r in report.segments:
        for segment, members in r.members.items():
            rows.append(
                {
                    "segment": segment,
                    "kind": r.kind,
                    "version": r.version,
                    "members": members,
                    "share": members / report.base if report.base else 0.0,
                    "took_ms": r.took_ms,
                }
            )
    rows += [
        {"segment": name, "kind": "error", "members": why} for name, why in report.errors.items()
    ]
    return rows


@click.group()
def segments() -> None:
    """Customer segments: define, refresh, report, import traits."""


@segments.command("define")
@click.argument("file", type=click.Path(path_type=Path))
def define_cmd(file: Path) -> None:
    """Validate FILE (YAML or JSON) and store its definitions as new versions."""

    with _errors():
        definitions = load(file)
    store = report_store()
    versions = catalog.define(store, definitions)
    for name, version in versions.items():
        click.echo(f"{name}: version {version}")


@segments.command("list")
@FORMAT
def list_cmd(fmt: str) -> None:
    """Defined segments with their latest refresh."""
    rows = listing(report_store()).rows
    emit(rows, rows, fmt)


@segments.command("show")
@click.argument("name")
def show_cmd(name: str) -> None:
    """The definition of NAME as stored (JSON), with its version."""

    s = catalog.stored(report_store()).get(name)
    if s is None:
        raise click.ClickException(f"no segment {name!r} is defined")
    click.echo(
        json_text(
            {
                "name": name,
                "version": s.version,
                "defined_at": s.created_at,
                "definition": s.definition.source,
            }
        )
    )


@segments.command("refresh")
@click.argument("names", nargs=-1)
@click.option("--file", "file", type=click.Path(path_type=Path), help="define these first")
@click.option("--due", is_flag=True, help="only segments whose schedule says so")
@click.option(
    "--every", default=None, help="keep refreshing due segments, checking this often (e.g. 1m)"
)
@FORMAT
def refresh_cmd(
    names: tuple[str, ...], file: Path | None, due: bool, every: str | None, fmt: str
) -> None:
    """Compute membership of NAMES (default: every defined segment) now."""
    pause = duration(every, "--every") if every else None  # refused before anything opens
    store = report_store()
    if file is not None:
        with _errors():
            catalog.define(store, load(file))
    while True:
        chosen = refreshing.due(store) if (due or pause) else list(names)
        if names and (due or pause):
            chosen = [n for n in chosen if n in names]
        if chosen or not (due or pause):
            progress = terminal(fmt)
            with _errors():
                report = refreshing.refresh(store, chosen or None, progress=progress)
            finish(progress, "refreshed in all")
            emit(report.as_dict(), _refresh_rows(report), fmt)
        if pause is None:
            return
        time.sleep(pause.total_seconds())


@segments.command("report")
@click.argument("name")
@click.option("--no-quality", is_flag=True, help="skip the quality criteria (a pass over events)")
@format_option("table", "json", "csv", "html")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="with --format html: the file to write (default journey-segment-NAME.html)",
)
def report_cmd(name: str, no_quality: bool, fmt: str, output: Path | None) -> None:
    """Size over time, movement since the last refresh, quality and (RFM) value of NAME."""

    with _errors():
        result = report(report_store(), name, with_quality=not no_quality)
    if fmt == "html":
        path = output or Path(f"journey-segment-{name}.html")
        found = as_result(result)
        path.write_text(html.page(found.title, [found]), encoding="utf-8")
        click.echo(f"wrote {path.resolve()}")
        return
    if fmt == "json":
        emit(result.as_dict(), [], fmt)
        return
    rows = [
        {
            "section": "size",
            "segment": seg,
            "at": p.at[:16],
            "members": p.members,
            "share": p.share,
        }
        for seg, points in result.sizes.items()
        for p in points
    ]
    rows += [
        {
            "section": "movement",
            "segment": m.to_segment or "(none)",
            "from": m.from_segment or "(none)",
            "members": m.people,
        }
        for m in result.movement
    ]
    rows += [
        {
            "section": "quality",
            "segment": seg,
            "criterion": c.name,
            "passed": "yes" if c.passed else "NO",
            "evidence": ", ".join(f"{k}={v}" for k, v in c.evidence.items() if v is not None),
        }
        for seg, criteria in result.quality.items()
        for c in criteria
    ]
    rows += [
        {
            "section": "value",
            "segment": v["group"],
            **{k: x for k, x in v.items() if k != "group"},
        }
        for v in result.value
    ]
    if fmt == "csv":
        emit(None, rows, fmt)
        return
    for section in ("size", "movement", "quality", "value"):
        part = [
            {k: v for k, v in r.items() if k != "section"} for r in rows if r["section"] == section
        ]
        if part:
            click.echo(f"\n{section}\n" + render(part, "table"))
    if result.details:
        click.echo("\nlatest refresh\n" + json_text(result.details))


@segments.command("members")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 10_000_000), default=1000, show_default=True)
@FORMAT
def members_cmd(name: str, limit: int, fmt: str) -> None:
    """People in NAME (or one of its groups, e.g. 'rfm/Champions') at the latest refresh."""
    store = report_store()
    db = store.database
    family = name.split("/", 1)[0]
    rows = store.execute(
        f"SELECT max(refresh) FROM {db}.segment_refreshes WHERE segment = %(s)s", {"s": family}
    )
    if not rows or not rows[0][0]:
        raise click.ClickException(f"{family!r} has never been refreshed")
    people = store.execute(
        f"SELECT person_id FROM {db}.segment_members WHERE refresh = %(r)s AND segment = %(s)s "
        "ORDER BY person_id LIMIT %(n)s",
        {"r": int(rows[0][0]), "s": name, "n": limit},
    )
    out = [{"person_id": p} for (p,) in people]
    emit(out, out, fmt)


@segments.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--id-column", default="user_id", show_default=True)
@click.option("--kind", type=click.Choice(["users", "groups"]), default="users", show_default=True)
def import_cmd(file: Path, id_column: str, kind: str) -> None:
    """Import a CSV of customer (or company) attributes as traits."""
    with _errors():
        progress = terminal()
        result = import_csv(report_store(), file, id_column, kind, progress=progress)
        finish(progress)
    click.echo(f"{result.imported} of {result.rows} rows imported as {kind[:-1]} traits")
    rejected_rows(result.rejected, result.imported)


@segments.command("drop")
@click.argument("name")
def drop_cmd(name: str) -> None:
    """Stop maintaining NAME; its history stays."""
    with _errors():
        catalog.drop(report_store(), name)
    click.echo(f"{name}: dropped")


@segments.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of segment documents, for an editor to check them as you write
    (e.g. `# yaml-language-server: $schema=segments.schema.json` atop the YAML file)."""
    click.echo(json.dumps(schemas.load(schemas.SEGMENT_DOCUMENT), indent=2))
