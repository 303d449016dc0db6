"""SQL laid out for review in the snapshot files: each clause on its own line, indented by how
deep in subqueries it is, each item of a select, group or order list on its own line, and each
top-level condition of a WHERE, PREWHERE or HAVING on its own line. Only whitespace between
tokens changes (string literals are left whole), so the layout is for reading, not running."""

from __future__ import annotations

import re

_CLAUSE = re.compile(
    r"(?:SELECT(?: DISTINCT)?|FROM|PREWHERE|WHERE|GROUP BY|ORDER BY|HAVING|LIMIT|UNION ALL|WITH|"
    r"SETTINGS|(?:(?:GLOBAL |ANY |ALL |ASOF )?(?:LEFT |RIGHT |INNER |FULL |CROSS |ARRAY )?"
    r"(?:OUTER )?JOIN))(?![A-Za-z0-9_])"
)
_LISTS = ("SELECT", "GROUP BY", "ORDER BY", "WITH")
_CONDITIONS = ("WHERE", "PREWHERE", "HAVING")
_AND = re.compile(r"AND(?![A-Za-z0-9_])")
_LITERAL = re.compile(r"'(?:\\.|[^'\\])*'")
INDENT = "  "
LONG = 100  # a call or array whose arguments take more characters has one argument a line


def layout(statement: str) -> str:
    """``statement`` laid out one clause, list item and condition a line."""
    text = _squeeze(statement)
    closes = _closes(text)
    out: list[str] = []
    clause: dict[int, str] = {}  # the clause open at each depth
    spread: set[int] = set()  # the depths of the calls laid out one argument a line
    subqueries: set[int] = set()  # the depths of the brackets a clause opens
    depth = 0
    i = 0
    line = ""

    def newline(extra: str = "") -> None:
        nonlocal line
        if line.strip():
            out.append(line.rstrip())
        line = INDENT * depth + extra

    while i < len(text):
        char = text[i]
        if char == "'":
            literal = _LITERAL.match(text, i)
            end = literal.end() if literal else len(text)
            line += text[i:end]
            i = end
            continue
        starts_word = i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_.")
        found = _CLAUSE.match(text, i) if starts_word else None
        if found:
            keyword = found.group(0)
            if text[:i].rstrip().endswith("("):
                subqueries.add(depth)
            clause[depth] = next((k for k in (*_LISTS, *_CONDITIONS) if keyword.startswith(k)), "")
            newline()
            line += keyword
            i = found.end()
            continue
        if starts_word and clause.get(depth) in _CONDITIONS and _AND.match(text, i):
            newline(INDENT)
            line += "AND"
            i += 3
            continue
        if char in "([":
            depth += 1
            clause.pop(depth, None)
            spread.discard(depth)
            subqueries.discard(depth)
            inner = text[i + 1 : closes.get(i, i)]
            if len(inner) > LONG and not _CLAUSE.match(inner) and "," in _top_level(inner):
                spread.add(depth)
                line += char
                newline(INDENT)
                i += 1
                continue
        elif char in ")]":
            clause.pop(depth, None)
            if depth in spread or depth in subqueries:
                extra = "" if depth in subqueries else INDENT
                spread.discard(depth)
                subqueries.discard(depth)
                depth -= 1
                newline(extra)
                line += char
                i += 1
                continue
            depth -= 1
        if char == "," and (depth in spread or clause.get(depth) in _LISTS):
            line += ","
            newline(INDENT)
            i += 1
            while i < len(text) and text[i] == " ":
                i += 1
            continue
        if char == " " and not line.strip():  # the start of a line laid out above
            i += 1
            continue
        line += char
        i += 1
    newline()
    return "\n".join(out)


def _closes(text: str) -> dict[int, int]:
    """Where each bracket opened outside a string literal is closed."""
    found, opened, i = {}, [], 0
    while i < len(text):
        if text[i] == "'":
            literal = _LITERAL.match(text, i)
            i = literal.end() if literal else len(text)
            continue
        if text[i] in "([":
            opened.append(i)
        elif text[i] in ")]" and opened:
            found[opened.pop()] = i
        i += 1
    return found


def _top_level(inner: str) -> str:
    """``inner`` without its string literals and bracketed parts: what its commas separate."""
    text = _LITERAL.sub("''", inner)
    while True:
        shorter = re.sub(r"[(\[][^()\[\]]*[)\]]", "", text)
        if shorter == text:
            return text
        text = shorter


def _squeeze(statement: str) -> str:
    """Runs of whitespace as one space, outside string literals."""
    parts = re.split(r"('(?:\\.|[^'\\])*')", statement.strip())
    return "".join(p if k % 2 else re.sub(r"\s+", " ", p) for k, p in enumerate(parts))
