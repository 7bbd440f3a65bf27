from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.kube import Cluster, cluster_session


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster_session(tmp_path_factory.mktemp("control-plane")) as running:
        yield running


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> str:
    """A fresh namespace per test (namespaces never finish deleting without a controller-manager, so none is reused)."""
    return cluster.create_namespace(request.node.name)
