"""Personalization: ``GET /v1/segments`` tells the website which public segments the current
visitor is in, so a page can show each segment its own content (``journey.segments(cb)``).

Answers come from a local cache, never from a query per request: ``PublicSegments`` watches the
store for a new version of the ``public_segments`` table (analyzer.segments.public, written
after every segment refresh) and copies it into an SQLite file under
``JOURNEY_DATA_DIR/personalization``, swapped in whole when complete. A lookup is one indexed
read of that file; a collector that restarts while ClickHouse is down answers from the last file.

What a request may learn is limited three ways: it names the visitor by the anonymous id the
snippet keeps in the browser (a random value; user ids, which may be guessed, are not taken);
only segments whose definition says ``public`` are there; and only for visitors whose events
came through the same write key's source (a key of one site learns nothing of another's).
An unknown visitor gets an empty list, like a visitor in no segment, so nothing can be probed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

from flask import Response, current_app, jsonify, request

from collector.writekey import Refused, admit
from core.web import json_error
from storage.store import Store

log = logging.getLogger(__name__)

_FILE = re.compile(r"^public-segments-(\d+)-(\d+)\.sqlite3\Z")
MAX_ID_CHARS = 200


class PublicSegments:
    """The collector's copy of the newest public segments, kept current by ``poll``."""

    def __init__(self, store: Store | None, folder: Path, poll_seconds: float = 10.0) -> None:
        self.store = store
        self.folder = folder
        self.poll_seconds = poll_seconds
        self.version = 0
        self.visitors = 0
        self.path: Path | None = None
        # One read-only connection to the current copy, opened when it is adopted: it keeps
        # reading the file even after another process (a gunicorn worker) deletes it.
        self._conn: sqlite3.Connection | None = None
        self._read = threading.Lock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        folder.mkdir(parents=True, exist_ok=True)
        found = [(int(m[1]), int(m[2]), p) for p in folder.iterdir() if (m := _FILE.match(p.name))]
        if found:  # serve the last complete copy at once: the store may be down at start-up
            self._adopt(*max(found))

    def _adopt(self, version: int, visitors: int, path: Path) -> None:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        with self._read:
            previous, self._conn = self._conn, conn
            self.version, self.visitors, self.path = version, visitors, path
        if previous is not None:
            previous.close()

    def refresh(self) -> bool:
        """Copy the store's newest version if it differs from ours; True if it did."""
        if self.store is None:
            return False
        from analyzer.segments.public import latest_version, visitors

        with self._lock:
            version, count = latest_version(self.store)
            if (version, count) == (self.version, self.visitors) or not version:
                return False
            rows = visitors(self.store, version)
            path = self.folder / f"public-segments-{version}-{len(rows)}.sqlite3"
            partial = path.with_suffix(f".{os.getpid()}.partial")  # workers may copy at once
            partial.unlink(missing_ok=True)
            db = sqlite3.connect(partial)
            try:
                db.execute(
                    "CREATE TABLE visitors (source TEXT, anonymous_id TEXT, segments TEXT, "
                    "PRIMARY KEY (source, anonymous_id)) WITHOUT ROWID"
                )
                db.executemany(
                    "INSERT OR REPLACE INTO visitors VALUES (?, ?, ?)",
                    ((s, a, json.dumps(segs)) for s, a, segs in rows),
                )
                db.commit()
            finally:
                db.close()
            partial.replace(path)
            previous = self.path
            self._adopt(version, len(rows), path)
            if previous is not None and previous != path:
                previous.unlink(missing_ok=True)
            log.info("personalization: version %s, %s visitors", version, len(rows))
            return True

    def lookup(self, source: str, anonymous_id: str) -> list[str] | None:
        """The visitor's public segments ([] if none); None while there is no copy at all."""
        with self._read:
            if self._conn is None:
                return None
            row = self._conn.execute(
                "SELECT segments FROM visitors WHERE source = ? AND anonymous_id = ?",
                (source, anonymous_id),
            ).fetchone()
        return json.loads(row[0]) if row else []

    def poll(self) -> None:
        """Refresh every ``poll_seconds`` until ``stop``; a failing store is retried."""
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # the store is down: keep serving the copy we have
                log.warning("personalization: cannot refresh the cache: %s", exc)
            self._stop.wait(self.poll_seconds)

    def start(self) -> PublicSegments:
        self._thread = threading.Thread(target=self.poll, name="personalize", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


def _error(status: int, reason: str) -> Response:
    return json_error(status, reason, success=False)


def segments() -> Response:
    """``GET /v1/segments?anonymousId=...&writeKey=...`` (or the key as the HTTP Basic user
    name), served by the tracking API's blueprint (its rate limit and CORS apply)."""
    auth = request.authorization
    key = auth.username if auth is not None and auth.type == "basic" else None
    try:
        found = admit(key or request.args.get("writeKey", ""))
    except Refused as exc:
        return _error(exc.status, exc.reason)
    visitor = request.args.get("anonymousId", "")
    if not visitor or len(visitor) > MAX_ID_CHARS or "\x00" in visitor:
        return _error(
            400, f"anonymousId: the visitor's anonymous id, 1 to {MAX_ID_CHARS} characters"
        )
    cache: PublicSegments | None = current_app.extensions.get("journey.public_segments")
    answer = cache.lookup(found.name, visitor) if cache is not None else None
    if cache is None or answer is None:
        return _error(503, "personalization is not available yet: no segments published")
    etag = str(cache.version)
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        body: dict[str, Any] = {"segments": answer, "version": cache.version}
        response = jsonify(body)
    response.set_etag(etag)
    # The browser may keep the answer, but asks again (cheaply) whether a refresh changed it.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Origin"
    return response
