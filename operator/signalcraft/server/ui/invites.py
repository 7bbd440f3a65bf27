"""`POST /v1/users/{name}:invite`: a one-time link with which a person sets their password and signs in.

The link is shown once (like an API key); only its SHA-256 is stored, it expires after a week, and issuing a new one
replaces the old. Machines keep using API keys; this is how people get in.
"""

from __future__ import annotations

from fastapi import Request
from pydantic import BaseModel

from signalcraft.server.context import AuthenticatedRoute, principal_for, state_of
from signalcraft.server.dispatch import PrefixRouter
from signalcraft.server.problems import Problem
from signalcraft.server.ui import people, store

router = PrefixRouter(tags=["users"], route_class=AuthenticatedRoute)


class Invite(BaseModel):
    invite_url: str
    expires_at: str


@router.post(
    "/v1/users/{name}:invite",
    response_model=Invite,
    summary="A one-time sign-in link for the user (shown once; a new one replaces the old); scope users:write",
)
async def invite_user(request: Request, name: str) -> Invite:
    principal_for(request).require("users", "write")
    db = state_of(request).db
    person = await store.person_by_name(db, name)
    if person is None:
        raise Problem(404, "not-found", f"users {name!r} does not exist")
    token, digest, expires_at = people.new_invite()
    await store.set_invite(db, person.id, digest, expires_at)
    base = state_of(request).public_url or str(request.base_url)
    return Invite(invite_url=f"{base.rstrip('/')}/ui/invite/{token}", expires_at=expires_at)
