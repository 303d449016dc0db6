"""The summary report (analyzer.summary.report) as text: what `journey demo` and `journey report
summary` print."""

from __future__ import annotations

from typing import Any

from reports.output import duration_text, render


def text(data: dict[str, Any]) -> str:
    """The summary report (analyzer.summary.report) as text tables."""
    lines = [
        f"events: {data['events']} ({data['rows_stored']} rows stored, "
        f"{data['bot_events']} from bots)  visitors: {data['visitors']}  "
        f"identified users: {data['identified_users']}  revenue: {data['revenue']:,.2f}",
        "by type: " + ", ".join(f"{k} {v}" for k, v in data["by_type"].items()),
    ]
    for breakdown in ("utm_source", "device_type"):
        lines.append(f"\nshop funnel by {breakdown} (people, 7-day window):")
        lines.append(render(funnel_rows(breakdown, data[f"funnel_by_{breakdown}"])))
    if data["stages"]:
        lines.append(
            "\nshop funnel, all people (identity-stitched, 7-day window), "
            "stage conversion and time to convert:"
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


def funnel_rows(breakdown: str, segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for seg in segments:
        row: dict[str, Any] = {breakdown: seg["segment"], "people": seg["people"]}
        for step in seg["steps"]:
            row[step["step"]] = step["people"]
        row["conversion"] = seg["steps"][-1]["conversion_from_start"]
        rows.append(row)
    return rows
