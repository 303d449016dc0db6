"""Webhook targets: parsed once, resolved once, and posted to at the address that was checked.

A guard that parses a URL differently from the client, or resolves a name that the client then
resolves again, can be walked around (issue 28): ``http://127.0.0.1\\example.com/`` had the
guard see the host ``127.0.0.1\\example.com`` while the client connected to 127.0.0.1, and a
name answering first with a public address and then with a loopback one (DNS rebinding)
reached loopback. So:

- the URL is parsed by urllib3's parser, the one requests sends with, and refused when another
  reading of it (the standard library's) finds a different host, or when it holds a
  backslash, whitespace, a control character or credentials;
- addresses that carry an IPv4 address inside an IPv6 one (NAT64 ``64:ff9b::/96`` and
  ``64:ff9b:1::/48``, 6to4 ``2002::/16``, Teredo, IPv4-mapped and -compatible) are refused
  outright, like private, loopback and link-local ones (unless private targets are allowed);
- at delivery the name is resolved once, every address it gives is checked, and the request is
  made to the first of them, with the name in the Host header, in TLS's SNI and in the
  certificate check.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import parse_url
from urllib3.util.url import LocationParseError

_EMBEDDING = [
    ipaddress.ip_network(n)
    for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32", "::ffff:0:0/96", "::/96")
]


class TargetError(ValueError):
    """A webhook URL or address that may not be used; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # a name, or an address without brackets
    port: int
    request_uri: str  # path and query

    @property
    def host_header(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return shown if self.port == default else f"{shown}:{self.port}"


def parse(url: str) -> Target:
    """The target of ``url``, read as requests will read it; TargetError if it is not a plain
    http(s) URL whose host every reader agrees on."""
    if any(c in url for c in "\\ \t") or any(ord(c) < 32 or ord(c) == 127 for c in url):
        raise TargetError(f"{url!r} holds a backslash, whitespace or a control character")
    try:
        parts = parse_url(url)
        other = urlsplit(url)
        other_host = other.hostname
    except (LocationParseError, ValueError):
        raise TargetError(f"{url!r} is not an http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.host:
        raise TargetError(f"{url!r} is not an http(s) URL")
    if parts.auth or other.username or other.password:
        raise TargetError("no credentials in the URL; put a token in its path or query")
    host = parts.host.strip("[]").lower()
    if host != (other_host or "").lower():
        raise TargetError(f"{url!r} reads as two different hosts")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return Target(parts.scheme, host, port, parts.request_uri)


def refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private: bool) -> str:
    """Why ``address`` may not be posted to ('' if it may)."""
    if isinstance(address, ipaddress.IPv6Address) and any(address in n for n in _EMBEDDING):
        return f"{address} carries an IPv4 address inside an IPv6 one (NAT64, 6to4, Teredo...)"
    if not allow_private and not address.is_global:
        return f"{address} is a private or local address"
    return ""


def literal(target: Target) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address the host is, if it is one; also in the forms the C library reads as an
    IPv4 address (``127.1``, ``0x7f000001``, ``2130706433``, ``0177.0.0.1``)."""
    try:
        return ipaddress.ip_address(target.host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(target.host))
    except OSError:
        return None


def resolve(target: Target, allow_private: bool) -> str:
    """The one address to post to: every address of the name checked, the first one used.
    Raises TargetError for a refused address, ConnectionError when the name does not resolve."""
    given = literal(target)
    if given is not None:
        addresses = [given]
    else:
        try:
            infos = socket.getaddrinfo(target.host, target.port, proto=socket.IPPROTO_TCP)
        except socket.gaierror as exc:
            raise ConnectionError(f"cannot resolve {target.host}: {exc.strerror}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        why = refusal(address, allow_private)
        if why:
            raise TargetError(why if given is not None else f"{target.host}: {why}")
    return str(addresses[0])


class _Pinned(HTTPAdapter):
    """Connects where the URL says (an address), speaking TLS to ``name``: SNI and the
    certificate's check are the name's."""

    def __init__(self, name: str) -> None:
        self._name = name
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(server_hostname=self._name, assert_hostname=self._name)
        super().init_poolmanager(*args, **kwargs)


def post(target: Target, address: str, body: dict[str, Any], timeout: float) -> requests.Response:
    """POST ``body`` as JSON to ``target`` at ``address``, never following a redirect.

    Proxies from the environment are not used (a proxy would resolve the name itself); a CA
    bundle named by REQUESTS_CA_BUNDLE or SSL_CERT_FILE is."""
    shown = f"[{address}]" if ":" in address else address
    with requests.Session() as session:
        session.trust_env = False
        session.mount("https://", _Pinned(target.host))
        verify: bool | str = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or True
        )
        return session.post(
            f"{target.scheme}://{shown}:{target.port}{target.request_uri}",
            json=body,
            headers={"Host": target.host_header},
            timeout=timeout,
            allow_redirects=False,
            verify=verify,
        )
