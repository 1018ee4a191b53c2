"""Domain errors raised by services; one handler in qa.web.errors renders them per request type."""

from __future__ import annotations


class CaliperError(Exception):
    """Base error: a message a user can read and the HTTP status it maps to."""

    status_code = 400

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class NotFound(CaliperError):
    """The object does not exist, or the actor may not know it exists."""

    status_code = 404


class Forbidden(CaliperError):
    """The actor is known but their role may not do this."""

    status_code = 403


class Unauthorized(CaliperError):
    """No valid login or token."""

    status_code = 401


class Conflict(CaliperError):
    """The request clashes with the current state (a duplicate, a submitted review...)."""

    status_code = 409


class TooLarge(CaliperError):
    """The upload is larger than the configured limit."""

    status_code = 413


class TooManyRequests(CaliperError):
    """Rate limit reached (login attempts)."""

    status_code = 429


class InvalidInput(CaliperError):
    """The input is malformed or breaks a rule; `field` names the offending field when known."""

    status_code = 422

    def __init__(self, message: str, field: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message, status_code)
        self.field = field
