"""The webhook guard against the walk-arounds an outside probe found (issue 28): a URL two
parsers read differently, DNS rebinding, and IPv4 addresses inside IPv6 ones; and TLS still
checked against the name when the request goes to the address that was checked."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import urllib3.util.connection

from alerts import webhook
from alerts.channels import Channels, Delivery, Notice
from alerts.rules import Channel, RuleError, check_webhook
from core.settings import Settings
from devservices.certificates import issue
from tests.alerts.receivers import webhook_receiver

pytestmark = pytest.mark.integration  # real receivers on loopback

NOTICE = Notice("checkout", "all", "firing", datetime(2026, 12, 1, tzinfo=UTC), "fell", {})


def deliver_to(tmp_path: Path, url: str) -> tuple[Delivery, list[dict[str, Any]]]:
    """Deliver the notice, private targets refused, to ``url`` with PORT standing for a real
    receiver's port on loopback; the delivery, and what the receiver got."""
    with webhook_receiver() as hook:
        port = hook.url.split(":")[2].split("/")[0]
        target = url.replace("PORT", port)
        [delivery] = channels(tmp_path, False).deliver(NOTICE, (Channel("webhook", target),))
    return delivery, hook.received


def channels(tmp_path: Path, allow_private: bool) -> Channels:
    settings = Settings(
        data_dir=tmp_path,
        alert_allow_private=allow_private,
        alert_delivery_attempts=1,
        alert_retry_seconds=0,
    )
    return Channels(settings)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1\\example.com/hook", "backslash"),
        ("http://127.0.0.1%5C@example.com/hook", "credentials"),
        ("http://example.com:80@127.0.0.1/hook", "credentials"),
        ("http://[64:ff9b::7f00:1]/hook", "IPv4 address inside an IPv6 one"),  # NAT64
        ("http://[64:ff9b:1::a00:1]/hook", "IPv4 address inside an IPv6 one"),  # local NAT64
        ("http://[2002:7f00:1::1]/hook", "IPv4 address inside an IPv6 one"),  # 6to4
        ("http://[::ffff:127.0.0.1]/hook", "IPv4 address inside an IPv6 one"),
        ("http://[::7f00:1]/hook", "IPv4 address inside an IPv6 one"),
        ("http://0x7f000001/hook", "private or local"),  # what the client reads as 127.0.0.1
        ("http://hooks.example.com /x", "whitespace"),
    ],
)
def test_definitions_refuse_the_walk_arounds(url: str, reason: str) -> None:
    with pytest.raises(RuleError, match=reason):
        check_webhook(url, "channels[0].webhook", allow_private=False)


def test_a_url_read_two_ways_is_never_posted(tmp_path: Path) -> None:
    """Stored before the definition check knew it: the delivery refuses it too."""
    delivery, received = deliver_to(tmp_path, "http://127.0.0.1:PORT\\example.com/hook")
    assert not delivery.ok and "backslash" in delivery.error and received == []


def test_the_name_is_resolved_once_and_the_checked_address_is_posted_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name answers with a public address, then with loopback. The guard
    checked the first answer; the request must go there, never to a second answer."""
    real = socket.getaddrinfo
    answers = ["93.184.215.14", "127.0.0.1"]
    asked: list[str] = []

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        address = answers[min(len(asked), len(answers)) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    connected: list[tuple[str, int]] = []
    connect = urllib3.util.connection.create_connection

    def recorded(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        connected.append(address)
        if address[0] != "127.0.0.1":  # no traffic leaves the machine
            raise ConnectionRefusedError("refused by the test")
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(urllib3.util.connection, "create_connection", recorded)
    with webhook_receiver() as hook:
        port = hook.url.split(":")[2].split("/")[0]
        url = f"http://rebind.example:{port}/hooks/journey"
        [delivery] = channels(tmp_path, False).deliver(NOTICE, (Channel("webhook", url),))
    assert asked == ["rebind.example"]  # resolved once
    assert connected == [("93.184.215.14", int(port))]  # where the check looked
    assert not delivery.ok and hook.received == []


def test_a_name_resolving_to_loopback_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo

    def internal(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.internal.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", internal)
    delivery, received = deliver_to(tmp_path, "http://hooks.internal.example:PORT/hooks/journey")
    assert not delivery.ok and "private or local" in delivery.error and received == []


@pytest.mark.parametrize("named", ["localhost", "other.example"])
def test_tls_is_checked_against_the_name_at_the_checked_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, named: str
) -> None:
    """Posted to 127.0.0.1 (resolved once), with localhost in SNI, the certificate check and
    the Host header: a certificate for localhost is accepted, one for another name is not."""
    ca, bundle = tmp_path / "ca.pem", tmp_path / "receiver.pem"
    issue(ca, bundle, [named])
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    with webhook_receiver(bundle) as hook:
        [delivery] = channels(tmp_path, True).deliver(NOTICE, (Channel("webhook", hook.url),))
    if named == "localhost":
        assert delivery.ok, delivery.error
        port = hook.url.split(":")[2].split("/")[0]
        assert hook.hosts == [f"localhost:{port}"] and len(hook.received) == 1
    else:
        assert not delivery.ok and "certificate" in delivery.error.lower()
        assert hook.received == []


def test_parse_reads_what_requests_reads() -> None:
    target = webhook.parse("https://Hooks.Example.com:8443/a/b?token=1#frag")
    assert target == webhook.Target("https", "hooks.example.com", 8443, "/a/b?token=1")
    assert target.host_header == "hooks.example.com:8443"
    assert webhook.parse("http://[2001:db8::1]/x").host_header == "[2001:db8::1]"
