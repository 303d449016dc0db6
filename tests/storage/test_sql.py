from datetime import UTC, date, datetime

import pytest

from storage.sql import bind, identifier, literal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("it's", r"'it\'s'"),
        ("a\\b", r"'a\\b'"),
        ("line\nbreak", r"'line\nbreak'"),
        (3, "3"),
        (2.5, "2.5"),
        (True, "1"),
        (None, "NULL"),
        (datetime(2024, 5, 1, 12, tzinfo=UTC), "toDateTime('2024-05-01 12:00:00', 'UTC')"),
        (date(2024, 5, 1), "toDate('2024-05-01')"),
        (["a", 1], "['a', 1]"),
        (("x",), "tuple('x')"),  # ('x',) is refused by old servers
    ],
)
def test_literals(value: object, expected: str) -> None:
    assert literal(value) == expected


@pytest.mark.parametrize("value", [{"a": 1}, object(), float("nan"), b"bytes"])
def test_refuses_what_is_not_a_plain_value(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        literal(value)


def test_injection_stays_inside_the_string() -> None:
    sql = bind("SELECT * FROM t WHERE name = %(n)s", {"n": "x' OR 1=1 --"})
    assert sql == r"SELECT * FROM t WHERE name = 'x\' OR 1=1 --'"


def test_missing_parameter_is_named() -> None:
    with pytest.raises(KeyError, match="day"):
        bind("SELECT %(day)s", {"other": 1})


@pytest.mark.parametrize("name", ["events; DROP TABLE x", "1abc", "a.b", "", "x" * 200])
def test_identifier_refuses_anything_but_plain_names(name: str) -> None:
    with pytest.raises(ValueError):
        identifier(name)
