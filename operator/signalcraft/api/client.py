"""Async client of the SignalCraft API v1, used by the operator, the webhook's forwarder and the tests.

One pooled httpx client; transient failures (network, 5xx, 429, an idempotent request in flight) are retried with
exponential backoff and jitter, never sooner than the server's Retry-After; POSTs carry an Idempotency-Key so a retry
can never act twice. Error bodies (problem+json) become the exceptions in `signalcraft.api.errors`.
"""

from __future__ import annotations

import asyncio
import builtins
import random
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import TracebackType
from typing import Any, overload

import httpx
from pydantic import BaseModel

from signalcraft.api import errors
from signalcraft.api.accounts import ApiKey, CreatedApiKey, ServiceAccount
from signalcraft.api.alerts import Alert, AlertEvent, AlertEventsAccepted, AlertGroup, AlertStatus, EventAccepted
from signalcraft.api.collections import Collection, SpecT
from signalcraft.api.envelope import IntegrationConnection, Manager, PutResult, Resource, resource_model

MAX_BACKOFF = 30.0


def _user_agent() -> str:
    try:
        return f"signalcraft/{version('signalcraft-operator')}"
    except PackageNotFoundError:
        return "signalcraft/dev"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


class SignalCraftClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        user_agent: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        api_key_file: Path | None = None,
    ) -> None:
        """`api_key_file`: where the key came from (a mounted Secret); re-read when the server answers 401, so a
        rotated key is picked up without a restart."""
        self._max_retries = max_retries
        self._api_key = api_key
        self._api_key_file = api_key_file
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": user_agent or _user_agent()},
            timeout=timeout,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
            transport=transport,
        )

    async def __aenter__(self) -> SignalCraftClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ transport

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One logical request: retried while the failure is transient, raised as an `errors` exception otherwise."""
        request_headers = dict(headers or {})
        if method == "POST" and "Idempotency-Key" not in request_headers:
            request_headers["Idempotency-Key"] = str(uuid.uuid4())
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method, path, json=json, content=content, params=params, headers=request_headers
                )
            except httpx.TransportError as exc:
                failure: errors.SignalCraftError = errors.TransportError(
                    f"{method} {path}: {type(exc).__name__}: {exc}"
                )
                retry_after = None
            else:
                if response.status_code < 400:
                    return response
                if response.status_code == 401 and self._reload_api_key():
                    continue  # the mounted key was rotated: the same request, once, with the new key
                failure = errors.error_for(response.status_code, _problem(response), _retry_after(response))
                retry_after = failure.retry_after if isinstance(failure, errors.ApiError) else None
            if not errors.is_transient(failure) or attempt >= self._max_retries:
                raise failure
            delay = min(MAX_BACKOFF, 0.2 * 2**attempt) * random.uniform(0.5, 1.5)  # noqa: S311 - jitter
            await asyncio.sleep(max(delay, retry_after or 0.0))
            attempt += 1

    def _reload_api_key(self) -> bool:
        """Read the key file again; true when it now holds a different key (which the client then uses)."""
        if self._api_key_file is None:
            return False
        try:
            key = self._api_key_file.read_text().strip()
        except OSError:
            return False
        if not key or key == self._api_key:
            return False
        self._api_key = key
        self._http.headers["Authorization"] = f"Bearer {key}"
        return True

    # ------------------------------------------------------------ resources

    # A resource's spec is typed by its collection's model when `collection` is a registered `Collection`
    # (`ALERT_POLICIES` -> `Resource[AlertPolicySpec]`), and plain JSON when it is the collection's URL segment.

    @overload
    async def get(self, collection: Collection[SpecT], name: str) -> Resource[SpecT]: ...
    @overload
    async def get(self, collection: str, name: str) -> Resource: ...
    async def get(self, collection: Collection[Any] | str, name: str) -> Resource[Any]:
        response = await self.request("GET", f"/v1/{_segment(collection)}/{name}")
        return _resource(collection, response.json(), response.headers.get("ETag", ""))

    @overload
    async def put(
        self,
        collection: Collection[SpecT],
        name: str,
        spec: SpecT | Mapping[str, Any],
        *,
        manager: Manager | None = None,
        labels: Mapping[str, str] | None = None,
        credentials: Mapping[str, str] | None = None,
        if_match: str | None = None,
        create_only: bool = False,
        dry_run: bool = False,
    ) -> PutResult[SpecT]: ...
    @overload
    async def put(
        self,
        collection: str,
        name: str,
        spec: Mapping[str, Any],
        *,
        manager: Manager | None = None,
        labels: Mapping[str, str] | None = None,
        credentials: Mapping[str, str] | None = None,
        if_match: str | None = None,
        create_only: bool = False,
        dry_run: bool = False,
    ) -> PutResult: ...
    async def put(
        self,
        collection: Collection[Any] | str,
        name: str,
        spec: BaseModel | Mapping[str, Any],
        *,
        manager: Manager | None = None,
        labels: Mapping[str, str] | None = None,
        credentials: Mapping[str, str] | None = None,
        if_match: str | None = None,
        create_only: bool = False,
        dry_run: bool = False,
    ) -> PutResult[Any]:
        body: dict[str, Any] = {
            "spec": spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
            if isinstance(spec, BaseModel)
            else dict(spec)
        }
        if labels is not None:
            body["labels"] = dict(labels)
        if manager is not None:
            body["manager"] = manager.model_dump(mode="json", exclude_none=True)
        if credentials is not None:
            body["credentials"] = dict(credentials)
        headers: dict[str, str] = {}
        if if_match is not None:
            headers["If-Match"] = if_match
        if create_only:
            headers["If-None-Match"] = "*"
        params = {"dry_run": "true"} if dry_run else None
        path = f"/v1/{_segment(collection)}/{name}"
        response = await self.request("PUT", path, json=body, headers=headers, params=params)
        resource = _resource(collection, response.json(), response.headers.get("ETag", ""))
        return PutResult[Any](resource=resource, created=response.status_code == 201)

    async def delete(
        self,
        collection: Collection[Any] | str,
        name: str,
        *,
        manager_identity: str | None = None,
        if_match: str | None = None,
    ) -> None:
        params = {"manager_identity": manager_identity} if manager_identity else None
        headers = {"If-Match": if_match} if if_match else None
        await self.request("DELETE", f"/v1/{_segment(collection)}/{name}", params=params, headers=headers)

    @overload
    async def release(self, collection: Collection[SpecT], name: str, *, identity: str) -> Resource[SpecT]: ...
    @overload
    async def release(self, collection: str, name: str, *, identity: str) -> Resource: ...
    async def release(self, collection: Collection[Any] | str, name: str, *, identity: str) -> Resource[Any]:
        path = f"/v1/{_segment(collection)}/{name}:release"
        response = await self.request("POST", path, json={"identity": identity})
        return _resource(collection, response.json(), response.headers.get("ETag", ""))

    @overload
    def list(
        self,
        collection: Collection[SpecT],
        *,
        manager_identity: str | None = None,
        label_selector: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Resource[SpecT]]: ...
    @overload
    def list(
        self,
        collection: str,
        *,
        manager_identity: str | None = None,
        label_selector: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Resource]: ...
    async def list(
        self,
        collection: Collection[Any] | str,
        *,
        manager_identity: str | None = None,
        label_selector: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Resource[Any]]:
        params: dict[str, str] = {"limit": str(page_size)}
        if manager_identity:
            params["manager_identity"] = manager_identity
        if label_selector:
            params["label_selector"] = label_selector
        async for item in self._pages(f"/v1/{_segment(collection)}", params):
            yield _resource(collection, item, f'"{item.get("version")}"')

    async def integration_connection(self, name: str) -> IntegrationConnection:
        response = await self.request("GET", f"/v1/integrations/{name}/connection")
        return IntegrationConnection.model_validate(response.json())

    # ------------------------------------------------------------ alerts and events

    async def post_alert_events(self, events: Sequence[AlertEvent], *, idempotency_key: str) -> AlertEventsAccepted:
        """Normalized AlertEvents (the webhook's forwarder); the same key on a retry makes the batch act once."""
        body = {"events": [event.model_dump(mode="json") for event in events]}
        response = await self.request(
            "POST", "/v1/alert-events", json=body, headers={"Idempotency-Key": idempotency_key}
        )
        return AlertEventsAccepted.model_validate(response.json())

    async def send_event(self, event: Mapping[str, Any], *, idempotency_key: str | None = None) -> EventAccepted:
        """A PagerDuty Events v2 body (routing_key, event_action, dedup_key, payload) to `POST /v1/events`."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        response = await self.request("POST", "/v1/events", json=dict(event), headers=headers)
        return EventAccepted.model_validate(response.json())

    async def list_alert_groups(
        self,
        *,
        status: AlertStatus | None = None,
        integration: str | None = None,
        alert_policy: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[AlertGroup]:
        params = {"limit": str(page_size)}
        for key, value in (("status", status), ("integration", integration), ("alert_policy", alert_policy)):
            if value:
                params[key] = str(value)
        async for item in self._pages("/v1/alert-groups", params):
            yield AlertGroup.model_validate(item)

    async def get_alert_group(self, group_id: str) -> AlertGroup:
        return AlertGroup.model_validate((await self.request("GET", f"/v1/alert-groups/{group_id}")).json())

    async def acknowledge_alert_group(self, group_id: str) -> AlertGroup:
        response = await self.request("POST", f"/v1/alert-groups/{group_id}:acknowledge")
        return AlertGroup.model_validate(response.json())

    async def resolve_alert_group(self, group_id: str) -> AlertGroup:
        response = await self.request("POST", f"/v1/alert-groups/{group_id}:resolve")
        return AlertGroup.model_validate(response.json())

    async def alerts(self, group_id: str) -> builtins.list[Alert]:
        response = await self.request("GET", f"/v1/alert-groups/{group_id}/alerts")
        return [Alert.model_validate(item) for item in response.json()]

    # ------------------------------------------------------------ service accounts and keys

    async def create_service_account(self, name: str, *, description: str = "") -> ServiceAccount:
        response = await self.request("POST", "/v1/service-accounts", json={"name": name, "description": description})
        return ServiceAccount.model_validate(response.json())

    async def get_service_account(self, name: str) -> ServiceAccount:
        return ServiceAccount.model_validate((await self.request("GET", f"/v1/service-accounts/{name}")).json())

    async def create_api_key(
        self,
        service_account: str,
        scopes: Sequence[str],
        *,
        name: str = "",
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> CreatedApiKey:
        """A new key with `scopes` (at most the caller's own); `.key` is shown only in this answer."""
        body: dict[str, Any] = {"name": name, "scopes": list(scopes)}
        if expires_at is not None:
            body["expires_at"] = expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        response = await self.request(
            "POST", f"/v1/service-accounts/{service_account}/api-keys", json=body, headers=headers
        )
        return CreatedApiKey.model_validate(response.json())

    async def list_api_keys(self, service_account: str) -> builtins.list[ApiKey]:
        path = f"/v1/service-accounts/{service_account}/api-keys"
        return [ApiKey.model_validate(item) async for item in self._pages(path, {"limit": "100"})]

    async def revoke_api_key(self, key_id: str) -> ApiKey:
        return ApiKey.model_validate((await self.request("POST", f"/v1/api-keys/{key_id}:revoke")).json())

    async def _pages(self, path: str, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Every item of a cursor-paginated list, page by page (the same filters on every page)."""
        while True:
            page = (await self.request("GET", path, params=params)).json()
            for item in page.get("items", []):
                yield item
            cursor = page.get("next_cursor")
            if not cursor:
                return
            params = {**params, "cursor": str(cursor)}


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"title": response.reason_phrase, "detail": response.text[:200]}
    return body if isinstance(body, dict) else {"title": response.reason_phrase}


def _retry_after(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("Retry-After"))


def _segment(collection: Collection[Any] | str) -> str:
    return collection.name if isinstance(collection, Collection) else collection


def _resource(collection: Collection[Any] | str, body: Any, etag: str) -> Resource[Any]:
    """The resource in `body`, its spec validated by the collection's model when the collection is typed."""
    model = resource_model(collection.spec_model) if isinstance(collection, Collection) else Resource[Any]
    return model.model_validate({**body, "etag": etag})
