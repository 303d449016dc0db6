"""What the deploy tests share: the tools the Helm chart is checked with."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tools() -> Path:
    """.tools/ with helm, KEDA's CRD and Strimzi's model (scripts/install-deploy-tools; quick
    when they are there)."""
    subprocess.run([ROOT / "scripts" / "install-deploy-tools"], check=True)
    return ROOT / ".tools"
