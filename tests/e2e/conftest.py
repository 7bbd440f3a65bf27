from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.kube import Cluster, cluster_session

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster_session(tmp_path_factory.mktemp("control-plane")) as running:
        yield running


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> str:
    """A fresh namespace per test (namespaces never finish deleting without a controller-manager, so none is reused)."""
    return cluster.create_namespace(request.node.name)


@pytest.fixture(scope="session")
def crds(cluster: Cluster) -> Cluster:
    """The SignalCraft CRDs from crds/, installed and Established."""
    cluster.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(REPO / "crds"))
    return cluster
