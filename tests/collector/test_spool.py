from pathlib import Path

import pytest

from collector.spool import Record, Spool, SpoolFull, decode, encode


def rec(i: int) -> Record:
    return Record("events", f"visitor\t{i}".encode(), b'{"n":%d,"s":"a\\tb\\n"}' % i)


def test_encode_decode_round_trip_with_awkward_keys() -> None:
    assert decode(encode(rec(1))) == rec(1)
    assert decode(b'["events","k"]\t{"torn') is None


def test_append_seal_claim_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 10_000)
    assert spool.is_empty()
    spool.append([rec(1), rec(2)])
    spool.append([rec(3)])
    with spool.claim() as claimed:
        assert claimed is None  # the open segment is still being written by us
    spool.seal()
    spool.append([rec(4)])
    spool.seal()
    seen = []
    while True:
        with spool.claim() as claimed:
            if claimed is None:
                break
            path, records = claimed
            seen.extend(records)
            path.unlink()
    assert seen == [rec(1), rec(2), rec(3), rec(4)]
    assert spool.is_empty()


def test_a_dead_writers_open_segment_is_replayed_and_a_torn_line_skipped(tmp_path: Path) -> None:
    (tmp_path / "00000000000000000001-99999.open").write_bytes(
        encode(rec(7)) + b'["events","k"]\t{"to'
    )
    spool = Spool(tmp_path, 10_000)
    assert not spool.is_empty()
    with spool.claim() as claimed:
        assert claimed is not None
        assert claimed[1] == [rec(7)]


def test_full_spool_refuses(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 100)
    with pytest.raises(SpoolFull):
        spool.append([rec(i) for i in range(10)])
