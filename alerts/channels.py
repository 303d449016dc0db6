"""Where notices go: a webhook (JSON with a Slack-compatible ``text``), e-mail over SMTP, and the
log. Each delivery is tried up to ``JOURNEY_ALERT_DELIVERY_ATTEMPTS`` times with doubling waits
(a refused or failing receiver, a 5xx or 429); a 4xx other than 429 is final. Every delivery,
good or failed, is returned for the history.

Webhook targets are checked twice: the rule's URL when it is defined, and every address its
host resolves to right before each delivery, so a name that points at a private, loopback or
link-local address is refused (unless ``JOURNEY_ALERT_ALLOW_PRIVATE``). Redirects are not
followed. The history keeps the webhook's host only, never its path (tokens live there).
"""

from __future__ import annotations

import logging
import re
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import requests

from alerts import webhook
from alerts.rules import Channel
from core.settings import Settings

log = logging.getLogger("journey.alerts")
TIMEOUT_S = 10.0


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with control characters (line breaks above all) written out as escapes: a
    notice's values come from event data (a rule split per ``utm_source`` names the visitor's
    value), and a line break in an e-mail subject is refused, or worse, a header."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def slack_plain(text: str) -> str:
    """``text`` shown as itself by Slack (and compatible receivers): ``&``, ``<`` and ``>`` are
    escaped as Slack asks, so ``<!channel>`` or ``<http://x|y>`` in a value is no markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Notice:
    rule: str
    scope: str
    kind: str  # firing or resolved
    at: datetime
    text: str  # one line, Slack-compatible
    details: dict[str, Any]

    @property
    def subject(self) -> str:
        return one_line(f"[Journey] {self.kind.upper()}: {self.rule} ({self.scope})")

    def payload(self) -> dict[str, Any]:
        return {
            "text": slack_plain(one_line(self.text)),
            "alert": {
                "rule": self.rule,
                "scope": self.scope,
                "state": self.kind,
                "at": self.at.isoformat(),
                **self.details,
            },
        }


@dataclass(frozen=True)
class Delivery:
    channel: str
    target: str  # the webhook's host, the addresses, or "log"
    attempts: int
    ok: bool
    error: str = ""


class Refused(Exception):
    """A delivery that retrying cannot fix."""


class Channels:
    def __init__(self, settings: Settings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.sleep = sleep

    def deliver(self, notice: Notice, channels: tuple[Channel, ...]) -> list[Delivery]:
        return [self._one(notice, c) for c in channels]

    def _one(self, notice: Notice, channel: Channel) -> Delivery:
        if channel.kind == "log":
            log.warning("%s", one_line(notice.text))  # event data cannot forge log lines
            return Delivery("log", "log", 1, True)
        send: Callable[[Notice, str], None]
        if channel.kind == "webhook":
            target = urlsplit(channel.target).hostname or ""
            send = self._webhook
        else:
            target = channel.target
            send = self._email
        attempts, error = 0, ""
        for attempt in range(1, self.settings.alert_delivery_attempts + 1):
            attempts = attempt
            try:
                send(notice, channel.target)
                return Delivery(channel.kind, target, attempts, True)
            except Refused as exc:
                error = str(exc)
                break
            except (OSError, smtplib.SMTPException, requests.RequestException) as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            except Exception as exc:  # noqa: BLE001 - one channel's failure is its delivery's
                error = f"{type(exc).__name__}: {exc} (not retried)"[:500]
                break
            if attempt < self.settings.alert_delivery_attempts:
                self.sleep(self.settings.alert_retry_seconds * 2 ** (attempt - 1))
        log.error(
            "alert %s (%s): %s delivery failed: %s",
            notice.rule,
            one_line(notice.scope),
            target,
            one_line(error),
        )
        return Delivery(channel.kind, target, attempts, False, error)

    def _webhook(self, notice: Notice, url: str) -> None:
        try:  # parsed once, resolved once, posted to the address checked (alerts.webhook)
            target = webhook.parse(url)
            address = webhook.resolve(target, self.settings.alert_allow_private)
        except webhook.TargetError as exc:
            raise Refused(f"{exc} (JOURNEY_ALERT_ALLOW_PRIVATE allows private ones)") from None
        response = webhook.post(target, address, notice.payload(), TIMEOUT_S)
        if 200 <= response.status_code < 300:
            return
        message = f"HTTP {response.status_code} from {target.host}"
        if response.status_code == 429 or response.status_code >= 500:
            raise requests.HTTPError(message)
        raise Refused(message + " (not retried)")

    def _email(self, notice: Notice, addresses: str) -> None:
        s = self.settings
        if not s.smtp_host:
            raise Refused("JOURNEY_SMTP_HOST is not set")
        message = EmailMessage()
        message["Subject"] = notice.subject
        message["From"] = s.smtp_from
        message["To"] = addresses
        details = "\n".join(one_line(f"{k}: {v}") for k, v in notice.payload()["alert"].items())
        message.set_content(f"{one_line(notice.text)}\n\n{details}\n")
        implicit = s.smtp_port == 465  # SMTPS: TLS from the first byte
        if s.smtp_user and not (s.smtp_starttls or implicit):
            raise Refused(  # a password is never sent in clear (issue 28)
                "JOURNEY_SMTP_USER is set but the connection would not be encrypted: set "
                "JOURNEY_SMTP_STARTTLS=true or use port 465"
            )
        connect = smtplib.SMTP_SSL if implicit else smtplib.SMTP
        with connect(s.smtp_host, s.smtp_port, timeout=TIMEOUT_S) as smtp:
            if s.smtp_starttls and not implicit:
                smtp.starttls()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
            smtp.send_message(message)
