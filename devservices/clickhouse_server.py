"""A real ClickHouse server (Debian's clickhouse-server package) on a free loopback port, with
its data under a temporary folder. Used by the tests and the benchmarks."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from core.processes import free_port, terminate, wait_for_port

CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{root}/server.log</log><errorlog>{root}/error.log</errorlog></logger>
  <tcp_port>{tcp}</tcp_port>
  <http_port>{http}</http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{root}/data/</path>
  <tmp_path>{root}/tmp/</tmp_path>
  <user_files_path>{root}/user_files/</user_files_path>
  <format_schema_path>{root}/format_schemas/</format_schema_path>
  <users_config>{root}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
{extra}
</yandex>
"""
USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
"""


def binary() -> str:
    path = shutil.which("clickhouse-server") or shutil.which("clickhouse")
    if not path:
        raise RuntimeError(
            "clickhouse-server is not installed: run `apt-get install -y clickhouse-server` "
            "(scripts/install-services does it)"
        )
    return path


class LocalClickHouse:
    def __init__(self, root: Path | None = None, extra_config: str = "") -> None:
        self._owned = root is None
        self.extra_config = extra_config  # more elements of <yandex>: a cluster's members
        self.root = root or Path(tempfile.mkdtemp(prefix="journey-clickhouse-"))
        self.port = free_port()
        self.http_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.url_for("journey")

    def url_for(self, database: str) -> str:
        """JOURNEY_CLICKHOUSE_URL for ``database`` on this server."""
        return f"clickhouse://default:@127.0.0.1:{self.port}/{database}"

    def start(self) -> LocalClickHouse:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "config.xml").write_text(
            CONFIG.format(
                root=self.root, tcp=self.port, http=self.http_port, extra=self.extra_config
            )
        )
        (self.root / "users.xml").write_text(USERS)
        exe = binary()
        args = [exe, "server"] if exe.endswith("/clickhouse") else [exe]
        self.process = subprocess.Popen(
            [*args, f"--config-file={self.root / 'config.xml'}"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "stderr.log", "ab"),  # noqa: SIM115
        )
        try:
            wait_for_port(self.port, 60, "clickhouse-server")
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        terminate(self.process, 20)
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        if self._owned:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalClickHouse:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
