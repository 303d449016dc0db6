"""GET /v1/segments: the collector's personalization answers, from its cache of the published
public segments, on the ClickHouse server and on chDB."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient

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
        {"segments": ["pricing_fans"], "version": report.refresh},
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
