"""Turn one validated inbound message into the canonical event (schemas/journey/event).

Adds what the server knows: receive time and corrected time, the source (write key's name), the
client IP (anonymised), browser/OS/device and bots (collector.agent), page and referrer, campaign
(utm_* and click ids). The client's own context is kept, minus what was lifted into columns and
minus the raw IP.
"""

from __future__ import annotations

import functools
import ipaddress
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from collector.agent import describe
from collector.clock import EPOCH, corrected, iso, parse_instant
from collector.geo import country_of
from schemas import EVENT

CLICK_IDS = (
    "gclid",
    "gbraid",
    "wbraid",
    "dclid",
    "fbclid",
    "msclkid",
    "ttclid",
    "twclid",
    "li_fat_id",
)
UTM_FIELDS = {
    "source": "utm_source",
    "medium": "utm_medium",
    "name": "utm_campaign",
    "term": "utm_term",
    "content": "utm_content",
}
_LIFTED_CONTEXT = {
    "ip",
    "userAgent",
    "page",
    "campaign",
    "library",
    "locale",
    "timezone",
    "sessionId",
}
_MAX_TEXT = 2048


@dataclass(frozen=True)
class RequestInfo:
    """What the collector knows about the request an event came in."""

    received_at: datetime
    source: str
    ip: str = ""
    user_agent: str = ""
    batch_context: dict[str, Any] = field(default_factory=dict)
    batch_sent_at: Any = None
    anonymize_ip: bool = True
    geolocate: bool = True  # country from the IP (offline), before the IP is anonymised
    server: bool = False  # a server write key's request: its HTTP client marks no bot


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)[:_MAX_TEXT]


@functools.lru_cache(maxsize=65536)
def anonymize_ip(raw: str) -> str:
    """IPv4 with the last octet zeroed, IPv6 with the last 80 bits zeroed; '' if not an address."""
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


@functools.lru_cache(maxsize=8192)  # a visitor's events in a request mostly share a page
def _url_parts(url: str, search: str) -> tuple[str, dict[str, str]]:
    """(path, first value of each query parameter) of a page URL. Callers must not mutate."""
    parts = urlsplit(url)
    query = search.lstrip("?") if search else parts.query
    return parts.path, ({k: v[0] for k, v in parse_qs(query).items() if v} if query else {})


@functools.lru_cache(maxsize=8192)
def _host(url: str) -> str:
    return urlsplit(url).hostname or "" if url else ""


def _with_country(context: dict[str, Any], ip: str) -> dict[str, Any]:
    """``context`` with ``location.country`` from the IP, unless the sender gave one (Segment's
    ``context.location``). Only the country is kept: the IP itself is anonymised."""
    location = _object(context.get("location"))
    if _text(location.get("country")) or not ip:
        return context
    country = country_of(ip)
    if not country:
        return context
    return {**context, "location": {**location, "country": country}}


def build_event(message: dict[str, Any], request: RequestInfo) -> dict[str, Any]:
    """The canonical event for ``message``; raises ValueError (with the field) on bad times."""
    context: dict[str, Any] = {**request.batch_context, **(message.get("context") or {})}
    kind = message["type"]
    properties = message.get("properties") or {}
    if kind in ("page", "screen") and message.get("category") and "category" not in properties:
        properties = {**properties, "category": message["category"]}  # the spec's page category
    page = _object(context.get("page"))
    if kind == "page":  # analytics.js puts the page fields in properties too
        page = {
            **{
                k: properties.get(k)
                for k in ("url", "path", "title", "referrer", "search")
                if properties.get(k)
            },
            **page,
        }
    url = _text(page.get("url"))
    url_path, query = _url_parts(url, _text(page.get("search")))
    path = _text(page.get("path")) or url_path
    referrer = _text(page.get("referrer"))
    if referrer == "$direct":  # RudderStack's browser SDK: no referrer
        referrer = ""
    campaign = _object(context.get("campaign"))
    click = next(((k, query[k]) for k in CLICK_IDS if query.get(k)), None) or next(
        ((k, _text(campaign[k])) for k in CLICK_IDS if campaign.get(k)), ("", "")
    )
    agent, sender = describe(context, request.user_agent, request.server)
    library = _object(context.get("library"))
    ip = _text(context.get("ip")) or request.ip
    original_raw = message.get("originalTimestamp", message.get("timestamp"))
    sent_raw = message.get("sentAt", request.batch_sent_at)
    original = parse_instant(original_raw, "timestamp") if original_raw is not None else None
    sent_at = parse_instant(sent_raw, "sentAt") if sent_raw is not None else None
    timestamp = corrected(request.received_at, sent_at, original)
    traits = _object(message.get("traits")) or _object(context.get("traits"))
    name = (
        message.get("event") if kind == "track" else message.get("name") or properties.get("name")
    )
    return {
        "schema": EVENT,
        "event_id": _text(message.get("messageId")) or f"journey-{uuid.uuid4()}",
        "type": kind,
        "event": _text(name),
        "anonymous_id": _text(message.get("anonymousId")),
        "user_id": _text(message.get("userId")),
        "group_id": _text(message.get("groupId")),
        "previous_id": _text(message.get("previousId")),
        "timestamp": iso(timestamp),
        "original_timestamp": iso(original or EPOCH),
        "sent_at": iso(sent_at or EPOCH),
        "received_at": iso(request.received_at),
        "properties": properties,
        "traits": traits,
        "context": _with_country(
            {k: v for k, v in context.items() if k not in _LIFTED_CONTEXT},
            ip if request.geolocate else "",
        ),
        "page_url": url,
        "page_path": path,
        "page_title": _text(page.get("title")),
        "page_referrer": referrer,
        "referrer_host": _host(referrer),
        **{
            column: _text(campaign.get(key)) or query.get(column, "")[:_MAX_TEXT]
            for key, column in UTM_FIELDS.items()
        },
        "click_id_type": click[0],
        "click_id": click[1][:_MAX_TEXT],
        "user_agent": agent,
        "browser": sender.browser,
        "browser_version": sender.browser_version,
        "os": sender.os,
        "os_version": sender.os_version,
        "device_type": sender.device_type,
        "locale": _text(context.get("locale")),
        "timezone": _text(context.get("timezone")),
        "library_name": _text(library.get("name")),
        "library_version": _text(library.get("version")),
        "ip": anonymize_ip(ip) if request.anonymize_ip else _text(ip),
        "session_id": _text(context.get("sessionId")),
        "source": request.source,
    }


def partition_key(event: dict[str, Any]) -> bytes:
    """One visitor's events share a key, so they stay in order on one partition."""
    return (event["anonymous_id"] or event["user_id"] or event["event_id"]).encode()
