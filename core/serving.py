"""Threaded HTTP servers that cannot be held open by slow or idle clients: each connection has a
time-out, and at most a fixed number are served at once. A connection beyond the bound is
closed at once (a client retries) instead of taking one more thread; without these, 500 idle
connections held 500 threads of a loader's metrics server and 800 those of `journey up`."""

from __future__ import annotations

import socket
import threading
from typing import Any


class BoundedThreads:
    """Mixed in before ``socketserver.ThreadingMixIn`` (or a server built on it): at most
    ``max_threads`` connections are served at once."""

    max_threads = 64
    _slots: threading.BoundedSemaphore | None = None

    def process_request(self, request: Any, client_address: Any) -> None:
        if self._slots is None:  # the serving thread alone calls this: no race to make it
            self._slots = threading.BoundedSemaphore(self.max_threads)
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # type: ignore[attr-defined]
            return
        try:
            super().process_request(request, client_address)  # type: ignore[misc]
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)  # type: ignore[misc]
        finally:
            assert self._slots is not None
            self._slots.release()


def idle_connection_closes(host: str, port: int, within: float) -> bool:
    """True if the server at ``host:port`` closes a connection that sends nothing within
    ``within`` seconds (for tests of the time-outs)."""
    with socket.create_connection((host, port), timeout=within) as sock:
        try:
            return sock.recv(1) == b""
        except TimeoutError:
            return False
