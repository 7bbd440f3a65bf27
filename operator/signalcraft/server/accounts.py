"""Service accounts (no login, only API keys) and their keys: shown once, hashed at rest, scoped, revocable."""

from __future__ import annotations

import json

import aiosqlite
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from signalcraft.server.auth import create_service_account, issue_key, now_text
from signalcraft.server.context import principal_for, state_of
from signalcraft.server.idempotency import idempotent
from signalcraft.server.problems import Problem
from signalcraft.server.schemas import ApiKeyCreate, ServiceAccountCreate

router = APIRouter()


class ServiceAccountOut(BaseModel):
    id: str
    name: str
    description: str
    created_at: str


class ApiKeyOut(BaseModel):
    id: str
    name: str
    service_account: str
    scopes: list[str]
    created_at: str
    expires_at: str | None
    revoked_at: str | None


class ApiKeyCreated(ApiKeyOut):
    key: str
    """The key itself, returned this once."""


def _key_out(row: aiosqlite.Row, account: str) -> ApiKeyOut:
    return ApiKeyOut(
        id=row["id"],
        name=row["name"],
        service_account=account,
        scopes=json.loads(row["scopes"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


async def _account(request: Request, name: str) -> aiosqlite.Row:
    row = await state_of(request).db.fetch_one("SELECT * FROM service_accounts WHERE name = ?", (name,))
    if row is None:
        raise Problem(404, "not-found", f"service account {name!r} does not exist")
    return row


@router.post("/v1/service-accounts", status_code=201, response_model=ServiceAccountOut)
async def create_account(request: Request, body: ServiceAccountCreate) -> Response:
    principal_for(request).require("service_accounts", "manage")

    async def handle() -> Response:
        if await state_of(request).db.fetch_one("SELECT id FROM service_accounts WHERE name = ?", (body.name,)):
            raise Problem(409, "already-exists", f"service account {body.name!r} exists")
        await create_service_account(state_of(request).db, body.name, body.description)
        row = await _account(request, body.name)
        out = ServiceAccountOut(
            id=row["id"], name=row["name"], description=row["description"], created_at=row["created_at"]
        )
        return JSONResponse(out.model_dump(), status_code=201)

    return await idempotent(request, handle)


@router.get("/v1/service-accounts", response_model=list[ServiceAccountOut])
async def list_accounts(request: Request) -> list[ServiceAccountOut]:
    principal_for(request).require("service_accounts", "read")
    rows = await state_of(request).db.fetch_all("SELECT * FROM service_accounts ORDER BY name")
    return [
        ServiceAccountOut(id=r["id"], name=r["name"], description=r["description"], created_at=r["created_at"])
        for r in rows
    ]


@router.post("/v1/service-accounts/{name}/api-keys", status_code=201, response_model=ApiKeyCreated)
async def create_key(request: Request, name: str, body: ApiKeyCreate) -> Response:
    principal = principal_for(request)
    principal.require("service_accounts", "manage")
    if "*" in body.scopes and "*" not in principal.scopes:
        raise Problem(403, "insufficient-scope", "only an admin key can issue an admin key")

    async def handle() -> Response:
        account = await _account(request, name)
        key_id, key = await issue_key(
            state_of(request).db, account["id"], list(body.scopes), name=body.name, expires_at=body.expires_at
        )
        row = await state_of(request).db.fetch_one("SELECT * FROM api_keys WHERE id = ?", (key_id,))
        assert row is not None
        created = ApiKeyCreated(**_key_out(row, name).model_dump(), key=key)
        return JSONResponse(created.model_dump(), status_code=201, headers={"Cache-Control": "no-store"})

    return await idempotent(request, handle)


@router.get("/v1/service-accounts/{name}/api-keys", response_model=list[ApiKeyOut])
async def list_keys(request: Request, name: str) -> list[ApiKeyOut]:
    principal_for(request).require("service_accounts", "read")
    account = await _account(request, name)
    rows = await state_of(request).db.fetch_all(
        "SELECT * FROM api_keys WHERE service_account_id = ? ORDER BY created_at, id", (account["id"],)
    )
    return [_key_out(row, name) for row in rows]


@router.post("/v1/api-keys/{key_id}:revoke", response_model=ApiKeyOut)
async def revoke_key(request: Request, key_id: str) -> ApiKeyOut:
    principal_for(request).require("service_accounts", "manage")
    db = state_of(request).db
    async with db.transaction() as tx:
        await tx.execute("UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?", (now_text(), key_id))
    row = await db.fetch_one(
        "SELECT k.*, s.name AS account FROM api_keys k JOIN service_accounts s ON s.id = k.service_account_id "
        "WHERE k.id = ?",
        (key_id,),
    )
    if row is None:
        raise Problem(404, "not-found", f"API key {key_id!r} does not exist")
    return _key_out(row, row["account"])
