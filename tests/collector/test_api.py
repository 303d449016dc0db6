"""The HTTP layer with a fake next step (no Kafka): statuses, reasons, per-event rejection."""

import base64
import gzip
from collections.abc import Iterator

import orjson
import pytest
from flask.testing import FlaskClient

from collector.app import create_app
from collector.keys import KeyStore
from core.settings import Settings
from tests.conftest import WRITE_KEY, FakeSink
from tests.helpers import unpack

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()}
TRACK = {"type": "track", "event": "Signed Up", "anonymousId": "a1", "messageId": "m1"}


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()


@pytest.fixture
def client(settings: Settings, sink: FakeSink) -> Iterator[FlaskClient]:
    app = create_app(settings, sink=sink)
    app.testing = True
    yield app.test_client()


def events(sink: FakeSink, settings: Settings) -> list[dict]:
    return [
        e
        for r in sink.records
        if r.topic == settings.events_topic
        for e in unpack(orjson.loads(r.value))
    ]


def letters(sink: FakeSink, settings: Settings) -> list[dict]:
    return [orjson.loads(r.value) for r in sink.records if r.topic == settings.dead_letter_topic]


def test_batch_accepts_and_produces_enriched_events(
    client: FlaskClient, sink: FakeSink, settings: Settings
) -> None:
    r = client.post(
        "/v1/batch",
        json={"batch": [TRACK, {**TRACK, "messageId": "m2", "type": "page"}]},
        headers=AUTH,
    )
    assert r.status_code == 200, r.json
    assert r.json == {"success": True, "accepted": 2, "rejected": []}
    produced = events(sink, settings)
    assert [e["event_id"] for e in produced] == ["m1", "m2"]
    assert produced[0]["source"] == "test-source"
    assert all(r.key == b"a1" for r in sink.records)


def test_mixed_batch_keeps_the_good_and_explains_the_bad(
    client: FlaskClient, sink: FakeSink, settings: Settings
) -> None:
    batch = [
        TRACK,
        {"type": "track", "anonymousId": "a"},
        "not an object",
        {**TRACK, "messageId": "m3"},
        {"type": "page"},
        {**TRACK, "messageId": "m4", "timestamp": "garbage"},
    ]
    r = client.post("/v1/batch", json={"batch": batch}, headers=AUTH)
    assert r.status_code == 200
    assert r.json["accepted"] == 2
    reasons = {item["index"]: item["reason"] for item in r.json["rejected"]}
    assert set(reasons) == {1, 2, 4, 5}
    assert "event" in reasons[1]
    assert "JSON object" in reasons[2]
    assert "userId or anonymousId" in reasons[4]
    assert "timestamp" in reasons[5]
    dead = letters(sink, settings)
    assert [d["index"] for d in dead] == [1, 2, 4, 5]
    assert orjson.loads(dead[0]["payload"]) == {"type": "track", "anonymousId": "a"}
    assert dead[0]["reason"] == reasons[1] and dead[0]["stage"] == "collector"


def test_write_key_in_body_and_unknown_or_missing_key(client: FlaskClient) -> None:
    assert client.post("/v1/track", json={**TRACK, "writeKey": WRITE_KEY}).status_code == 200
    r = client.post("/v1/track", json=TRACK)
    assert r.status_code == 401 and "missing write key" in r.json["error"]
    r = client.post("/v1/track", json={**TRACK, "writeKey": "nope"})
    assert r.status_code == 401 and "unknown" in r.json["error"]


def test_revoked_key_is_refused(settings: Settings, sink: FakeSink) -> None:
    keys = KeyStore.local(settings.data_dir / "keys.sqlite3")
    key = keys.create("site")
    client = create_app(settings, sink=sink, keys=keys).test_client()
    assert client.post("/v1/track", json={**TRACK, "writeKey": key}).status_code == 200
    keys.revoke("site")
    assert client.post("/v1/track", json={**TRACK, "writeKey": key}).status_code == 401


def test_single_endpoints_force_their_type(
    client: FlaskClient, sink: FakeSink, settings: Settings
) -> None:
    for path, kind in [("/v1/identify", "identify"), ("/v1/p", "page"), ("/v1/screen", "screen")]:
        assert (
            client.post(path, json={"userId": "u1", "type": "track"}, headers=AUTH).status_code
            == 200
        )
        assert events(sink, settings)[-1]["type"] == kind
    r = client.post("/v1/group", json={"userId": "u1"}, headers=AUTH)
    assert r.status_code == 400 and "groupId" in r.json["rejected"][0]["reason"]


def test_gzip_and_text_plain_bodies(client: FlaskClient, sink: FakeSink) -> None:
    body = gzip.compress(orjson.dumps({"batch": [TRACK]}))
    r = client.post(
        "/v1/batch",
        data=body,
        headers={**AUTH, "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert r.status_code == 200
    r = client.post(
        "/v1/track",
        data=orjson.dumps({**TRACK, "writeKey": WRITE_KEY}),
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status", "reason"),
    [
        ({"data": b"{not json", "content_type": "application/json"}, 400, "malformed JSON"),
        ({"data": b"", "content_type": "application/json"}, 400, "empty"),
        ({"data": b"[1, 2]", "content_type": "application/json"}, 400, "JSON object"),
        ({"json": {"batch": []}}, 400, "no events"),
        ({"json": {"batch": {"a": 1}}}, 400, "list"),
        (
            {"data": b"a=1", "content_type": "application/x-www-form-urlencoded"},
            415,
            "Content-Type",
        ),
        ({"data": b"\xff\xfe{}", "content_type": "application/json"}, 400, "malformed JSON"),
    ],
)
def test_bad_bodies_get_clear_4xx(
    client: FlaskClient, kwargs: dict, status: int, reason: str
) -> None:
    r = client.post("/v1/batch", headers=AUTH, **kwargs)
    assert r.status_code == status
    assert reason in r.json["error"]


def test_bad_gzip_and_gzip_bomb(client: FlaskClient, settings: Settings) -> None:
    headers = {**AUTH, "Content-Encoding": "gzip", "Content-Type": "application/json"}
    r = client.post("/v1/batch", data=b"\x1f\x8bnot really", headers=headers)
    assert r.status_code == 400 and "gzip" in r.json["error"]
    bomb = gzip.compress(b"{" + b" " * (settings.max_batch_bytes * 20) + b"}")
    assert len(bomb) < settings.max_batch_bytes
    r = client.post("/v1/batch", data=bomb, headers=headers)
    assert r.status_code == 413


def test_size_limits(client: FlaskClient, settings: Settings) -> None:
    big = {**TRACK, "properties": {"blob": "x" * settings.max_event_bytes}}
    r = client.post("/v1/track", json=big, headers=AUTH)
    assert r.status_code == 413 and "bytes" in r.json["rejected"][0]["reason"]
    r = client.post("/v1/batch", json={"batch": [TRACK, big]}, headers=AUTH)
    assert r.status_code == 200 and r.json["accepted"] == 1
    huge = {"batch": [TRACK] * 20000}
    assert client.post("/v1/batch", json=huge, headers=AUTH).status_code == 413


def test_unavailable_sink_is_503_with_retry_after(client: FlaskClient, sink: FakeSink) -> None:
    sink.unavailable = True
    r = client.post("/v1/track", json=TRACK, headers=AUTH)
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert "retry" in r.json["error"]


def test_rate_limits(settings: Settings, sink: FakeSink) -> None:
    limited = settings.with_overrides(
        rate_limit_events_per_key=3, rate_limit_burst_events=3, rate_limit_requests_per_ip=100
    )
    client = create_app(limited, sink=sink).test_client()
    assert client.post("/v1/batch", json={"batch": [TRACK] * 3}, headers=AUTH).status_code == 200
    r = client.post("/v1/track", json=TRACK, headers=AUTH)
    assert r.status_code == 429 and "write key" in r.json["error"]
    assert r.headers["Retry-After"] == r.headers["X-RateLimit-Reset"] == "1"
    assert r.json["code"] == "rate_limited" and r.json["message"] == r.json["error"]
    per_ip = create_app(
        settings.with_overrides(rate_limit_requests_per_ip=2), sink=sink
    ).test_client()
    statuses = [per_ip.post("/v1/track", json=TRACK, headers=AUTH).status_code for _ in range(4)]
    assert statuses[:2] == [200, 200] and statuses[-1] == 429


def test_cors_preflight_and_allowlist(settings: Settings, sink: FakeSink) -> None:
    client = create_app(
        settings.with_overrides(cors_origins=("https://shop.example",)), sink=sink
    ).test_client()
    r = client.options(
        "/v1/batch",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code in (200, 204)
    assert r.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    r = client.post("/v1/track", json=TRACK, headers={**AUTH, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_the_default_star_answers_web_origins_and_not_null(
    settings: Settings, sink: FakeSink
) -> None:
    """Sandboxed frames, data: and file: pages send Origin: null; ``*`` is every web origin."""
    client = create_app(settings.with_overrides(cors_origins=("*",)), sink=sink).test_client()
    r = client.post("/v1/track", json=TRACK, headers={**AUTH, "Origin": "https://shop.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    r = client.post("/v1/track", json=TRACK, headers={**AUTH, "Origin": "null"})
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers
    listed = create_app(settings.with_overrides(cors_origins=("null",)), sink=sink).test_client()
    r = listed.post("/v1/track", json=TRACK, headers={**AUTH, "Origin": "null"})
    assert r.headers["Access-Control-Allow-Origin"] == "null"  # when named, it is meant


def test_per_key_origin_allowlist(settings: Settings, sink: FakeSink, tmp_path) -> None:  # type: ignore[no-untyped-def]
    keys = KeyStore.local(tmp_path / "keys.sqlite3")
    shop = keys.create("shop", origins=("https://shop.example", "https://*.shop.example"))
    free = keys.create("server")
    # no origin allowed for all keys: the keys' own allowlists decide CORS
    client = create_app(
        settings.with_overrides(cors_origins=()), sink=sink, keys=keys
    ).test_client()

    def post(key: str, origin: str | None) -> object:
        auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        headers = {"Authorization": auth, **({"Origin": origin} if origin else {})}
        return client.post("/v1/track", json=TRACK, headers=headers)

    ok = post(shop, "https://shop.example")
    assert (
        ok.status_code == 200
        and ok.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    )
    assert post(shop, "https://eu.shop.example").status_code == 200
    assert post(shop, None).status_code == 200  # a server sends no Origin
    refused = post(shop, "https://evil.example")
    assert refused.status_code == 403 and "evil.example" in refused.json["error"]
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert post(shop, "https://shop.example.evil.example").status_code == 403
    assert post(shop, "http://shop.example").status_code == 403  # another scheme, another origin
    assert post(free, "https://anywhere.example").status_code == 200  # no allowlist on this key
    # a preflight carries no key: origins on some key's allowlist get the CORS answer
    pre = client.options(
        "/v1/batch",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    assert pre.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    pre = client.options("/v1/batch", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in pre.headers
    # the list can be changed; collectors see it within seconds (here: at once, same store)
    assert keys.set_origins("shop", ("https://new.example",)) == 1
    assert post(shop, "https://new.example").status_code == 200
    # with every origin allowed for CORS (the default), a key's allowlist still refuses others
    client = create_app(settings, sink=sink, keys=keys).test_client()
    assert post(shop, "https://evil.example").status_code == 403
    assert post(free, "https://evil.example").status_code == 200
    with pytest.raises(ValueError, match="no path"):
        keys.create("bad", origins=("https://shop.example/path",))
    with pytest.raises(ValueError, match="not an origin"):
        keys.create("bad", origins=("shop.example",))


def test_unknown_paths_and_methods_are_json_errors(client: FlaskClient) -> None:
    r = client.post("/v1/purchase", json=TRACK, headers=AUTH)
    assert r.status_code == 404 and "/v1/batch" in r.json["error"]
    assert client.get("/v1/batch").status_code == 405
    assert client.get("/health").json["status"] == "ok"


def test_forwarded_ip_is_used_only_behind_trusted_proxies(
    settings: Settings, sink: FakeSink
) -> None:
    headers = {**AUTH, "X-Forwarded-For": "203.0.113.50"}
    for hops, expected in [(0, "127.0.0.0"), (1, "203.0.113.0")]:
        client = create_app(settings.with_overrides(trusted_proxies=hops), sink=sink).test_client()
        client.post(
            "/v1/track", json=TRACK, headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"}
        )
        assert events(sink, settings)[-1]["ip"] == expected


def test_one_message_per_visitor_per_request_in_order(
    client: FlaskClient, sink: FakeSink, settings: Settings
) -> None:
    batch = [{**TRACK, "messageId": f"m{i}", "anonymousId": f"a{i % 2}"} for i in range(6)]
    assert client.post("/v1/batch", json={"batch": batch}, headers=AUTH).status_code == 200
    produced = [(r.key, orjson.loads(r.value)) for r in sink.records]
    assert [key for key, _ in produced] == [b"a0", b"a1"]
    assert [e["event_id"] for e in produced[0][1]["events"]] == ["m0", "m2", "m4"]
    assert all(m["schema"] == "journey/event_batch/1-1-0" for _, m in produced)
    assert all(m["valid_against"] == "journey/event/1-0-0" for _, m in produced)


# What segment-analytics-python 2.4 posts for `analytics.track("u1", "Order Completed", ...)`:
# the id it was not given is null, so are the fields the caller left out.
PYTHON_SDK_TRACK = {
    "integrations": {},
    "anonymousId": None,
    "properties": {"products": [{"price": 1}]},
    "timestamp": "2026-12-02T08:00:34.263+00:00",
    "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
    "userId": "u1",
    "type": "track",
    "event": "Order Completed",
    "messageId": "b6ae04b4-09bb-44ad-8f97-efb915ca3404",
}


def test_nulls_mean_not_given(client: FlaskClient, sink: FakeSink, settings: Settings) -> None:
    identify = {
        "type": "identify",
        "userId": None,
        "anonymousId": "a1",
        "traits": None,
        "context": {"traits": {"email": "x@example.com"}, "page": None, "library": None},
        "messageId": None,
        "timestamp": None,
        "originalTimestamp": None,
        "channel": "server",
        "version": 2,
        "_metadata": {"nodeVersion": "20.20.2"},
    }
    r = client.post(
        "/v1/batch", json={"batch": [PYTHON_SDK_TRACK, identify], "sentAt": None}, headers=AUTH
    )
    assert r.status_code == 200, r.json
    assert r.json["accepted"] == 2
    track, ident = events(sink, settings)
    assert (track["user_id"], track["anonymous_id"]) == ("u1", "")
    assert track["properties"] == {"products": [{"price": 1}]}
    assert track["library_name"] == "analytics-python"
    assert ident["traits"] == {"email": "x@example.com"}
    assert ident["event_id"].startswith("journey-")  # a null messageId gets one of ours


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        (
            "userId",
            {"email": "x@example.com"},
            "userId must be a string or a number, not an object",
        ),
        ("anonymousId", ["a"], "anonymousId must be a string or a number, not an array"),
        ("userId", "[object Object]", "userId is '[object Object]'"),
        ("userId", "undefined", "userId is 'undefined'"),
        ("anonymousId", "null", "anonymousId is 'null'"),
        ("userId", True, "not a boolean"),
    ],
)
def test_ids_that_are_not_ids_are_refused_and_the_rest_lands(
    client: FlaskClient, sink: FakeSink, settings: Settings, field: str, value: object, reason: str
) -> None:
    bad = {**TRACK, "messageId": "bad", field: value}
    r = client.post("/v1/batch", json={"batch": [TRACK, bad]}, headers=AUTH)
    assert r.status_code == 200, r.json
    assert r.json["accepted"] == 1
    assert r.json["rejected"][0]["messageId"] == "bad"
    assert reason in r.json["rejected"][0]["reason"]
    assert [e["event_id"] for e in events(sink, settings)] == ["m1"]
    assert letters(sink, settings)[0]["reason"] == r.json["rejected"][0]["reason"]


def test_group_and_alias_need_their_ids_not_nulls(client: FlaskClient) -> None:
    group = {"type": "group", "userId": "u1", "groupId": None}
    alias = {"type": "alias", "userId": "u1", "previousId": None}
    r = client.post("/v1/batch", json={"batch": [group, alias]}, headers=AUTH)
    assert r.status_code == 400
    assert [x["reason"] for x in r.json["rejected"]] == [
        "groupId must be string or number",
        "previousId must be string or number",
    ]


def test_v1_b_is_the_batch_endpoint(
    client: FlaskClient, sink: FakeSink, settings: Settings
) -> None:
    # analytics-swift's batch upload: the key as the Basic user name and in the body
    body = {
        "batch": [{**TRACK, "context": {"device": {"type": "ios"}, "os": {"name": "iOS"}}}],
        "sentAt": "2026-12-02T08:00:00.000Z",
        "writeKey": WRITE_KEY,
    }
    r = client.post("/v1/b", json=body, headers=AUTH)
    assert r.status_code == 200, r.json
    assert [e["event_id"] for e in events(sink, settings)] == ["m1"]


def test_json_labelled_as_a_form_is_read(
    client: FlaskClient, sink: FakeSink, settings: Settings
) -> None:
    # @rudderstack/rudder-sdk-node 3 posts gzipped JSON as application/x-www-form-urlencoded
    r = client.post(
        "/v1/batch",
        data=gzip.compress(orjson.dumps({"batch": [TRACK]})),
        headers={
            **AUTH,
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Encoding": "gzip",
        },
    )
    assert r.status_code == 200, r.json
    assert len(events(sink, settings)) == 1


def test_analytics_js_settings_point_back_at_the_collector(client: FlaskClient) -> None:
    r = client.get(f"/v1/projects/{WRITE_KEY}/settings", base_url="https://collect.example.com")
    assert r.status_code == 200
    segment = r.json["integrations"]["Segment.io"]
    assert (segment["apiHost"], segment["protocol"]) == ("collect.example.com/v1", "https")
    assert r.json["metrics"]["sampleRate"] == 0
    r = client.get("/v1/projects/no-such-key/settings")
    assert r.status_code == 401
    assert "write key" in r.json["error"]


def test_rudderstack_source_config_and_its_headers(client: FlaskClient) -> None:
    r = client.get(f"/sourceConfig/?p=npm&v=3.34.1&build=modern&writeKey={WRITE_KEY}")
    assert r.status_code == 200
    source = r.json["source"]
    assert (source["enabled"], source["destinations"]) == (True, [])
    assert source["config"]["statsCollection"]["errors"]["enabled"] is False
    assert client.get("/sourceConfig/?writeKey=nope").status_code == 401
    # its events carry AnonymousId, SentAt and retry headers: the preflight allows them
    r = client.options(
        "/v1/track",
        headers={
            "Origin": "https://shop.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "anonymousid,authorization,content-type,"
            'rsa-since-last-attempt,bad header,x"y',
        },
    )
    allowed = r.headers["Access-Control-Allow-Headers"].lower()
    assert "anonymousid" in allowed and "rsa-since-last-attempt" in allowed
    assert "bad header" not in allowed and 'x"y' not in allowed


class _Sink:
    def __init__(self, **health: object) -> None:
        self._health = health

    def deliver(self, records: list) -> None:  # type: ignore[type-arg]
        raise AssertionError("not called")

    def close(self) -> None:
        pass

    def health(self) -> dict:  # type: ignore[type-arg]
        return self._health


@pytest.mark.parametrize(
    ("health", "ready"),
    [
        ({"kafka": True, "spooled_bytes": 0}, True),
        ({"kafka": False, "spooled_bytes": 50}, True),
        ({"kafka": False, "spooled_bytes": 95}, False),
        # short of 90%, but the last events did not fit: as full as it gets for them
        ({"kafka": False, "spooled_bytes": 85, "spool_refusing": True}, False),
    ],
)
def test_readiness_follows_what_the_spool_can_still_take(health: dict, ready: bool) -> None:
    from collector.app import readiness

    ok, why = readiness(_Sink(**health), 100)
    assert ok is ready and (ok or "spool is" in why)


def test_default_burst_admits_an_sdk_batch_above_the_rate(
    settings: Settings, sink: FakeSink
) -> None:
    """A limit of 50 events/s still takes an SDK's 100-event batch at once (the default burst
    is more than any SDK's batch), then asks for the time the bucket needs."""
    client = create_app(settings.with_overrides(rate_limit_events_per_key=50), sink=sink)
    http = client.test_client()
    batch = [{**TRACK, "messageId": f"m{i}"} for i in range(100)]
    assert all(
        http.post("/v1/batch", json={"batch": batch}, headers=AUTH).status_code == 200
        for _ in range(5)
    )
    r = http.post("/v1/batch", json={"batch": batch}, headers=AUTH)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == 2


def test_errors_carry_code_and_message(client: FlaskClient) -> None:
    r = client.post("/v1/batch", json={"batch": [TRACK]})
    assert r.status_code == 401
    assert r.json["code"] == "unauthorized" and "write key" in r.json["message"]
    r = client.post("/v1/batch", json={"batch": []}, headers=AUTH)
    assert (r.status_code, r.json["code"]) == (400, "invalid_request")
    r = client.get("/v1/batch", headers=AUTH)
    assert (r.status_code, r.json["code"]) == (405, "method_not_allowed")


def test_a_lone_surrogate_is_mended_and_its_neighbours_land(
    client: FlaskClient, sink: FakeSink, settings: Settings
) -> None:
    """Text cut in the middle of an emoji (one unpaired UTF-16 surrogate, as a browser's JSON
    can carry) is stored with the replacement character; the batch is not refused."""
    cut = b'"Viewed \\ud83d"'  # the emoji's second half is missing
    body = (
        b'{"batch": [' + orjson.dumps(TRACK) + b", "
        b'{"type": "track", "event": '
        + cut
        + b', "anonymousId": "a2", "messageId": "m2"}, '
        + orjson.dumps({**TRACK, "messageId": "m3"})
        + b"]}"
    )
    r = client.post("/v1/batch", data=body, headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 200, r.json
    assert r.json["accepted"] == 3
    stored = {e["event_id"]: e["event"] for e in events(sink, settings)}
    assert stored == {"m1": "Signed Up", "m2": "Viewed \ufffd", "m3": "Signed Up"}
    deep = client.post(
        "/v1/batch", data=b"[" * 100_000, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert deep.status_code == 400 and "nested too deeply" in deep.json["message"]
