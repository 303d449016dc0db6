"""Scheduled work inside a long-running process (`journey up`): every few seconds each job
looks for what is due and does it. A job that fails is logged and tried again next time; it
never stops the others or the process.

Jobs: refresh the segments whose ``refresh`` schedule is due; evaluate the alert rules whose
``every`` has passed (and notify); apply the data retention policy at start and daily. Each
job answers with a
line to log when it did something, or None when nothing was due.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.settings import Settings
from storage.store import Store

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    run: Callable[[], str | None]


class Scheduler:
    def __init__(self, jobs: list[Job], every_seconds: float) -> None:
        self.jobs = jobs
        self.every_seconds = every_seconds
        self._stop = threading.Event()
        self.runs = 0  # ticks completed, for tests and status
        self.failing: dict[str, str] = {}  # job -> why its last run failed

    def readiness(self) -> tuple[bool, str]:
        """Ready while no job's last run failed (the store unreachable, say)."""
        if self.failing:
            name, why = next(iter(self.failing.items()))
            return False, f"not ready: {name} failed: {why}"
        return True, "ready"

    def tick(self) -> list[str]:
        """Run every job once; what they did."""
        done = []
        for job in self.jobs:
            try:
                line = job.run()
                self.failing.pop(job.name, None)
            except Exception as exc:  # a failing job must not stop the others
                log.exception("scheduled job %s failed; it runs again next time", job.name)
                self.failing[job.name] = str(exc)[:300]
                continue
            if line:
                log.info("%s: %s", job.name, line)
                done.append(f"{job.name}: {line}")
        self.runs += 1
        return done

    def run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.every_seconds)

    def stop(self) -> None:
        self._stop.set()


def segment_refreshes(store: Store) -> Job:
    """Refresh the segments whose schedule (``refresh: 1d`` in their definition) is due."""
    from analyzer.segments.refresh import due, refresh

    def run() -> str | None:
        names = due(store)
        if not names:
            return None
        report = refresh(store, names)
        failed = f", failed: {report.errors}" if report.errors else ""
        return f"refreshed {', '.join(names)} for {report.base:,} people{failed}"

    return Job("segments", run)


def alert_checks(store: Store, settings: Settings) -> Job:
    """Evaluate the alert rules that are due, and notify."""
    from alerts.channels import Channels
    from alerts.engine import Engine

    engine = Engine(store, Channels(settings))

    def run() -> str | None:
        names = engine.due()
        if not names:
            return None
        evaluations = engine.check(names)
        notices = sum(1 for e in evaluations for s in e.scopes if s.step.notice)
        failed = [e.rule for e in evaluations if e.error]
        return f"evaluated {', '.join(names)}: {notices} notice(s)" + (
            f", could not evaluate {', '.join(failed)}" if failed else ""
        )

    return Job("alerts", run)


EXPIRY_EVERY_S = 86_400.0


def data_expiry(store: Store, settings: Settings, every_s: float = EXPIRY_EVERY_S) -> Job:
    """Delete the events older than JOURNEY_DATA_RETENTION_DAYS (privacy.expiry): at the first
    tick, then once a day."""
    from privacy.expiry import expire

    last = [float("-inf")]

    def run() -> str | None:
        if settings.data_retention_days <= 0 or time.monotonic() - last[0] < every_s:
            return None
        done = expire(store, settings.data_retention_days)
        last[0] = time.monotonic()
        return (
            f"deleted {done.rows_deleted:,} events before {done.horizon:%Y-%m-%d %H:%M} UTC "
            f"({len(done.partitions_dropped)} months dropped)"
        )

    return Job("data retention", run)
