"""Property-based fuzzing of the tracking API: whatever arrives, the answer is a JSON 2xx or 4xx
with a reason, never a 5xx, and the valid events beside the bad ones are still accepted."""

import base64
import gzip
import json
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.app import create_app
from core.settings import Settings
from tests.conftest import WRITE_KEY, FakeSink

AUTH = {
    "Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode(),
    "Content-Type": "application/json",
}
PATHS = [
    "/v1/batch",
    "/v1/track",
    "/v1/page",
    "/v1/identify",
    "/v1/group",
    "/v1/alias",
    "/v1/screen",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)
field_values = st.one_of(
    json_values,
    st.sampled_from(["track", "page", "identify", "alias", "group", ""]),
    st.text(max_size=300),
    st.sampled_from(["2024-05-01T12:00:00Z", "9999-99-99", "yesterday"]),
)
message_like = st.dictionaries(
    st.sampled_from(
        [
            "type",
            "event",
            "anonymousId",
            "userId",
            "groupId",
            "previousId",
            "messageId",
            "timestamp",
            "sentAt",
            "originalTimestamp",
            "properties",
            "traits",
            "context",
            "name",
        ]
    ),
    field_values,
    max_size=10,
)
VALID = {"type": "track", "event": "Fuzzed", "anonymousId": "a-1", "properties": {"x": 1}}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    settings_ = Settings(data_dir=tmp_path_factory.mktemp("fuzz"), write_keys={WRITE_KEY: "fuzz"})
    yield create_app(settings_, sink=FakeSink()).test_client()


def check(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, response.data[:500]
    body = response.get_json()
    assert isinstance(body, dict), response.data[:200]
    if response.status_code >= 400:
        assert body["error"]
    for item in body.get("rejected", []):
        assert isinstance(item["index"], int) and item["reason"]
    return body


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(PATHS), body=json_values)
def test_any_json_body_gets_a_clear_answer(client: FlaskClient, path: str, body: object) -> None:
    check(client.post(path, data=json.dumps(body), headers=AUTH))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    junk=st.lists(st.one_of(message_like, json_values), min_size=1, max_size=8),
    where=st.integers(0, 8),
)
def test_junk_beside_valid_events_never_costs_the_valid_ones(
    client: FlaskClient, junk: list, where: int
) -> None:
    batch = list(junk)
    batch.insert(min(where, len(batch)), {**VALID, "messageId": "the-valid-one"})
    body = check(client.post("/v1/batch", data=json.dumps({"batch": batch}), headers=AUTH))
    assert body["accepted"] >= 1
    assert body["accepted"] + len(body["rejected"]) == len(batch)
    assert min(where, len(junk)) not in {item["index"] for item in body["rejected"]}


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.binary(max_size=2000),
    zipped=st.booleans(),
    ctype=st.sampled_from(
        [
            "application/json",
            "text/plain",
            "application/octet-stream",
            "",
            "application/json; charset=latin-1",
        ]
    ),
)
def test_arbitrary_bytes_truncation_and_bad_gzip(
    client: FlaskClient, raw: bytes, zipped: bool, ctype: str
) -> None:
    headers = {**AUTH, "Content-Type": ctype}
    data = raw
    if zipped:
        headers["Content-Encoding"] = "gzip"
        data = (
            gzip.compress(raw)[: max(1, len(raw) // 2)] if raw[:1] == b"x" else gzip.compress(raw)
        )
    check(client.post("/v1/batch", data=data, headers=headers))


def test_deep_nesting_huge_numbers_and_nul(client: FlaskClient) -> None:
    deep: object = "leaf"
    for _ in range(300):
        deep = {"a": deep}
    bodies = [
        json.dumps({**VALID, "properties": deep}),
        '{"type":"track","event":"x","anonymousId":"a","properties":{"n":' + "9" * 40 + "}}",
        json.dumps({**VALID, "event": "nul\u0000inside"}),
        json.dumps({**VALID, "anonymousId": "x" * 201}),
        '{"batch": ['
        + ",".join([json.dumps(VALID)] * 3)
        + "], "
        + '"batch": []}',  # duplicated key
    ]
    for body in bodies:
        check(
            client.post(
                "/v1/batch" if body.startswith('{"batch"') else "/v1/track", data=body, headers=AUTH
            )
        )
