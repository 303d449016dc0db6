"""The snippet as the collector serves it: fresh build, size budget, caching headers."""

import gzip
import hashlib
import re
from pathlib import Path

from flask.testing import FlaskClient

from collector.app import create_app
from collector.snippet import SCRIPT
from core.settings import Settings
from tests.conftest import FakeSink

SOURCE = Path(__file__).resolve().parents[2] / "snippet" / "journey.js"


def test_the_served_build_is_made_from_the_current_source() -> None:
    header = SCRIPT.read_text().splitlines()[0]
    match = re.search(r"src-sha256:([0-9a-f]{64})", header)
    assert match, header
    assert match.group(1) == hashlib.sha256(SOURCE.read_bytes()).hexdigest(), (
        "snippet/journey.js changed: run scripts/build-snippet"
    )


def test_gzipped_script_is_under_3_kb() -> None:
    assert len(gzip.compress(SCRIPT.read_bytes(), 9)) < 3072


def test_served_gzipped_with_caching_headers(settings: Settings) -> None:
    client: FlaskClient = create_app(settings, sink=FakeSink()).test_client()
    r = client.get("/js/journey.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
    assert r.mimetype == "application/javascript"
    assert gzip.decompress(r.data) == SCRIPT.read_bytes()
    assert "max-age" in r.headers["Cache-Control"]
    again = client.get("/js/journey.js", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/js/journey.js").data == SCRIPT.read_bytes()
