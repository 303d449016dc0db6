"""The snapshot files' layout changes only whitespace between tokens, never a string literal."""

from __future__ import annotations

import re

from tests.analyzer.sql_format import layout


def test_clauses_list_items_and_conditions_each_take_a_line() -> None:
    sql = (
        "SELECT a, f(b, c) AS d FROM (SELECT a, b, c FROM t WHERE x = 'it''s, SELECT  AND' "
        "AND y IN (1, 2)) AS s ANY LEFT JOIN u USING a GROUP BY a, d ORDER BY d DESC LIMIT 3"
    )
    assert layout(sql) == "\n".join(
        [
            "SELECT a,",
            "  f(b, c) AS d",
            "FROM (",
            "  SELECT a,",
            "    b,",
            "    c",
            "  FROM t",
            "  WHERE x = 'it''s, SELECT  AND'",
            "    AND y IN (1, 2)",
            ") AS s",
            "ANY LEFT JOIN u USING a",
            "GROUP BY a,",
            "  d",
            "ORDER BY d DESC",
            "LIMIT 3",
        ]
    )


def test_a_long_call_has_one_argument_a_line_and_nothing_but_whitespace_changes() -> None:
    arguments = ", ".join(f"'value {i}, with a comma'" for i in range(8))
    sql = f"SELECT arrayMap(x -> concat(x, 'AND'), [{arguments}]) AS a FROM t WHERE a != ''"
    laid = layout(sql)
    assert max(len(line) for line in laid.splitlines()) < 80
    assert "      'value 3, with a comma'," in laid.splitlines()
    assert re.sub(r"\s+", "", laid) == re.sub(r"\s+", "", sql)
