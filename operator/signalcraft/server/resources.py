"""Configurable resources: create-or-replace by name, strong ETags, ownership by a `manager`, references checked.

The same serializer produces every write's response and every GET, so a write's body equals the next GET byte for byte.
A replace whose client-owned content is unchanged is a no-op: the version, the ETag and `updated_at` stay as they were.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from typing import Annotated, Any

import aiosqlite
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from signalcraft.server.auth import Principal, new_id, now_text
from signalcraft.server.context import principal_for, state_of
from signalcraft.server.problems import Problem, pointer
from signalcraft.server.schemas import (
    NAME_PATTERN,
    SPEC_MODELS,
    ConnectionOut,
    ReleaseRequest,
    ResourceOut,
    ResourcePage,
    ResourceWrite,
)
from signalcraft.server.storage import Database, dumps

ID_PREFIX = {
    "teams": "team",
    "schedules": "sch",
    "escalation-policies": "esc",
    "alert-policies": "pol",
    "routing-rules": "rr",
    "integrations": "int",
}
REFERENCES: dict[str, list[tuple[str, str]]] = {
    # collection -> [(JSON path inside spec, referenced collection)]
    "alert-policies": [("$.escalation_policy.name", "escalation-policies")],
    "routing-rules": [("$.actions.alert_policy.name", "alert-policies")],
}

router = APIRouter()


def scope_name(collection: str) -> str:
    return collection.replace("-", "_")


def _collection(collection: str) -> str:
    if collection not in SPEC_MODELS:
        raise Problem(404, "not-found", f"there is no collection {collection!r}")
    return collection


def encode_cursor(after: str) -> str:
    """An opaque cursor: the last key of the page, versioned so a foreign string is recognised as such."""
    return base64.urlsafe_b64encode(json.dumps({"v": 1, "after": after}).encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        after = decoded["after"] if decoded.get("v") == 1 else None
    except (ValueError, TypeError, KeyError, AttributeError):
        after = None
    if not isinstance(after, str):
        raise Problem(400, "invalid-cursor", "the cursor is not one this server issued")
    return after


def _etag(version: int) -> str:
    return f'"{version}"'


def serialize(row: aiosqlite.Row) -> dict[str, Any]:
    body = ResourceOut(
        name=row["name"],
        id=row["id"],
        display_name=row["display_name"],
        description=row["description"],
        labels=json.loads(row["labels"]),
        manager=json.loads(row["manager"]) if row["manager"] else None,
        spec=json.loads(row["spec"]),
        status=json.loads(row["status"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
    return body.model_dump(mode="json")


def resource_response(row: aiosqlite.Row, status_code: int = 200) -> Response:
    return JSONResponse(serialize(row), status_code=status_code, headers={"ETag": _etag(row["version"])})


async def fetch(db: Database | aiosqlite.Connection, collection: str, name: str) -> aiosqlite.Row | None:
    sql, args = "SELECT * FROM resources WHERE collection = ? AND name = ?", (collection, name)
    if isinstance(db, Database):
        return await db.fetch_one(sql, args)
    cursor = await db.execute(sql, args)
    row: aiosqlite.Row | None = await cursor.fetchone()
    return row


def _validate_spec(collection: str, spec: dict[str, Any]) -> dict[str, Any]:
    try:
        model = SPEC_MODELS[collection].model_validate(spec)
    except ValidationError as exc:
        errors = [
            {
                "pointer": pointer(["spec", *error["loc"]]),
                "detail": "unknown field" if error["type"] == "extra_forbidden" else error["msg"],
            }
            for error in exc.errors()
        ]
        raise Problem(422, "validation-failed", f"the {collection} spec does not validate", errors=errors) from None
    normalized: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return normalized


async def _check_references(tx: aiosqlite.Connection, collection: str, spec: dict[str, Any]) -> None:
    for path, target in REFERENCES.get(collection, []):
        keys = path.removeprefix("$.").split(".")
        value: Any = spec
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            continue
        if await fetch(tx, target, str(value)) is None:
            raise Problem(
                422,
                "reference-not-found",
                f"{target} {value!r} does not exist",
                errors=[{"pointer": "/spec/" + "/".join(keys[:-1]), "detail": f"unknown {target} {value!r}"}],
            )


async def referrers(db: Database | aiosqlite.Connection, collection: str, name: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for source, paths in REFERENCES.items():
        for path, target in paths:
            if target != collection:
                continue
            sql = "SELECT name FROM resources WHERE collection = ? AND json_extract(spec, ?) = ? ORDER BY name"
            if isinstance(db, Database):
                rows = await db.fetch_all(sql, (source, path, name))
            else:
                rows = list(await (await db.execute(sql, (source, path, name))).fetchall())
            found += [{"collection": source, "name": row["name"]} for row in rows]
    return found


def _ownership(
    principal: Principal, collection: str, current: dict[str, Any] | None, wanted: dict[str, Any] | None, force: bool
) -> None:
    """Writes to a managed object must come from its manager; setting a manager needs the :manage scope."""
    resource = scope_name(collection)
    if wanted is not None and wanted != current:
        principal.require(resource, "manage")
    if current is None:
        return
    if force:
        principal.require(resource, "manage_force")
        return
    if wanted is None or wanted.get("identity") != current.get("identity"):
        raise Problem(
            409,
            "ownership-conflict",
            f"this object is managed by {current.get('kind')} {current.get('identity')!r}; only its manager may "
            "change it (it can release it with :release)",
            current_manager=current,
        )
    if wanted.get("kind") != current.get("kind"):
        raise Problem(403, "manager-kind-change", "release the object before another kind of manager takes it")


def _content(write: ResourceWrite, spec: dict[str, Any], manager: dict[str, Any] | None) -> tuple[Any, ...]:
    return (spec, write.labels, write.display_name, write.description, manager)


@router.put("/v1/{collection}/{name}", response_model=ResourceOut, status_code=200)
async def put_resource(
    *,
    request: Request,
    write: ResourceWrite,
    collection: str,
    name: str,
    if_match: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    dry_run: bool = False,
    force_manager: bool = False,
) -> Response:
    """Create or replace `name` (201 / 200). If-None-Match: * creates only; If-Match guards a replace (412)."""
    _collection(collection)
    _valid_name(name)
    principal = principal_for(request)
    principal.require(scope_name(collection), "write")
    spec = _validate_spec(collection, write.spec)
    if write.credentials is not None and collection != "integrations":
        raise Problem(
            422,
            "validation-failed",
            "only integrations take credentials",
            errors=[{"pointer": "/credentials", "detail": "not allowed"}],
        )
    manager = write.manager.model_dump(mode="json") if write.manager is not None else None
    db = state_of(request).db
    async with db.transaction() as tx:
        existing = await fetch(tx, collection, name)
        if if_none_match is not None and if_none_match.strip() == "*" and existing is not None:
            raise Problem(412, "already-exists", f"{collection} {name!r} exists (If-None-Match: *)")
        if if_match is not None and (existing is None or if_match.strip() != _etag(existing["version"])):
            raise Problem(412, "precondition-failed", "the object changed since the ETag in If-Match was read")
        current_manager = json.loads(existing["manager"]) if existing is not None and existing["manager"] else None
        _ownership(principal, collection, current_manager, manager, force_manager)
        await _check_references(tx, collection, spec)
        now = now_text()
        secrets_now = json.loads(existing["secrets"]) if existing is not None else {}
        status = json.loads(existing["status"]) if existing is not None else {}
        new_secrets = dict(secrets_now)
        if collection == "integrations":
            new_secrets.setdefault("webhook_token", secrets.token_urlsafe(24))
            new_secrets.setdefault("integration_key", secrets.token_hex(16))
            if write.credentials is not None:
                new_secrets["credentials"] = dict(write.credentials)
            credentials = new_secrets.get("credentials", {})
            status = {
                **status,
                "credentials_set": sorted(credentials),
                "webhook_token_hint": new_secrets["webhook_token"][-4:],
            }
        if existing is not None:
            old_content = (
                json.loads(existing["spec"]),
                json.loads(existing["labels"]),
                existing["display_name"],
                existing["description"],
                current_manager,
            )
            unchanged = old_content == _content(write, spec, manager) and new_secrets == secrets_now
            if unchanged:
                return resource_response(existing)
        version = existing["version"] + 1 if existing is not None else 1
        row = {
            "collection": collection,
            "name": name,
            "id": existing["id"] if existing is not None else new_id(ID_PREFIX[collection]),
            "display_name": write.display_name,
            "description": write.description,
            "labels": dumps(write.labels),
            "manager": dumps(manager) if manager is not None else None,
            "spec": dumps(spec),
            "status": dumps(status),
            "secrets": dumps(new_secrets),
            "version": version,
            "created_at": existing["created_at"] if existing is not None else now,
            "updated_at": now,
        }
        if dry_run:
            await tx.execute("SAVEPOINT dry_run")
        await tx.execute(
            f"INSERT OR REPLACE INTO resources ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",  # noqa: S608
            tuple(row.values()),
        )
        stored = await fetch(tx, collection, name)
        if dry_run:
            await tx.execute("ROLLBACK TO dry_run")
            await tx.execute("RELEASE dry_run")
    assert stored is not None
    return resource_response(stored, 201 if existing is None else 200)


def _valid_name(name: str) -> str:
    if len(name) > 253 or not re.match(NAME_PATTERN, name):
        raise Problem(
            422,
            "validation-failed",
            "names are DNS-1123 subdomains: lowercase letters, digits, '-' and '.', at most 253 characters",
            errors=[{"pointer": "/name", "detail": "invalid name"}],
        )
    return name


@router.get("/v1/{collection}/{name}", response_model=ResourceOut)
async def get_resource(request: Request, collection: str, name: str) -> Response:
    _collection(collection)
    principal_for(request).require(scope_name(collection), "read")
    row = await fetch(state_of(request).db, collection, name)
    if row is None:
        raise Problem(404, "not-found", f"{collection} {name!r} does not exist")
    return resource_response(row)


@router.delete("/v1/{collection}/{name}", status_code=204)
async def delete_resource(
    *,
    request: Request,
    collection: str,
    name: str,
    manager_identity: str | None = None,
    if_match: Annotated[str | None, Header()] = None,
    force_manager: bool = False,
) -> Response:
    """Delete; 409 in-use (with referenced_by) while other objects point at it; only the manager may delete."""
    _collection(collection)
    principal = principal_for(request)
    principal.require(scope_name(collection), "write")
    async with state_of(request).db.transaction() as tx:
        existing = await fetch(tx, collection, name)
        if existing is None:
            raise Problem(404, "not-found", f"{collection} {name!r} does not exist")
        if if_match is not None and if_match.strip() != _etag(existing["version"]):
            raise Problem(412, "precondition-failed", "the object changed since the ETag in If-Match was read")
        current = json.loads(existing["manager"]) if existing["manager"] else None
        claimed = {**current, "identity": manager_identity} if current is not None and manager_identity else None
        _ownership(principal, collection, current, claimed if current is not None else None, force_manager)
        users = await referrers(tx, collection, name)
        if users:
            listed = ", ".join(f"{user['collection']}/{user['name']}" for user in users)
            raise Problem(409, "in-use", f"{collection} {name!r} is referenced by {listed}", referenced_by=users)
        await tx.execute("DELETE FROM resources WHERE collection = ? AND name = ?", (collection, name))
    return Response(status_code=204)


@router.post("/v1/{collection}/{name}:release", response_model=ResourceOut)
async def release_resource(request: Request, collection: str, name: str, release: ReleaseRequest) -> Response:
    """The current manager gives the object up: it stays, unmanaged, for anyone to adopt."""
    _collection(collection)
    principal = principal_for(request)
    principal.require(scope_name(collection), "manage")
    async with state_of(request).db.transaction() as tx:
        existing = await fetch(tx, collection, name)
        if existing is None:
            raise Problem(404, "not-found", f"{collection} {name!r} does not exist")
        current = json.loads(existing["manager"]) if existing["manager"] else None
        if current is None:
            return resource_response(existing)
        if current.get("identity") != release.identity:
            raise Problem(
                409, "ownership-conflict", "only the current manager can release this object", current_manager=current
            )
        await tx.execute(
            "UPDATE resources SET manager = NULL, version = version + 1, updated_at = ? "
            "WHERE collection = ? AND name = ?",
            (now_text(), collection, name),
        )
        stored = await fetch(tx, collection, name)
    assert stored is not None
    return resource_response(stored)


@router.get("/v1/{collection}", response_model=ResourcePage)
async def list_resources(
    *,
    request: Request,
    collection: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    name: Annotated[str | None, Query(max_length=253)] = None,
    label_selector: Annotated[str | None, Query(max_length=1024)] = None,
    manager_identity: Annotated[str | None, Query(max_length=513)] = None,
    updated_since: Annotated[str | None, Query(max_length=32)] = None,
) -> ResourcePage:
    """Cursor pagination by name; filters: exact name, label_selector (k=v,...), manager_identity (prefix with *)."""
    _collection(collection)
    principal_for(request).require(scope_name(collection), "read")
    where, args = ["collection = ?"], [collection]
    if cursor:
        where.append("name > ?")
        args.append(decode_cursor(cursor))
    if name:
        where.append("name = ?")
        args.append(name)
    if manager_identity:
        if manager_identity.endswith("*"):
            where.append("substr(manager_identity, 1, ?) = ?")
            args += [str(len(manager_identity) - 1), manager_identity[:-1]]
        else:
            where.append("manager_identity = ?")
            args.append(manager_identity)
    if updated_since:
        where.append("updated_at >= ?")
        args.append(updated_since)
    for term in filter(None, (label_selector or "").split(",")):
        key, sep, value = term.partition("=")
        if not sep or not key.strip():
            raise Problem(400, "invalid-label-selector", f"label_selector terms are key=value, not {term!r}")
        where.append("json_extract(labels, ?) = ?")
        args += [f'$."{key.strip()}"', value.strip()]
    sql = f"SELECT * FROM resources WHERE {' AND '.join(where)} ORDER BY name LIMIT ?"  # noqa: S608
    rows = await state_of(request).db.fetch_all(sql, (*args, limit + 1))
    items = [ResourceOut.model_validate(serialize(row)) for row in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1]["name"]) if len(rows) > limit else None
    return ResourcePage(items=items, next_cursor=next_cursor)


@router.get("/v1/integrations/{name}/connection", response_model=ConnectionOut)
async def integration_connection(request: Request, name: str) -> ConnectionOut:
    """The webhook URL (with its token) and the integration key: secrets, so they need integrations:read_secrets."""
    principal_for(request).require("integrations", "read_secrets")
    row = await fetch(state_of(request).db, "integrations", name)
    if row is None:
        raise Problem(404, "not-found", f"integrations {name!r} does not exist")
    stored = json.loads(row["secrets"])
    source = json.loads(row["spec"])["type"]
    base = state_of(request).public_url or str(request.base_url).rstrip("/")
    return ConnectionOut(
        webhook_url=f"{base}/api/v1/webhooks/{source}/{stored['webhook_token']}",
        webhook_token=stored["webhook_token"],
        integration_key=stored["integration_key"],
    )
