"""The real API server as a process: a fresh database (an SQLite file, or a PostgreSQL database when a URL is given), a
bootstrapped admin key, a free loopback port.

with running_api_server(tmp_path) as api:            # api.url, api.admin_key, api.db_path, api.process
    key = api.create_key("operator", ["escalation_policies:manage", "alert_policies:manage"])
    rows = api.query("SELECT hash FROM api_keys")     # straight from the database, either engine
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from tests.support.postgres import BIN
from tests.support.processes import Program, free_port, wait_until

from signalcraft.server.storage.postgres import WRITE_LOCK


@dataclass
class ApiServer:
    db_path: Path
    port: int
    admin_key: str
    workdir: Path
    extra_args: Sequence[str] = ()
    program: Program | None = field(default=None)
    database_url: str | None = None
    """PostgreSQL instead of the SQLite file `db_path`."""

    @property
    def engine(self) -> str:
        return "postgresql" if self.database_url else "sqlite"

    @property
    def storage_args(self) -> list[str]:
        return ["--database-url", self.database_url] if self.database_url else ["--db", str(self.db_path)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def process(self) -> subprocess.Popen[bytes]:
        process = self.program.process if self.program is not None else None
        assert process is not None, "the API server was not started"
        return process

    def start(self) -> ApiServer:
        """Start (or restart, same port and database) and wait until it answers."""
        argv = ["api", *self.storage_args, "--host", "127.0.0.1", "--port", str(self.port), *self.extra_args]
        self.program = Program(argv, self.workdir / "api.log").start()

        def healthy() -> bool:
            assert self.program is not None
            assert self.program.running, f"the API server exited:\n{self.program.log()[-4000:]}"
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200

        wait_until(healthy, timeout=30, what="the API server")
        return self

    def stop(self) -> None:
        if self.program is not None:
            self.program.stop()

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key or self.admin_key}"}, timeout=10)

    def create_key(self, account: str, scopes: Sequence[str], **options: str) -> str:
        """A key with exactly `scopes` for service account `account` (created if missing); `options`: name,
        expires_at ("2030-01-01T00:00:00Z")."""
        with self.client() as http:
            created = http.post("/v1/service-accounts", json={"name": account})
            assert created.status_code in {201, 409}, created.text
            response = http.post(f"/v1/service-accounts/{account}/api-keys", json={"scopes": list(scopes), **options})
            response.raise_for_status()
            key: str = response.json()["key"]
            return key

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of one SQL statement, read straight from the server's database (`?` placeholders are not used)."""
        if self.database_url is None:
            with sqlite3.connect(self.db_path) as db:
                return list(db.execute(sql))
        url = self.database_url

        async def fetch() -> list[tuple[Any, ...]]:
            connection = await asyncpg.connect(url)
            try:
                return [tuple(row.values()) for row in await connection.fetch(sql)]
            finally:
                await connection.close()

        return _in_thread(fetch)

    def write_lock(self) -> WriteLock:
        """Another client holding the database's write lock, as a second process would."""
        return WriteLock(self)


class WriteLock:
    """Holds the write lock of an API server's database from outside the server: SQLite's (BEGIN IMMEDIATE) or the
    PostgreSQL advisory lock every exclusive write transaction takes. `release()` may be called from another thread."""

    def __init__(self, api: ApiServer) -> None:
        self.api = api
        self._sqlite: sqlite3.Connection | None = None
        self._psql: subprocess.Popen[str] | None = None

    def acquire(self) -> WriteLock:
        if self.api.database_url is None:
            self._sqlite = sqlite3.connect(self.api.db_path, isolation_level=None, check_same_thread=False)
            self._sqlite.execute("BEGIN IMMEDIATE")
            return self
        self._psql = subprocess.Popen(
            [str(BIN / "psql"), "-X", "-At", "-d", self.api.database_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._psql.stdin is not None
        assert self._psql.stdout is not None
        self._psql.stdin.write(f"SELECT 'locked' FROM pg_advisory_lock({WRITE_LOCK});\n")
        self._psql.stdin.flush()
        assert self._psql.stdout.readline().strip() == "locked"
        return self

    def release(self) -> None:
        if self._sqlite is not None:
            self._sqlite.execute("ROLLBACK")
            self._sqlite.close()
            self._sqlite = None
        if self._psql is not None:
            assert self._psql.stdin is not None
            self._psql.stdin.write("\\q\n")
            self._psql.stdin.close()
            self._psql.wait(10)
            if self._psql.stdout is not None:
                self._psql.stdout.close()
            self._psql = None

    def __enter__(self) -> WriteLock:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


def _in_thread(work: Any) -> Any:
    """Run a coroutine function on its own event loop in another thread (tests may already run a loop)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = asyncio.run(work())
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


DIRECTORY_USERS = ("alice", "bob", "a", "b", "db-lead")
"""People the tests' escalation targets, team members and schedule layers name (references must exist)."""
DIRECTORY_SCHEDULE = {
    "layers": [
        {"name": "weekly", "start": "2026-01-05T09:00:00Z", "rotation_turn_length_seconds": 604800, "users": ["alice"]}
    ]
}


def seed_directory(server: ApiServer) -> None:
    """The on-call directory the samples refer to: users (alice, db-lead, ...), the schedule `db-primary` and the
    team `sre`."""
    with server.client() as http:
        for user in DIRECTORY_USERS:
            body = {"display_name": user, "spec": {"email": f"{user}@example.com"}}
            http.put(f"/v1/users/{user}", json=body).raise_for_status()
        http.put("/v1/schedules/db-primary", json={"spec": DIRECTORY_SCHEDULE}).raise_for_status()
        http.put("/v1/teams/sre", json={"spec": {"members": [{"user": "alice"}]}}).raise_for_status()


def bootstrap(db_path: Path, database_url: str | None = None) -> str:
    storage = ["--database-url", database_url] if database_url else ["--db", str(db_path)]
    result = subprocess.run(
        [sys.executable, "-m", "signalcraft", "api", "bootstrap", *storage],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


@contextmanager
def running_api_server(
    workdir: Path, extra_args: Sequence[str] = (), *, directory: bool = True, database_url: str | None = None
) -> Iterator[ApiServer]:
    """`signalcraft api` on a free loopback port with a fresh database (in `workdir`, or the empty PostgreSQL database
    at `database_url`); stopped on exit.

    `extra_args` go to the command line, e.g. ["--rate-limit", "5"]; `directory` seeds the users and the schedule
    that the samples' references name (see `seed_directory`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "signalcraft.db"
    key = bootstrap(db_path, database_url)
    server = ApiServer(db_path, free_port(), key, workdir, extra_args, database_url=database_url).start()
    if directory:
        seed_directory(server)
    try:
        yield server
    finally:
        server.stop()
