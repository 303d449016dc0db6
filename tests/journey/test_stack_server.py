"""`journey up`'s HTTP server closes a connection that stops sending, a half-sent request
included (it used to wait for the rest forever, a thread held per client), and holds no more
than a bounded number of threads however many clients connect."""

from __future__ import annotations

import socket
import threading
import time

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


def test_hundreds_of_idle_clients_hold_a_bounded_number_of_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """800 connections that send nothing once held 800 threads; now at most the bound, the
    rest closed at once, and the server answers again as soon as they go."""
    monkeypatch.setattr(stack._TimedHandler, "timeout", 30.0)
    app = Flask(__name__)
    app.add_url_rule("/health", "health", lambda: "ok")
    server = stack.http_server("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", server.server_port)) for _ in range(200)]
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and threading.active_count() - before < 128:
            time.sleep(0.05)
        time.sleep(0.5)  # any more threads there were going to be
        assert threading.active_count() - before <= stack._StackServer.max_threads
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 10
    while True:  # the idle ones' threads see their connections close and end
        try:
            with socket.create_connection(("127.0.0.1", server.server_port)) as fine:
                fine.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                fine.settimeout(10)
                if fine.recv(1024).startswith(b"HTTP/1.1 200"):
                    break
        except OSError:
            pass
        assert time.monotonic() < deadline, "the server did not answer again"
        time.sleep(0.1)
    server.shutdown()
    server.server_close()
