"""kopf controllers: one module per kind, one reconcile engine, thin handlers."""
