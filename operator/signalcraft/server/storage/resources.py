"""Configurable resources (teams, schedules, policies, routing rules, integrations): one row per (collection, name)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from signalcraft.server.storage.engine import Connection, Row, dumps

COLUMNS = (
    "collection",
    "name",
    "id",
    "display_name",
    "description",
    "labels",
    "manager",
    "spec",
    "status",
    "secrets",
    "version",
    "created_at",
    "updated_at",
)
_UPSERT = (
    f"INSERT INTO resources ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)}) "  # noqa: S608
    "ON CONFLICT (collection, name) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in COLUMNS[2:])
)


@dataclass(frozen=True)
class LabelTerm:
    """One term of a label selector: `key=value` (equals), `key!=value` (differs), `key` (has), `!key` (has not)."""

    key: str
    operator: str
    """`=`, `!=`, `exists` or `!exists`."""
    value: str = ""


@dataclass(frozen=True)
class ResourceFilter:
    after: str | None = None
    name: str | None = None
    manager_identity: str | None = None
    """Exact, or a prefix when it ends with `*`."""
    updated_since: str | None = None
    labels: Sequence[LabelTerm] = ()


class ResourceStore:
    def __init__(self, db: Connection) -> None:
        self.db = db

    async def get(self, collection: str, name: str) -> Row | None:
        return await self.db.fetch_one("SELECT * FROM resources WHERE collection = ? AND name = ?", (collection, name))

    async def exists(self, collection: str, *, name: str | None = None, id: str | None = None) -> bool:
        column, value = ("name", name) if name is not None else ("id", id)
        sql = f"SELECT 1 AS found FROM resources WHERE collection = ? AND {column} = ?"  # noqa: S608 - a constant
        return await self.db.fetch_one(sql, (collection, value)) is not None

    async def referring(self, collection: str, path: str, name: str, object_id: str) -> list[str]:
        """Names of `collection` objects whose spec holds a reference at `path` (dotted) to this name or id."""
        keys = path.split(".")
        by_name = self.db.dialect.json_text("spec", *keys, "name")
        by_id = self.db.dialect.json_text("spec", *keys, "id")
        rows = await self.db.fetch_all(
            f"SELECT name FROM resources WHERE collection = ? AND ({by_name} = ? OR {by_id} = ?) ORDER BY name",  # noqa: S608
            (collection, name, object_id),
        )
        return [row["name"] for row in rows]

    async def put(self, row: Mapping[str, Any]) -> None:
        """Insert or replace the whole row (every column in COLUMNS)."""
        await self.db.execute(_UPSERT, tuple(row[column] for column in COLUMNS))

    async def delete(self, collection: str, name: str) -> None:
        await self.db.execute("DELETE FROM resources WHERE collection = ? AND name = ?", (collection, name))

    async def release(self, collection: str, name: str, now: str) -> None:
        await self.db.execute(
            "UPDATE resources SET manager = NULL, version = version + 1, updated_at = ? "
            "WHERE collection = ? AND name = ?",
            (now, collection, name),
        )

    async def reset(self, collection: str, name: str, spec: str, now: str) -> None:
        """Back to `spec` (JSON text) with no labels, names or manager: a new version."""
        await self.db.execute(
            "UPDATE resources SET spec = ?, labels = '{}', display_name = NULL, description = NULL, manager = NULL, "
            "version = version + 1, updated_at = ? WHERE collection = ? AND name = ?",
            (spec, now, collection, name),
        )

    async def set_secrets(
        self, collection: str, name: str, secrets: str, status: str, *, new_version_at: str | None = None
    ) -> None:
        """Replace the server-held secrets and the status (JSON text); with `new_version_at`, as a new version."""
        if new_version_at is None:
            await self.db.execute(
                "UPDATE resources SET secrets = ?, status = ? WHERE collection = ? AND name = ?",
                (secrets, status, collection, name),
            )
            return
        await self.db.execute(
            "UPDATE resources SET secrets = ?, status = ?, version = version + 1, updated_at = ? "
            "WHERE collection = ? AND name = ?",
            (secrets, status, new_version_at, collection, name),
        )

    async def set_status_member(self, collection: str, name: str, member: str, value: Any) -> None:
        """One member of a resource's server-owned status. A change is a new representation, so it counts up the
        version (a new ETag: a cached copy is never answered 304); setting the value it already has changes nothing."""
        dialect = self.db.dialect
        updated = dialect.json_set("status")
        await self.db.execute(
            f"UPDATE resources SET status = {updated}, version = version + 1 "  # noqa: S608
            f"WHERE collection = ? AND name = ? AND {dialect.distinct('status', updated)}",
            (dialect.member_arg(member), dumps(value), collection, name, dialect.member_arg(member), dumps(value)),
        )

    async def page(self, collection: str, where: ResourceFilter, limit: int) -> list[Row]:
        """Up to `limit` rows by name, after `where.after`, matching every filter."""
        dialect = self.db.dialect
        conditions: list[str] = ["collection = ?"]
        args: list[Any] = [collection]
        if where.after is not None:
            conditions.append("name > ?")
            args.append(where.after)
        if where.name:
            conditions.append("name = ?")
            args.append(where.name)
        if where.manager_identity:
            if where.manager_identity.endswith("*"):
                conditions.append("substr(manager_identity, 1, ?) = ?")
                args += [len(where.manager_identity) - 1, where.manager_identity[:-1]]
            else:
                conditions.append("manager_identity = ?")
                args.append(where.manager_identity)
        if where.updated_since is not None:
            conditions.append("updated_at >= ?")
            args.append(where.updated_since)
        for term in where.labels:
            member = dialect.member_arg(term.key)
            if term.operator == "=":
                conditions.append(f"{dialect.json_member('labels')} = ?")
                args += [member, term.value]
            elif term.operator == "!=":
                conditions.append(dialect.distinct(dialect.json_member("labels"), "?"))
                args += [member, term.value]
            elif term.operator == "exists":
                conditions.append(dialect.json_has_member("labels"))
                args.append(member)
            else:
                conditions.append(f"NOT {dialect.json_has_member('labels')}")
                args.append(member)
        sql = f"SELECT * FROM resources WHERE {' AND '.join(conditions)} ORDER BY name LIMIT ?"  # noqa: S608
        return await self.db.fetch_all(sql, (*args, limit))

    async def by_routing_key(self, routing_key: str) -> Row | None:
        """The alert policy whose spec has this routing key."""
        key = self.db.dialect.json_text("spec", "routing_key")
        return await self.db.fetch_one(
            f"SELECT name, spec FROM resources WHERE collection = 'alert-policies' AND {key} = ?",  # noqa: S608
            (routing_key,),
        )

    async def by_integration_key(self, integration_key: str) -> Row | None:
        """The integration whose generated integration key this is."""
        key = self.db.dialect.json_text("secrets", "integration_key")
        return await self.db.fetch_one(
            f"SELECT name, spec FROM resources WHERE collection = 'integrations' AND {key} = ?",  # noqa: S608
            (integration_key,),
        )

    async def integrations_of_type(self, *types: str) -> list[Row]:
        """(name, spec, secrets) of every integration of these types, by name."""
        kind = self.db.dialect.json_text("spec", "type")
        marks = ", ".join("?" for _ in types)
        return await self.db.fetch_all(
            f"SELECT name, spec, secrets FROM resources WHERE collection = 'integrations' AND {kind} IN ({marks}) "  # noqa: S608
            "ORDER BY name",
            types,
        )

    async def routing_rules(self) -> list[Row]:
        """(name, spec) of every routing rule in evaluation order: ascending priority, then name."""
        priority = self.db.dialect.json_sort_value("spec", "priority")
        return await self.db.fetch_all(
            f"SELECT name, spec FROM resources WHERE collection = 'routing-rules' ORDER BY {priority}, name"  # noqa: S608
        )

    async def all_of(self, collection: str) -> list[Row]:
        """(name, id, spec) of every object of a collection."""
        return await self.db.fetch_all(
            "SELECT name, id, spec FROM resources WHERE collection = ? ORDER BY name", (collection,)
        )
