"""SignalCraft from Kubernetes: operator, ingestion webhook, API v1 reference server and local control plane."""

__version__ = "0.1.0"
