"""Rendering report rows: CSV cells a spreadsheet would evaluate are neutralised."""

import csv
import io

import pytest

from journey.output import render, spreadsheet_safe


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
