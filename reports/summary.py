"""The summary report (analyzer.summary.report) as text: what `journey demo` and `journey report
summary` print."""

from __future__ import annotations

from typing import Any

from reports.output import duration_text, render


def text(data: dict[str, Any]) -> str:
    """The summary report (analyzer.summary.report) as text tables."""
    lines = [
        f"events: {data['events']} ({data['rows_stored']} rows stored)  "
        f"visitors: {data['visitors']}  identified users: {data['identified_users']}  "
        f"revenue: {data['revenue']:,.2f}",
        "by type: " + ", ".join(f"{k} {v}" for k, v in data["by_type"].items()),
    ]
    if data["bot_events"]:
        lines.append(bots_line(data["bot_events"]))
    for breakdown in ("utm_source", "device_type"):
        lines.append(f"\nshop funnel by {breakdown} (people, 7-day window):")
        lines.append(render(funnel_rows(breakdown, data[f"funnel_by_{breakdown}"])))
    if data["stages"]:
        since, until = (data.get("stages_since") or "")[:10], (data.get("stages_until") or "")[:10]
        lines.append(
            "\nshop funnel, all people (identity-stitched, 7-day window), "
            f"stage conversion and time to convert, {since} to {until}:"
        )
        lines.append(
            render(
                [
                    {
                        "step": r["event"],
                        "people": r["people"],
                        "dropped": r["dropped"],
                        "from start": r["conversion_from_start"],
                        "from previous": r["conversion_from_previous"],
                        "median time": duration_text(r["median_seconds_from_previous"]),
                        "p90 time": duration_text(r["p90_seconds_from_previous"]),
                    }
                    for r in data["stages"]
                ]
            )
        )
    return "\n".join(lines)


def bots_line(count: int) -> str:
    """How many events reports leave out as bots, and how to count them."""
    return (
        f"{count} of these events came from bots (crawlers, headless browsers, scripts posting "
        "with a browser write key) and are left out of every report; add --include-bots "
        "(include_bots=true over the API) to count them"
    )


def funnel_rows(breakdown: str, segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for seg in segments:
        row: dict[str, Any] = {breakdown: seg["segment"], "people": seg["people"]}
        for step in seg["steps"]:
            row[step["step"]] = step["people"]
        row["conversion"] = seg["steps"][-1]["conversion_from_start"]
        rows.append(row)
    return rows
