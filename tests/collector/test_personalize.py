"""GET /v1/segments: the collector's personalization answers, from its cache of the published
public segments, on the ClickHouse server and on chDB."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from analyzer.experiments import catalog as experiments
from analyzer.experiments.assignment import hashed_variant
from analyzer.experiments.definition import Experiment
from analyzer.experiments.definition import parse_document as experiment_document
from analyzer.segments import catalog
from analyzer.segments.definition import parse_document
from analyzer.segments.refresh import refresh
from collector.app import create_app
from collector.keys import KeyStore
from collector.personalize import PublicSegments
from core.settings import Settings
from storage import migrations
from storage.store import Store
from tests.analyzer.segments.test_public import COLUMNS, DOC, _events
from tests.conftest import FakeSink
from tests.helpers import insert_events

pytestmark = pytest.mark.integration

KEYS = {"blog-key": "blog", "shop-key": "shop"}


def _client(settings: Settings, cache: PublicSegments | None) -> FlaskClient:
    settings = replace(settings, write_keys=KEYS)
    keys = KeyStore.local(settings.data_dir / "keys.sqlite3", settings.write_keys)
    return create_app(settings, sink=FakeSink(), keys=keys, public_segments=cache).test_client()


def _ask(client: FlaskClient, key: str, visitor: str, **headers: str) -> tuple[int, object]:
    r = client.get(f"/v1/segments?writeKey={key}&anonymousId={visitor}", headers=headers)
    return r.status_code, r.get_json()


def test_answers_come_from_the_cache_scoped_by_write_key(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    migrations.apply(store)
    cache = PublicSegments(store, tmp_path / "cache")
    client = _client(settings, cache)
    status, body = _ask(client, "blog-key", "a")
    assert status == 503 and "no segments published" in body["error"]  # type: ignore[index]
    insert_events(store, COLUMNS, _events())
    catalog.define(store, parse_document(DOC))
    report = refresh(store)
    assert cache.refresh() and not cache.refresh()  # copied once; nothing new the second time
    assert _ask(client, "blog-key", "a") == (
        200,
        {"segments": ["pricing_fans"], "version": report.refresh, "experiments": {}},
    )
    assert _ask(client, "shop-key", "b")[1]["segments"] == ["pricing_fans", "shop_buyers"]  # type: ignore[index]
    # another site's key, an unknown visitor, a visitor in no public segment: all the same []
    for key, visitor in (("shop-key", "a"), ("blog-key", "nobody"), ("blog-key", "c")):
        assert _ask(client, key, visitor)[1]["segments"] == []  # type: ignore[index]
    # the user id is not a way in
    assert _ask(client, "blog-key", "u1")[1]["segments"] == []  # type: ignore[index]
    first = client.get("/v1/segments?writeKey=blog-key&anonymousId=a")
    again = client.get(
        "/v1/segments?writeKey=blog-key&anonymousId=a",
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 304 and first.headers["Cache-Control"] == "private, no-cache"

    # A collector restarted while ClickHouse is down serves its last copy.
    offline = PublicSegments(None, tmp_path / "cache")
    assert offline.version == report.refresh
    assert offline.lookup("blog", "a") == ["pricing_fans"]

    # Made private: gone after the next refresh and cache copy.
    private = {**DOC, "segments": [{**d, "public": False} for d in DOC["segments"]]}
    catalog.define(store, parse_document(private))
    refresh(store)
    assert cache.refresh()
    assert _ask(client, "shop-key", "b")[1]["segments"] == []  # type: ignore[index]
    assert len(list((tmp_path / "cache").glob("*.sqlite3"))) == 1  # the old copy is removed


def _experiments(*documents: dict[str, Any]) -> list[Experiment]:
    return experiment_document({"version": 1, "experiments": list(documents)})


FOR_FANS = {
    "key": "fans-offer",
    "segments": ["pricing_fans"],
    "variants": [
        {"name": "holdout", "weight": 1},
        {"name": "call", "weight": 1, "content": {"headline": "Talk to sales"}},
    ],
    "metric": {"name": "calls", "converts": ["Call Booked"]},
    "start": "2026-01-01",
}
FOR_EVERYONE = {
    "key": "new-header",
    "variants": [{"name": "A"}, {"name": "B"}, {"name": "C"}],
    "metric": {"name": "signups", "converts": ["Signed Up"]},
    "start": "2026-01-01",
}
LATER = {**FOR_EVERYONE, "key": "later", "start": "2099-01-01"}


def test_experiments_are_served_with_the_segments_they_target(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    """A visitor gets the running experiments meant for them (a targeted segment they are in, or
    everyone), with the variant the hash gives their anonymous id and its content; a server
    asks by user id with a server key only; the ETag follows the experiments too."""
    migrations.apply(store)
    insert_events(store, COLUMNS, _events())
    catalog.define(store, parse_document(DOC))
    refresh(store)
    experiments.define(store, _experiments(FOR_FANS, FOR_EVERYONE, LATER))
    cache = PublicSegments(store, tmp_path / "cache")
    assert cache.refresh()
    servers = KeyStore.local(settings.data_dir / "keys.sqlite3", KEYS)
    server_key = servers.create("backend", kind="server")
    client = _client(settings, cache)
    fans, everyone, _ = _experiments(FOR_FANS, FOR_EVERYONE, LATER)
    status, body = _ask(client, "blog-key", "a")
    assert status == 200
    expected = {
        "fans-offer": {
            "variant": hashed_variant(fans, "a"),
            "segment": "pricing_fans",
            "content": fans.variant(hashed_variant(fans, "a")).content,  # type: ignore[union-attr]
        },
        "new-header": {"variant": hashed_variant(everyone, "a"), "segment": "", "content": {}},
    }
    assert body["experiments"] == expected  # type: ignore[index]
    outsider = _ask(client, "blog-key", "c")[1]["experiments"]  # type: ignore[index]
    assert list(outsider) == ["new-header"]  # not a pricing fan: not in the targeted one

    asked = client.get("/v1/experiments?writeKey=blog-key&anonymousId=a")
    assert asked.status_code == 200 and asked.get_json()["experiments"] == expected
    refused = client.get("/v1/experiments?writeKey=blog-key&userId=u1")
    assert refused.status_code == 403 and refused.get_json()["error"].startswith("userId:")
    by_user = client.get(f"/v1/experiments?writeKey={server_key}&userId=u1")
    assert by_user.status_code == 200, by_user.get_json()
    assert by_user.get_json()["experiments"] == {
        "new-header": {"variant": hashed_variant(everyone, "u1"), "segment": "", "content": {}}
    }
    missing = client.get(f"/v1/experiments?writeKey={server_key}")
    assert missing.status_code == 400 and "anonymousId or userId" in missing.get_json()["error"]

    first = client.get("/v1/segments?writeKey=blog-key&anonymousId=a")
    experiments.stop(store, "new-header")
    assert cache.refresh_experiments()
    again = client.get(
        "/v1/segments?writeKey=blog-key&anonymousId=a",
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 200 and list(again.get_json()["experiments"]) == ["fans-offer"]
    offline = PublicSegments(None, tmp_path / "cache")  # restarted while ClickHouse is down
    assert [e.key for e in offline.experiments] == [e.key for e in cache.experiments]


def test_a_person_keeps_their_variant_on_another_device(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    """Shown a variant on one device, then logged in on another whose own id the hash puts in
    the other variant: after the next publication the second device gets the first's."""
    migrations.apply(store)
    (everyone,) = _experiments({**FOR_EVERYONE, "variants": [{"name": "A"}, {"name": "B"}]})
    first = next(
        f"laptop-{i}" for i in range(100) if hashed_variant(everyone, f"laptop-{i}") == "A"
    )
    second = next(f"phone-{i}" for i in range(100) if hashed_variant(everyone, f"phone-{i}") == "B")
    shown = '{"experiment":"new-header","variant":"A"}'
    rows = [
        ("x1", "track", "Experiment Viewed", first, "", "blog", shown),
        ("x2", "identify", "", first, "u9", "blog", "{}"),
        ("x3", "identify", "", second, "u9", "blog", "{}"),
        ("x4", "page", "", second, "u9", "blog", "{}"),
    ]
    columns = ["event_id", "type", "event", "anonymous_id", "user_id", "source", "properties",
               "timestamp", "timestamp_ms"]  # fmt: skip
    start = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1000)
    timed = [(*r, (start + i * 60_000) // 1000, start + i * 60_000) for i, r in enumerate(rows)]
    insert_events(store, columns, timed)
    experiments.define(store, [everyone])
    catalog.define(store, parse_document(DOC))
    cache = PublicSegments(store, tmp_path / "cache")
    client = _client(settings, cache)
    cache.refresh_experiments()
    before = _ask(client, "blog-key", second)[1]["experiments"]  # type: ignore[index]
    assert before["new-header"]["variant"] == "B"  # not published yet: the hash of its own id
    refresh(store)
    assert cache.refresh()
    after = _ask(client, "blog-key", second)[1]["experiments"]  # type: ignore[index]
    assert after["new-header"]["variant"] == "A"
    assert _ask(client, "blog-key", first)[1]["experiments"]["new-header"]["variant"] == "A"  # type: ignore[index]
    by_server = client.get(f"/v1/experiments?writeKey=blog-key&anonymousId={second}")
    assert by_server.get_json()["experiments"]["new-header"]["variant"] == "A"


def test_bad_requests_say_why(settings: Settings, tmp_path: Path) -> None:
    cache = PublicSegments(None, tmp_path / "cache")
    client = _client(settings, cache)
    assert _ask(client, "nope", "a")[0] == 401
    r = client.get("/v1/segments?anonymousId=a")
    assert r.status_code == 401 and "write key" in r.get_json()["error"]
    r = client.get("/v1/segments?writeKey=blog-key")
    assert r.status_code == 400 and r.get_json()["error"].startswith("anonymousId:")
    r = client.get("/v1/segments?writeKey=blog-key&anonymousId=" + "x" * 201)
    assert r.status_code == 400
    assert _ask(client, "blog-key", "a")[0] == 503  # nothing published yet


def test_origin_allowlist_and_cors(settings: Settings, tmp_path: Path) -> None:
    settings = replace(settings, write_keys={}, cors_origins=())
    keys = KeyStore.local(settings.data_dir / "keys.sqlite3")
    key = keys.create("blog", ("https://blog.example",))
    cache = PublicSegments(None, tmp_path / "cache")
    client = create_app(settings, sink=FakeSink(), keys=keys, public_segments=cache).test_client()
    url = f"/v1/segments?writeKey={key}&anonymousId=a"
    refused = client.get(url, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    allowed = client.get(url, headers={"Origin": "https://blog.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://blog.example"
    assert "GET" in allowed.headers["Access-Control-Allow-Methods"]
