"""Browser, OS, device and bots from user agents, client hints and the mobile SDKs' context.

The user agents are real ones, as their senders send them (crawler strings from Google's and
Bing's documentation, the rest captured from the programs themselves)."""

from __future__ import annotations

from typing import Any

import pytest

from collector.agent import Agent, describe, parse_agent
from tests.helpers import BROWSER

CHROME_WINDOWS = BROWSER  # the user agent the tests' own clients post with
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
CUBOT_PHONE = (
    "Mozilla/5.0 (Linux; Android 9; CUBOT_X19 Build/PPR1.180610.011) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36"
)
HUMANS = {
    CHROME_WINDOWS: ("Chrome", "131.0.0", "Windows", "10", "desktop"),
    SAFARI_IPHONE: ("Mobile Safari", "17.5", "iOS", "17.5", "mobile"),
    SAFARI_IPAD: ("Mobile Safari", "17.5", "iOS", "17.5", "tablet"),
    FIREFOX_LINUX: ("Firefox", "133.0", "Ubuntu", "", "desktop"),
    CHROME_ANDROID: ("Chrome Mobile", "131.0.0", "Android", "10", "mobile"),
    CUBOT_PHONE: ("Chrome Mobile", "119.0.6045", "Android", "9", "mobile"),
}
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)"
)
BINGBOT = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
    "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36"
)
HEADLESS_CHROMIUM = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/131.0.6778.85 Safari/537.36"
)
BOTS = [
    GOOGLEBOT,
    GOOGLEBOT_SMARTPHONE,
    BINGBOT,
    HEADLESS_CHROMIUM,
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Wget/1.21.4",
    "Go-http-client/1.1",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (compatible; SomeNewCrawler/0.1)",
]


@pytest.mark.parametrize("agent", HUMANS)
def test_browsers_give_browser_os_and_device(agent: str) -> None:
    assert tuple(parse_agent(agent)) == HUMANS[agent]


@pytest.mark.parametrize("agent", BOTS)
def test_crawlers_headless_browsers_and_http_libraries_are_bots(agent: str) -> None:
    assert parse_agent(agent).device_type == "bot"


def test_an_sdk_posting_through_an_http_library_is_not_a_bot() -> None:
    """Server-side SDKs send through requests, axios, okhttp; the event names the SDK."""
    context = {"library": {"name": "analytics-python", "version": "2.4.0"}}
    agent, sender = describe(context, "python-requests/2.32.3")
    assert agent == "python-requests/2.32.3" and sender.device_type != "bot"
    # ...but a crawler stays a bot whatever it says sent it
    assert describe({"library": {"name": "journey.js"}}, HEADLESS_CHROMIUM)[1].device_type == "bot"


@pytest.mark.parametrize("client", ["curl/8.5.0", "python-requests/2.32.3", "Go-http-client/1.1"])
def test_a_server_keys_http_client_is_never_a_bot(client: str) -> None:
    """A backend posting with a server write key: its HTTP client says nothing of a person."""
    agent, sender = describe({}, client, server=True)
    assert agent == client and sender.device_type == "other"
    assert describe({}, client)[1].device_type == "bot"  # the same with a browser key


def test_a_crawler_named_in_a_server_events_context_is_still_a_bot() -> None:
    """A server forwarding its visitor's user agent: that person is judged, and may be a bot."""
    assert describe({"userAgent": GOOGLEBOT}, "curl/8.5.0", server=True)[1].device_type == "bot"
    forwarded = describe({"userAgent": SAFARI_IPHONE}, "curl/8.5.0", server=True)
    assert forwarded == (SAFARI_IPHONE, describe({"userAgent": SAFARI_IPHONE}, "")[1])


def test_the_clients_own_user_agent_wins_over_the_requests() -> None:
    agent, sender = describe({"userAgent": SAFARI_IPHONE}, "python-requests/2.32.3")
    assert agent == SAFARI_IPHONE and sender.device_type == "mobile"


def test_client_hints_name_the_browser_and_the_real_os_version() -> None:
    """Chrome's reduced user agent says Windows NT 10.0 on Windows 11; the hints say 15.0.0."""
    hints: dict[str, Any] = {
        "brands": [
            {"brand": "Not)A;Brand", "version": "99"},
            {"brand": "Google Chrome", "version": "131"},
            {"brand": "Chromium", "version": "131"},
        ],
        "mobile": False,
        "platform": "Windows",
        "platformVersion": "15.0.0",
        "fullVersionList": [{"brand": "Google Chrome", "version": "131.0.6778.86"}],
    }
    sender = describe({"userAgent": CHROME_WINDOWS, "userAgentData": hints}, "")[1]
    assert sender == Agent("Chrome", "131.0.6778.86", "Windows", "11", "desktop")
    edge_mac = {
        "brands": [{"brand": "Microsoft Edge", "version": "131"}],
        "mobile": False,
        "platform": "macOS",
        "platformVersion": "14.5.0",
    }
    sender = describe({"userAgent": CHROME_WINDOWS, "userAgentData": edge_mac}, "")[1]
    assert sender == Agent("Edge", "131", "Mac OS X", "14.5", "desktop")


def test_a_headless_brand_in_the_hints_is_a_bot() -> None:
    hints = {"brands": [{"brand": "HeadlessChrome", "version": "131"}], "platform": "Linux"}
    assert describe({"userAgent": CHROME_WINDOWS, "userAgentData": hints}, "")[1].device_type == (
        "bot"
    )


@pytest.mark.parametrize(
    ("os", "device", "request_agent", "expected"),
    [
        (
            {"name": "iOS", "version": "17.5.1"},
            {"manufacturer": "Apple", "model": "iPhone15,2", "type": "ios"},
            "Shop/3 CFNetwork/1496.0.7 Darwin/23.5.0",
            Agent("", "", "iOS", "17.5.1", "mobile"),
        ),
        (
            {"name": "iPadOS", "version": "17.5"},
            {"model": "iPad13,4", "type": "ios"},
            "Shop/3 CFNetwork/1496.0.7 Darwin/23.5.0",
            Agent("", "", "iOS", "17.5", "tablet"),
        ),
        (
            {"name": "Android", "version": "14"},
            {"manufacturer": "Google", "model": "Pixel 8", "type": "android"},
            "okhttp/4.12.0",
            Agent("", "", "Android", "14", "mobile"),
        ),
    ],
)
def test_mobile_sdks_context_describes_the_device(
    os: dict[str, str], device: dict[str, str], request_agent: str, expected: Agent
) -> None:
    """analytics-swift and analytics-kotlin post through CFNetwork and okhttp, which are not
    bots: the app's context.os and context.device say what the phone is."""
    context = {"os": os, "device": device, "library": {"name": "analytics-kotlin"}}
    agent, sender = describe(context, request_agent)
    assert agent == request_agent and sender == expected


def test_nothing_said_is_nothing_known() -> None:
    assert describe({}, "") == ("", Agent("", "", "", "", ""))
