"""The SignalCraft API v1 contract, declared once: spec models of every collection (`specs`), the resource envelope
(`envelope`), the collection registry (`collections`), alerts and events (`alerts`), service accounts and keys
(`accounts`), size limits (`limits`); plus the async client and the error tree every program uses."""

from __future__ import annotations

from signalcraft.api import errors
from signalcraft.api.client import SignalCraftClient
from signalcraft.api.collections import COLLECTIONS, Collection
from signalcraft.api.envelope import IntegrationConnection, Manager, ManagerSource, PutResult, Resource

__all__ = [
    "COLLECTIONS",
    "Collection",
    "IntegrationConnection",
    "Manager",
    "ManagerSource",
    "PutResult",
    "Resource",
    "SignalCraftClient",
    "errors",
]
