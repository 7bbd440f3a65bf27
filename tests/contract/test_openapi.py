"""The committed OpenAPI document is what the server serves, and schemathesis finds no 5xx or schema violation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from tests.support.api_server import ApiServer

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "config" / "openapi" / "signalcraft-v1.json"


def test_committed_document_matches_the_live_server(api: ApiServer) -> None:
    served = httpx.get(f"{api.url}/openapi.json").json()
    committed: dict[str, Any] = json.loads(COMMITTED.read_text())
    assert served == committed, (
        "config/openapi is stale: run `make openapi` (it also regenerates the Terraform provider's contract.json)"
    )


def test_schemathesis_finds_no_server_error_and_no_schema_violation(api: ApiServer) -> None:
    """Property-based: every operation, generated requests, every response checked against the document.

    Driven through schemathesis' Python API (its pytest plugin does not load with this pytest version).
    """
    loaded = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in loaded.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def exercise(case: Case) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {api.admin_key}"},
                # An opaque cursor the server did not issue, or text with a lone UTF-16 surrogate, is schema-valid
                # JSON but still refused (400): no JSON Schema can say "issued by this server" or "encodable".
                excluded_checks=[schemathesis.checks.positive_data_acceptance],
            )

        try:
            exercise()
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:800]}")
    assert operations >= 50, operations
    assert not failures, "\n\n".join(failures[:10])
