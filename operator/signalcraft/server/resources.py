"""Configurable resources: create-or-replace by name, strong ETags, ownership by a `manager`, references checked.

Every collection gets the same five operations with its own typed `spec`, so the OpenAPI document describes each
collection exactly. The same serializer produces every write's response and every GET, so a write's body equals the next
GET byte for byte. A replace whose client-owned content is unchanged is a no-op: the version, the ETag and `updated_at`
stay as they were.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import Enum
from json.encoder import encode_basestring
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, create_model

from signalcraft.api.collections import COLLECTIONS, WORKSPACE, WORKSPACE_NAME, Collection
from signalcraft.api.envelope import (
    IntegrationConnection,
    IntegrationWrite,
    ReleaseRequest,
    ResourceWrite,
    resource_model,
)
from signalcraft.api.specs import LABEL_KEY_PATTERN, NAME_PATTERN, WorkspaceSpec
from signalcraft.server import ticketing
from signalcraft.server.auth import Principal, new_id, now_text
from signalcraft.server.context import AuthenticatedRoute, principal_for, state_of
from signalcraft.server.dispatch import PrefixRouter
from signalcraft.server.idempotency import idempotent
from signalcraft.server.problems import Problem
from signalcraft.server.storage import LabelTerm, ResourceFilter, Row, Session, dumps

router = PrefixRouter(route_class=AuthenticatedRoute)
"""Operations beyond the five of every collection (the integration's connection, the workspace)."""
collection_routers: list[APIRouter] = []
"""One router per collection, so a request is matched only against its own collection's operations."""
NewName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=253,
        pattern=NAME_PATTERN,
        description="Client-chosen, immutable: a DNS-1123 subdomain (lowercase letters, digits, '-', '.').",
    ),
]
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: If-None-Match matched the current ETag"}
}


# ------------------------------------------------------------------ cursors and filters


def encode_cursor(after: str, binding: str = "") -> str:
    """An opaque cursor: the last key of the page and the filters it was issued for, versioned."""
    return base64.urlsafe_b64encode(json.dumps({"v": 2, "after": after, "for": binding}).encode()).decode()


def decode_cursor(cursor: str, binding: str = "") -> str:
    """The key after which the next page starts; 400 for a foreign cursor or one issued for other filters."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        after, issued_for = (decoded["after"], decoded["for"]) if decoded.get("v") == 2 else (None, None)
    except (ValueError, TypeError, KeyError, AttributeError):
        after, issued_for = None, None
    if not isinstance(after, str):
        raise Problem(400, "invalid-cursor", "the cursor is not one this server issued")
    if issued_for != binding:
        raise Problem(400, "invalid-cursor", "a cursor continues the listing it came from: keep the same filters")
    return after


def filter_binding(**filters: object) -> str:
    """What a cursor is bound to: every filter of the listing (not the page size)."""
    return hashlib.sha256(
        dumps({key: str(value) for key, value in filters.items() if value is not None}).encode()
    ).hexdigest()[:16]


def utc_text(moment: datetime) -> str:
    """The API's one timestamp format (RFC 3339, UTC, seconds); a moment without a zone is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_SELECTOR_TERM = re.compile(r"^\s*(?P<not>!)?\s*(?P<key>[^!=\s]+)\s*(?:(?P<op>==|!=|=)\s*(?P<value>[^,]*?))?\s*$")


def label_terms(selector: str) -> list[LabelTerm]:
    """A Kubernetes-style equality selector: `k=v`, `k==v`, `k!=v`, `k` (has), `!k` (has not)."""
    terms: list[LabelTerm] = []
    for term in selector.split(","):
        match = _SELECTOR_TERM.match(term)
        if match is None or not re.match(LABEL_KEY_PATTERN, match["key"]) or (match["not"] and match["op"]):
            raise Problem(
                400, "invalid-label-selector", f"label_selector terms are k=v, k!=v, k or !k; not {term.strip()!r}"
            )
        if match["op"] in {"=", "=="}:
            terms.append(LabelTerm(match["key"], "=", match["value"].strip()))
        elif match["op"] == "!=":
            terms.append(LabelTerm(match["key"], "!=", match["value"].strip()))
        else:
            terms.append(LabelTerm(match["key"], "!exists" if match["not"] else "exists"))
    return terms


# ------------------------------------------------------------------ representation


def _etag(version: int) -> str:
    return f'"{version}"'


def serialize(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "id": row["id"],
        "display_name": row["display_name"],
        "description": row["description"],
        "labels": json.loads(row["labels"]),
        "manager": json.loads(row["manager"]) if row["manager"] else None,
        "spec": json.loads(row["spec"]),
        "status": json.loads(row["status"]),
        "version": row["version"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json(value: Any) -> str:
    """JSON as JSONResponse renders it (UTF-8, compact); strings, integers and null straight away."""
    if value is None:
        return "null"
    if type(value) is str:
        return encode_basestring(value)
    if type(value) is int:
        return str(value)
    return _ENCODER.encode(value)


def _stored_json(text: str | None) -> str:
    """A JSON column that only `dumps` writes (spec, labels, manager: compact, keys sorted, ASCII) as JSONResponse
    renders its value: a parse keeps that order, so text without `\\u` escapes renders as itself and is copied
    instead of parsed and dumped again."""
    if text is None:
        return "null"
    if text.isascii() and "\\u" not in text:
        return text
    return _json(json.loads(text))


def serialized(row: Mapping[str, Any]) -> str:
    """`serialize(row)` rendered as JSONResponse renders it, byte for byte, parsing only `status` (which the database's
    JSON functions also write, in their own layout)."""
    return (
        f'{{"name":{_json(row["name"])},"id":{_json(row["id"])},"display_name":{_json(row["display_name"])},'
        f'"description":{_json(row["description"])},"labels":{_stored_json(row["labels"])},'
        f'"manager":{_stored_json(row["manager"] or None)},"spec":{_stored_json(row["spec"])},'
        f'"status":{_json(json.loads(row["status"]))},"version":{_json(row["version"])},'
        f'"created_at":{_json(row["created_at"])},"updated_at":{_json(row["updated_at"])}}}'
    )


def resource_response(row: Mapping[str, Any], status_code: int = 200) -> Response:
    return Response(
        serialized(row).encode(),
        status_code=status_code,
        media_type="application/json",
        headers={"ETag": _etag(row["version"])},
    )


# ------------------------------------------------------------------ references and ownership


async def _check_references(tx: Session, collection: Collection, spec: Mapping[str, Any]) -> None:
    """Every reference (by name or by id) must point at an existing object: 422 with its pointer otherwise."""
    for ref in collection.references_in(spec):
        found = await tx.resources.exists(ref.collection, **{ref.key: ref.value})
        if not found:
            raise Problem(
                422,
                "reference-not-found",
                f"{ref.collection} with {ref.key} {ref.value!r} does not exist",
                errors=[{"pointer": ref.pointer, "detail": f"unknown {ref.collection} {ref.value!r}"}],
            )


async def referrers(tx: Session, collection: str, name: str, object_id: str) -> list[dict[str, str]]:
    """Objects whose spec points at this one (by name or id): they block its deletion."""
    found: list[dict[str, str]] = []
    for source in COLLECTIONS.values():
        if not source.references and source.list_references is None:
            continue
        for row in await tx.resources.all_of(source.name):
            if any(
                ref.collection == collection and ref.value == (name if ref.key == "name" else object_id)
                for ref in source.references_in(json.loads(row["spec"]))
            ):
                found.append({"collection": source.name, "name": row["name"]})
    return found


async def _check_unique_email(tx: Session, name: str, spec: Mapping[str, Any]) -> None:
    """Two users cannot share an email address (compared without case)."""
    for row in await tx.resources.all_of("users"):
        if row["name"] != name and json.loads(row["spec"])["email"].lower() == spec["email"].lower():
            raise Problem(
                409,
                "already-exists",
                f"user {row['name']!r} already has the email address {spec['email']!r}",
                existing={"name": row["name"]},
                errors=[{"pointer": "/spec/email", "detail": "taken"}],
            )


def _ownership_conflict(current: Mapping[str, Any]) -> Problem:
    return Problem(
        409,
        "ownership-conflict",
        f"this object is managed by {current.get('kind')} {current.get('identity')!r}; only its manager may change "
        "it (the manager can give it up with :release)",
        current_manager=dict(current),
    )


def _manager_after_write(
    principal: Principal,
    collection: Collection,
    current: dict[str, Any] | None,
    wanted: dict[str, Any] | None,
    force: bool,
) -> dict[str, Any] | None:
    """The manager block a write leaves on the object, or the refusal.

    Setting or changing a manager needs the `:manage` scope. A managed object is written only by its manager (same
    identity, same kind), except that a manager with `allows_edits` lets others edit without taking it over.
    `force_manager` (scope `:manage_force`) takes an object over from whoever manages it.
    """
    if wanted is not None and wanted != current:
        principal.require(collection.scope, "manage")
    if current is None:
        return wanted
    if force:
        principal.require(collection.scope, "manage_force")
        return wanted
    if wanted is None and current.get("allows_edits"):
        return current
    if wanted is None or wanted.get("identity") != current.get("identity"):
        raise _ownership_conflict(current)
    if wanted.get("kind") != current.get("kind"):
        raise Problem(403, "manager-kind-change", "release the object before another kind of manager takes it")
    return wanted


# ------------------------------------------------------------------ operations


async def put_resource(
    request: Request,
    collection: Collection,
    name: str,
    write: ResourceWrite,
    *,
    if_match: str | None,
    if_none_match: str | None,
    dry_run: bool,
    force_manager: bool,
) -> Response:
    principal = principal_for(request)
    principal.require(collection.scope, "write")
    # What the client wrote (numbers keep their kind: 90 stays 90) plus the documented defaults.
    spec: dict[str, Any] = write.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    credentials = write.credentials if isinstance(write, IntegrationWrite) else None
    wanted_manager = write.manager.model_dump(mode="json") if write.manager is not None else None
    db = state_of(request).db
    async with db.transaction() as tx:
        existing = await tx.resources.get(collection.name, name)
        if if_none_match is not None and if_none_match.strip() == "*" and existing is not None:
            raise Problem(412, "already-exists", f"{collection.name} {name!r} exists (If-None-Match: *)")
        if if_match is not None and (existing is None or if_match.strip() not in {"*", _etag(existing["version"])}):
            raise Problem(
                412,
                "precondition-failed",
                "the object changed since the ETag in If-Match was read",
                current_etag=_etag(existing["version"]) if existing is not None else None,
            )
        current_manager = json.loads(existing["manager"]) if existing is not None and existing["manager"] else None
        manager = _manager_after_write(principal, collection, current_manager, wanted_manager, force_manager)
        previous_spec = json.loads(existing["spec"]) if existing is not None else spec
        if collection.name == "integrations" and previous_spec["type"] != spec["type"]:
            raise Problem(
                422,
                "immutable-field",
                "an integration's type cannot change: delete it and create a new one",
                errors=[{"pointer": "/spec/type", "detail": "immutable"}],
            )
        await _check_references(tx, collection, spec)
        if collection.name == "users":
            await _check_unique_email(tx, name, spec)
        stored_secrets = json.loads(existing["secrets"]) if existing is not None else {}
        if collection.name == "integrations" and credentials is None:
            ticketing.require_credentials_for_a_move(previous_spec, spec, stored_secrets)
        status = json.loads(existing["status"]) if existing is not None else {}
        new_secrets = dict(stored_secrets)
        if collection.name == "integrations":
            new_secrets.setdefault("webhook_token", secrets.token_urlsafe(24))
            new_secrets.setdefault("integration_key", secrets.token_hex(16))
            if credentials is not None:
                new_secrets["credentials"] = dict(credentials)
            status = {
                **status,
                "credentials_set": sorted(new_secrets.get("credentials", {})),
                "webhook_token_hint": new_secrets["webhook_token"][-4:],
            }
        if collection.name == "users" and existing is None:
            status = {"invite_state": "invited", "invited_at": now_text()}
        content = (spec, write.labels, write.display_name, write.description, manager)
        if existing is not None:
            stored_content = (
                json.loads(existing["spec"]),
                json.loads(existing["labels"]),
                existing["display_name"],
                existing["description"],
                current_manager,
            )
            if stored_content == content and new_secrets == stored_secrets:
                return resource_response(existing)
        now = now_text()
        row: Row = {
            "collection": collection.name,
            "name": name,
            "id": existing["id"] if existing is not None else new_id(collection.id_prefix),
            "display_name": write.display_name,
            "description": write.description,
            "labels": dumps(write.labels),
            "manager": dumps(manager) if manager is not None else None,
            "spec": dumps(spec),
            "status": dumps(status),
            "secrets": dumps(new_secrets),
            "version": existing["version"] + 1 if existing is not None else 1,
            "created_at": existing["created_at"] if existing is not None else now,
            "updated_at": now,
        }
        if not dry_run:
            await tx.resources.put(row)
    # The row as written, serialized as every GET serializes it: the body equals the next GET.
    return resource_response(row, 201 if existing is None else 200)


async def get_resource(request: Request, collection: Collection, name: str, if_none_match: str | None) -> Response:
    principal_for(request).require(collection.scope, "read")
    row = await state_of(request).db.resources.get(collection.name, name)
    if row is None:
        raise Problem(404, "not-found", f"{collection.name} {name!r} does not exist")
    etag = _etag(row["version"])
    if if_none_match is not None and (if_none_match.strip() == "*" or etag in if_none_match.split(",")):
        return Response(status_code=304, headers={"ETag": etag})
    return resource_response(row)


async def delete_resource(
    request: Request,
    collection: Collection,
    name: str,
    *,
    manager_identity: str | None,
    if_match: str | None,
    dry_run: bool,
    force_manager: bool,
) -> Response:
    principal = principal_for(request)
    principal.require(collection.scope, "write")
    async with state_of(request).db.transaction() as tx:
        existing = await tx.resources.get(collection.name, name)
        if existing is None:
            raise Problem(404, "not-found", f"{collection.name} {name!r} does not exist")
        if if_match is not None and if_match.strip() not in {"*", _etag(existing["version"])}:
            raise Problem(412, "precondition-failed", "the object changed since the ETag in If-Match was read")
        current = json.loads(existing["manager"]) if existing["manager"] else None
        if current is not None:
            if force_manager:
                principal.require(collection.scope, "manage_force")
            elif manager_identity != current.get("identity"):
                raise _ownership_conflict(current)
        users = await referrers(tx, collection.name, name, existing["id"])
        if users:
            listed = ", ".join(f"{user['collection']}/{user['name']}" for user in users)
            raise Problem(409, "in-use", f"{collection.name} {name!r} is referenced by {listed}", referenced_by=users)
        if not dry_run:
            await tx.resources.delete(collection.name, name)
    return Response(status_code=204)


async def release_resource(request: Request, collection: Collection, name: str, release: ReleaseRequest) -> Response:
    principal = principal_for(request)
    principal.require(collection.scope, "manage")

    async def handle() -> Response:
        async with state_of(request).db.transaction() as tx:
            existing = await tx.resources.get(collection.name, name)
            if existing is None:
                raise Problem(404, "not-found", f"{collection.name} {name!r} does not exist")
            current = json.loads(existing["manager"]) if existing["manager"] else None
            if current is None:
                return resource_response(existing)
            if current.get("identity") != release.identity:
                raise _ownership_conflict(current)
            await tx.resources.release(collection.name, name, now_text())
            stored = await tx.resources.get(collection.name, name)
        assert stored is not None
        return resource_response(stored)

    return await idempotent(request, handle)


async def list_resources(
    request: Request,
    collection: Collection,
    *,
    limit: int,
    cursor: str | None,
    name: str | None,
    label_selector: str | None,
    manager_identity: str | None,
    updated_since: datetime | None,
) -> Response:
    principal_for(request).require(collection.scope, "read")
    since = utc_text(updated_since) if updated_since is not None else None
    binding = filter_binding(name=name, label_selector=label_selector, manager_identity=manager_identity, since=since)
    where = ResourceFilter(
        after=decode_cursor(cursor, binding) if cursor else None,
        name=name,
        manager_identity=manager_identity,
        updated_since=since,
        labels=label_terms(label_selector) if label_selector else (),
    )
    rows = await state_of(request).db.resources.page(collection.name, where, limit + 1)
    next_cursor = encode_cursor(rows[limit - 1]["name"], binding) if len(rows) > limit else None
    items = ",".join(serialized(row) for row in rows[:limit])
    body = f'{{"items":[{items}],"next_cursor":{_json(next_cursor)}}}'
    return Response(body.encode(), media_type="application/json")


@router.get(
    "/v1/integrations/{name}/connection",
    response_model=IntegrationConnection,
    tags=["integrations"],
    summary="The integration's webhook URL and integration key (secrets: scope integrations:read_secrets)",
)
async def integration_connection(request: Request, name: str) -> IntegrationConnection:
    principal_for(request).require("integrations", "read_secrets")
    row = await state_of(request).db.resources.get("integrations", name)
    if row is None:
        raise Problem(404, "not-found", f"integrations {name!r} does not exist")
    stored = json.loads(row["secrets"])
    source = json.loads(row["spec"])["type"]
    base = state_of(request).public_url or str(request.base_url).rstrip("/")
    return IntegrationConnection(
        webhook_url=f"{base}/api/v1/webhooks/{source}/{stored['webhook_token']}",
        webhook_token=stored["webhook_token"],
        integration_key=stored["integration_key"],
    )


@router.post(
    "/v1/integrations/{name}/connection:rotate",
    response_model=IntegrationConnection,
    tags=["integrations"],
    summary="Replace the integration's webhook token (the old one stops working at once); scopes integrations:write "
    "and integrations:read_secrets",
)
async def rotate_integration_token(
    request: Request, name: str, manager_identity: Annotated[str | None, Query(max_length=512)] = None
) -> IntegrationConnection:
    principal = principal_for(request)
    principal.require("integrations", "write")
    principal.require("integrations", "read_secrets")
    async with state_of(request).db.transaction() as tx:
        existing = await tx.resources.get("integrations", name)
        if existing is None:
            raise Problem(404, "not-found", f"integrations {name!r} does not exist")
        current = json.loads(existing["manager"]) if existing["manager"] else None
        if current is not None and not current.get("allows_edits") and manager_identity != current.get("identity"):
            raise _ownership_conflict(current)
        stored = {**json.loads(existing["secrets"]), "webhook_token": secrets.token_urlsafe(24)}
        status = {**json.loads(existing["status"]), "webhook_token_hint": stored["webhook_token"][-4:]}
        await tx.resources.set_secrets("integrations", name, dumps(stored), dumps(status), new_version_at=now_text())
    return await integration_connection(request, name)


# ------------------------------------------------------------------ routes, one set per collection


def _typed(handler: Callable[..., Any], **annotations: Any) -> Callable[..., Any]:
    """Give `handler` concrete parameter types so FastAPI validates (and documents) each collection's own models."""
    signature = inspect.signature(handler)
    handler.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[
            parameter.replace(annotation=annotations.get(parameter.name, parameter.annotation))
            for parameter in signature.parameters.values()
        ]
    )
    return handler


def _register(collection: Collection) -> None:
    write_model = create_model(
        f"{collection.kind}Write",
        __base__=collection.write_model,
        __doc__=f"Body of PUT /v1/{collection.name}/{{name}}.",
        spec=(collection.spec_model, ...),
    )
    out_model = create_model(
        collection.kind, __base__=resource_model(collection.spec_model), __doc__=f"A {collection.kind}."
    )
    page_model = create_model(
        f"{collection.kind}Page",
        __base__=BaseModel,
        items=(list[out_model], ...),
        next_cursor=(str | None, ...),
    )
    path = f"/v1/{collection.name}/{{name}}"
    tags: list[str | Enum] = [collection.name]
    collection_router = PrefixRouter(route_class=AuthenticatedRoute)
    collection_routers.append(collection_router)

    async def put(
        request: Request,
        name: NewName,
        *,
        write: Any,
        if_match: Annotated[str | None, Header()] = None,
        if_none_match: Annotated[str | None, Header()] = None,
        dry_run: bool = False,
        force_manager: bool = False,
    ) -> Response:
        return await put_resource(
            request,
            collection,
            name,
            write,
            if_match=if_match,
            if_none_match=if_none_match,
            dry_run=dry_run,
            force_manager=force_manager,
        )

    async def get(request: Request, name: str, if_none_match: Annotated[str | None, Header()] = None) -> Response:
        return await get_resource(request, collection, name, if_none_match)

    async def delete(
        request: Request,
        name: str,
        *,
        manager_identity: Annotated[str | None, Query(max_length=512)] = None,
        if_match: Annotated[str | None, Header()] = None,
        dry_run: bool = False,
        force_manager: bool = False,
    ) -> Response:
        return await delete_resource(
            request,
            collection,
            name,
            manager_identity=manager_identity,
            if_match=if_match,
            dry_run=dry_run,
            force_manager=force_manager,
        )

    async def release(request: Request, name: str, body: ReleaseRequest) -> Response:
        return await release_resource(request, collection, name, body)

    async def listing(
        request: Request,
        *,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        name: Annotated[str | None, Query(max_length=253)] = None,
        label_selector: Annotated[str | None, Query(max_length=1024)] = None,
        manager_identity: Annotated[str | None, Query(max_length=513)] = None,
        updated_since: datetime | None = None,
    ) -> Response:
        return await list_resources(
            request,
            collection,
            limit=limit,
            cursor=cursor,
            name=name,
            label_selector=label_selector,
            manager_identity=manager_identity,
            updated_since=updated_since,
        )

    kind = collection.kind
    collection_router.add_api_route(
        path,
        _typed(put, write=write_model),
        methods=["PUT"],
        response_model=out_model,
        responses={201: {"model": out_model, "description": "Created"}},
        tags=tags,
        operation_id=f"put{kind}",
        summary=f"Create (201) or replace (200) a {kind}; If-None-Match: * creates only, If-Match guards (412)",
    )
    collection_router.add_api_route(
        path,
        get,
        methods=["GET"],
        response_model=out_model,
        responses=NOT_MODIFIED,
        tags=tags,
        operation_id=f"get{kind}",
        summary=f"Read a {kind} (strong ETag; If-None-Match gives 304)",
    )
    collection_router.add_api_route(
        path,
        delete,
        methods=["DELETE"],
        status_code=204,
        tags=tags,
        operation_id=f"delete{kind}",
        summary=f"Delete a {kind} (409 in-use while referenced; a managed one only by its manager)",
    )
    collection_router.add_api_route(
        f"{path}:release",
        release,
        methods=["POST"],
        response_model=out_model,
        tags=tags,
        operation_id=f"release{kind}",
        summary=f"The current manager gives the {kind} up: it stays, unmanaged, for anyone to adopt",
    )
    collection_router.add_api_route(
        f"/v1/{collection.name}",
        listing,
        methods=["GET"],
        response_model=page_model,
        tags=tags,
        operation_id=f"list{kind}",
        summary=f"List {collection.name} by name with a cursor; filters: name, label_selector, manager_identity "
        "(prefix with *), updated_since",
    )


for _collection in COLLECTIONS.values():
    _register(_collection)


# ------------------------------------------------------------------ the workspace: one object, always there

WorkspaceWrite = create_model(
    "WorkspaceWrite",
    __base__=ResourceWrite,
    __doc__="Body of PUT /v1/workspace: the settings, the workspace's name as `display_name`.",
    spec=(WorkspaceSpec, ...),
)
WorkspaceOut = create_model("Workspace", __base__=resource_model(WorkspaceSpec), __doc__="The workspace.")


async def _ensure_workspace(request: Request) -> None:
    """The workspace exists from the first request on, with default settings (version 1)."""
    db = state_of(request).db
    if await db.resources.get(WORKSPACE.name, WORKSPACE_NAME) is not None:
        return
    async with db.transaction() as tx:
        if await tx.resources.get(WORKSPACE.name, WORKSPACE_NAME) is None:
            now = now_text()
            row: Row = {
                "collection": WORKSPACE.name,
                "name": WORKSPACE_NAME,
                "id": new_id(WORKSPACE.id_prefix),
                "display_name": None,
                "description": None,
                "labels": "{}",
                "manager": None,
                "spec": dumps(WorkspaceSpec().model_dump(mode="json")),
                "status": "{}",
                "secrets": "{}",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            await tx.resources.put(row)


@router.get(
    "/v1/workspace",
    response_model=WorkspaceOut,
    responses=NOT_MODIFIED,
    tags=["workspace"],
    operation_id="getWorkspace",
    summary="Read the workspace's settings (strong ETag; If-None-Match gives 304)",
)
async def get_workspace(request: Request, if_none_match: Annotated[str | None, Header()] = None) -> Response:
    principal_for(request).require(WORKSPACE.scope, "read")
    await _ensure_workspace(request)
    return await get_resource(request, WORKSPACE, WORKSPACE_NAME, if_none_match)


async def put_workspace(
    request: Request,
    *,
    write: Any,
    if_match: Annotated[str | None, Header()] = None,
    dry_run: bool = False,
    force_manager: bool = False,
) -> Response:
    principal_for(request).require(WORKSPACE.scope, "write")
    await _ensure_workspace(request)
    return await put_resource(
        request,
        WORKSPACE,
        WORKSPACE_NAME,
        write,
        if_match=if_match,
        if_none_match=None,
        dry_run=dry_run,
        force_manager=force_manager,
    )


router.add_api_route(
    "/v1/workspace",
    _typed(put_workspace, write=WorkspaceWrite),
    methods=["PUT"],
    response_model=WorkspaceOut,
    tags=["workspace"],
    operation_id="putWorkspace",
    summary="Replace the workspace's settings (If-Match guards: 412; a manager owns it like any resource)",
)


@router.delete(
    "/v1/workspace",
    response_model=WorkspaceOut,
    tags=["workspace"],
    operation_id="resetWorkspace",
    summary="Reset the workspace's settings to the defaults (the workspace itself always exists)",
)
async def reset_workspace(
    request: Request,
    manager_identity: Annotated[str | None, Query(max_length=512)] = None,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    principal = principal_for(request)
    principal.require(WORKSPACE.scope, "write")
    await _ensure_workspace(request)
    db = state_of(request).db
    async with db.transaction() as tx:
        existing = await tx.resources.get(WORKSPACE.name, WORKSPACE_NAME)
        assert existing is not None
        if if_match is not None and if_match.strip() not in {"*", _etag(existing["version"])}:
            raise Problem(412, "precondition-failed", "the object changed since the ETag in If-Match was read")
        current = json.loads(existing["manager"]) if existing["manager"] else None
        if current is not None and manager_identity != current.get("identity"):
            raise _ownership_conflict(current)
        await tx.resources.reset(
            WORKSPACE.name, WORKSPACE_NAME, dumps(WorkspaceSpec().model_dump(mode="json")), now_text()
        )
        stored = await tx.resources.get(WORKSPACE.name, WORKSPACE_NAME)
    assert stored is not None
    return resource_response(stored)


routers: list[APIRouter] = [*collection_routers, router]
"""Every router of this module, for the application to include."""
