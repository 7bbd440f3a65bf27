"""Service accounts (no login, only API keys) and their keys: shown once, hashed at rest, scoped, revocable.

A key can only be issued with scopes its issuer holds itself, and an account holding a scope the caller lacks cannot be
disabled, enabled, deleted or have its keys revoked by that caller, so `service_accounts:manage` is not a way to more
power, nor to take a stronger account out of service.
The key is in the create response only: a replay of that request (same Idempotency-Key) returns the metadata with
`key: null`, because the key is never stored anywhere in clear.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from signalcraft.api.accounts import ApiKey, ApiKeyCreate, CreatedApiKey, ServiceAccount, ServiceAccountCreate
from signalcraft.server.auth import held_scopes, issue_key, new_id, now_text
from signalcraft.server.context import AuthenticatedRoute, principal_for, state_of
from signalcraft.server.dispatch import PrefixRouter
from signalcraft.server.idempotency import idempotent
from signalcraft.server.problems import Problem
from signalcraft.server.resources import decode_cursor, encode_cursor
from signalcraft.server.storage import Row

router = PrefixRouter(tags=["service-accounts"], route_class=AuthenticatedRoute)


class ServiceAccountPage(BaseModel):
    items: list[ServiceAccount]
    next_cursor: str | None


class ApiKeyPage(BaseModel):
    items: list[ApiKey]
    next_cursor: str | None


def _account_out(row: Row) -> ServiceAccount:
    return ServiceAccount(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
    )


def _key_out(row: Row, account: str) -> ApiKey:
    return ApiKey(
        id=row["id"],
        name=row["name"],
        service_account=account,
        prefix=f"sc_{row['lookup']}",
        scopes=json.loads(row["scopes"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


async def _account(request: Request, name: str) -> Row:
    row = await state_of(request).db.accounts.by_name(name)
    if row is None:
        raise Problem(404, "not-found", f"service account {name!r} does not exist")
    return row


@router.post("/v1/service-accounts", status_code=201, response_model=ServiceAccount)
async def create_account(request: Request, body: ServiceAccountCreate) -> Response:
    """A new service account (409 already-exists if the name is taken)."""
    principal_for(request).require("service_accounts", "manage")

    async def handle() -> Response:
        async with state_of(request).db.transaction() as tx:
            existing = await tx.accounts.by_name(body.name)
            if existing is not None:
                raise Problem(
                    409,
                    "already-exists",
                    f"service account {body.name!r} exists",
                    existing={"id": existing["id"], "name": body.name},
                )
            await tx.accounts.create(new_id("sa"), body.name, body.description, now_text())
        row = await _account(request, body.name)
        return JSONResponse(_account_out(row).model_dump(), status_code=201)

    return await idempotent(request, handle)


@router.get("/v1/service-accounts", response_model=ServiceAccountPage)
async def list_accounts(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ServiceAccountPage:
    principal_for(request).require("service_accounts", "read")
    after = decode_cursor(cursor) if cursor else ""
    rows = await state_of(request).db.accounts.page(after, limit + 1)
    next_cursor = encode_cursor(rows[limit - 1]["name"]) if len(rows) > limit else None
    return ServiceAccountPage(items=[_account_out(row) for row in rows[:limit]], next_cursor=next_cursor)


@router.get("/v1/service-accounts/{name}", response_model=ServiceAccount)
async def get_account(request: Request, name: str) -> ServiceAccount:
    principal_for(request).require("service_accounts", "read")
    return _account_out(await _account(request, name))


async def _require_all_it_holds(request: Request, account: Row, action: str) -> None:
    """`service_accounts:manage` only reaches accounts weaker than its caller: an account holding a scope the caller
    lacks cannot be disabled, enabled, deleted or have keys revoked by it (403)."""
    principal = principal_for(request)
    lacking = sorted(
        scope for scope in await held_scopes(state_of(request).db, account["id"]) if not principal.holds(scope)
    )
    if lacking:
        raise Problem(
            403,
            "insufficient-scope",
            f"cannot {action} service account {account['name']!r}: it holds scopes this API key lacks "
            f"({', '.join(lacking)})",
        )


def _not_own(request: Request, account: Row, action: str) -> None:
    """Refuse to lock the caller out: its own account cannot be disabled or deleted with its own key."""
    if account["id"] == principal_for(request).service_account_id:
        raise Problem(409, "own-account", f"a service account cannot {action} itself; use another account's key")


async def _set_disabled(request: Request, name: str, disabled: bool) -> ServiceAccount:
    principal_for(request).require("service_accounts", "manage")
    account = await _account(request, name)
    if disabled:
        _not_own(request, account, "disable")
    await _require_all_it_holds(request, account, "disable" if disabled else "enable")
    async with state_of(request).db.transaction() as tx:
        await tx.accounts.set_disabled(account["id"], disabled)
    state_of(request).keys.clear()  # this process refuses the key at once; other replicas within 1 s
    return _account_out(await _account(request, name))


@router.post("/v1/service-accounts/{name}:disable", response_model=ServiceAccount)
async def disable_account(request: Request, name: str) -> ServiceAccount:
    """Every key of a disabled account is refused (401) until it is enabled again."""
    return await _set_disabled(request, name, True)


@router.post("/v1/service-accounts/{name}:enable", response_model=ServiceAccount)
async def enable_account(request: Request, name: str) -> ServiceAccount:
    return await _set_disabled(request, name, False)


@router.delete("/v1/service-accounts/{name}", status_code=204)
async def delete_account(request: Request, name: str) -> Response:
    """Delete the account and all of its keys."""
    principal_for(request).require("service_accounts", "manage")
    account = await _account(request, name)
    _not_own(request, account, "delete")
    await _require_all_it_holds(request, account, "delete")
    async with state_of(request).db.transaction() as tx:
        await tx.accounts.delete(account["id"])
    state_of(request).keys.clear()  # this process refuses the key at once; other replicas within 1 s
    return Response(status_code=204)


def _without_key(body: bytes) -> bytes:
    return json.dumps({**json.loads(body), "key": None}).encode()


@router.post("/v1/service-accounts/{name}/api-keys", status_code=201, response_model=CreatedApiKey)
async def create_key(request: Request, name: str, body: ApiKeyCreate) -> Response:
    """A new key, shown this once (`Cache-Control: no-store`); its scopes must be ones the caller holds."""
    principal = principal_for(request)
    principal.require("service_accounts", "manage")
    for scope in body.scopes:
        if not principal.holds(scope):
            raise Problem(403, "insufficient-scope", f"a key can only be given scopes its issuer holds: not {scope}")

    async def handle() -> Response:
        account = await _account(request, name)
        key_id, key = await issue_key(
            state_of(request).db, account["id"], list(body.scopes), name=body.name, expires_at=body.expires_at
        )
        row = await state_of(request).db.accounts.key(key_id)
        assert row is not None
        created = CreatedApiKey(**_key_out(row, name).model_dump(), key=key)
        return JSONResponse(created.model_dump(), status_code=201, headers={"Cache-Control": "no-store"})

    return await idempotent(request, handle, redact=_without_key)


@router.get("/v1/service-accounts/{name}/api-keys", response_model=ApiKeyPage)
async def list_keys(
    request: Request,
    name: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ApiKeyPage:
    """The account's keys (metadata only: neither the key nor its hash is ever returned)."""
    principal_for(request).require("service_accounts", "read")
    account = await _account(request, name)
    after = decode_cursor(cursor, account["id"]) if cursor else ""
    rows = await state_of(request).db.accounts.keys(account["id"], after, limit + 1)
    next_cursor = encode_cursor(rows[limit - 1]["id"], account["id"]) if len(rows) > limit else None
    return ApiKeyPage(items=[_key_out(row, name) for row in rows[:limit]], next_cursor=next_cursor)


@router.post("/v1/api-keys/{key_id}:revoke", response_model=ApiKey)
async def revoke_key(request: Request, key_id: str) -> ApiKey:
    """Revoke a key at once (idempotent: revoking again keeps the first revocation time)."""
    principal_for(request).require("service_accounts", "manage")
    db = state_of(request).db
    key = await db.accounts.key(key_id)
    if key is None:
        raise Problem(404, "not-found", f"API key {key_id!r} does not exist")
    await _require_all_it_holds(request, await _account(request, key["account"]), "revoke keys of")
    async with db.transaction() as tx:
        await tx.accounts.revoke_key(key_id, now_text())
    state_of(request).keys.clear()  # this process refuses the key at once; other replicas within 1 s
    row = await db.accounts.key(key_id)
    if row is None:
        raise Problem(404, "not-found", f"API key {key_id!r} does not exist")
    return _key_out(row, row["account"])
