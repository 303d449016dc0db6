from datetime import UTC, datetime

import pytest

import schemas
from collector.enrich import RequestInfo, anonymize_ip, build_event, partition_key

RECEIVED = datetime(2024, 5, 1, 12, 0, 5, 250000, tzinfo=UTC)
INFO = RequestInfo(received_at=RECEIVED, source="web", ip="192.0.2.99", user_agent="curl/8.0")


def example(name: str) -> dict:
    return dict(schemas.examples(schemas.INBOUND_MESSAGE))[name]


@pytest.mark.parametrize(
    "name", [f for f, _ in schemas.examples(schemas.INBOUND_MESSAGE) if f.startswith("valid_")]
)
def test_every_valid_example_becomes_a_valid_topic_event(name: str) -> None:
    schemas.validate(schemas.EVENT, build_event(example(name), INFO))


def test_track_is_enriched_with_context_campaign_agent_and_corrected_time() -> None:
    event = build_event(example("valid_track.json"), INFO)
    assert event["event_id"] == "ajs-8f1c2d3e-0001"
    assert event["event"] == "Order Completed"
    assert event["timestamp"] == "2024-05-01T12:00:04.250Z"  # received - (sent - original)
    assert event["original_timestamp"] == "2024-05-01T12:00:00.000Z"
    assert event["received_at"] == "2024-05-01T12:00:05.250Z"
    assert (event["page_path"], event["page_title"], event["referrer_host"]) == (
        "/checkout",
        "Checkout",
        "mail.example",
    )
    # context.campaign wins over the URL's utm_*; the click id comes from the URL
    assert (event["utm_source"], event["utm_medium"], event["utm_campaign"]) == (
        "newsletter",
        "email",
        "spring",
    )
    assert (event["click_id_type"], event["click_id"]) == ("gclid", "abc")
    assert (event["browser"], event["os"], event["device_type"]) == ("Chrome", "Windows", "desktop")
    assert (event["locale"], event["timezone"], event["library_name"]) == (
        "en-US",
        "Europe/Berlin",
        "analytics.js",
    )
    assert event["ip"] == "203.0.113.0"
    assert event["source"] == "web"
    assert "ip" not in event["context"] and "userAgent" not in event["context"]


def test_page_takes_url_fields_from_properties_and_utm_from_the_query() -> None:
    event = build_event(example("valid_page.json"), INFO)
    assert event["event"] == "Home" and event["page_path"] == "/"
    assert (event["utm_source"], event["utm_medium"], event["utm_campaign"]) == (
        "google",
        "cpc",
        "brand",
    )
    assert (event["click_id_type"], event["click_id"]) == ("gclid", "Cj0K")
    assert event["device_type"] == "mobile" and event["os"] == "iOS"
    assert event["ip"] == "192.0.2.0"  # from the request, anonymised
    assert event["timestamp"] == "2024-05-01T12:00:00.000Z"  # no sentAt: client time stands


def test_numeric_ids_generated_message_id_and_request_user_agent() -> None:
    event = build_event(example("valid_screen.json"), INFO)
    assert event["user_id"] == "1234" and event["anonymous_id"] == ""
    assert event["event_id"].startswith("journey-")
    assert event["user_agent"] == "curl/8.0"
    assert event["timestamp"] == "2024-05-01T12:00:05.250Z"


def test_batch_context_and_sent_at_apply_to_each_message() -> None:
    info = RequestInfo(
        received_at=RECEIVED,
        source="s",
        batch_context={"locale": "fr-FR"},
        batch_sent_at="2024-05-01T12:00:03Z",
    )
    event = build_event(
        {"type": "track", "event": "x", "anonymousId": "a", "timestamp": "2024-05-01T12:00:01Z"},
        info,
    )
    assert event["locale"] == "fr-FR"
    assert event["timestamp"] == "2024-05-01T12:00:03.250Z"


def test_bad_time_is_a_value_error_naming_the_field() -> None:
    with pytest.raises(ValueError, match="timestamp"):
        build_event({"type": "track", "event": "x", "anonymousId": "a", "timestamp": "soon"}, INFO)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        ("not-an-ip", ""),
    ],
)
def test_anonymize_ip(raw: str, expected: str) -> None:
    assert anonymize_ip(raw) == expected


def test_ip_kept_when_anonymisation_is_off() -> None:
    info = RequestInfo(received_at=RECEIVED, source="s", ip="192.0.2.99", anonymize_ip=False)
    assert build_event({"type": "page", "anonymousId": "a"}, info)["ip"] == "192.0.2.99"


def test_partition_key_is_the_visitor() -> None:
    assert partition_key({"anonymous_id": "a1", "user_id": "u", "event_id": "e"}) == b"a1"
    assert partition_key({"anonymous_id": "", "user_id": "u", "event_id": "e"}) == b"u"


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("81.2.69.142", "GB"),
        ("5.9.0.1", "DE"),
        ("2a00:1450:4001:80b::200e", "DE"),
        ("192.0.2.99", None),  # documentation range: no country
        ("10.1.2.3", None),  # private
        ("not an ip", None),
    ],
)
def test_country_from_the_ip_before_it_is_anonymised(ip: str, country: str | None) -> None:
    info = RequestInfo(received_at=RECEIVED, source="s", ip=ip)
    event = build_event({"type": "page", "anonymousId": "a"}, info)
    assert event["context"].get("location", {}).get("country") == country
    assert event["ip"] != ip or country is None  # the address itself is anonymised


def test_a_sent_country_wins_and_geolocation_can_be_off() -> None:
    info = RequestInfo(received_at=RECEIVED, source="s", ip="81.2.69.142")
    sent = {
        "type": "page",
        "anonymousId": "a",
        "context": {"location": {"country": "FR", "city": "Lyon"}},
    }
    assert build_event(sent, info)["context"]["location"] == {"country": "FR", "city": "Lyon"}
    off = RequestInfo(received_at=RECEIVED, source="s", ip="81.2.69.142", geolocate=False)
    assert "location" not in build_event({"type": "page", "anonymousId": "a"}, off)["context"]
