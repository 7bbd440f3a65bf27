"""Alert ingestion: source strategies, the normalized AlertEvent, the in-cluster webhook, spool and forwarder."""
