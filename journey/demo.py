"""Realistic demo traffic, sent over HTTP through the collector like any SDK would.

Visitors come from distinct segments (traffic source, device, country, new or returning, B2B
company size) and walk a shop funnel (landing → product → cart → checkout → purchase) over one
to three sessions, with drop-offs that differ by segment; some sign up mid-journey (identify),
some accounts are companies (group). A few malformed events show per-event rejection.

An experiment runs on the mobile shoppers (``EXPERIMENT``): free shipping against a holdout.
Those the hash puts in the offer buy more readily (``OFFER_FACTOR``); the holdout as mobile
visitors always have. So the journey report's experiment section finds a lift there, and only there.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

from analyzer.experiments.definition import Experiment, parse_document

CHANNELS = {  # utm source, medium, campaign, referrer, share, purchase propensity
    "google": ("google", "cpc", "brand", "https://www.google.com/", 0.3, 1.0),
    "bing": ("bing", "cpc", "brand", "https://www.bing.com/", 0.05, 0.9),
    "newsletter": ("newsletter", "email", "spring_sale", "", 0.15, 1.8),
    "facebook": ("facebook", "social", "retargeting", "https://www.facebook.com/", 0.25, 0.6),
    "direct": ("", "", "", "", 0.25, 1.2),
}
DEVICES = {
    "desktop": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        0.5,
        1.0,
    ),
    "mobile": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        0.4,
        0.55,
    ),
    "tablet": (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
        0.1,
        0.8,
    ),
}
COUNTRIES = {  # locale, time zone, a /24 the collector's offline database places there
    "US": ("en-US", "America/New_York", "73.0.0"),
    "DE": ("de-DE", "Europe/Berlin", "5.9.0"),
    "FR": ("fr-FR", "Europe/Paris", "90.0.0"),
    "GB": ("en-GB", "Europe/London", "81.2.69"),
}
PRODUCTS = [(f"sku-{i:03d}", round(9.5 + i * 7.25, 2)) for i in range(1, 25)]
HOST = "https://shop.example"
# The segment the demo's experiment targets, and the experiment (its start set by ``experiment``)
SEGMENTS: dict[str, Any] = {
    "version": 1,
    "segments": [
        {
            "name": "mobile_shoppers",
            "category": "behavioral",
            "description": "visitors whose latest event came from a phone",
            "public": True,
            "rule": {"attribute": "device", "eq": "mobile"},
        }
    ],
}
EXPERIMENT: dict[str, Any] = {
    "key": "mobile-free-shipping",
    "description": "free shipping for mobile shoppers, against a holdout",
    "segments": ["mobile_shoppers"],
    "variants": [
        {"name": "holdout", "weight": 50},
        {"name": "free_shipping", "weight": 50, "content": {"banner": "Free shipping today"}},
    ],
    "metric": {"name": "orders", "converts": ["Product Added", "Order Completed"], "within": "7d"},
    "guardrails": [
        {
            "name": "revenue",
            "revenue": {"event": "Order Completed", "property": "revenue"},
            "within": "7d",
        }
    ],
    "minimum_effect": 0.05,
}
OFFER_FACTOR = 0.7  # the offer's mobile shoppers buy more readily (DEVICES: mobile 0.55)


def experiment(now: datetime) -> Experiment:
    """The demo's experiment, started at the midnight 15 days before ``now`` (before any of the
    demo's traffic), so runs on the same day define the same version."""
    start = (now - timedelta(days=15)).replace(hour=0, minute=0, second=0, microsecond=0)
    (found,) = parse_document(
        {"version": 1, "experiments": [{**EXPERIMENT, "start": start.isoformat()}]}
    )
    return found


@dataclass
class Visitor:
    anonymous_id: str
    channel: str
    device: str
    country: str
    returning: bool
    company_size: str


def _pick(rng: random.Random, table: dict[str, tuple[Any, ...]], share_at: int) -> str:
    names = list(table)
    return rng.choices(names, weights=[table[n][share_at] for n in names])[0]


def _visitor(rng: random.Random) -> Visitor:
    return Visitor(
        anonymous_id=str(uuid.uuid4()),  # new visitors each run; their behaviour comes from rng
        channel=_pick(rng, CHANNELS, 4),
        device=_pick(rng, DEVICES, 1),
        country=rng.choices(list(COUNTRIES), weights=[5, 2, 2, 1])[0],
        returning=rng.random() < 0.4,
        company_size=rng.choices(
            ["", "1-10", "11-200", "201-1000", "1000+"], weights=[6, 1, 1, 1, 1]
        )[0],
    )


def journey_of(
    v: Visitor, rng: random.Random, now: datetime, test: Experiment | None = None
) -> Iterator[dict[str, Any]]:
    """The messages of one visitor, in time order; with ``test``, a mobile visitor is shown
    its variant when first looking at a product, and the offer works (``OFFER_FACTOR``). The
    variant is drawn from ``rng`` by the weights, so a seed replays the same journeys (the
    collector's hash of the anonymous id, new each run, would not)."""
    source, medium, campaign, referrer, _, propensity = CHANNELS[v.channel]
    agent, _, device_factor = DEVICES[v.device]
    variant = None
    if test is not None and v.device == "mobile":  # drawn as the hash would, by the weights
        names, weights = zip(*((x.name, x.weight) for x in test.variants), strict=True)
        variant = rng.choices(names, weights=weights)[0]
    if test is not None and variant is not None and variant != test.control:
        device_factor = OFFER_FACTOR
    locale, tz, network = COUNTRIES[v.country]
    t = now - timedelta(days=rng.uniform(0.5, 13), seconds=rng.uniform(0, 86400))
    user_id = ""
    sessions = rng.choice([2, 3]) if v.returning else 1
    p = min(0.95, 0.55 * propensity * device_factor)

    def msg(kind: str, **fields: Any) -> dict[str, Any]:
        nonlocal t
        t += timedelta(seconds=rng.uniform(5, 120))
        query = (
            f"?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}" if source else ""
        )
        path = fields.pop("path", "/")
        context = {
            "userAgent": agent,
            "locale": locale,
            "timezone": tz,
            "library": {"name": "journey-demo", "version": "1.0"},
            "ip": f"{network}.{rng.randrange(1, 255)}",
            "page": {
                "url": f"{HOST}{path}{query if path == '/' else ''}",
                "path": path,
                "referrer": referrer,
            },
        }
        if source:
            context["campaign"] = {"source": source, "medium": medium, "name": campaign}
        message = {
            "type": kind,
            "messageId": str(uuid.uuid4()),
            "anonymousId": v.anonymous_id,
            "timestamp": t.isoformat().replace("+00:00", "Z"),
            "context": context,
            **fields,
        }
        if user_id:
            message["userId"] = user_id
        return message

    for session in range(sessions):
        if session:
            t += timedelta(days=rng.uniform(1, 4))
        yield msg("page", name="Home", path="/", properties={"title": "Shop"})
        if rng.random() > 0.8:
            continue  # bounced
        if variant is not None:  # the offer's banner (or none), as the website shows it
            properties = {"experiment": EXPERIMENT["key"], "variant": variant}
            yield msg("track", event="Experiment Viewed", path="/", properties={
                **properties, "segment": "mobile_shoppers"})  # fmt: skip
            variant = None  # shown once
        for _ in range(rng.randint(1, 3)):
            sku, price = rng.choice(PRODUCTS)
            yield msg(
                "track",
                event="Product Viewed",
                path=f"/product/{sku}",
                properties={"product_id": sku, "price": price},
            )
        if rng.random() > p + 0.1 * session:
            continue
        yield msg(
            "track",
            event="Product Added",
            path=f"/product/{sku}",
            properties={"product_id": sku, "price": price, "quantity": 1},
        )
        if not user_id and rng.random() < 0.6:
            user_id = f"user-{v.anonymous_id[:8]}"
            yield msg(
                "identify",
                traits={
                    "country": v.country,
                    "plan": "free",
                    "age_band": rng.choice(["18-24", "25-34", "35-44", "45+"]),
                },
            )
            if v.company_size:
                yield msg(
                    "group",
                    groupId=f"company-{v.anonymous_id[:6]}",
                    traits={
                        "employees": v.company_size,
                        "industry": rng.choice(["retail", "saas", "finance"]),
                    },
                )
        if rng.random() > p:
            continue
        yield msg("track", event="Checkout Started", path="/checkout", properties={"value": price})
        if rng.random() > p + 0.15:
            continue
        yield msg(
            "track",
            event="Order Completed",
            path="/checkout/done",
            properties={
                "order_id": f"o-{rng.getrandbits(40):x}",
                "revenue": price,
                "currency": "USD",
            },
        )
        return


@dataclass
class SendResult:
    requests: int = 0
    accepted: int = 0
    rejected: int = 0


def _in_the_past(journey: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Shift a journey that would run past ``now`` back, whole: a time in the future would be
    clamped by the collector to the receive time, and many events would share it."""
    times = [datetime.fromisoformat(m["timestamp"].replace("Z", "+00:00")) for m in journey]
    overflow = max(times) - (now - timedelta(minutes=1)) if times else timedelta(0)
    if overflow <= timedelta(0):
        return journey
    return [
        {**m, "timestamp": (t - overflow).isoformat().replace("+00:00", "Z")}
        for m, t in zip(journey, times, strict=True)
    ]


def generate(visitors: int, seed: int, now: datetime | None = None) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    messages: list[dict[str, Any]] = []
    test = experiment(now)
    for _ in range(visitors):
        messages.extend(_in_the_past(list(journey_of(_visitor(rng), rng, now, test)), now))
    for i in range(max(1, len(messages) // 500)):  # malformed: a track without its event name
        messages.insert(
            rng.randrange(len(messages)), {"type": "track", "anonymousId": f"broken-{i}"}
        )
    return messages


def send(
    messages: list[dict[str, Any]],
    collector_url: str,
    write_key: str,
    batch_size: int = 50,
    concurrency: int = 4,
) -> SendResult:
    """Post the messages in /v1/batch requests, as an SDK would."""
    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    batches = [messages[i : i + batch_size] for i in range(0, len(messages), batch_size)]
    result = SendResult()

    def post(batch: list[dict[str, Any]]) -> tuple[int, int]:
        body = json.dumps({"batch": batch, "sentAt": datetime.now(UTC).isoformat()}).encode()
        request = Request(
            f"{collector_url}/v1/batch",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": auth},
        )
        try:
            with urlopen(request, timeout=30) as response:
                answer = json.load(response)
        except HTTPError as exc:
            answer = json.load(exc)
            if exc.code != 400:
                raise RuntimeError(f"collector answered {exc.code}: {answer}") from exc
        return answer.get("accepted", 0), len(answer.get("rejected", []))

    with ThreadPoolExecutor(concurrency) as pool:
        for accepted, rejected in pool.map(post, batches):
            result.requests += 1
            result.accepted += accepted
            result.rejected += rejected
    return result
