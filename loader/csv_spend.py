"""Load advertising spend per day and campaign from a CSV export, for campaign return.

Columns: ``date`` (YYYY-MM-DD), ``utm_source``, ``spend`` and, optionally, ``utm_medium``,
``utm_campaign`` and ``currency`` (three letters). A campaign is matched to events by the exact
UTM values their visits carried (an empty medium or campaign matches events without one).

* Rows of one day and campaign within a file add up (an export per ad group or ad);
* importing a day and campaign again replaces its figure (a corrected export), never adds to it;
* one currency for all spend: a row in another currency than the spend already stored is refused;
* a row that cannot be read is reported with its line and column; the good rows beside it load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from loader import csv_file
from storage.sql import identifier
from storage.store import Store

REQUIRED = ("date", "utm_source", "spend")
OPTIONAL = ("utm_medium", "utm_campaign", "currency")
_AMOUNT = re.compile(r"^\d{1,15}(\.\d{1,6})?\Z")
_CURRENCY = re.compile(r"^[A-Z]{3}\Z")
MAX_TEXT = 200
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2149, 6, 6)  # what a ClickHouse Date holds


class SpendImportError(ValueError):
    """The file as a whole cannot be imported; the message says why."""


@dataclass
class SpendImport:
    rows: int = 0
    imported: int = 0  # day-and-campaign figures written
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    currency: str = ""


def _currency(store: Store) -> str:
    rows = store.execute(
        f"SELECT DISTINCT currency FROM {identifier(store.database)}.campaign_spend "
        "WHERE currency != '' LIMIT 2"
    )
    return str(rows[0][0]) if rows else ""


def import_spend(store: Store, path: Path, at: datetime | None = None) -> SpendImport:
    """Import ``path``; rows that cannot load are reported, the rest are written."""
    header, records, _ = csv_file.read(path, SpendImportError, strip=True)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SpendImportError(
            f"{path}: no column {missing[0]!r}; a spend file has {', '.join(REQUIRED)} "
            f"and optionally {', '.join(OPTIONAL)}"
        )
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if unknown:
        raise SpendImportError(f"{path}: unknown column {unknown[0]!r}")
    result = SpendImport(currency=_currency(store))
    totals: dict[tuple[date, str, str, str], float] = {}
    for line, record in records:
        result.rows += 1
        if None in record:
            result.rejected.append((line, "more cells than columns"))
            continue
        cells = {k: (v or "").strip() for k, v in record.items() if k is not None}
        try:
            day = date.fromisoformat(cells["date"])
        except ValueError:
            result.rejected.append((line, f"date: {cells['date'][:40]!r} is not YYYY-MM-DD"))
            continue
        if not FIRST_DAY <= day <= LAST_DAY:  # ClickHouse's Date would clamp it silently
            result.rejected.append((line, f"date: {day} is outside {FIRST_DAY} to {LAST_DAY}"))
            continue
        if not cells["utm_source"]:
            result.rejected.append((line, "utm_source: empty"))
            continue
        too_long = [k for k, v in cells.items() if len(v) > MAX_TEXT]
        if too_long:
            result.rejected.append((line, f"{too_long[0]}: longer than {MAX_TEXT} characters"))
            continue
        if not _AMOUNT.match(cells["spend"]):
            result.rejected.append(
                (line, f"spend: {cells['spend'][:40]!r} is not an amount like 1234.50")
            )
            continue
        currency = cells.get("currency", "").upper()
        if currency and not _CURRENCY.match(currency):
            result.rejected.append((line, f"currency: {currency[:40]!r} is not a code like EUR"))
            continue
        if currency and result.currency and currency != result.currency:
            result.rejected.append(
                (line, f"currency: {currency}, but the spend is in {result.currency}")
            )
            continue
        result.currency = result.currency or currency
        key = (day, cells["utm_source"], cells.get("utm_medium", ""), cells.get("utm_campaign", ""))
        totals[key] = totals.get(key, 0.0) + float(cells["spend"])
    at = at or datetime.now(UTC)
    stamp, name = int(at.timestamp() * 1_000_000), path.name[:MAX_TEXT]
    store.insert(
        "campaign_spend",
        (
            "day",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "spend",
            "currency",
            "imported_at",
            "import_us",
            "file",
        ),
        [
            (day, source, medium, campaign, round(spend, 6), result.currency, at, stamp, name)
            for (day, source, medium, campaign), spend in sorted(totals.items())
        ],
    )
    result.imported = len(totals)
    return result
