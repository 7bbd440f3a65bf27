"""Prometheus metrics of the in-cluster webhook."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass
class WebhookMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.received = Counter(
            "signalcraft_webhook_received", "Requests accepted into the spool", ["source"], registry=r
        )
        self.received_alerts = Counter(
            "signalcraft_webhook_received_alerts", "Alert events accepted into the spool", ["source"], registry=r
        )
        self.rejected = Counter("signalcraft_webhook_rejected", "Requests refused, by reason", ["reason"], registry=r)
        self.spool_depth = Gauge("signalcraft_webhook_spool_depth", "Entries waiting for delivery", registry=r)
        self.oldest_age = Gauge(
            "signalcraft_webhook_spool_oldest_seconds", "Age of the oldest waiting entry", registry=r
        )
        self.spool_transactions = Gauge(
            "signalcraft_webhook_spool_transactions",
            "Transactions (fsyncs) that stored entries since start; group commit keeps this below the entries stored",
            registry=r,
        )
        self.delivered = Counter("signalcraft_webhook_delivered", "Entries the API accepted", registry=r)
        self.delivered_alerts = Counter(
            "signalcraft_webhook_delivered_alerts", "Alert events in the entries the API accepted", registry=r
        )
        self.delivery_requests = Counter(
            "signalcraft_webhook_delivery_requests",
            "POST /v1/alert-events requests the API accepted (delivered / this = entries merged per request)",
            registry=r,
        )
        self.dead_lettered = Counter(
            "signalcraft_webhook_dead_lettered",
            "Entries the API refused for good, moved to the dead letters",
            registry=r,
        )
        self.dead_letters = Gauge(
            "signalcraft_webhook_dead_letters",
            "Dead letters waiting for a person (signalcraft webhook dead-letters list|retry)",
            registry=r,
        )
        self.spool_bytes = Gauge("signalcraft_webhook_spool_bytes", "Bytes of the entries waiting", registry=r)
        self.task_restarts = Counter(
            "signalcraft_webhook_task_restarts",
            "Background tasks restarted after an unexpected exception",
            ["task"],
            registry=r,
        )
        self.delivery_failures = Counter(
            "signalcraft_webhook_delivery_failures", "Failed delivery attempts, by kind", ["kind"], registry=r
        )
