"""The operator as a real process against a real API server and a real kube-apiserver."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from tests.support.kube import Cluster
from tests.support.processes import Program, free_port, wait_until


@dataclass
class OperatorProcess:
    program: Program
    health_port: int
    metrics_port: int

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def counter(self, name: str, **labels: str) -> float:
        """Sum of a counter's samples whose labels include `labels`."""
        return sum(
            value
            for (sample, sample_labels), value in self.metrics().items()
            if sample == f"{name}_total" and set(labels.items()) <= set(sample_labels)
        )

    def healthy(self) -> bool:
        return httpx.get(f"http://127.0.0.1:{self.health_port}/healthz", timeout=5).status_code == 200


def start_operator(
    cluster: Cluster,
    api_url: str,
    api_key: str,
    workdir: Path,
    *,
    cluster_id: str | None = None,
    namespaces: Sequence[str] = (),
    drift_interval: float = 300.0,
    worker_limit: int | None = None,
    name: str = "operator",
    kubeconfig: Path | None = None,
    extra_args: Sequence[str] = (),
) -> OperatorProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    key_file = workdir / f"{name}.key"
    key_file.write_text(api_key)
    key_file.chmod(0o600)
    health_port, metrics_port = free_port(), free_port()
    argv = [
        "operator",
        "--api-url",
        api_url,
        "--api-key-file",
        str(key_file),
        "--health-port",
        str(health_port),
        "--metrics-port",
        str(metrics_port),
        "--drift-interval",
        str(drift_interval),
    ]
    if worker_limit is not None:
        argv += ["--worker-limit", str(worker_limit)]
    if cluster_id:
        argv += ["--cluster-id", cluster_id]
    for namespace in namespaces:
        argv += ["--namespace", namespace]
    argv += list(extra_args)
    env = {"KUBECONFIG": str(kubeconfig or cluster.kubeconfig)}
    program = Program(argv, workdir / f"{name}.log", env=env).start()
    running = OperatorProcess(program, health_port, metrics_port)

    def ready() -> bool:
        assert program.running, f"the operator exited:\n{program.log()[-4000:]}"
        return running.healthy()

    wait_until(ready, timeout=60, what="the operator's health endpoint")
    return running


@contextmanager
def running_operator(
    cluster: Cluster, api_url: str, api_key: str, workdir: Path, **options: object
) -> Iterator[OperatorProcess]:
    running = start_operator(cluster, api_url, api_key, workdir, **options)  # type: ignore[arg-type]
    try:
        yield running
    finally:
        running.program.stop()
