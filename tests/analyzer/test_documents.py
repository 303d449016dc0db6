"""Definition documents are bounded before they are expanded."""

from pathlib import Path
from typing import Any

import pytest

from alerts.rules import parse_document as alert_document
from analyzer.documents import MAX_BYTES, DocumentError, read
from analyzer.errors import SpecError
from analyzer.segments.definition import parse_document as segment_document
from analyzer.touchpoints import parse_document as touchpoint_document
from reports.saved import check_name as check_saved_name


def test_a_yaml_alias_bomb_is_refused_before_it_is_built(tmp_path: Path) -> None:
    # 50 aliases per level, 5 levels: 2.4 KB that a reader walking it would expand ~3e8 times
    lines = ["a0: &a0 [x]"]
    for level in range(1, 6):
        refs = ", ".join(f"*a{level - 1}" for _ in range(50))
        lines.append(f"a{level}: &a{level} [{refs}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DocumentError, match="more than 100 YAML aliases"):
        read(path)


def test_fewer_aliases_that_expand_beyond_reason_are_refused(tmp_path: Path) -> None:
    """84 aliases, each level a list of the one before twice over: 2.2 KB meaning 2**42 values
    once expanded (it hung `journey segments define` for minutes and 1.9 GB)."""
    lines = ["a0: &a0 [x, y]"]
    for level in range(1, 43):
        lines.append(f"a{level}: &a{level} [*a{level - 1}, *a{level - 1}]")
    path = tmp_path / "doubling.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DocumentError, match="expand to more than 100,000 values"):
        read(path)


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("segments: [{name: caf\xe9}]".encode("latin-1"))
    with pytest.raises(DocumentError, match=f"{path}: not UTF-8 text"):
        read(path)


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {plan: pro}\none: *b\ntwo: *b\n")
    assert read(path)["two"] == {"plan": "pro"}


def test_an_oversized_document_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("x: " + "a" * (MAX_BYTES + 1))
    with pytest.raises(DocumentError, match="bytes; a document may have"):
        read(path)


@pytest.mark.parametrize(
    "parse",
    [
        lambda name: segment_document(
            {"version": 1, "segments": [{"name": name, "rule": {"did": "A"}}]}
        ),
        lambda name: touchpoint_document(
            {"version": 1, "touchpoints": [{"name": name, "any_of": ["A"]}]}
        ),
        lambda name: alert_document(
            {
                "version": 1,
                "alerts": [
                    {
                        "name": name,
                        "funnel": {"steps": ["A", "B"]},
                        "condition": {"significant": 0.01, "baseline": {"previous": 4}},
                        "channels": [{"log": True}],
                    }
                ],
            }
        ),
        check_saved_name,
    ],
)
def test_a_name_ending_in_a_newline_is_refused(parse: Any) -> None:
    """``$`` let a trailing newline through every name check: ``a\\n`` was stored as a name."""
    parse("fine-name")
    with pytest.raises((SpecError, ValueError)):
        parse("fine-name\n")
