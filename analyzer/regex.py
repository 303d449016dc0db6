"""Regular expressions as ClickHouse runs them: RE2's syntax, not Python's.

Python accepts lookahead, lookbehind, backreferences, atomic groups, possessive quantifiers,
``\\Z`` and the ``(?x)`` flag; ClickHouse's ``match`` and ``replaceRegexpAll`` (RE2) refuse
them, and a pattern accepted here and refused there gave the API a 500 and stopped every
segment's refresh (issue 28). So every pattern a user writes (a step filter's ``~``, a path
cleaning rule, the pain points' error pattern, a segment's ``matches``) is compiled by RE2
itself (google-re2) where it is defined, and refused there with RE2's reason.
"""

from __future__ import annotations

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the reason is returned, not written to stderr


def problem(pattern: str) -> str:
    """Why ClickHouse cannot run ``pattern`` ('' if it can)."""
    try:
        re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return f"not a regular expression ClickHouse runs (RE2 syntax): {reason}"
    return ""


def substitution_problem(pattern: str, alias: str) -> str:
    """Why ClickHouse cannot replace ``pattern``'s matches by ``alias`` ('' if it can): an alias
    names groups ``\\0`` to ``\\9`` (``\\\\`` a backslash), and one naming a group the
    pattern does not have fails the whole query."""
    found = problem(pattern)
    if found:
        return found
    groups = re2.compile(pattern, _OPTIONS).groups
    i = 0
    while i < len(alias):
        if alias[i] == "\\" and i + 1 < len(alias):
            nxt = alias[i + 1]
            if nxt.isdigit() and int(nxt) > groups:
                return (
                    f"the alias names group \\{nxt}, and the pattern has "
                    f"{groups} group{'' if groups == 1 else 's'}"
                )
            i += 2
            continue
        i += 1
    return ""
