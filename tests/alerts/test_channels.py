"""Notices carry event data (a rule split per utm_source names the visitor's value): it reaches
the receivers as text, never as a header, a line break or chat markup; a channel that fails in
an unforeseen way is a failed delivery, and the others still get the notice."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alerts.channels import Channels, Notice, one_line, slack_plain
from alerts.rules import Channel
from core.settings import Settings
from tests.alerts.receivers import smtp_server, webhook_receiver

pytestmark = pytest.mark.integration  # real receivers on loopback

HOSTILE = "news\r\nBcc: victim@example.com\n<!channel> <http://evil.example|click> & more"


def notice() -> Notice:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    text = f"[FIRING] checkout ({HOSTILE}): conversion fell"
    return Notice("checkout", HOSTILE, "firing", at, text, {"scope_value": HOSTILE})


def settings(tmp_path: Path, smtp_port: int) -> Settings:
    return Settings(
        data_dir=tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        alert_allow_private=True,  # the receivers are on loopback
        alert_delivery_attempts=2,
        alert_retry_seconds=0,
    )


def test_event_data_reaches_receivers_as_plain_text(tmp_path: Path) -> None:
    with webhook_receiver() as hook, smtp_server() as box:
        channels = Channels(settings(tmp_path, box.port))
        deliveries = channels.deliver(
            notice(), (Channel("webhook", hook.url), Channel("email", "ops@example.com"))
        )
    assert [d.ok for d in deliveries] == [True, True], deliveries
    text = hook.received[0]["text"]
    assert "\n" not in text and "\r" not in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "&lt;http://evil.example|click&gt; &amp; more" in text
    (mail,) = box.messages
    assert mail["Bcc"] is None  # no header was made of the value
    subject = re.sub(r"\r?\n[ \t]", " ", mail["Subject"])  # undo the header's own folding
    assert "\n" not in subject and "\\r\\nBcc: victim@example.com" in subject
    assert mail["X-Rcpt"] == "ops@example.com"


def test_the_log_channel_writes_one_line_whatever_the_event_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A scope value with line breaks (from a visitor's utm_source) cannot forge log lines."""
    with caplog.at_level("WARNING", logger="journey.alerts"):
        (delivered,) = Channels(settings(tmp_path, 1)).deliver(notice(), (Channel("log", "log"),))
    assert delivered.ok
    (line,) = [r.getMessage() for r in caplog.records if r.name == "journey.alerts"]
    assert "\n" not in line and "\r" not in line and "\\r\\nBcc: victim" in line


def test_a_channel_failing_unexpectedly_is_a_failed_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Channels, notice: Notice, addresses: str) -> None:
        raise ValueError("something no one foresaw")

    monkeypatch.setattr(Channels, "_email", broken)
    with webhook_receiver() as hook:
        deliveries = Channels(settings(tmp_path, 1)).deliver(
            notice(), (Channel("email", "ops@example.com"), Channel("webhook", hook.url))
        )
    failed, sent = deliveries
    assert (failed.ok, failed.attempts) == (False, 1)
    assert "something no one foresaw" in failed.error
    assert sent.ok and len(hook.received) == 1


def test_a_password_is_never_sent_without_tls(tmp_path: Path) -> None:
    with smtp_server() as mailbox:
        plain = settings(tmp_path, mailbox.port).with_overrides(
            smtp_user="alerts", smtp_password="s3cret"
        )
        [delivery] = Channels(plain).deliver(notice(), (Channel("email", "a@example.com"),))
    assert not delivery.ok and "JOURNEY_SMTP_STARTTLS" in delivery.error
    assert delivery.attempts == 1 and mailbox.messages == []  # refused before connecting


def test_one_line_and_slack_plain() -> None:
    assert one_line("a\nb\tc\u2028d") == "a\\nb\\tc\\u2028d"
    assert slack_plain("<@U1> & <#C2>") == "&lt;@U1&gt; &amp; &lt;#C2&gt;"
