"""Ingestion errors: each carries the HTTP status a webhook answers with and a reason a sender's operator can act on."""

from __future__ import annotations


class IngestError(Exception):
    """Base of every error a source strategy raises; never carries a secret in its message."""

    status_code = 400
    code = "invalid-payload"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PayloadError(IngestError):
    """The body does not parse as the source's format: 400, nothing stored."""


class AuthenticationError(IngestError):
    """Missing or wrong credentials: 401. The reason never says which part was wrong."""

    status_code = 401
    code = "unauthenticated"


class ForbiddenError(IngestError):
    """Valid credentials that do not allow this source or integration: 403."""

    status_code = 403
    code = "forbidden"


class PayloadTooLargeError(IngestError):
    status_code = 413
    code = "payload-too-large"


class RetryLaterError(IngestError):
    """A step that depends on a third party failed (confirming an SNS subscription): 503, so the sender retries."""

    status_code = 503
    code = "retry-later"

    def __init__(self, reason: str, retry_after: int = 20) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class CredentialsUnavailableError(RetryLaterError):
    """The integration's credential is configured but cannot be read now (an empty or missing Secret file): 503, so
    the sender retries once it is back; never open."""

    code = "credentials-unavailable"

    def __init__(self, reason: str = "credentials unavailable", retry_after: int = 10) -> None:
        super().__init__(reason, retry_after)
