"""`journey status`: how the pipeline stands, for an operator (reports/status.py)."""

from __future__ import annotations

from typing import Any

import click

from journey.cli.common import held_by_up, local_api, settings, store
from reports.output import json_text, render
from reports.status import status as read_status


@click.command()
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def status(fmt: str) -> None:
    """Loaders' lag per partition and in all, this machine's spool, the last load, pending
    migrations, the last refresh of each segment and evaluation of each alert rule. Exits 1
    when a part cannot be read (Kafka or ClickHouse unreachable, say), so a script can tell."""
    config = settings()
    if config.embedded and held_by_up(config):
        found = local_api(config, "/api/status")  # the running stack, with its broker
        found["running"] = (config.data_dir / "up.url").read_text().strip()
    else:
        opened = store(config)
        try:
            found = read_status(config, opened)
        finally:
            opened.close()
    click.echo(json_text(found) if fmt == "json" else text(found))
    failed = failures(found)
    if failed:
        click.echo(f"status: cannot read {', '.join(failed)}", err=True)
        raise SystemExit(1)


def failures(found: dict[str, Any]) -> list[str]:
    """The parts of a status that could not be read."""
    return [name for name, part in found.items() if isinstance(part, dict) and "error" in part]


def text(found: dict[str, Any]) -> str:
    """The status as a few short tables."""
    out = [f"status at {found['at']}"]
    if found.get("running"):
        out.append(f"`journey up` is running at {found['running']}")
    kafka = found["kafka"]
    if "error" in kafka:
        out.append(f"\nconsumer lag: unknown ({kafka['error']})")
    else:
        out.append(
            f"\nconsumer lag of group {kafka['group']} on {kafka['topic']}: "
            f"{kafka['total']:,} in all"
        )
        out.append(render(kafka["partitions"]))
    spool = found["spool"]
    if "error" in spool:
        out.append(f"\nspool: unknown ({spool['error']})")
    else:
        out.append(
            f"\nspool ({spool['folder']}): {spool['segments']} segments, "
            f"{spool['bytes']:,} of {spool['max_bytes']:,} bytes"
        )
    load = found["load"]
    if "error" in load:
        out.append(f"\nlast load: unknown ({load['error']})")
    else:
        out.append(f"\nlast load: {load['last_loaded_at'] or 'never'} ({load['rows']:,} rows)")
    pending = found["pending_migrations"]
    if isinstance(pending, dict):
        out.append(f"\npending migrations: unknown ({pending['error']})")
    else:
        names = ", ".join(f"{m['version']:04d} {m['name']}" for m in pending)
        out.append(f"\npending migrations: {names or 'none'}")
    for part, title in (("segments", "segments"), ("alerts", "alert rules")):
        rows = found[part]
        if isinstance(rows, dict):
            out.append(f"\n{title}: unknown ({rows['error']})")
        elif rows:
            out.append(f"\n{title}:\n" + render(rows))
        else:
            out.append(f"\n{title}: none defined")
    return "\n".join(out)
