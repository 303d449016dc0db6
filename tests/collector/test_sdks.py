"""Other people's SDKs, unchanged but for Journey's host and a write key, posting to the real
collector, through Apache Kafka and the loader into ClickHouse: every call type, each event
once with its type, ids, name, properties, traits and context, and identify stitching the
anonymous journey to the user.

The SDKs are installed by the test setup, never vendored: segment-analytics-python and
rudder-sdk-python from PyPI (dev dependencies), the Node.js and browser SDKs from npm into
tests/peers (scripts/install-services). The mobile SDKs' batch is posted as their
documentation shows it (no mobile runtime here)."""

from __future__ import annotations

import json
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from analyzer.identity import with_person
from collector.ratelimit import RateLimiter, Verdict
from tests.collector.conftest import KEY, Pipeline

pytestmark = pytest.mark.integration

PEERS = Path(__file__).parents[1] / "peers"
ORDER = {
    "order_id": "o-1",
    "revenue": 25.5,
    "currency": "EUR",
    "products": [
        {"product_id": "p-1", "price": 19.5, "category": "Games", "quantity": 1},
        {"product_id": "p-2", "price": 6, "category": "Books", "quantity": 1},
    ],
    "category": "Checkout",
}
TRAITS = {
    "email": "ada@example.com",
    "plan": "pro",
    "address": {"country": "FR", "city": "Lyon"},
    "company": {"name": "Acme", "employees": 42},
}
CAMPAIGN = {"source": "news", "medium": "email", "name": "spring"}


@dataclass
class Person:
    """The ids one scenario uses: an anonymous visitor who signs up as ``user``, whose id is
    later aliased to ``new_user``."""

    anonymous: str
    user: str
    new_user: str
    group: str

    @classmethod
    def fresh(cls) -> Person:
        tag = uuid.uuid4().hex[:8]
        return cls(f"anon-{tag}", f"user-{tag}", f"user2-{tag}", f"group-{tag}")


def server_calls(p: Person) -> list[tuple[str, dict[str, Any]]]:
    """The scenario as (call type, Segment-spec fields) for the server SDKs."""
    return [
        (
            "page",
            {
                "anonymousId": p.anonymous,
                "category": "Docs",
                "name": "Intro",
                "properties": {
                    "url": "https://shop.example.com/docs?utm_source=x",
                    "nested": {"a": 1},
                },
            },
        ),
        ("screen", {"anonymousId": p.anonymous, "name": "Home", "properties": {"tab": "start"}}),
        (
            "track",
            {
                "anonymousId": p.anonymous,
                "event": "Order Completed",
                "properties": ORDER,
                "context": {"campaign": CAMPAIGN},
            },
        ),
        ("identify", {"anonymousId": p.anonymous, "userId": p.user, "traits": TRAITS}),
        ("group", {"userId": p.user, "groupId": p.group, "traits": {"name": "Acme", "tier": 2}}),
        ("alias", {"userId": p.new_user, "previousId": p.user}),
        ("track", {"userId": p.new_user, "event": "Repeat Purchase", "properties": {"n": 2}}),
    ]


def check_landed(
    pipeline: Pipeline, p: Person, library: str, screen: bool = True, aliases: bool = True
) -> list[dict[str, Any]]:
    """Every call of the scenario landed once, as the Segment spec means it; the anonymous
    journey belongs to the user in the end. The events, for checks of the caller's own.

    ``aliases=False``: the SDK's alias, called after identify, sends the identified user as
    both ids (analytics-next 1.84 does: ``alias(to, from)`` loses ``to`` once a user is
    identified, and keeps sending the identified user's id), so the person stays the user."""
    expected = 7 if screen else 6
    events = pipeline.wait_events(expected)
    assert len(events) == expected, [(e["type"], e["event"]) for e in events]
    assert len({e["event_id"] for e in events}) == expected
    by = {(e["type"], e["event"]): e for e in events}
    for e in events:
        assert e["library_name"] == library, e
        assert e["source"] == "website"
        for column in ("properties", "traits", "context"):
            json.loads(e[column])  # stored as JSON, whatever the SDK nested

    page = by[("page", "Intro")]
    assert page["anonymous_id"] == p.anonymous
    assert json.loads(page["properties"])["nested"] == {"a": 1}
    if screen:
        assert json.loads(by[("screen", "Home")]["properties"])["tab"] == "start"

    order = by[("track", "Order Completed")]
    assert order["anonymous_id"] == p.anonymous
    assert json.loads(order["properties"]) == ORDER  # nested products intact

    identify = by[("identify", "")]
    assert (identify["user_id"], identify["anonymous_id"]) == (p.user, p.anonymous)
    traits = json.loads(identify["traits"])
    assert traits["address"] == TRAITS["address"] and traits["email"] == TRAITS["email"]

    group = by[("group", "")]
    assert (group["group_id"], group["user_id"]) == (p.group, p.user)
    assert json.loads(group["traits"])["name"] == "Acme"

    alias = by[("alias", "")]
    person = p.new_user if aliases else p.user
    assert (alias["user_id"], alias["previous_id"]) == (person, p.user)
    # browser SDKs keep sending the identified id after an alias; the link joins them
    assert by[("track", "Repeat Purchase")]["user_id"] in (p.user, person)

    people = pipeline.store.query_df(
        f"SELECT DISTINCT person_id FROM {with_person(pipeline.store.database, ['type'])}"
    )
    assert list(people["person_id"]) == [person]  # one person, anonymous past included
    return events


# -- Python: segment-analytics-python, rudder-sdk-python ------------------------------------


def _python_client(module: str, pipeline: Pipeline, errors: list[str]) -> Any:
    if module == "segment":
        from segment.analytics import Client
    else:
        from rudderstack.analytics import Client  # type: ignore[no-redef]
    return Client(
        KEY,
        host=pipeline.collector,
        on_error=lambda error, batch: errors.append(f"{error}"),
        max_retries=2,
        upload_interval=0.1,
    )


@pytest.mark.parametrize("module", ["segment", "rudderstack"])
def test_python_sdks(pipeline: Pipeline, module: str) -> None:
    errors: list[str] = []
    client = _python_client(module, pipeline, errors)
    p = Person.fresh()
    for kind, fields in server_calls(p):
        # the Python SDKs take snake_case keywords; their messages carry the spec's camelCase
        args = {
            {"anonymousId": "anonymous_id", "userId": "user_id", "groupId": "group_id"}.get(
                k, "previous_id" if k == "previousId" else k
            ): v
            for k, v in fields.items()
        }
        getattr(client, kind)(**args)
    client.flush()
    client.join()
    assert errors == []
    events = check_landed(pipeline, p, "analytics-python")
    order = next(e for e in events if e["event"] == "Order Completed")
    assert (order["utm_source"], order["utm_medium"], order["utm_campaign"]) == (
        "news",
        "email",
        "spring",
    )


class CountingLimiter(RateLimiter):
    refused = 0

    def check(self, name: str, cost: float = 1.0) -> Verdict:
        verdict = super().check(name, cost)
        self.refused += not verdict.allowed
        return verdict


def test_python_sdk_delivers_every_batch_under_a_rate_limit(pipeline: Pipeline) -> None:
    """segment-analytics-python's default 100-event batches against a write key limited to
    50 events/s with a bucket of 50: a batch larger than the bucket passes once it is full, the
    others are told when to come back (Retry-After), and every event is stored once."""
    from segment.analytics import Client

    limiter = CountingLimiter(50, burst=50)
    pipeline.app.extensions["journey.key_limiter"] = limiter
    errors: list[str] = []
    client = Client(
        KEY,
        host=pipeline.collector,
        on_error=lambda error, batch: errors.append(f"{error}"),
        upload_interval=0.05,
    )
    assert client.consumers[0].upload_size == 100  # the SDK's default batch: twice the bucket
    tag = uuid.uuid4().hex[:8]
    for i in range(400):
        client.track(anonymous_id=f"v-{tag}-{i % 40}", event="Rate Limited", properties={"i": i})
    client.flush()
    client.join()
    assert errors == []
    events = pipeline.wait_events(400, timeout=90)
    assert sorted(json.loads(e["properties"])["i"] for e in events) == list(range(400))
    assert limiter.refused > 0  # the limit was met, and the SDK came back each time


# -- Node.js: @segment/analytics-node, @rudderstack/rudder-sdk-node --------------------------


@pytest.mark.parametrize(
    ("sdk", "library"), [("segment", "@segment/analytics-node"), ("rudderstack", "analytics-node")]
)
def test_node_sdks(pipeline: Pipeline, sdk: str, library: str) -> None:
    p = Person.fresh()
    plan = {
        "sdk": sdk,
        "host": pipeline.collector,
        "writeKey": KEY,
        "calls": [{"method": kind, "args": fields} for kind, fields in server_calls(p)],
    }
    done = subprocess.run(
        ["node", str(PEERS / "send.js")],
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PEERS,
    )
    assert done.returncode == 0, done.stderr
    check_landed(pipeline, p, library)


# -- Browsers: @segment/analytics-next, @rudderstack/analytics-js in Chromium ----------------

SEGMENT_PAGE = """<!doctype html><html><head><title>Docs</title><script>
!function(){var i="analytics",analytics=window[i]=window[i]||[];if(!analytics.initialize)if(
analytics.invoked)window.console&&console.error&&console.error("Segment snippet included twice.");
else{analytics.invoked=!0;analytics.methods=["trackSubmit","trackClick","trackLink","trackForm",
"pageview","identify","reset","group","track","ready","alias","debug","page","screen","once","off",
"on","addSourceMiddleware","addIntegrationMiddleware","setAnonymousId","addDestinationMiddleware",
"register"];analytics.factory=function(e){return function(){if(window[i].initialized)return
window[i][e].apply(window[i],arguments);var n=Array.prototype.slice.call(arguments);if(["track",
"screen","alias","group","page","identify"].indexOf(e)>-1){var c=document.querySelector(
"link[rel='canonical']");n.push({__t:"bpc",c:c&&c.getAttribute("href")||void 0,p:location.pathname,
u:location.href,s:location.search,t:document.title,r:document.referrer})}n.unshift(e);
analytics.push(n);return analytics}};for(var n=0;n<analytics.methods.length;n++){var key=
analytics.methods[n];analytics[key]=analytics.factory(key)}analytics.load=function(key,n){var t=
document.createElement("script");t.type="text/javascript";t.async=!0;t.setAttribute(
"data-global-segment-analytics-key",i);t.src="/ajs/standalone.js";var r=
document.getElementsByTagName("script")[0];r.parentNode.insertBefore(t,r);analytics._loadOptions=n};
analytics._writeKey="KEY";analytics._cdn="COLLECTOR";analytics.SNIPPET_VERSION="5.2.0";
analytics.load("KEY");}}();
</script></head><body>docs</body></html>
"""

RUDDER_PAGE = """<!doctype html><html><head><title>Docs</title>
<script src="/rudder/index.js"></script>
<script>
window.ra = new rudderanalytics.RudderAnalytics();
ra.load("KEY", "COLLECTOR", {configUrl: "COLLECTOR"});
</script></head><body>docs</body></html>
"""

BROWSER_CALLS = (
    """(p) => {
  const a = window.SDK;
  a.page("Docs", "Intro", {nested: {a: 1}});
  a.track("Order Completed", ORDER, {context: {campaign: CAMPAIGN}});
  a.identify(p.user, TRAITS);
  a.group(p.group, {name: "Acme", tier: 2});
  a.alias(p.new_user, p.user);
  a.track("Repeat Purchase", {n: 2});
}""".replace("ORDER", json.dumps(ORDER))
    .replace("TRAITS", json.dumps(TRAITS))
    .replace("CAMPAIGN", json.dumps(CAMPAIGN))
)


@dataclass
class BrowserSDK:
    """How a browser SDK is put on the test page and asked who the visitor is."""

    dist: str  # its build, under tests/peers/node_modules, served by the test site at ``path``
    path: str
    page: str
    ready: str
    anonymous_id: str
    global_name: str
    library: str


BROWSER_SDKS = {
    "analytics-next": BrowserSDK(
        "@segment/analytics-next/dist/umd",
        "ajs",
        SEGMENT_PAGE,
        "window.analytics && window.analytics.initialized",
        "window.analytics.user().anonymousId()",
        "analytics",
        "analytics.js",
    ),
    "rudderstack": BrowserSDK(
        "@rudderstack/analytics-js/dist/npm/modern/bundled/umd",
        "rudder",
        RUDDER_PAGE,
        "window.ra && window.ra.getAnonymousId && !!window.ra.getAnonymousId()",
        "window.ra.getAnonymousId()",
        "ra",
        "RudderLabs JavaScript SDK",
    ),
}


@pytest.mark.parametrize("sdk", sorted(BROWSER_SDKS))
def test_browser_sdks(browser: Browser, pipeline: Pipeline, sdk: str) -> None:
    spec = BROWSER_SDKS[sdk]
    (pipeline.site_dir / spec.path).symlink_to(PEERS / "node_modules" / spec.dist)
    html = spec.page.replace("COLLECTOR", pipeline.collector).replace("KEY", KEY)
    (pipeline.site_dir / "docs.html").write_text(html)
    page = browser.new_context().new_page()
    page.goto(f"{pipeline.site}/docs.html")
    page.wait_for_function(spec.ready, timeout=20_000)
    p = Person.fresh()
    p.anonymous = page.evaluate(spec.anonymous_id)
    page.evaluate(f"window.SDK = window.{spec.global_name}")
    page.evaluate(BROWSER_CALLS, {"user": p.user, "group": p.group, "new_user": p.new_user})
    events = check_landed(pipeline, p, spec.library, screen=False, aliases=sdk == "rudderstack")
    for e in events:
        assert "Chrome" in e["browser"], e["browser"]
        assert e["page_path"] == "/docs.html"
    order = next(e for e in events if e["event"] == "Order Completed")
    assert order["utm_source"] == "news"


# -- Mobile: analytics-swift and analytics-kotlin batch to /v1/b, as documented --------------


def mobile_batch(p: Person, platform: str) -> dict[str, Any]:
    """A batch as analytics-swift (iOS) or analytics-kotlin (Android) uploads it: the key as
    the Basic user name, the events with the app, device, os, network and screen context."""
    ios = platform == "ios"
    context = {
        "app": {
            "name": "Shop",
            "version": "3.2.0",
            "build": "320",
            "namespace": "com.example.shop",
        },
        "device": {
            "id": f"device-{p.anonymous}",
            "manufacturer": "Apple" if ios else "Google",
            "model": "iPhone15,2" if ios else "Pixel 7",
            "name": "iPhone" if ios else "panther",
            "type": platform,
        },
        "os": {"name": "iOS" if ios else "Android", "version": "17.2" if ios else "14"},
        "library": {
            "name": "analytics-swift" if ios else "analytics-kotlin",
            "version": "1.5.11" if ios else "1.16.0",
        },
        "locale": "fr-FR",
        "timezone": "Europe/Paris",
        "network": {"wifi": True, "cellular": False, "bluetooth": False},
        "screen": {"width": 390, "height": 844, "density": 3},
        "instanceId": str(uuid.uuid4()),
        "traits": {"anonymousId": p.anonymous},
    }
    if not ios:
        context["userAgent"] = "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7 Build/UQ1A.240105.004)"
        context["network"]["carrier"] = "Orange F"

    def message(kind: str, **fields: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "messageId": str(uuid.uuid4()),
            "anonymousId": p.anonymous,
            "timestamp": "2026-12-01T10:00:00.000Z",
            "integrations": {},
            "context": context,
            "_metadata": {"bundled": [], "unbundled": [], "bundledIds": []},
            **fields,
        }

    batch = [
        message("screen", name="Home", properties={"tab": "start"}),
        message(
            "track",
            event="Order Completed",
            properties=ORDER,
            context={**context, "campaign": CAMPAIGN},
        ),
        message("identify", userId=p.user, traits=TRAITS),
        message("group", userId=p.user, groupId=p.group, traits={"name": "Acme", "tier": 2}),
        message("alias", userId=p.new_user, previousId=p.user),
        message("track", userId=p.new_user, event="Repeat Purchase", properties={"n": 2}),
    ]
    # a page call is not a mobile thing; the scenario's page view comes from the website
    return {"batch": batch, "sentAt": "2026-12-01T10:00:01.000Z", "writeKey": KEY}


@pytest.mark.parametrize("platform", ["ios", "android"])
def test_mobile_batch_on_v1_b(pipeline: Pipeline, platform: str) -> None:
    import requests

    p = Person.fresh()
    site_page = {
        "type": "page",
        "anonymousId": p.anonymous,
        "name": "Intro",
        "category": "Docs",
        "properties": {"nested": {"a": 1}},
        "context": {
            "library": {"name": "analytics-swift" if platform == "ios" else "analytics-kotlin"}
        },
    }
    body = mobile_batch(p, platform)
    body["batch"].insert(0, site_page)
    r = requests.post(f"{pipeline.collector}/v1/b", json=body, auth=(KEY, ""), timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 7
    library = "analytics-swift" if platform == "ios" else "analytics-kotlin"
    events = check_landed(pipeline, p, library)
    context = json.loads(next(e for e in events if e["type"] == "screen")["context"])
    assert context["device"]["type"] == platform and context["app"]["build"] == "320"
