"""Schema versions, numbered the same for both engines: migration N of SQLite and migration N of PostgreSQL make the
same tables, columns and indexes in each engine's own DDL. A database records the last one it ran (SQLite:
`PRAGMA user_version`; PostgreSQL: the `schema_version` table) and runs the rest at start.

JSON columns are text in both engines, so what a client wrote comes back byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence

SQLITE: Sequence[str] = (
    # 1: service accounts, API keys, configurable resources, idempotency records
    """
    CREATE TABLE service_accounts (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY, service_account_id TEXT NOT NULL REFERENCES service_accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL DEFAULT '', lookup TEXT NOT NULL UNIQUE, hash TEXT NOT NULL, scopes TEXT NOT NULL,
        created_at TEXT NOT NULL, expires_at TEXT, revoked_at TEXT
    );
    CREATE TABLE resources (
        collection TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL UNIQUE,
        display_name TEXT, description TEXT, labels TEXT NOT NULL, manager TEXT, spec TEXT NOT NULL,
        status TEXT NOT NULL, secrets TEXT NOT NULL DEFAULT '{}', version INTEGER NOT NULL,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        manager_identity TEXT GENERATED ALWAYS AS (json_extract(manager, '$.identity')) VIRTUAL,
        PRIMARY KEY (collection, name)
    );
    CREATE INDEX resources_manager ON resources (collection, manager_identity);
    CREATE TABLE idempotency (
        principal TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, state TEXT NOT NULL,
        status INTEGER, headers TEXT, body BLOB, created_at REAL NOT NULL,
        PRIMARY KEY (principal, key)
    );
    """,
    # 2: alert groups and their alerts
    """
    CREATE TABLE alert_groups (
        id TEXT PRIMARY KEY, integration TEXT NOT NULL, group_key TEXT NOT NULL, status TEXT NOT NULL,
        severity TEXT NOT NULL, summary TEXT NOT NULL, source TEXT NOT NULL, alert_policy TEXT,
        escalation_policy TEXT, alert_count INTEGER NOT NULL DEFAULT 0, truncated_alerts INTEGER NOT NULL DEFAULT 0,
        ticket TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, resolved_at TEXT,
        UNIQUE (integration, group_key)
    );
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY, group_id TEXT NOT NULL REFERENCES alert_groups(id) ON DELETE CASCADE,
        dedup_key TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL, summary TEXT NOT NULL,
        details TEXT NOT NULL, labels TEXT NOT NULL, annotations TEXT NOT NULL, links TEXT NOT NULL,
        images TEXT NOT NULL, occurred_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        UNIQUE (group_id, dedup_key)
    );
    CREATE INDEX alert_groups_updated ON alert_groups (updated_at);
    """,
    # 3: outbound ticket work (Jira, ServiceNow), durable so an outage delays tickets but never loses them
    """
    CREATE TABLE ticket_jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, group_id TEXT NOT NULL, integration TEXT NOT NULL, action TEXT NOT NULL,
        dedupe TEXT UNIQUE, state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0, last_error TEXT, created_at REAL NOT NULL
    );
    CREATE INDEX ticket_jobs_due ON ticket_jobs (state, next_attempt_at);
    """,
    # 4: a group's state from a few index lookups instead of reading all its alerts on every event
    """
    CREATE INDEX alerts_group_state ON alerts (group_id, status, severity);
    """,
    # 5: sessions of people signed in to the UI (ids stored as SHA-256 only)
    """
    CREATE TABLE ui_sessions (
        id_hash TEXT PRIMARY KEY, person_id TEXT NOT NULL, csrf_token TEXT NOT NULL,
        created_at REAL NOT NULL, expires_at REAL NOT NULL
    );
    CREATE INDEX ui_sessions_person ON ui_sessions (person_id);
    """,
    # 6: routing keys and integration keys found by index (every Events API call looks one up)
    """
    CREATE INDEX resources_routing_key ON resources (json_extract(spec, '$.routing_key'))
        WHERE collection = 'alert-policies';
    CREATE INDEX resources_integration_key ON resources (json_extract(secrets, '$.integration_key'))
        WHERE collection = 'integrations';
    CREATE INDEX idempotency_created ON idempotency (created_at);
    """,
)

POSTGRES: Sequence[str] = (
    # 1: service accounts, API keys, configurable resources, idempotency records
    """
    CREATE TABLE service_accounts (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        service_account_id TEXT NOT NULL REFERENCES service_accounts(id) ON DELETE CASCADE
            DEFERRABLE INITIALLY IMMEDIATE,
        name TEXT NOT NULL DEFAULT '', lookup TEXT NOT NULL UNIQUE, hash TEXT NOT NULL, scopes TEXT NOT NULL,
        created_at TEXT NOT NULL, expires_at TEXT, revoked_at TEXT
    );
    CREATE TABLE resources (
        collection TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL UNIQUE,
        display_name TEXT, description TEXT, labels TEXT NOT NULL, manager TEXT, spec TEXT NOT NULL,
        status TEXT NOT NULL, secrets TEXT NOT NULL DEFAULT '{}', version INTEGER NOT NULL,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        manager_identity TEXT GENERATED ALWAYS AS (manager::jsonb ->> 'identity') STORED,
        PRIMARY KEY (collection, name)
    );
    CREATE INDEX resources_manager ON resources (collection, manager_identity);
    CREATE TABLE idempotency (
        principal TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, state TEXT NOT NULL,
        status INTEGER, headers TEXT, body BYTEA, created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (principal, key)
    );
    """,
    # 2: alert groups and their alerts
    """
    CREATE TABLE alert_groups (
        id TEXT PRIMARY KEY, integration TEXT NOT NULL, group_key TEXT NOT NULL, status TEXT NOT NULL,
        severity TEXT NOT NULL, summary TEXT NOT NULL, source TEXT NOT NULL, alert_policy TEXT,
        escalation_policy TEXT, alert_count INTEGER NOT NULL DEFAULT 0, truncated_alerts INTEGER NOT NULL DEFAULT 0,
        ticket TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, resolved_at TEXT,
        UNIQUE (integration, group_key)
    );
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES alert_groups(id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
        dedup_key TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL, summary TEXT NOT NULL,
        details TEXT NOT NULL, labels TEXT NOT NULL, annotations TEXT NOT NULL, links TEXT NOT NULL,
        images TEXT NOT NULL, occurred_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        UNIQUE (group_id, dedup_key)
    );
    CREATE INDEX alert_groups_updated ON alert_groups (updated_at);
    """,
    # 3: outbound ticket work (Jira, ServiceNow), durable so an outage delays tickets but never loses them
    """
    CREATE TABLE ticket_jobs (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, group_id TEXT NOT NULL, integration TEXT NOT NULL,
        action TEXT NOT NULL, dedupe TEXT UNIQUE, state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at DOUBLE PRECISION NOT NULL DEFAULT 0, last_error TEXT,
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX ticket_jobs_due ON ticket_jobs (state, next_attempt_at);
    """,
    # 4: a group's state from a few index lookups instead of reading all its alerts on every event
    """
    CREATE INDEX alerts_group_state ON alerts (group_id, status, severity);
    """,
    # 5: sessions of people signed in to the UI (ids stored as SHA-256 only)
    """
    CREATE TABLE ui_sessions (
        id_hash TEXT PRIMARY KEY, person_id TEXT NOT NULL, csrf_token TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX ui_sessions_person ON ui_sessions (person_id);
    """,
    # 6: routing keys and integration keys found by index (every Events API call looks one up)
    """
    CREATE INDEX resources_routing_key ON resources ((spec::jsonb ->> 'routing_key'))
        WHERE collection = 'alert-policies';
    CREATE INDEX resources_integration_key ON resources ((secrets::jsonb ->> 'integration_key'))
        WHERE collection = 'integrations';
    CREATE INDEX idempotency_created ON idempotency (created_at);
    """,
)

assert len(SQLITE) == len(POSTGRES), "both engines have every schema version"


def statements(script: str) -> list[str]:
    return [statement.strip() for statement in script.split(";") if statement.strip()]
