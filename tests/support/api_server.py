"""The real API server as a process: a fresh SQLite file, a bootstrapped admin key, a free loopback port.

with running_api_server(tmp_path) as api:            # api.url, api.admin_key, api.db_path, api.process
    key = api.create_key("operator", ["escalation_policies:manage", "alert_policies:manage"])
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tests.support.processes import Program, free_port, wait_until


@dataclass
class ApiServer:
    db_path: Path
    port: int
    admin_key: str
    workdir: Path
    extra_args: Sequence[str] = ()
    program: Program | None = field(default=None)

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
        argv = ["api", "--db", str(self.db_path), "--host", "127.0.0.1", "--port", str(self.port), *self.extra_args]
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


def bootstrap(db_path: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "signalcraft", "api", "bootstrap", "--db", str(db_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


@contextmanager
def running_api_server(workdir: Path, extra_args: Sequence[str] = (), *, directory: bool = True) -> Iterator[ApiServer]:
    """`signalcraft api` on a free loopback port with a fresh database in `workdir`; stopped on exit.

    `extra_args` go to the command line, e.g. ["--rate-limit", "5"]; `directory` seeds the users and the schedule
    that the samples' references name (see `seed_directory`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "signalcraft.db"
    server = ApiServer(db_path, free_port(), bootstrap(db_path), workdir, extra_args).start()
    if directory:
        seed_directory(server)
    try:
        yield server
    finally:
        server.stop()
