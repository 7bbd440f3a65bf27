"""The SignalCraft API v1 reference server: FastAPI routes over SQLite, API-key auth, alert ingestion."""
