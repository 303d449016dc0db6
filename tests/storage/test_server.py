"""When a read is sent again: the retry policy of storage.server, on a stand-in client (the
fault it answers, a cancelled distributed read leaving a pooled connection out of step between
two nodes, cannot be produced on demand; the stores themselves are tested against real servers
in test_store_integration.py)."""

from __future__ import annotations

from typing import Any

import pytest
from clickhouse_driver import errors as ch_errors

from core.settings import ClickHouseURL
from storage import server
from storage.server import ServerStore, is_read, retried

OUT_OF_STEP = ch_errors.ServerException(
    "DB::NetException: Unexpected packet Data received from client",
    ch_errors.ErrorCodes.UNEXPECTED_PACKET_FROM_CLIENT,
)
WRONG_QUERY = ch_errors.ServerException(
    "Unknown identifier: x", ch_errors.ErrorCodes.UNKNOWN_IDENTIFIER
)


class Client:
    """Fails with each of ``faults`` in turn, then answers ``[(1,)]``."""

    def __init__(self, *faults: Exception) -> None:
        self.faults = list(faults)
        self.sent: list[str] = []

    def execute(self, sql: str, **_: Any) -> list[tuple[int]]:
        self.sent.append(sql)
        if self.faults:
            raise self.faults.pop(0)
        return [(1,)]

    def disconnect(self) -> None:
        pass


def store(client: Client, monkeypatch: pytest.MonkeyPatch) -> ServerStore:
    monkeypatch.setattr(server.time, "sleep", lambda _: None)
    out = ServerStore(ClickHouseURL("127.0.0.1", 9000, "default", "", "journey"))
    out._client = client  # type: ignore[assignment]
    return out


@pytest.mark.parametrize(
    ("sql", "read"),
    [
        ("SELECT 1", True),
        ("  select 1", True),
        ("(SELECT 1) UNION ALL (SELECT 2)", True),
        ("WITH 1 AS x SELECT x", True),
        ("INSERT INTO journey.events (a) VALUES", False),
        ("ALTER TABLE journey.events DELETE WHERE 1", False),
        ("CREATE TABLE t (a UInt8) ENGINE = Memory", False),
    ],
)
def test_only_reads_are_sent_again(sql: str, read: bool) -> None:
    assert is_read(sql) is read


def test_a_fault_between_nodes_is_retried_and_a_wrong_query_is_not() -> None:
    assert retried(OUT_OF_STEP)
    assert not retried(WRONG_QUERY)
    assert not retried(ValueError("x"))


def test_a_read_meeting_a_fault_between_nodes_is_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(OUT_OF_STEP, OUT_OF_STEP)
    assert store(client, monkeypatch).execute("SELECT 1") == [(1,)]
    assert client.sent == ["SELECT 1"] * 3


def test_a_read_failing_every_try_raises_the_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(*[OUT_OF_STEP] * server.READ_TRIES)
    with pytest.raises(ch_errors.ServerException) as caught:
        store(client, monkeypatch).execute("SELECT 1")
    assert caught.value is OUT_OF_STEP
    assert len(client.sent) == server.READ_TRIES


def test_a_wrong_query_and_a_write_are_sent_once(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(WRONG_QUERY)
    with pytest.raises(ch_errors.ServerException):
        store(client, monkeypatch).execute("SELECT x")
    assert len(client.sent) == 1
    client = Client(OUT_OF_STEP)
    with pytest.raises(ch_errors.ServerException):
        store(client, monkeypatch).insert("events", ["a"], [(1,)])
    assert len(client.sent) == 1
