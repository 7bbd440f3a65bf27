from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.support.api_server import ApiServer, running_api_server


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with running_api_server(tmp_path_factory.mktemp("api")) as server:
        yield server


@pytest.fixture
def admin(api: ApiServer) -> Iterator[httpx.Client]:
    with api.client() as client:
        yield client
