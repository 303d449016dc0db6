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

import hashlib
import json
import logging
import os
import re
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Response, current_app, jsonify, request

from analyzer.errors import SpecError
from analyzer.experiments import catalog
from analyzer.experiments.assignment import served
from analyzer.experiments.definition import Experiment, parse_experiment
from collector.keys import SERVER, Source
from collector.writekey import Refused, admit
from core.web import json_error
from storage.store import Store

log = logging.getLogger(__name__)

_FILE = re.compile(r"^public-segments-(\d+)-(\d+)\.sqlite3\Z")
MAX_ID_CHARS = 200
EXPERIMENTS_FILE = "experiments.json"


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
        # running and scheduled experiments, as last read (kept in a file for restarts)
        self.experiments: list[Experiment] = []
        self.experiments_text = ""
        folder.mkdir(parents=True, exist_ok=True)
        kept = folder / EXPERIMENTS_FILE
        if kept.is_file():
            self._adopt_experiments(kept.read_text())
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

    def _adopt_experiments(self, text: str) -> None:
        """Experiments from their canonical JSON (key -> definition); one that no longer
        reads (written by a newer Journey) is left out rather than stopping the others."""
        found = []
        for key, definition in json.loads(text or "{}").items():
            try:
                found.append(parse_experiment(definition, key))
            except SpecError as exc:
                log.warning("personalization: experiment %s left out: %s", key, exc)
        with self._read:
            self.experiments, self.experiments_text = found, text

    def refresh_experiments(self) -> bool:
        """Read the experiments' latest versions; True if they changed."""
        if self.store is None:
            return False
        from storage import versioned

        latest = versioned.latest(self.store, catalog.TABLE)
        text = json.dumps(
            {k: json.loads(v.text) for k, v in sorted(latest.items())}, sort_keys=True
        )
        if text == self.experiments_text:
            return False
        kept = self.folder / EXPERIMENTS_FILE
        partial = kept.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(text)
        partial.replace(kept)
        self._adopt_experiments(text)
        log.info("personalization: %s experiments", len(self.experiments))
        return True

    @property
    def tag(self) -> str:
        """What the answers depend on: the segments' version and the experiments read."""
        digest = hashlib.sha256(self.experiments_text.encode()).hexdigest()[:12]
        return f"{self.version}-{digest}"

    def refresh(self) -> bool:
        """Copy the store's newest version if it differs from ours; True if it did."""
        if self.store is None:
            return False
        from analyzer.experiments.published import exposures
        from analyzer.segments.public import latest_version, visitors

        self.refresh_experiments()
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
                db.execute(
                    "CREATE TABLE exposed (anonymous_id TEXT, experiment TEXT, variant TEXT, "
                    "PRIMARY KEY (anonymous_id, experiment)) WITHOUT ROWID"
                )
                db.executemany(
                    "INSERT OR REPLACE INTO exposed VALUES (?, ?, ?)",
                    exposures(self.store, version),
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

    def exposed(self, anonymous_id: str) -> dict[str, str]:
        """The variants the visitor's person was first shown, by experiment (any device)."""
        with self._read:
            if self._conn is None or not self.experiments:  # nothing to ask: no read
                return {}
            try:
                rows = self._conn.execute(
                    "SELECT experiment, variant FROM exposed WHERE anonymous_id = ?",
                    (anonymous_id,),
                ).fetchall()
            except sqlite3.OperationalError:  # a copy made before exposures were published
                return {}
        return {str(e): str(v) for e, v in rows}

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


def _identified(allow_user: bool) -> tuple[Source, str, str] | Response:
    """The request's source, and the visitor's anonymous id or (``allow_user``, with a server
    key) user id; an error answer otherwise."""
    auth = request.authorization
    key = auth.username if auth is not None and auth.type == "basic" else None
    try:
        found = admit(key or request.args.get("writeKey", ""))
    except Refused as exc:
        return _error(exc.status, exc.reason)
    visitor = request.args.get("anonymousId", "")
    user = request.args.get("userId", "") if allow_user else ""
    if user and found.kind != SERVER:
        return _error(
            403, "userId: only a server write key may ask by user id (ids that can be guessed)"
        )
    for name, value in (("anonymousId", visitor), ("userId", user)):
        if len(value) > MAX_ID_CHARS or "\x00" in value:
            return _error(400, f"{name}: 1 to {MAX_ID_CHARS} characters")
    if not visitor and not user:
        wanted = "anonymousId or userId" if allow_user else "anonymousId"
        return _error(400, f"{wanted}: the visitor's anonymous id, 1 to {MAX_ID_CHARS} characters")
    return found, visitor, user


def _answer(cache: PublicSegments, body: dict[str, Any]) -> Response:
    etag = cache.tag
    response = Response(status=304) if request.if_none_match.contains(etag) else jsonify(body)
    response.set_etag(etag)
    # The browser may keep the answer, but asks again (cheaply) whether a refresh changed it.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Origin"
    return response


def segments() -> Response:
    """``GET /v1/segments?anonymousId=...&writeKey=...`` (or the key as the HTTP Basic user
    name), served by the tracking API's blueprint (its rate limit and CORS apply): the
    visitor's public segments, and the experiments meant for them with their variant and
    content (analyzer.experiments.assignment)."""
    asked = _identified(allow_user=False)
    if isinstance(asked, Response):
        return asked
    found, visitor, _ = asked
    cache: PublicSegments | None = current_app.extensions.get("journey.public_segments")
    answer = cache.lookup(found.name, visitor) if cache is not None else None
    if cache is None or (answer is None and not cache.experiments):
        return _error(503, "personalization is not available yet: no segments published")
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "segments": answer or [],
        "version": cache.version,
        "experiments": served(
            cache.experiments, visitor, answer or [], now, cache.exposed(visitor)
        ),
    }
    return _answer(cache, body)


def experiments() -> Response:
    """``GET /v1/experiments?anonymousId=...`` (or ``userId=...`` with a server write key):
    the experiments meant for the visitor, with their variant and content, for a server that
    renders the page. The variant is the same the website gets for the same id; by user id,
    only experiments for everyone (segments are known by anonymous id)."""
    asked = _identified(allow_user=True)
    if isinstance(asked, Response):
        return asked
    found, visitor, user = asked
    cache: PublicSegments | None = current_app.extensions.get("journey.public_segments")
    if cache is None:
        return _error(503, "personalization is not available: no store to read experiments from")
    member = (cache.lookup(found.name, visitor) or []) if visitor else []
    shown = cache.exposed(visitor) if visitor else {}
    now = datetime.now(UTC)
    body = {"experiments": served(cache.experiments, visitor or user, member, now, shown)}
    return _answer(cache, body)
