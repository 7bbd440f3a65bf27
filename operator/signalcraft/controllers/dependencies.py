"""Who depends on what: an in-memory index kept current from the watch events the operator receives anyway.

A dependency's change (a Secret rotated, a referenced resource became Ready) nudges exactly the resources that depend
on it; this index says which. It is a plain dictionary updated as each event arrives: no LIST, and no handler ever
waits for it to be complete (kopf's own indexes make every handler wait until every object of every kind is
indexed, and wake all waiters on each update — most of a restart's time with thousands of objects).

Because nothing waits, events arrive in any order (at start-up each kind is listed on its own): a dependant that is
waiting when its reference is already known to be Ready is nudged from its own event, with the same token the
reference's event would have used, so a nudge is written once whichever event comes first. Pure and kopf-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from signalcraft.controllers import conditions as cond
from signalcraft.controllers.conditions import ConditionType
from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.model import KubeObject

DependencyKey = tuple[str, ...]
"""("ref", namespace, kind, name) for a custom resource, ("secret", namespace, name) for a Secret."""
ObjectKey = tuple[str, str, str]
"""(kind, namespace, name)."""


@dataclass(frozen=True)
class Nudge:
    """Ask for `name` (of `kind`, in `namespace`) to be reconciled now; `token` says why, and is written as is."""

    kind: str
    namespace: str
    name: str
    token: str


@dataclass(frozen=True, slots=True)
class _Entry:
    generation: int
    keys: tuple[DependencyKey, ...]
    waiting: bool


def ref_key(namespace: str, kind: str, name: str) -> DependencyKey:
    return ("ref", namespace, kind, name)


def secret_key(namespace: str, name: str) -> DependencyKey:
    return ("secret", namespace, name)


def ready_token(kind: ManagedKind, name: str, generation: int) -> str:
    return f"{kind.singular}-{name}-{generation}"


class DependencyIndex:
    def __init__(self, resync_annotation: str) -> None:
        self._resync_annotation = resync_annotation
        self._entries: dict[ObjectKey, _Entry] = {}
        self._dependants: dict[DependencyKey, set[tuple[str, str]]] = {}
        self._ready: dict[ObjectKey, tuple[str, int]] = {}
        """Objects Ready at their current generation: singular name and generation (for the nudge token)."""

    def __len__(self) -> int:
        """How many objects depend on something."""
        return sum(1 for entry in self._entries.values() if entry.keys)

    def dependants(self, key: DependencyKey) -> list[tuple[str, str, bool]]:
        """(kind, name, waiting) of each object depending on `key`, sorted."""
        namespace = key[1]
        found = []
        for kind, name in self._dependants.get(key, ()):
            entry = self._entries.get((kind, namespace, name))
            found.append((kind, name, entry is not None and entry.waiting))
        return sorted(found)

    def observe(self, kind: ManagedKind, body: Mapping[str, Any]) -> list[Nudge]:
        """Record an added or modified object; the nudges its new state calls for."""
        obj = KubeObject(body)
        namespace, name = obj.namespace, obj.name
        object_key = (kind.kind, namespace, name)
        entry = self._update_entry(kind, obj, object_key)
        nudges: list[Nudge] = []
        if cond.is_true(obj.conditions, ConditionType.READY) and obj.observed_generation_is_current:
            self._ready[object_key] = (kind.singular, obj.generation)
            token = ready_token(kind, name, obj.generation)
            for dependant_kind, dependant, waiting in self.dependants(ref_key(namespace, kind.kind, name)):
                if waiting:
                    nudges.append(Nudge(dependant_kind, namespace, dependant, token))
        else:
            self._ready.pop(object_key, None)
        if entry is not None and entry.waiting:
            nudges.extend(self._nudge_if_resolvable(obj, kind, entry))
        return nudges

    def secret_changed(self, namespace: str, name: str, resource_version: str) -> list[Nudge]:
        """A Secret was written: every object using it (credential or connection Secret) re-syncs."""
        token = f"secret-{name}-{resource_version}"
        users = self.dependants(secret_key(namespace, name))
        return [Nudge(kind, namespace, dependant, token) for kind, dependant, _ in users]

    def forget(self, kind: ManagedKind, namespace: str, name: str) -> None:
        object_key = (kind.kind, namespace, name)
        self._ready.pop(object_key, None)
        entry = self._entries.pop(object_key, None)
        if entry is not None:
            self._unlink(entry.keys, (kind.kind, name))

    def _update_entry(self, kind: ManagedKind, obj: KubeObject, object_key: ObjectKey) -> _Entry | None:
        """The object's entry, None when it depends on nothing. The spec (so what the object depends on) changes only
        with the generation: it is parsed once per generation, not on every event."""
        previous = self._entries.get(object_key)
        keys = previous.keys if previous is not None and previous.generation == obj.generation else None
        if keys is None:
            keys = _dependency_keys(kind, obj)
            if previous is not None and previous.keys != keys:
                self._unlink(previous.keys, (kind.kind, obj.name))
            if previous is None or previous.keys != keys:
                for key in keys:
                    self._dependants.setdefault(key, set()).add((kind.kind, obj.name))
        waiting = bool(keys) and cond.reason_of(obj.conditions, ConditionType.REFERENCES_RESOLVED) not in (
            None,
            "Resolved",
        )
        entry = _Entry(obj.generation, keys, waiting)
        self._entries[object_key] = entry
        return entry if keys else None

    def _unlink(self, keys: tuple[DependencyKey, ...], dependant: tuple[str, str]) -> None:
        for key in keys:
            names = self._dependants.get(key)
            if names is not None:
                names.discard(dependant)
                if not names:
                    del self._dependants[key]

    def _nudge_if_resolvable(self, obj: KubeObject, kind: ManagedKind, entry: _Entry) -> list[Nudge]:
        """A waiting object whose references are all Ready already: its nudge may have been missed (its references'
        events came before this object was indexed). Nudged with a token a reference's own event would use."""
        tokens = []
        for key in entry.keys:
            if key[0] != "ref":
                continue
            ready = self._ready.get((key[2], key[1], key[3]))
            if ready is None:
                return []
            tokens.append(f"{ready[0]}-{key[3]}-{ready[1]}")
        if not tokens:
            return []
        if obj.annotations.get(self._resync_annotation) in tokens:
            return []  # already nudged for one of them: the reconcile it caused decided the object still waits
        return [Nudge(kind.kind, obj.namespace, obj.name, max(tokens))]


def _dependency_keys(kind: ManagedKind, obj: KubeObject) -> tuple[DependencyKey, ...]:
    try:
        spec = kind.parse_spec(obj.spec)
    except ValidationError:
        return ()
    namespace = obj.namespace
    keys = [ref_key(namespace, ref.kind, ref.name) for ref in kind.references(spec)]
    keys += [secret_key(namespace, ref.secret_name) for ref in kind.secret_references(spec)]
    connection = kind.connection_secret(spec)
    if connection is not None:
        keys.append(secret_key(namespace, connection))
    return tuple(dict.fromkeys(keys))
