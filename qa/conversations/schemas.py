"""Pydantic shapes of the native conversation format (PRODUCT.md §4): what imports accept and the API returns.

Every importer (native now; zendesk, intercom, freshdesk and csv later) ends in `ConversationIn`, so
validation, derived facts and the upsert are written once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    with_config,
)
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from qa.models import AuthorRole, Channel

DEFAULT_SOURCE = "import"


class ImportFormat(StrEnum):
    """The file formats `qa import` and `POST /api/v1/conversations` name."""

    native = "native"
    zendesk = "zendesk"
    intercom = "intercom"
    freshdesk = "freshdesk"
    csv = "csv"


def _id_to_str(value: Any) -> Any:
    # Helpdesks use numeric ids; they are stored as strings (bool is an int in Python, keep it an error).
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _none_to_empty_str(value: Any) -> Any:
    return "" if value is None else value


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


def _none_to_dict(value: Any) -> Any:
    return {} if value is None else value


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


# PostgreSQL text cannot hold NUL, and no database can store half a surrogate pair (JSON allows
# "\ud800" alone): refuse both everywhere, so both databases behave the same.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_reason(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL (\\u0000) characters"
    return f"must not contain a lone surrogate (\\u{ord(found.group()):04x}): not valid Unicode text"


def _no_nul(value: str | None) -> str | None:
    reason = None if value is None else unstorable_reason(value)
    if reason:
        raise ValueError(reason)
    return value


def parse_time(value: Any) -> datetime:
    """An ISO 8601 date and time as an aware UTC datetime; naive times are taken as UTC."""
    if not isinstance(value, str):
        raise ValueError("Input should be an ISO 8601 date and time string")
    try:
        parsed = datetime.fromisoformat(value.strip())
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset that moves year 1 or 9999 out of range
        raise ValueError(f"Input should be an ISO 8601 date and time, got {value[:40]!r}") from None


def _time(value: Any) -> Any:
    return value if value is None or isinstance(value, datetime) else parse_time(value)


def _ref(value: Any) -> Any:
    # "agent": "a-7" is shorthand for {"external_id": "a-7"}.
    if isinstance(value, str | int) and not isinstance(value, bool):
        return {"external_id": value}
    return value


ExternalId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    BeforeValidator(_id_to_str),
    AfterValidator(_no_nul),
]
OptionalId = Annotated[ExternalId | None, BeforeValidator(_blank_to_none)]
# The same ISO 8601 rule for conversations and messages (messages are parsed by the importer's fast path).
UTCTime = Annotated[datetime, BeforeValidator(_time)]
# Optional text: trimmed, blank means null, NUL refused, at most N characters (the column's size).
NoNul = AfterValidator(_no_nul)
Blank = BeforeValidator(_blank_to_none)
Text35 = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=35), NoNul, Blank]
Text100 = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=100), NoNul, Blank]
Text200 = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200), NoNul, Blank]
Name255 = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=255), NoNul, Blank]
Email = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=320), NoNul, Blank]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoNul]
Id255 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]


class AgentIn(BaseModel):
    """The agent a conversation belongs to, as the helpdesk knows them."""

    model_config = ConfigDict(extra="ignore")

    external_id: ExternalId
    name: Name255 = None
    email: Email = None


class CustomerIn(BaseModel):
    """The customer; both fields optional."""

    model_config = ConfigDict(extra="ignore")

    external_id: OptionalId = None
    name: Name255 = None


@with_config(ConfigDict(coerce_numbers_to_str=True, extra="ignore"))
class MessageIn(TypedDict):
    """One message; `internal` marks a note customers never saw.

    A TypedDict, not a model: a large import validates millions of messages, and pydantic-core
    checks a TypedDict without building an object per message (≈2× faster). The importer
    finishes the job in its single pass over the messages: `created_at` is parsed as ISO 8601
    (`parse_time`), blank ids become null and NUL characters are refused.
    """

    author: Literal["agent", "customer", "bot", "system"]
    body: str
    created_at: NotRequired[str | None]
    author_id: NotRequired[Id255 | None]
    author_name: NotRequired[Id255 | None]
    internal: NotRequired[bool]


class ConversationIn(BaseModel):
    """One conversation in the native format, validated; `created_at` may be filled from the messages."""

    model_config = ConfigDict(extra="ignore")

    external_id: ExternalId
    source: Text100 = None
    channel: Annotated[Channel, BeforeValidator(_lower)] = Channel.other
    subject: Annotated[str | None, AfterValidator(_no_nul)] = None
    agent: Annotated[AgentIn | None, BeforeValidator(_ref)] = None
    team: Text200 = None
    customer: Annotated[CustomerIn | None, BeforeValidator(_ref)] = None
    created_at: UTCTime | None = None
    closed_at: UTCTime | None = None
    csat: Annotated[int | None, Field(ge=1, le=5)] = None
    tags: Annotated[list[Tag], BeforeValidator(_none_to_list)] = Field(default_factory=list)
    language: Text35 = None
    reopen_count: Annotated[int | None, Field(ge=0, le=1_000_000)] = None
    messages: Annotated[list[MessageIn], Field(min_length=1)]
    metadata: Annotated[dict[str, Any], BeforeValidator(_none_to_dict)] = Field(default_factory=dict)


# ---- API answers -------------------------------------------------------------------------------------------


class RejectionOut(BaseModel):
    """A record that was not imported: its 0-based index in the input, why, and its line for JSON Lines."""

    index: int
    error: str
    line: int | None = None


class ImportResultOut(BaseModel):
    """What an import did."""

    created: int
    updated: int
    rejected: list[RejectionOut]


class AgentOut(BaseModel):
    """An agent as the native format writes it."""

    external_id: str
    name: str
    email: str | None


class CustomerOut(BaseModel):
    """A customer as the native format writes it."""

    external_id: str | None
    name: str | None


class MessageOut(BaseModel):
    """One message of a conversation."""

    author: AuthorRole
    author_id: str | None
    author_name: str | None
    body: str
    created_at: datetime | None
    internal: bool


class ConversationSummaryOut(BaseModel):
    """A conversation in the native shape (without messages) plus its id and the facts derived on import."""

    id: int
    external_id: str
    source: str
    channel: Channel
    subject: str | None
    agent: AgentOut | None
    team: str | None
    customer: CustomerOut | None
    created_at: datetime
    closed_at: datetime | None
    csat: int | None
    tags: list[str]
    language: str | None
    metadata: dict[str, Any]
    message_count: int
    agent_message_count: int
    customer_message_count: int
    first_response_seconds: int | None
    handle_seconds: int | None
    reopen_count: int | None
    imported_at: datetime


class ConversationOut(ConversationSummaryOut):
    """A conversation with its messages, in order."""

    messages: list[MessageOut]


class ConversationPage(BaseModel):
    """One page of conversations; pass `next` as `cursor` to get the following page."""

    items: list[ConversationSummaryOut]
    next: str | None
