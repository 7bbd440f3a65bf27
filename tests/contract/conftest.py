"""Every contract test that talks to an API server runs once per storage engine: SQLite (a file per server) and a real
PostgreSQL (one cluster for the session, a fresh database per module). SIGNALCRAFT_TEST_ENGINES=sqlite narrows it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import httpx
import pytest
from tests.support.api_server import ApiServer, running_api_server
from tests.support.postgres import PostgresCluster, running_postgres

ENGINES = [name for name in os.environ.get("SIGNALCRAFT_TEST_ENGINES", "sqlite,postgresql").split(",") if name]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    with running_postgres() as cluster:
        yield cluster


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def new_database(engine: str, request: pytest.FixtureRequest) -> Callable[[], str | None]:
    """A fresh database for one more server of this module's engine: a PostgreSQL URL, or None (SQLite, a new file)."""
    if engine == "sqlite":
        return lambda: None
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.create_database


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, new_database: Callable[[], str | None]) -> Iterator[ApiServer]:
    with running_api_server(tmp_path_factory.mktemp("api"), database_url=new_database()) as server:
        yield server


@pytest.fixture
def admin(api: ApiServer) -> Iterator[httpx.Client]:
    with api.client() as client:
        yield client
