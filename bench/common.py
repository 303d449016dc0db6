"""Shared pieces of the benchmarks: services on loopback, processes, and printing figures."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from core.processes import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent


def env_for(settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEY_")}
    env.update(settings)
    env["PYTHONPATH"] = str(ROOT)
    return env


def start_gunicorn(
    app: str, env: dict[str, str], workers: int = 2, threads: int = 8
) -> tuple[subprocess.Popen[bytes], int]:
    """A gunicorn server for ``module:factory()``; the same settings for every app measured."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-k",
            "gthread",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(port, 60, app)
    return proc, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def data_dir() -> str:
    return tempfile.mkdtemp(prefix="journey-bench-")


def figure(name: str, value: float, unit: str, note: str = "") -> None:
    shown = f"{value:>12.2f}" if unit == "" else f"{value:>12,.1f}"  # ratios keep two decimals
    print(f"  {name:<58} {shown} {unit:<10} {note}", flush=True)
