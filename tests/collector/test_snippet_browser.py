"""The tracking snippet in headless Chromium (Debian's), against a test site on its own origin,
with the real collector, broker, loader and a ClickHouse server behind it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from collector.app import create_app
from tests.collector.conftest import KEY, Pipeline
from tests.collector.test_agent import CHROME_WINDOWS
from tests.conftest import CHROMIUM_FLAGS

pytestmark = pytest.mark.integration


PAGE = """<!doctype html>
<html><head><title>Home</title>
<script>
!function(w,d,s){var j=w.journey=w.journey||[];if(j.init)return;["init","page","track","identify",
"group","reset","optOut","optIn"].forEach(function(m){j[m]=function(){j.push([m].concat([].slice.call(
arguments)))}});var e=d.createElement("script");e.async=1;e.src=s;d.head.appendChild(e)}(window,document,
"COLLECTOR/js/journey.js");
journey.init({writeKey: "KEY", host: "COLLECTOR", flushMs: 200});
journey.track("Early Call", {before: "load"});
</script></head>
<body>
  <button id="buy" data-journey-event="Product Added" data-journey-prop-sku="sku-1">Add to cart</button>
  <form>
    <input id="email" name="email" value="secret@example.com">
    <button id="signup" type="button" onclick="journey.identify('user-7', {plan: 'pro'})">Sign up</button>
  </form>
  <a id="spa" href="#" onclick="document.title='Product 42'; history.pushState({}, '', '/products/42'); return false;">Product</a>
</body></html>
"""


@pytest.fixture
def pipeline(pipeline: Pipeline) -> Pipeline:
    """The pipeline with the test site's page: the snippet installed as its README says."""
    (pipeline.site_dir / "products").mkdir()
    html = PAGE.replace("COLLECTOR", pipeline.collector).replace("KEY", KEY)
    (pipeline.site_dir / "index.html").write_text(html)
    return pipeline


def open_site(
    browser: Browser, pipe: Pipeline, query: str = "", init_script: str | None = None
) -> Page:
    page = browser.new_context().new_page()
    if init_script:
        page.add_init_script(init_script)
    page.goto(f"{pipe.site}/index.html{query}")
    page.wait_for_function("window.journey && window.journey.version")
    return page


def test_every_touchpoint_lands_once_with_its_context(browser: Browser, pipeline: Pipeline) -> None:
    page = open_site(
        browser, pipeline, "?utm_source=news&utm_medium=email&utm_campaign=spring&gclid=G1"
    )
    page.click("#buy")
    page.click("#spa")  # single-page navigation: pushState
    page.click("#signup")  # identify after sign-up
    page.go_back()  # popstate: a page view of the landing page again
    events = pipeline.wait_events(6)
    kinds = [(e["type"], e["event"], e["page_path"]) for e in events]
    assert sorted(kinds) == sorted(
        [
            ("page", "Home", "/index.html"),
            ("track", "Early Call", "/index.html"),
            ("track", "Product Added", "/index.html"),
            ("page", "Product 42", "/products/42"),
            ("identify", "", "/products/42"),
            ("page", "Product 42", "/index.html"),
        ]
    )
    assert len(events) == 6  # exactly once each
    by_event = {(e["type"], e["event"], e["page_path"]): e for e in events}
    added = by_event[("track", "Product Added", "/index.html")]
    assert '"sku":"sku-1"' in added["properties"]
    early = by_event[("track", "Early Call", "/index.html")]
    assert '"before":"load"' in early["properties"]  # a call queued before the script loaded
    for e in events:
        assert (e["utm_source"], e["utm_medium"], e["utm_campaign"]) == ("news", "email", "spring")
        assert (e["click_id_type"], e["click_id"]) == ("gclid", "G1")  # kept for the session
        # a headless Chromium is a bot (collector.agent): stored, and left out of analyses
        assert (e["browser"], e["device_type"]) == ("HeadlessChrome", "bot")
        assert e["library_name"] == "journey.js" and e["source"] == "website"
        assert e["session_id"] == events[0]["session_id"] != ""
        assert e["anonymous_id"] == events[0]["anonymous_id"] != ""
        assert abs((e["received_at"] - e["timestamp"]).total_seconds()) < 30  # skew corrected
        assert "secret@example.com" not in (e["properties"] + e["traits"] + e["context"])
    identify = by_event[("identify", "", "/products/42")]
    assert identify["user_id"] == "user-7" and '"plan":"pro"' in identify["traits"]
    assert by_event[("page", "Product 42", "/index.html")]["user_id"] == "user-7"


def test_collector_down_events_wait_and_arrive_once(browser: Browser, pipeline: Pipeline) -> None:
    page = open_site(browser, pipeline)
    pipeline.wait_events(2)  # the page view and the early call
    pipeline.stop_collector()
    page.click("#buy")
    page.click("#buy")
    page.reload()  # the queue survives the reload (and the pagehide beacon fails)
    page.wait_for_function("window.journey && window.journey.version")
    page.click("#buy")
    page.wait_for_timeout(2000)  # the snippet retries with backoff against a closed port
    pipeline.start_collector(pipeline.app)
    events = pipeline.wait_events(7, timeout=90)
    counts: dict[str, int] = {}
    for e in events:
        counts[e["event"]] = counts.get(e["event"], 0) + 1
    assert counts == {"Home": 2, "Early Call": 2, "Product Added": 3}
    assert len({e["event_id"] for e in events}) == len(events) == 7


def _posts(page: Page) -> list[str]:
    """POSTs the page makes from now on. Playwright's sync API dispatches these events only while
    the test calls into it, so waits must be page.wait_for_timeout, never time.sleep."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    return sent


def test_an_opted_out_visitor_sends_nothing(browser: Browser, pipeline: Pipeline) -> None:
    page = open_site(browser, pipeline)
    pipeline.wait_events(2)  # the page view and the early call were sent before we listen
    sent = _posts(page)
    page.click("#buy")
    page.wait_for_timeout(1000)
    assert len(sent) == 1  # the capture works: before opting out, the click was sent
    pipeline.wait_events(3)
    page.evaluate("journey.optOut()")
    sent.clear()
    page.click("#buy")
    page.click("#spa")
    page.evaluate("journey.track('Anything')")
    page.goto(f"{pipeline.site}/index.html")  # a new page load remembers the choice
    page.wait_for_function("window.journey && window.journey.version")
    page.click("#buy")
    page.wait_for_timeout(1500)
    assert sent == []
    assert len(pipeline.events()) == 3


@pytest.mark.parametrize(
    "signal",
    [
        "Object.defineProperty(navigator, 'doNotTrack', {get: () => '1'})",
        "Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})",
    ],
    ids=["do-not-track", "global-privacy-control"],
)
def test_privacy_signals_are_honoured(browser: Browser, pipeline: Pipeline, signal: str) -> None:
    page = browser.new_context().new_page()
    page.add_init_script(signal)
    sent = _posts(page)
    page.goto(f"{pipeline.site}/index.html")
    page.wait_for_function("window.journey && window.journey.version")
    page.click("#buy")
    page.wait_for_timeout(1500)
    assert sent == []


def test_one_request_per_page_view(browser: Browser, pipeline: Pipeline) -> None:
    page = browser.new_context().new_page()
    requests_made: list[str] = []
    page.on("request", lambda r: requests_made.append(f"{r.method} {r.url.split('?')[0]}"))
    page.goto(f"{pipeline.site}/index.html")
    page.wait_for_function("window.journey && window.journey.version")
    pipeline.wait_events(2)
    page.wait_for_timeout(200)  # let Playwright dispatch the request events it has
    to_collector = [r for r in requests_made if f":{pipeline.port}/" in r]
    # the script itself, then one batch carrying the page view and the early call
    assert to_collector == [
        f"GET {pipeline.collector}/js/journey.js",
        f"POST {pipeline.collector}/v1/batch",
    ]


OFFER = """<!doctype html>
<html><head><title>Offer</title>
<script>
!function(w,d,s){var j=w.journey=w.journey||[];if(j.init)return;["init","page","track","identify",
"group","reset","optOut","optIn","segments","experiment"].forEach(function(m){j[m]=function(){j.push([m].concat([].slice.call(
arguments)))}});var e=d.createElement("script");e.async=1;e.src=s;d.head.appendChild(e)}(window,document,
"COLLECTOR/js/journey.js");
journey.init({writeKey: "KEY", host: "COLLECTOR", flushMs: 200});
</script></head>
<body>
  <h1 id="offer">Welcome!</h1>
  <button id="pricing" onclick="journey.track('Pricing Viewed')">See pricing</button>
  <script>
    journey.segments(function (segments) {
      if (segments.indexOf("pricing_fans") >= 0) {
        document.getElementById("offer").textContent = "Talk to our sales team";
      }
      document.body.setAttribute("data-segments", segments.join(",") || "none");
    });
    journey.experiment("fans-offer", function (found) {
      if (found && found.content.headline) {
        document.getElementById("offer").textContent = found.content.headline;
      }
      document.body.setAttribute("data-variant", found ? found.variant : "none");
    });
  </script>
</body></html>
"""


def test_a_visitor_sees_their_segments_content_after_the_next_refresh(
    browser: Browser, pipeline: Pipeline, tmp_path: Path
) -> None:
    """Segments, and an experiment for one of them: the fan sees the content of the variant the
    hash gives them (a headline, or the default for the holdout), and however often the page
    is seen, one exposure is stored."""
    from analyzer.experiments import catalog as experiments
    from analyzer.experiments.assignment import hashed_variant
    from analyzer.experiments.definition import parse_document as experiment_document
    from analyzer.segments import catalog
    from analyzer.segments.definition import parse_document
    from analyzer.segments.refresh import refresh
    from collector.personalize import PublicSegments

    html = OFFER.replace("COLLECTOR", pipeline.collector).replace("KEY", KEY)
    (tmp_path / "site" / "offer.html").write_text(html)
    cache = PublicSegments(pipeline.store, tmp_path / "personalization")
    sink = pipeline.app.extensions["journey.sink"]
    app = create_app(pipeline.settings, sink=sink, public_segments=cache)
    pipeline.stop_collector()
    pipeline.start_collector(app)
    catalog.define(
        pipeline.store,
        parse_document(
            {
                "version": 1,
                "segments": [
                    {
                        "name": "pricing_fans",
                        "public": True,
                        "rule": {"did": "Pricing Viewed", "at_least": 2},
                    },
                    {"name": "visitors", "rule": {"did": "Offer"}},  # not public
                ],
            }
        ),
    )
    (offer,) = experiment_document(
        {
            "version": 1,
            "experiments": [
                {
                    "key": "fans-offer",
                    "segments": ["pricing_fans"],
                    "variants": [
                        {"name": "holdout", "weight": 1},
                        {"name": "call", "weight": 1, "content": {"headline": "Book a call"}},
                    ],
                    "metric": {"name": "calls", "converts": ["Call Booked"]},
                    "start": "2026-01-01",
                }
            ],
        }
    )
    experiments.define(pipeline.store, [offer])
    # people, not bots: segments leave out headless browsers
    fan = browser.new_context(user_agent=CHROME_WINDOWS).new_page()
    other = browser.new_context(user_agent=CHROME_WINDOWS).new_page()
    for page in (fan, other):
        page.goto(f"{pipeline.site}/offer.html")
        page.wait_for_selector("body[data-segments]")
    assert fan.text_content("#offer") == "Welcome!"  # nothing published yet: the default
    fan.click("#pricing")
    fan.click("#pricing")
    pipeline.wait_events(4)  # two page views, two pricing views
    refresh(pipeline.store)
    assert cache.refresh()
    for page in (fan, other):
        page.reload()
        page.wait_for_selector("body[data-segments]")
    for page in (fan, other):
        page.wait_for_selector("body[data-variant]")
    assert fan.get_attribute("body", "data-segments") == "pricing_fans"
    (visitor,) = {e["anonymous_id"] for e in pipeline.events() if e["event"] == "Pricing Viewed"}
    variant = fan.get_attribute("body", "data-variant")
    assert variant == hashed_variant(offer, visitor)
    headline = "Book a call" if variant == "call" else "Talk to our sales team"
    assert fan.text_content("#offer") == headline
    assert other.get_attribute("body", "data-segments") == "none"
    assert other.get_attribute("body", "data-variant") == "none"  # not a fan: not in it
    assert other.text_content("#offer") == "Welcome!"
    fan.reload()
    fan.wait_for_selector("body[data-variant]")
    pipeline.wait_events(8)  # 2 page views, 2 pricing views, 3 reloads, one exposure
    seen = [e for e in pipeline.events() if e["event"] == "Experiment Viewed"]
    assert len(seen) == 1
    assert '"variant":"' + variant + '"' in seen[0]["properties"].replace(" ", "")


def test_analytics_js_signatures(browser: Browser, pipeline: Pipeline) -> None:
    page = open_site(browser, pipeline)
    pipeline.wait_events(2)
    page.evaluate(
        """() => new Promise((resolve) => {
        let called = 0;
        const done = () => { if (++called === 3) resolve(); };
        journey.identify({email: "ada@example.com", address: {country: "FR"}});  // traits only
        journey.track("Plan Viewed", {plan: "pro"}, {context: {ip: "203.0.113.9"}}, done);
        journey.page("Docs", "Intro", {section: 2});
        journey.page("Pricing");
        journey.identify(42, {plan: "pro"}, {}, done);
        journey.alias("user-43");
        journey.track("Callback Only", done);
    })"""
    )  # the callbacks ran
    events = pipeline.wait_events(9)
    assert len(events) == 9
    by = {(e["type"], e["event"], e["user_id"]): e for e in events}
    traits_only = by[("identify", "", "")]
    assert '"email":"ada@example.com"' in traits_only["traits"]
    assert "[object Object]" not in {e["user_id"] for e in events}
    viewed = by[("track", "Plan Viewed", "")]
    assert '"plan":"pro"' in viewed["properties"] and viewed["ip"] == "203.0.113.0"
    docs = by[("page", "Intro", "")]
    assert '"category":"Docs"' in docs["properties"] and '"section":2' in docs["properties"]
    assert ("page", "Pricing", "") in by
    assert '"plan":"pro"' in by[("identify", "", "42")]["traits"]
    alias = by[("alias", "", "user-43")]
    assert alias["previous_id"] == "42"
    assert ("track", "Callback Only", "42") in by


def test_batches_stay_under_the_keepalive_limit(browser: Browser, pipeline: Pipeline) -> None:
    """Twenty queued events of about 4.6 KB (92 KB together) used to be refused by Chromium as
    one keepalive request, retried forever, with everything after them waiting behind."""
    page = open_site(browser, pipeline)
    pipeline.wait_events(2)
    page.evaluate(
        "() => { for (let i = 0; i < 20; i++) journey.track('Big', {i, blob: 'x'.repeat(4600)}); "
        "journey.track('After'); }"
    )
    events = pipeline.wait_events(23)
    assert len(events) == 23
    assert sorted(e["event"] for e in events).count("Big") == 20
    assert any(e["event"] == "After" for e in events)


def test_cookieless_keeps_one_visitor_per_tab(browser: Browser, pipeline: Pipeline) -> None:
    html = (pipeline.site_dir / "index.html").read_text()
    (pipeline.site_dir / "cookieless.html").write_text(
        html.replace("flushMs: 200", "flushMs: 200, cookieless: true")
    )
    context = browser.new_context()
    tab = context.new_page()
    for _ in range(2):  # a load and a reload
        tab.goto(f"{pipeline.site}/cookieless.html")
        tab.wait_for_function("window.journey && window.journey.version")
        tab.evaluate("journey.flush()")
    other = context.new_page()
    other.goto(f"{pipeline.site}/cookieless.html")
    events = pipeline.wait_events(6)  # three page views, three early calls
    assert context.cookies() == []
    ids = {e["anonymous_id"] for e in events}
    assert len(ids) == 2  # the reload kept its visitor; the other tab is another one
    first = [e for e in events if e["anonymous_id"] == events[0]["anonymous_id"]]
    assert len(first) == 4


def test_visitor_shared_across_subdomains(browser: Browser, pipeline: Pipeline) -> None:
    """www. and shop. of one site share the visitor through the cookie on the registrable
    domain; with crossSubdomain: false each host has its own."""
    chromium = browser.browser_type.launch(
        executable_path="/usr/bin/chromium",
        args=[*CHROMIUM_FLAGS, "--host-resolver-rules=MAP *.journey.test 127.0.0.1"],
    )
    try:
        port = pipeline.site.rsplit(":", 1)[1]
        html = (pipeline.site_dir / "index.html").read_text()
        (pipeline.site_dir / "host-only.html").write_text(
            html.replace("flushMs: 200", "flushMs: 200, crossSubdomain: false")
        )
        ids = {}
        for page_name in ("index.html", "host-only.html"):
            context = chromium.new_context()
            for host in ("www", "shop"):
                page = context.new_page()
                page.goto(f"http://{host}.journey.test:{port}/{page_name}")
                page.wait_for_function("window.journey && window.journey.version")
                ids[(page_name, host)] = page.evaluate("document.cookie")
            cookies = {c["domain"] for c in context.cookies()}
            ids[(page_name, "domains")] = cookies
            context.close()
    finally:
        chromium.close()
    assert ids[("index.html", "domains")] == {".journey.test"}
    assert ids[("index.html", "www")] == ids[("index.html", "shop")]
    assert ids[("host-only.html", "domains")] == {"www.journey.test", "shop.journey.test"}
    assert ids[("host-only.html", "www")] != ids[("host-only.html", "shop")]
    events = pipeline.wait_events(6)
    assert len({e["anonymous_id"] for e in events}) == 3  # one shared, two host-only
