"""Country of a client IP, from the offline database the geoip2fast package ships.

No lookup ever leaves the machine. The database is read once per process (about 0.1 s) and
answers in microseconds, for IPv4 and IPv6. It is country-level: region and city come from traits. Private,
reserved and unknown addresses have no country. The data is MaxMind's GeoLite2 Country
(CC BY-SA 4.0, attributed in docs/how-to/send-events.md), as packaged by geoip2fast (MIT).
"""

from __future__ import annotations

import functools
import ipaddress
import threading
from typing import Any

_lock = threading.Lock()


@functools.cache
def _database() -> Any:
    from geoip2fast import GeoIP2Fast

    with _lock:
        return GeoIP2Fast(geoip2fast_data_file="geoip2fast-ipv6.dat.gz", verbose=False)


def country_of(ip: str) -> str:
    """The ISO 3166 country code of ``ip``, or '' when it has none."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ""
    if not address.is_global:
        return ""
    try:
        code = _database().lookup(str(address)).country_code
    except Exception:  # noqa: BLE001 - a lookup failure means no country, never a lost event
        return ""
    return code if isinstance(code, str) and len(code) == 2 and code.isalpha() else ""
