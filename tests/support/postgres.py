"""A real PostgreSQL server for tests: Debian's postgresql 15 binaries, a throwaway cluster in a temp dir, a free
loopback port, the unix socket inside the temp dir, stopped by pid.

with running_postgres() as cluster:
    url = cluster.create_database()            # postgresql://signalcraft@127.0.0.1:<port>/<fresh name>

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user the Debian package
creates, and initdb/pg_ctl run as that user (runuser).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import free_port

BIN = Path(os.environ.get("SIGNALCRAFT_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "signalcraft"


def _as_owner(argv: Sequence[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)


@dataclass
class PostgresCluster:
    directory: Path
    port: int
    pid: int | None = None

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [str(BIN / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", self.url(database), "-c", sql],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return result.stdout

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def start(self) -> PostgresCluster:
        if not (BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL 15 is not installed ({BIN}): run `make tools` (tools/system-packages.sh)")
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        subprocess.run(
            _as_owner(
                [str(BIN / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.directory} "
            "-c max_connections=300 -c shared_buffers=64MB"
        )
        subprocess.run(
            _as_owner(
                [
                    str(BIN / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.directory / "postgres.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=90,
        )
        self.pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        return self

    def stop(self) -> None:
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGINT)  # "fast" shutdown: roll back open sessions, then exit
        except ProcessLookupError:
            self.pid = None
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(self.pid, signal.SIGKILL)
        self.pid = None


@contextmanager
def running_postgres() -> Iterator[PostgresCluster]:
    # Not under pytest's tmp dirs: those are 0700 root, and the server runs as another user.
    directory = Path(tempfile.mkdtemp(prefix="signalcraft-pg-"))
    cluster = PostgresCluster(directory, free_port())
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)
