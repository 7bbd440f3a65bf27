"""The SignalCraft API v1 contract as the programs use it: resource models, the async client, the error tree."""

from __future__ import annotations

from signalcraft.api import errors
from signalcraft.api.client import SignalCraftClient
from signalcraft.api.models import IntegrationConnection, Manager, ManagerSource, PutResult, Resource

__all__ = ["IntegrationConnection", "Manager", "ManagerSource", "PutResult", "Resource", "SignalCraftClient", "errors"]
