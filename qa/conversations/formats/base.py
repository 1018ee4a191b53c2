"""What every helpdesk format module shares: the error it raises and time and channel helpers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

T = TypeVar("T")


class RecordError(ValueError):
    """A record breaks its format; the message names the field (and the record, when it can)."""


def iso_utc(value: Any, field: str) -> str | None:
    """An ISO 8601 time with an offset (or Z) as UTC 'YYYY-MM-DDTHH:MM:SSZ'; None stays None.

    A time without an offset is taken as UTC (helpdesk APIs answer in UTC unless told otherwise).
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RecordError(f"{field}: expected an ISO 8601 time, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise RecordError(f"{field}: not an ISO 8601 time: {value[:40]!r}") from None
    except OverflowError:  # an offset that moves year 1 or 9999 out of range
        raise RecordError(f"{field}: time out of range: {value[:40]!r}") from None


def unix_utc(value: Any, field: str) -> str | None:
    """Unix seconds (int, float or digits) as UTC 'YYYY-MM-DDTHH:MM:SSZ'; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RecordError(f"{field}: expected Unix seconds, got {type(value).__name__}")
    try:
        seconds = float(value)
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        raise RecordError(f"{field}: not a Unix time: {str(value)[:40]!r}") from None


def text_id(value: Any) -> str | None:
    """An id from a helpdesk (number or string) as text; None and "" stay None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def identified(label: str, value: Any, field: str, build: Callable[[str], T]) -> T:
    """`build(id)` for the record whose id is `value`, every RecordError naming the record.

    "ticket: id: required" when the id is missing, else "ticket 4521: comments[3].created_at: …".
    """
    try:
        ident = as_id(value, field)
        if ident is None:
            raise RecordError(f"{field}: required")
    except RecordError as exc:
        raise RecordError(f"{label}: {exc}") from None
    try:
        return build(ident)
    except RecordError as exc:
        raise RecordError(f"{label} {ident}: {exc}") from None


# ---- reading JSON values: every wrong type is a RecordError naming its field ---------------------


def kind_of(value: Any) -> str:
    """A JSON value's kind for an error message: "an object", "an array", "a string", "null", …."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return json.dumps(value) if value is None or isinstance(value, bool) else "a number"


def as_object(value: Any, field: str, *, required: bool = False) -> dict[str, Any]:
    """`value` if it is an object; null is {} unless required."""
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"{field}: expected an object, got {kind_of(value)}")
    return value


def as_list(value: Any, field: str, key: str | None = None) -> list[Any]:
    """`value` if it is an array, also when wrapped as APIs answer it ({key: [...]}); null is []."""
    if key is not None and isinstance(value, dict) and key in value:
        value, field = value[key], f"{field}.{key}"
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"{field}: expected an array, got {kind_of(value)}")
    return value


def as_count(value: Any, field: str) -> int | None:
    """A whole number ≥ 0 (a count); null stays None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError(f"{field}: expected a whole number ≥ 0, got {json.dumps(value)[:40]}")
    return value


def as_text(value: Any, field: str) -> str | None:
    """`value` if it is a string (or null)."""
    if value is None or isinstance(value, str):
        return value
    raise RecordError(f"{field}: expected a string, got {kind_of(value)}")


def as_id(value: Any, field: str) -> str | None:
    """An id (a number or a string) as text; null stays None."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float | str)):
        raise RecordError(f"{field}: expected an id (a number or a string), got {kind_of(value)}")
    return text_id(value)
