"""`journey up`'s HTTP server closes a connection that stops sending, a half-sent request
included (issue 28: it used to wait for the rest forever, a thread held per client)."""

from __future__ import annotations

import socket
import threading

import pytest
from flask import Flask

from journey import stack


def test_a_half_sent_request_is_dropped_and_others_are_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stack._TimedHandler, "timeout", 1.0)
    app = Flask(__name__)
    app.add_url_rule("/health", "health", lambda: "ok")
    server = stack.http_server("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        slow = socket.create_connection(("127.0.0.1", server.server_port))
        slow.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        slow.settimeout(10)
        assert slow.recv(1024) == b""  # closed by the server after its time-out
        with socket.create_connection(("127.0.0.1", server.server_port)) as fine:
            fine.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            fine.settimeout(10)
            assert fine.recv(1024).startswith(b"HTTP/1.1 200")
    finally:
        server.shutdown()
        server.server_close()
