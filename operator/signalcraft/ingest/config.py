"""What the in-cluster webhook accepts: one or more integrations, each with its sources and its own credentials.

Credentials come from mounted Secret files (re-read when the file changes, so a rotated Secret needs no restart) or
from environment variables; they are never logged. Every source of an integration needs a sender credential it can
check (see `SENDER_CREDENTIALS`), or the configuration is refused at start-up: the webhook never runs open. A
configured file that is empty or missing makes that integration answer 503 "credentials unavailable" until it is back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from signalcraft.ingest.sources.base import IntegrationCredentials
from signalcraft.ingest.sources.registry import ALERT_SOURCE_NAMES


class ConfigError(ValueError):
    """The webhook's configuration is unusable; the message names the part, never a secret's value."""


class SecretFile:
    """A secret in a file, re-read only when the file changes (mounted Secrets are swapped in place on rotation)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int, int] | None = None
        self._value = ""
        self.read()

    def read(self) -> str:
        """The file's value; "" while it is missing or unreadable (the integration then answers 503, never open)."""
        try:
            status = self.path.stat()
            seen = (status.st_mtime_ns, status.st_ino, status.st_size)
            if seen != self._seen:
                self._value = self.path.read_text().strip()
                self._seen = seen
        except OSError:
            self._value, self._seen = "", None
        return self._value


@dataclass(frozen=True)
class SecretValue:
    """One credential: from a file (preferred), from an environment variable, or absent."""

    file: SecretFile | None = None
    value: str | None = None

    def get(self) -> str | None:
        if self.file is not None:
            return self.file.read() or None
        return self.value or None

    @property
    def configured(self) -> bool:
        return self.file is not None or self.value is not None


@dataclass(frozen=True)
class Integration:
    name: str
    sources: tuple[str, ...]
    token: SecretValue = SecretValue()
    basic_auth: SecretValue = SecretValue()
    """`user:password`."""
    hmac_secret: SecretValue = SecretValue()
    settings: Mapping[str, Any] = field(default_factory=dict)

    def credentials(self) -> IntegrationCredentials:
        user, _, password = (self.basic_auth.get() or "").partition(":")
        return IntegrationCredentials(
            token=self.token.get(),
            hmac_secret=self.hmac_secret.get(),
            basic_username=user or None,
            basic_password=password or None,
            options=self.settings,
        )


def secret(path: Path | None = None, env: str | None = None) -> SecretValue:
    if path is not None:
        return SecretValue(file=SecretFile(path))
    if env is not None:
        value = os.environ.get(env)
        if not value:
            raise ConfigError(f"the environment variable {env} is not set")
        return SecretValue(value=value)
    return SecretValue()


SENDER_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "alertmanager": ("token", "basic_auth"),
    "grafana": ("token", "basic_auth", "hmac_secret"),
    "aws-cloudwatch": ("sns-signature",),
    "azure-monitor": ("token", "basic_auth"),
    "gcp-monitoring": ("token", "basic_auth"),
    "generic-webhook": ("token", "basic_auth"),
}
"""The credentials each source's senders can present; "sns-signature" needs no secret of ours (SNS signs)."""


def checked(integration: Integration) -> Integration:
    """Refuse an integration with a source none of its credentials can authenticate."""
    configured = {kind for kind in ("token", "basic_auth", "hmac_secret") if getattr(integration, kind).configured}
    for source in integration.sources:
        kinds = set(SENDER_CREDENTIALS.get(source, ("token", "basic_auth")))
        unsigned = [key for key in ("raw_message_delivery", "eventbridge") if integration.settings.get(key)]
        if source == "aws-cloudwatch" and unsigned:
            kinds = {"token", "basic_auth"}  # unsigned shapes: the token is the only proof
        if "sns-signature" in kinds:
            continue
        if not kinds & configured:
            wanted = " or ".join(sorted(kinds)).replace("_", " ")
            raise ConfigError(
                f"integration {integration.name!r} has no sender credential for {source} (needs {wanted}"
                + (f"; {', '.join(unsigned)} is unsigned" if source == "aws-cloudwatch" else "")
                + ")"
            )
    return integration


class IntegrationEntry(BaseModel):
    """One integration in the webhook's configuration file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=253, description="The SignalCraft integration its alerts belong to.")
    sources: list[str] = Field(default_factory=lambda: ["alertmanager"], min_length=1)
    token_file: Path | None = None
    token_env: str | None = None
    basic_auth_file: Path | None = Field(default=None, description="A file holding `user:password`.")
    basic_auth_env: str | None = None
    hmac_secret_file: Path | None = None
    hmac_secret_env: str | None = None
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Per-source options, e.g. generic-webhook's field mapping."
    )

    @field_validator("sources")
    @classmethod
    def known_sources(cls, sources: list[str]) -> list[str]:
        unknown = sorted(set(sources) - set(ALERT_SOURCE_NAMES))
        if unknown:
            raise ValueError(f"unknown sources {unknown}; known: {', '.join(ALERT_SOURCE_NAMES)}")
        return sources

    @model_validator(mode="after")
    def one_place_per_secret(self) -> IntegrationEntry:
        for kind in ("token", "basic_auth", "hmac_secret"):
            if getattr(self, f"{kind}_file") is not None and getattr(self, f"{kind}_env") is not None:
                raise ValueError(f"give {kind}_file or {kind}_env, not both")
        return self

    def integration(self) -> Integration:
        return checked(
            Integration(
                name=self.name,
                sources=tuple(self.sources),
                token=secret(self.token_file, self.token_env),
                basic_auth=secret(self.basic_auth_file, self.basic_auth_env),
                hmac_secret=secret(self.hmac_secret_file, self.hmac_secret_env),
                settings=self.settings,
            )
        )


class WebhookFile(BaseModel):
    """The webhook's configuration file (YAML): the integrations it accepts alerts for."""

    model_config = ConfigDict(extra="forbid")

    integrations: list[IntegrationEntry] = Field(min_length=1)

    @field_validator("integrations")
    @classmethod
    def unique_names(cls, entries: list[IntegrationEntry]) -> list[IntegrationEntry]:
        names = [entry.name for entry in entries]
        if len(names) != len(set(names)):
            raise ValueError("integration names must be unique")
        return entries


def load_integrations(path: Path) -> list[Integration]:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        parsed = WebhookFile.model_validate(document)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return [entry.integration() for entry in parsed.integrations]
