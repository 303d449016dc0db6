"""One duration parser: the same text means the same thing in documents, the API and the CLI."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer import durations
from analyzer.documents import DocumentError, duration
from reports.params import ParamError, Params


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30s", timedelta(seconds=30)), ("15m", timedelta(minutes=15)), (" 6h ", timedelta(hours=6)),
     ("7d", timedelta(days=7)), ("2w", timedelta(weeks=2)), ("3653d", timedelta(days=3653))],
)  # fmt: skip
def test_durations_read_the_same_everywhere(text: str, expected: timedelta) -> None:
    assert durations.parse(text) == expected
    assert duration(text, "refresh") == expected
    assert Params({"window": [text]}).declare("funnel").duration("window") == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [("0d", "at least 1s"), ("0s", "at least 1s"), ("3654d", "at most 10 years"),
     ("99999999999w", "at most 10 years"), ("3 days", "not a duration"), ("7", "not a duration"),
     ("", "not a duration"), ("1y", "not a duration"), ("-1d", "not a duration")],
)  # fmt: skip
def test_what_is_not_a_duration_is_refused_by_each_with_its_field(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        durations.parse(text)
    with pytest.raises(DocumentError, match=f"^refresh: .*{why}"):
        duration(text, "refresh")
    if text:  # an empty API parameter is one not given
        with pytest.raises(ParamError, match=why) as refused:
            Params({"window": [text]}).declare("funnel").duration("window")
        assert refused.value.name == "window"


@pytest.mark.parametrize(
    "args",
    [
        ["segments", "refresh", "--every", "0d"],
        ["alerts", "run", "--tick", "0d"],
        ["alerts", "backtest", "r", "--since", "2024-05-01", "--every", "0d"],
    ],
)
def test_the_cli_refuses_0d_naming_the_option(
    args: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Before any store is opened: the embedded one would appear under JOURNEY_DATA_DIR."""
    from journey import cli

    monkeypatch.setenv("JOURNEY_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 2, result.output
    assert args[-2] in result.output and "at least 1s" in result.output
    assert not (tmp_path / "data").exists()
