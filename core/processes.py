"""Processes on loopback: a free port for a service about to start, waiting for it to open,
and stopping it. Used by the bundled broker (journey.broker) and the dev services."""

from __future__ import annotations

import fcntl
import random
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import IO

_GIVEN: dict[int, IO[str]] = {}  # port -> its lock file, held while this process lives
_LOWEST = 10_000


def _ephemeral_start() -> int:
    """Where the kernel starts handing out ports to outgoing connections."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def _reserve(port: int) -> bool:
    """Take ``port`` for this process's lifetime, against every other process that asks here:
    an exclusive lock on a file named for it (the kernel lets go when the process ends)."""
    folder = Path(tempfile.gettempdir()) / "journey-ports"
    folder.mkdir(exist_ok=True)
    lock = (folder / f"{port}.lock").open("a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return False
    _GIVEN[port] = lock
    return True


def free_port() -> int:
    """A loopback port nothing listens on, for a service about to start, and that no other
    process asking here was given: two test runs, or a test and the `journey up` it started,
    picking ports at the same moment never pick the same one (each port is reserved with a file
    lock before it is checked). Taken below the kernel's ephemeral range: between this check
    and the service's bind, an outgoing connection (Kafka clients open many) could otherwise be
    given the same port. Never the same port twice in one process."""
    top = max(_LOWEST + 1000, _ephemeral_start())
    for _ in range(500):
        port = random.randrange(_LOWEST, top)
        if port in _GIVEN or not _reserve(port):
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # kept reserved: something else listens there
        return port
    raise RuntimeError(f"no free loopback port between {_LOWEST} and {top}")


def wait_for_port(port: int, timeout: float, what: str) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not open 127.0.0.1:{port} within {timeout:.0f}s")


def terminate(process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """SIGTERM a service and wait for it; SIGKILL it if it is not gone within ``timeout``."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
