"""Prometheus metrics of the operator, served on its metrics port."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class OperatorMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.reconciles = Counter(
            "signalcraft_operator_reconciles",
            "Reconcile passes",
            ["kind", "mode", "result"],
            registry=r,
        )
        self.reconcile_seconds = Histogram(
            "signalcraft_operator_reconcile_seconds", "Duration of one reconcile pass", ["kind"], registry=r
        )
        self.api_calls = Counter(
            "signalcraft_operator_api_calls",
            "SignalCraft API calls by kind, operation and outcome",
            ["kind", "operation", "outcome"],
            registry=r,
        )
        self.api_latency = Histogram(
            "signalcraft_operator_api_call_seconds", "SignalCraft API call latency", ["operation"], registry=r
        )
        self.kube_writes = Counter(
            "signalcraft_operator_kubernetes_writes",
            "Kubernetes writes by the operator",
            ["what"],
            registry=r,
        )
        self.drift_found = Counter(
            "signalcraft_operator_drift_found",
            "Out-of-band changes found",
            ["kind"],
            registry=r,
        )
        self.in_flight = Gauge(
            "signalcraft_operator_reconciles_in_flight",
            "Reconciles running now (queue depth)",
            registry=r,
        )
        self.drift_passes = Counter(
            "signalcraft_operator_drift_passes", "Completed drift passes over every object", registry=r
        )
        self.drift_pass_seconds = Gauge(
            "signalcraft_operator_drift_pass_seconds", "Duration of the last completed drift pass", registry=r
        )
        self.drift_pass_completed = Gauge(
            "signalcraft_operator_drift_pass_completed_timestamp", "Unix time the last drift pass ended", registry=r
        )
        self.last_watch_event = Gauge(
            "signalcraft_operator_last_watch_event_timestamp", "Unix time of the last watch event seen", registry=r
        )
