"""`journey privacy delete --user-id ID | --anonymous-id ID` (right to erasure) and
`journey privacy requests` (what was erased, when, and the proof that nothing remained)."""

from __future__ import annotations

import getpass
import time

import click

from journey.cli.common import report_store, settings
from journey.cli.progress import finish, terminal
from privacy.erasure import ErasureError, erase, requests
from privacy.suppression import REFRESH_SECONDS
from reports.output import FORMAT, emit


@click.group()
def privacy() -> None:
    """Personal data: erase a person on request; the record of requests."""


@privacy.command("delete")
@click.option("--user-id", help="Erase the person with this user id.")
@click.option("--anonymous-id", help="Erase the person this anonymous id is (all of their ids).")
@click.option(
    "--settle/--no-settle",
    default=True,
    show_default=True,
    help="Wait for running loaders to see the suppression, then delete again.",
)
@FORMAT
def delete_cmd(user_id: str | None, anonymous_id: str | None, settle: bool, fmt: str) -> None:
    """Erase one person's events, identity links and segment rows; suppress their ids."""
    if (user_id is None) == (anonymous_id is None):
        raise click.UsageError("give exactly one of --user-id and --anonymous-id")
    id_kind, value = ("user_id", user_id) if user_id is not None else ("anonymous_id", anonymous_id)
    pause = REFRESH_SECONDS + settings().loader_batch_seconds + 1.0
    progress = terminal(fmt)
    try:
        done = erase(
            report_store(),
            id_kind,
            value or "",
            operator=_operator(),
            settle=(lambda: time.sleep(pause)) if settle else None,
            progress=progress,
        )
    except ErasureError as exc:
        raise click.ClickException(str(exc)) from None
    finish(progress)
    rows = [
        {"table": t, "rows deleted": n, "remaining": done.remaining[t]}
        for t, n in done.rows_deleted.items()
    ]
    emit(done.as_dict(), rows, fmt)
    if fmt != "json":
        click.echo(
            f"erased person {done.person_id!r} ({len(done.ids)} ids: {', '.join(done.ids)}) "
            f"in {done.took_s:.1f}s; request {done.request_id} recorded, nothing remains"
        )


@privacy.command("requests")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@FORMAT
def requests_cmd(limit: int, fmt: str) -> None:
    """Erasure requests, newest first; ids appear only as SHA-256 digests."""
    found = requests(report_store(), limit)
    rows = [
        {
            "request": r["request_id"],
            "by": r["id_kind"],
            "id sha256": r["id_digest"][:16],
            "requested": r["requested_at"],
            "ids erased": r["ids_erased"],
            "events deleted": r["rows_deleted"].get("events", 0),
            "remaining": r["remaining"],
            "operator": r["operator"],
        }
        for r in found
    ]
    emit(found, rows, fmt)


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
