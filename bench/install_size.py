"""The installed size of Journey as the production image installs it (deploy/Dockerfile: no
extras) and with the local default's `embedded` extra, each in a fresh virtual environment
built from exactly the files the Dockerfile copies, at the versions of constraints.txt.

    .venv/bin/python bench/install_size.py

Prints each environment's size on disk and the distributions the extra adds, largest first,
then runs `journey --help` in the production one (it must work without the extra)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def context(into: Path) -> Path:
    """The build context the Dockerfile's first stage copies: its COPY sources, nothing else."""
    stage = (ROOT / "deploy" / "Dockerfile").read_text().split("\nFROM ")[1]  # the build stage
    into.mkdir()
    for line in re.findall(r"^COPY (?!--)(.+)$", stage, re.M):
        *sources, _ = line.split()
        for source in sources:
            path = ROOT / source
            target = into / source
            if path.is_dir():
                shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(path, target)
    return into


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def install(venv: Path, target: str) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--no-compile"]
    subprocess.run([*pip, "-c", str(ROOT / "constraints.txt"), target], check=True)
    (lib,) = venv.glob("lib/python*/site-packages")
    return lib


def sizes_by_distribution(lib: Path) -> dict[str, int]:
    found = {}
    for dist in distributions(path=[str(lib)]):
        files = [lib / f for f in dist.files or []]
        found[dist.metadata["Name"].lower()] = sum(f.stat().st_size for f in files if f.is_file())
    return found


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = context(Path(tmp) / "src")
        slim = install(Path(tmp) / "slim", str(src))
        full = install(Path(tmp) / "full", f"{src}[embedded]")
        mb = 1024 * 1024
        slim_size, full_size = size(slim), size(full)
        print(f"production install (deploy/Dockerfile, no extras): {slim_size / mb:,.0f} MB")
        print(f"with the embedded extra (the local default):       {full_size / mb:,.0f} MB")
        print(f"the extra adds {(full_size - slim_size) / mb:,.0f} MB:")
        before, after = sizes_by_distribution(slim), sizes_by_distribution(full)
        added = sorted(((after[n], n) for n in after if n not in before), reverse=True)
        for bytes_, name in added:
            print(f"  {name:<16} {bytes_ / mb:>7,.1f} MB")
        done = subprocess.run(
            [str(Path(tmp) / "slim" / "bin" / "journey"), "--help"], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        print("`journey --help` runs in the production install")


if __name__ == "__main__":
    main()
