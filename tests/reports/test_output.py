"""Rendering report rows: CSV cells a spreadsheet would evaluate are neutralised."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from reports import summary
from reports.output import json_text, render, spreadsheet_safe


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\tleading tab", "'\tleading tab"),
        ("\rcarriage", "'\rcarriage"),
        ("-3", "-3"),  # plain numbers stay numbers
        ("+4.5e3", "+4.5e3"),
        ("Signed Up", "Signed Up"),
        (-7, -7),
        (0.25, 0.25),
    ],
)
def test_spreadsheet_safe(value: object, safe: object) -> None:
    assert spreadsheet_safe(value) == safe


def test_csv_rows_are_neutralised_and_still_csv() -> None:
    rows = [{"event": "=1+1", "people": 3, "share": -0.5}, {"event": 'Order, "big"', "people": 1}]
    parsed = list(csv.DictReader(io.StringIO(render(rows, "csv"))))
    assert parsed[0] == {"event": "'=1+1", "people": "3", "share": "-0.5"}
    assert parsed[1]["event"] == 'Order, "big"'


def test_tables_and_json_are_unchanged() -> None:
    assert '"=1+1"' in render([{"event": "=1+1"}], "json")
    assert "=1+1" in render([{"event": "=1+1"}], "table")


def test_table_cells_are_formatted_by_what_they_are() -> None:
    from reports.output import Plain, Share

    rows = [
        {"metric": "events_per_session", "before": Plain(0.8), "difference": Plain(-0.05),
         "relative": Share(-0.0625), "p_value": 0.031, "conversion": 0.314, "people": 12},
        {"metric": "purchase_rate", "before": Share(0.1), "difference": Share(0.04),
         "relative": Share(0.4), "p_value": 0.0004, "conversion": 1.0, "people": 1200},
    ]  # fmt: skip
    lines = render(rows).splitlines()
    assert lines[2].split() == [
        "events_per_session",
        "0.80",
        "-0.05",
        "-6.2%",
        "0.031",
        "31.4%",
        "12",
    ]
    assert lines[3].split() == [
        "purchase_rate",
        "10.0%",
        "4.0%",
        "40.0%",
        "<",
        "0.001",
        "100.0%",
        "1200",
    ]
    # numbers, negative ones too, align right: each ends where its column ends
    header = lines[0]
    for name in ("difference", "p_value", "people"):
        end = header.index(name) + len(name)
        assert lines[2][end - 1] != " " and lines[3][end - 1] != " "
    # JSON and CSV keep the numbers themselves
    assert '"before": 0.8' in render(rows, "json")
    assert "0.8,-0.05,-0.0625,0.031" in render(rows, "csv")


def test_no_none_in_tables_and_iso_dates_in_json() -> None:
    """A missing value is an empty cell, not "None"; JSON writes dates as the API does (ISO
    8601 with a T) and NaN as null."""
    moment = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
    table = render([{"at": moment, "median": None, "rate": float("nan")}])
    assert "None" not in table and "nan" not in table and "2026-12-07T15:30:00+00:00" in table
    assert json.loads(json_text({"at": moment, "x": float("inf")})) == {
        "at": "2026-12-07T15:30:00+00:00",
        "x": None,
    }


def test_the_summary_says_how_many_events_bots_sent_and_how_to_count_them() -> None:
    data = {
        "events": 3, "rows_stored": 3, "visitors": 2, "identified_users": 0, "revenue": 0.0,
        "by_type": {"track": 3}, "bot_events": 1, "stages": [],
        "funnel_by_utm_source": [], "funnel_by_device_type": [],
    }  # fmt: skip
    shown = summary.text(data)
    assert "1 of these events came from bots" in shown and "--include-bots" in shown
    assert "bots" not in summary.text({**data, "bot_events": 0})
