"""Definition documents are bounded before they are expanded."""

from pathlib import Path

import pytest

from analyzer.documents import MAX_BYTES, DocumentError, read


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


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {plan: pro}\none: *b\ntwo: *b\n")
    assert read(path)["two"] == {"plan": "pro"}


def test_an_oversized_document_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("x: " + "a" * (MAX_BYTES + 1))
    with pytest.raises(DocumentError, match="bytes; a document may have"):
        read(path)
