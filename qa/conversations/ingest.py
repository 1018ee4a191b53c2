"""Conversation import, one pipeline for every format: parse → convert → validate → upsert.

- parse: a JSON array or JSON Lines byte stream becomes raw records (`ParsedRecord`), read
  incrementally so a 1 GB file never sits in memory. A record that is not JSON arrives as an error
  and the rest go on.
- convert: one function per format turns a raw record into a native-shape dict (CONVERTERS). Only
  native exists so far; zendesk, intercom, freshdesk and csv will each be one module registered there.
- validate: `schemas.ConversationIn` plus one pass over the messages gives a `NativeRecord` with the
  derived facts (counts, first response, handle time, the agent).
- upsert: in chunks, idempotent by (source, external_id). Per chunk there is one SELECT for known
  ids, one executemany INSERT for new conversations (and one SELECT for their ids), one executemany
  UPDATE for known ones, whose messages are replaced in place by position; messages go through the
  driver's executemany too. Agents and teams are created on first sight and cached for the import.

A bad record is rejected with its index and reason and never stops or corrupts the rest: validation
happens before any write, and a chunk the database refuses is retried record by record.
"""

from __future__ import annotations

import codecs
import functools
import itertools
import json
import multiprocessing
import os
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session

from qa.conversations import formats, language
from qa.conversations.formats.base import RecordError
from qa.conversations.schemas import (
    DEFAULT_SOURCE,
    UNSTORABLE,
    ConversationIn,
    ImportFormat,
    MessageIn,
    parse_time,
    unstorable_reason,
)
from qa.errors import CaliperError, InvalidInput
from qa.models import Agent, Conversation, Message, MessageComment, Review, Team, utcnow
from qa.reporting import rollup

CHUNK_SIZE = 2000
READ_SIZE = 1 << 20
MAX_KEPT_REJECTIONS = 10_000
MAX_DOCUMENT_BYTES = 64 << 20
MAX_SHOWN_REJECTIONS = 20
MAX_INT32 = 2**31 - 1
BOM = codecs.BOM_UTF8
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl",
                          "application/x-jsonlines", "application/jsonlines", "application/json-lines"})

CONVERSATION = Conversation.__table__  # type: ignore[attr-defined]
MESSAGE = Message.__table__  # type: ignore[attr-defined]
AGENT = Agent.__table__  # type: ignore[attr-defined]
TEAM = Team.__table__  # type: ignore[attr-defined]
MESSAGE_COMMENT = MessageComment.__table__  # type: ignore[attr-defined]
REVIEW = Review.__table__  # type: ignore[attr-defined]
CONVERSATION_COLUMNS = (
    "source", "external_id", "channel", "subject", "agent_id", "team_id", "customer_external_id",
    "customer_name", "created_at", "closed_at", "csat", "tags", "language", "metadata", "message_count",
    "agent_message_count", "customer_message_count", "first_response_seconds", "handle_seconds",
    "reopen_count", "imported_at",
)
# In the order of a message row: (conversation_id, *NativeRecord.messages[i]).
MESSAGE_COLUMNS = ("conversation_id", "position", "author", "author_id", "author_name", "body", "created_at",
                   "internal")


# ---- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """A record that was not imported: its 0-based index in the input, why, and its line (JSON Lines)."""

    index: int
    error: str
    line: int | None = None

    def describe(self) -> str:
        """One line: "record 5 (line 6): messages[0].author: ..."."""
        where = f"record {self.index}" if self.line is None else f"record {self.index} (line {self.line})"
        return f"{where}: {self.error}"


@dataclass
class ImportResult:
    """What an import did; `rejected` keeps the first MAX_KEPT_REJECTIONS, `more_rejected` counts the rest."""

    created: int = 0
    updated: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    more_rejected: int = 0
    bytes_read: int = 0  # of a file: how far the import has read, for progress bars
    total_bytes: int | None = None

    @property
    def rejected_count(self) -> int:
        """Every rejected record, kept or not."""
        return len(self.rejected) + self.more_rejected

    def reject(self, index: int, error: str, line: int | None = None) -> None:
        """Record one rejection."""
        if len(self.rejected) < MAX_KEPT_REJECTIONS:
            self.rejected.append(Rejection(index, error, line))
        else:
            self.more_rejected += 1

    def describe(self) -> str:
        """"created 10, updated 2, rejected 1" and then up to 20 lines naming the rejected records."""
        lines = [f"created {self.created}, updated {self.updated}, rejected {self.rejected_count}"]
        lines += [f"  {r.describe()}" for r in self.rejected[:MAX_SHOWN_REJECTIONS]]
        if self.rejected_count > MAX_SHOWN_REJECTIONS:
            lines.append(f"  ... and {self.rejected_count - MAX_SHOWN_REJECTIONS} more")
        return "\n".join(lines)


# ---- parse ---------------------------------------------------------------------------------------


class ParsedRecord(NamedTuple):
    """One raw record of the input: its decoded JSON value, or the reason it could not be read."""

    value: Any
    line: int | None = None
    error: str | None = None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# NaN and Infinity are Python extensions to JSON that PostgreSQL's json type refuses: reject them here.
class _Decoder(json.JSONDecoder):
    """The stdlib decoder, with nesting too deep for the recursive parser reported as bad JSON."""

    def raw_decode(self, s: str, idx: int = 0) -> tuple[Any, int]:
        try:
            return super().raw_decode(s, idx)
        except RecursionError:
            raise ValueError("nested too deeply") from None


_DECODER = _Decoder(parse_constant=_reject_constant)
_NON_SPACE = re.compile(r"[^ \t\n\r]")
_STRUCTURE = re.compile(r'["\[\]{},]')
_STRING_STOP = re.compile(r'["\\]')


def _json_error(exc: ValueError, where: str) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg} ({where} {exc.pos + 1})"
    return f"invalid JSON: {exc}"


def iter_records(chunks: Iterable[bytes]) -> Iterator[ParsedRecord]:
    """The records of a JSON array or JSON Lines byte stream (sniffed: an array starts with '[')."""
    stream = iter(chunks)
    head = b""
    for chunk in stream:
        head += chunk
        if len(head) >= len(BOM) and head.removeprefix(BOM).lstrip():
            break
    head = head.removeprefix(BOM)
    rest = _chain(head, stream)
    if head.lstrip()[:1] == b"[":
        return _array_records(rest)
    return _jsonl_records(rest)


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def read_file_records(fp: Any) -> Iterator[ParsedRecord]:
    """The records of an open binary file (JSON array or JSON Lines), read in 1 MB chunks."""
    return iter_records(iter(functools.partial(fp.read, READ_SIZE), b""))


def parse_bytes(data: bytes, content_type: str | None) -> Iterator[ParsedRecord]:
    """The records of a request body, read lazily: JSON Lines for an ndjson content type, else JSON.

    JSON is an array of records or one record. Malformed JSON there is the request's fault:
    InvalidInput (400) is raised, at the latest when the bad element is reached, so the caller's
    transaction rolls back. With JSON Lines each bad line is rejected alone and the rest imported.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    data = data.removeprefix(BOM)
    if media in NDJSON_TYPES:
        return _jsonl_records(_slices(data))
    head = data.lstrip()[:1]
    if not head:
        raise InvalidInput("The request body is empty: send a JSON array of conversations.", status_code=400)
    if head == b"[":
        return _strict(_array_records(_slices(data)))  # element by element: no 10x memory spike
    if head != b"{":
        raise InvalidInput("Expected a JSON array of conversations (or one conversation object).",
                           status_code=400)
    try:
        value = _DECODER.decode(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"The body is not valid UTF-8 (byte {exc.start + 1}).", status_code=400) from None
    except json.JSONDecodeError as exc:
        hint = " (for JSON Lines send Content-Type: application/x-ndjson)" if exc.msg == "Extra data" else ""
        message = f"Malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}."
        raise InvalidInput(message, status_code=400) from None
    except ValueError as exc:
        raise InvalidInput(f"Malformed JSON: {exc}.", status_code=400) from None
    return iter([ParsedRecord(value)])


def _slices(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), READ_SIZE):
        yield bytes(view[start : start + READ_SIZE])


def _strict(records: Iterator[ParsedRecord]) -> Iterator[ParsedRecord]:
    for index, record in enumerate(records):
        if record.error is not None:
            reason = record.error.removeprefix("invalid JSON: ")
            raise InvalidInput(f"Malformed JSON in record {index}: {reason}.", status_code=400)
        yield record


def _lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    pending: list[bytes] = []
    for chunk in chunks:
        if b"\n" not in chunk:
            pending.append(chunk)
            continue
        parts = chunk.split(b"\n")
        if pending:
            parts[0] = b"".join(pending) + parts[0]
            pending = []
        last = parts.pop()
        yield from parts
        if last:
            pending.append(last)
    if pending:
        yield b"".join(pending)


def _decode_line(raw: bytes, number: int) -> ParsedRecord:
    try:
        return ParsedRecord(_DECODER.decode(raw.decode("utf-8")), number)
    except UnicodeDecodeError as exc:
        return ParsedRecord(None, number, f"not valid UTF-8 (byte {exc.start + 1} of the line)")
    except ValueError as exc:
        return ParsedRecord(None, number, _json_error(exc, "column"))


def _non_blank(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(lines, start=1):
        if raw and not raw.isspace():  # blank lines are not records
            yield number, raw


def _jsonl_records(chunks: Iterable[bytes]) -> Iterator[ParsedRecord]:
    lines: Iterator[tuple[int, bytes]] = _non_blank(_lines(chunks))
    first = next(lines, None)
    if first is None:
        return
    number, raw = first
    parsed = _decode_line(raw, number)
    if parsed.error and raw.lstrip()[:1] == b"{":
        # Not JSON Lines after all? A pretty-printed single object spans lines; try it whole.
        document, buffered = _whole_document(raw, lines)
        if document is not None:
            yield ParsedRecord(document, number)
            return
        lines = itertools.chain(buffered, lines)
    yield parsed
    for number, raw in lines:
        yield _decode_line(raw, number)


def _whole_document(first: bytes, lines: Iterator[tuple[int, bytes]]) -> tuple[Any, list[tuple[int, bytes]]]:
    buffered: list[tuple[int, bytes]] = []
    size = len(first)
    for item in lines:
        buffered.append(item)
        size += len(item[1])
        if size > MAX_DOCUMENT_BYTES:
            return None, buffered
    text = b"\n".join([first, *(raw for _, raw in buffered)])
    try:
        value = _DECODER.decode(text.decode("utf-8"))
    except ValueError:
        return None, buffered
    return (value, []) if isinstance(value, dict) else (None, buffered)


class _Undecodable(Exception):
    """The byte stream is not UTF-8 from some point on."""


class _Text:
    """Incrementally decoded UTF-8 text with a read position, for streaming a JSON array."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._consumed = 0
        self._bad: str | None = None
        self.buf = ""
        self.pos = 0
        self.eof = False

    def more(self) -> bool:
        """Append the next chunk; False at the end of the input."""
        if self._bad is not None:
            raise _Undecodable(self._bad)
        if self.eof:
            return False
        chunk = next(self._chunks, None)
        try:
            self.buf += self._decoder.decode(chunk or b"", final=chunk is None)
        except UnicodeDecodeError as exc:
            # Keep the valid text before the bad byte; reading past it stops the import of the file.
            self._bad = f"not valid UTF-8 from byte {self._consumed + exc.start + 1} on"
            self.buf += exc.object[: exc.start].decode("utf-8")
            return exc.start > 0 or self.more()
        if chunk is None:
            self.eof = True
            return False
        self._consumed += len(chunk)
        return True

    def compact(self) -> None:
        """Drop the text already read (only between records, when no offsets are held)."""
        if self.pos > READ_SIZE:
            self.buf = self.buf[self.pos :]
            self.pos = 0

    def peek(self) -> str:
        """The next non-whitespace character ('' at the end), positioned on it."""
        while True:
            match = _NON_SPACE.search(self.buf, self.pos)
            if match:
                self.pos = match.start()
                return self.buf[self.pos]
            self.pos = len(self.buf)
            if not self.more():
                return ""

    def value(self) -> ParsedRecord:
        """Decode the array element at the position and move past it."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except ValueError:
                return self._recover()
            # A value that ends exactly at the buffer's end may go on (a number); read on to be sure.
            if end < len(self.buf) or not self.more():
                self.pos = end
                return ParsedRecord(value)

    def _recover(self) -> ParsedRecord:
        # The element is cut by the buffer's end or is malformed: find where it ends (the next ','
        # or ']' outside strings and brackets), then decode exactly that text.
        start = self.pos
        end = self._element_end(start)
        if end is not None and end <= start:
            end = start + 1  # always move on, whatever the input
        text = self.buf[start:end]
        self.pos = len(self.buf) if end is None else end
        try:
            return ParsedRecord(_DECODER.decode(text))
        except ValueError as exc:
            if end is None:
                return ParsedRecord(None, error="the input ends inside this record (is it truncated?)")
            return ParsedRecord(None, error=_json_error(exc, "character"))

    def _element_end(self, start: int) -> int | None:
        depth = 0
        i = start
        while True:
            match = _STRUCTURE.search(self.buf, i)
            if match is None:
                i = len(self.buf)
                if not self.more():
                    return None
                continue
            char, i = match.group(), match.end()
            if char == '"':
                i = self._string_end(i)
                if i < 0:
                    return None
            elif char in "[{":
                depth += 1
            elif char == ",":
                if depth == 0:
                    return match.start()
            elif depth > 0:
                depth -= 1
            elif char == "]":
                return match.start()  # the array's end; a stray '}' at depth 0 is skipped

    def _string_end(self, i: int) -> int:
        while True:
            match = _STRING_STOP.search(self.buf, i)
            if match is None:
                i = len(self.buf)
                if not self.more():
                    return -1
                continue
            if match.group() == "\\":
                i = match.end() + 1  # skip the escaped character
                continue
            return match.end()


def _array_records(chunks: Iterable[bytes]) -> Iterator[ParsedRecord]:
    text = _Text(chunks)
    try:
        text.peek()
        text.pos += 1  # the '['
        if text.peek() == "]":
            return
        while True:
            text.compact()
            yield text.value()
            char = text.peek()
            if char == ",":
                text.pos += 1
                if text.peek() == "]":
                    return  # a trailing comma: forgive it
            elif char == "]":
                return
            elif char == "":
                yield ParsedRecord(None, error="the input ends before the array is closed (is it truncated?)")
                return
            else:
                continue  # a missing comma: the next element is read (and likely rejected) from here
    except _Undecodable as exc:
        yield ParsedRecord(None, error=str(exc))


# ---- convert -------------------------------------------------------------------------------------

Converter = Callable[[Any], Any]


def _native(record: Any) -> Any:
    return record


def converter_for(fmt: str) -> Converter:
    """The function turning one raw JSON record of `fmt` into a native-shape dict."""
    try:
        kind = ImportFormat(fmt)
    except ValueError:
        names = ", ".join(f.value for f in ImportFormat)
        raise InvalidInput(f"unknown format {fmt!r}: use one of {names}", status_code=400) from None
    if kind in (ImportFormat.native, ImportFormat.csv):  # CSV rows become native records as they are read
        return _native
    if kind.value not in formats.JSON_FORMATS:
        raise InvalidInput(f"format {kind.value} is not read as JSON records", status_code=400)
    return formats.json_converter(kind.value)


# ---- validate ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentRef:
    """The agent a record names (or the last agent who replied)."""

    external_id: str
    name: str | None
    email: str | None


@dataclass(slots=True)
class NativeRecord:
    """A validated conversation, ready to write: row values, agent, team and message rows."""

    key: tuple[str, str]
    values: dict[str, Any]
    agent: AgentRef | None
    team: str | None
    messages: list[tuple[Any, ...]]  # (position, author, author_id, author_name, body, created_at, internal)
    tags_json: str
    metadata_json: str


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    seconds = int((end - start).total_seconds())
    return seconds if 0 <= seconds <= MAX_INT32 else None


def _text_seconds(start: str | None, end: str | None) -> int | None:
    if start is None or end is None:
        return None
    return _seconds(datetime.fromisoformat(start), datetime.fromisoformat(end))


def stored_time(text: str) -> str:
    """An ISO 8601 time as naive-UTC text in SQLAlchemy's SQLite layout ("2026-03-01 10:00:00.000000").

    The text sorts like the time it names, so the importer compares message times as strings and
    only builds datetimes where it subtracts them. ValueError for anything that is not ISO 8601.
    """
    # Helpdesks write "...Z" times; those are rearranged as text (5x faster than via datetime).
    if text[-1:] == "Z" and text[10:11] == "T":
        size = len(text)
        if size == 20:
            datetime.fromisoformat(text)  # validates the date and time
            return f"{text[:10]} {text[11:19]}.000000"
        if size in (24, 27) and text[19] == ".":
            datetime.fromisoformat(text)
            return f"{text[:10]} {text[11:19]}.{text[20:-1]:0<6}"
    return parse_time(text).replace(tzinfo=None).isoformat(" ", "microseconds")


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "record"


def describe_validation_error(exc: ValidationError, limit: int = 5) -> str:
    """Pydantic's errors as "messages[3].author: Input should be ..." lines, joined by '; '."""
    errors = exc.errors(include_url=False)
    parts = [f"{_field_path(e['loc'])}: {_error_message(e)}" for e in errors[:limit]]
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    return "; ".join(parts)


def _error_message(error: Any) -> str:
    if error["type"] == "too_short" and tuple(error["loc"]) == ("messages",):
        return "at least one message is required"
    return str(error["msg"]).removeprefix("Value error, ")


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return "a number"


def _as_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _sqlite_datetime(value: datetime) -> str:
    # The exact text SQLAlchemy's SQLite DATETIME writes, so that SQL comparisons and ordering agree.
    return _naive_utc(value).isoformat(" ", "microseconds")


def _as_text(text: str) -> str:
    return text


def validate_record(
    value: Any, *, default_source: str = DEFAULT_SOURCE, db_time: Callable[[str], Any] = _as_text
) -> NativeRecord:
    """Validate one native-shape record and derive its facts; RecordError names the offending field."""
    if not isinstance(value, dict):
        raise RecordError(f"expected a JSON object, got {_json_type(value)}")
    try:
        conv = ConversationIn.model_validate(value)
    except ValidationError as exc:
        raise RecordError(describe_validation_error(exc)) from None
    facts = _message_facts(conv.messages, db_time)
    created_at = conv.created_at
    if created_at is None and facts.first_at is not None:
        created_at = datetime.fromisoformat(facts.first_at).replace(tzinfo=UTC)
    if created_at is None:
        raise RecordError("created_at: Field required (and no message has a created_at to take it from)")
    if conv.closed_at is not None:
        handle = _seconds(created_at, conv.closed_at)
    else:
        handle = _text_seconds(facts.first_at, facts.last_at)
    source = conv.source or default_source
    customer = conv.customer
    values = {
        "source": source, "external_id": conv.external_id, "channel": conv.channel.value,
        "subject": conv.subject, "customer_external_id": customer.external_id if customer else None,
        "customer_name": customer.name if customer else None, "created_at": created_at,
        "closed_at": conv.closed_at, "csat": conv.csat, "tags": conv.tags,
        "language": conv.language or language.detect(facts.customer_text), "reopen_count": conv.reopen_count,
        "metadata": conv.metadata, "message_count": len(facts.rows),
        "agent_message_count": facts.agent_count, "customer_message_count": facts.customer_count,
        "first_response_seconds": facts.first_response_seconds, "handle_seconds": handle,
    }
    try:  # serialised once here: a Python caller's metadata may hold what JSON cannot
        metadata_json = json.dumps(conv.metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"metadata: not valid JSON ({exc})") from None
    agent = conv.agent
    ref = AgentRef(agent.external_id, agent.name, agent.email) if agent else facts.last_agent
    return NativeRecord((source, conv.external_id), values, ref, conv.team, facts.rows, json.dumps(conv.tags),
                        metadata_json)


@dataclass(slots=True)
class _Facts:
    rows: list[tuple[Any, ...]]
    agent_count: int
    customer_count: int
    first_response_seconds: int | None
    first_at: str | None
    last_at: str | None
    last_agent: AgentRef | None
    customer_text: str  # the start of what the customer wrote, for guessing the language


def _message_facts(messages: list[MessageIn], db_time: Callable[[str], Any]) -> _Facts:
    # One pass: the rows to insert, counts, first response and the last agent who replied. This is
    # the hot path of a large import (millions of messages), hence one flat loop. Times are kept as
    # stored_time() text, which sorts like the times themselves.
    rows: list[tuple[Any, ...]] = []
    agent_count = customer_count = 0
    first_at = last_at = customer_at = None
    seen_customer = answered = False
    first_response: int | None = None
    last_agent: AgentRef | None = None
    customer_text: list[str] = []
    customer_chars = 0
    fromisoformat = datetime.fromisoformat
    unstorable = UNSTORABLE.search
    for position, msg in enumerate(messages):
        author, body = msg["author"], msg["body"]
        author_id = msg.get("author_id") or None
        author_name = msg.get("author_name") or None
        internal = msg.get("internal", False)
        at = msg.get("created_at")
        if unstorable(body) or (author_id and unstorable(author_id)) or (
                author_name and unstorable(author_name)):
            bad = next(text for text in (body, author_id, author_name) if text and unstorable(text))
            raise RecordError(f"messages[{position}]: text {unstorable_reason(bad)}")
        if at is not None:
            try:
                # stored_time()'s fast path inlined: this line runs once per message.
                if len(at) == 20 and at[19] == "Z" and at[10] == "T":
                    fromisoformat(at)
                    at = f"{at[:10]} {at[11:19]}.000000"
                else:
                    at = stored_time(at)
            except ValueError:
                raise RecordError(f"messages[{position}].created_at: Input should be an ISO 8601 date and"
                                  f" time, got {at[:40]!r}") from None
            if first_at is None or at < first_at:
                first_at = at
            if last_at is None or at > last_at:
                last_at = at
        if author == "agent":
            agent_count += 1
            if not internal:
                if seen_customer and not answered:
                    answered = True
                    first_response = _text_seconds(customer_at, at)
                if author_id:
                    last_agent = AgentRef(author_id, author_name, None)
        elif author == "customer":
            customer_count += 1
            if not seen_customer:
                seen_customer, customer_at = True, at
            if customer_chars < language.SAMPLE_CHARS:
                customer_text.append(body)
                customer_chars += len(body)
        rows.append((position, author, author_id, author_name, body, None if at is None else db_time(at),
                     internal))
    return _Facts(rows, agent_count, customer_count, first_response, first_at, last_at, last_agent,
                  "\n".join(customer_text)[: language.SAMPLE_CHARS])


# ---- upsert --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _AgentState:
    id: int
    external_id: str
    name: str
    email: str | None
    team_id: int | None


class _Writer:
    """Writes validated records in bulk; remembers the teams and agents it has seen during one import."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.teams: dict[str, int] = {}
        self.agents: dict[str, _AgentState] = {}
        self._new_teams: dict[str, int] = {}
        self._new_agents: dict[str, _AgentState] = {}
        sqlite = self.dialect == "sqlite"
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        # The hot statements go to the driver's executemany, ~3x faster than Core's per-row bind
        # processing; so values arrive as the column types store them: times as SQLite's text (or
        # naive UTC datetimes elsewhere), JSON as text.
        self.db_time: Callable[[str], Any] = _as_text if sqlite else _as_datetime
        self._datetime: Callable[[datetime], Any] = _sqlite_datetime if sqlite else _naive_utc
        json_mark = mark if sqlite else f"CAST({mark} AS JSON)"
        marks = [json_mark if name in ("tags", "metadata") else mark for name in CONVERSATION_COLUMNS]
        self._insert_conversations = (f"INSERT INTO conversation ({', '.join(CONVERSATION_COLUMNS)})"
                                      f" VALUES ({', '.join(marks)})")
        assignments = ", ".join(f"{name} = {m}" for name, m in zip(CONVERSATION_COLUMNS, marks, strict=True))
        self._update_conversations = f"UPDATE conversation SET {assignments} WHERE id = {mark}"
        message_columns = ", ".join(MESSAGE_COLUMNS)
        self._insert_messages = (f"INSERT INTO message ({message_columns})"
                                 f" VALUES ({', '.join(mark for _ in MESSAGE_COLUMNS)})")
        self._copy_messages = f"COPY message ({message_columns}) FROM STDIN"
        changed = ", ".join(f"{name} = {mark}" for name in MESSAGE_COLUMNS[2:])
        self._update_messages = (f"UPDATE message SET {changed}"
                                 f" WHERE conversation_id = {mark} AND position = {mark}")
        self._delete_messages = f"DELETE FROM message WHERE conversation_id = {mark} AND position >= {mark}"

    def keep(self) -> None:
        """The chunk was committed: remember the teams and agents it created or changed."""
        self.teams.update(self._new_teams)
        self.agents.update(self._new_agents)
        self.discard()

    def discard(self) -> None:
        """The chunk was rolled back: forget what it created."""
        self._new_teams.clear()
        self._new_agents.clear()

    def write(self, records: list[NativeRecord]) -> tuple[int, int, dict[int, str]]:
        """Upsert `records` (distinct keys); returns (created, updated, {position in records: error})."""
        team_ids = self._team_ids({r.team for r in records if r.team})
        agent_ids = self._agent_ids(records, team_ids)
        existing = self._existing_ids(records)
        refused = self._refuse_dropping_commented(records, existing)
        now = self._datetime(utcnow())
        new: list[tuple[NativeRecord, tuple[Any, ...]]] = []
        known: list[tuple[NativeRecord, tuple[Any, ...], int]] = []
        for i, record in enumerate(records):
            if i in refused:
                continue
            team_id = team_ids.get(record.team) if record.team else None
            agent_id = agent_ids.get(record.agent.external_id) if record.agent else None
            row = self._conversation_row(record, agent_id, team_id, now)
            conversation_id = existing.get(record.key)
            if conversation_id is None:
                new.append((record, row))
            else:
                known.append((record, row, conversation_id))
        self._insert_new(new)
        self._update_known(known)
        return len(new), len(known), refused

    def _conversation_row(
        self, record: NativeRecord, agent_id: int | None, team_id: int | None, now: Any
    ) -> tuple[Any, ...]:
        v, when = record.values, self._datetime
        closed_at = v["closed_at"]
        return (v["source"], v["external_id"], v["channel"], v["subject"], agent_id, team_id,
                v["customer_external_id"], v["customer_name"], when(v["created_at"]),
                None if closed_at is None else when(closed_at), v["csat"], record.tags_json, v["language"],
                record.metadata_json, v["message_count"], v["agent_message_count"],
                v["customer_message_count"], v["first_response_seconds"], v["handle_seconds"],
                v["reopen_count"], now)

    def _team_ids(self, names: set[str]) -> dict[str, int]:
        found = {name: self.teams[name] for name in names if name in self.teams}
        missing = names - found.keys()
        if missing:
            self.conn.execute(self._insert_ignore(TEAM), [{"name": name} for name in sorted(missing)])
            rows = self.conn.execute(select(TEAM.c.name, TEAM.c.id).where(TEAM.c.name.in_(missing)))
            fetched = {name: team_id for name, team_id in rows}
            self._new_teams.update(fetched)
            found.update(fetched)
        return found

    def _agent_ids(self, records: list[NativeRecord], team_ids: dict[str, int]) -> dict[str, int]:
        wanted: dict[str, tuple[AgentRef, int | None]] = {}
        for record in records:
            if record.agent and record.agent.external_id not in wanted:
                team_id = team_ids.get(record.team) if record.team else None
                wanted[record.agent.external_id] = (record.agent, team_id)
        states = self._agent_states(wanted)
        changed = [state for ext, state in states.items() if _fill_gaps(state, *wanted[ext])]
        if changed:
            stmt = update(AGENT).where(AGENT.c.id == bindparam("b_id"))
            self.conn.execute(stmt, [{"b_id": s.id, "name": s.name, "email": s.email, "team_id": s.team_id}
                                     for s in changed])
            self._new_agents.update({s.external_id: s for s in changed})
        return {ext: state.id for ext, state in states.items()}

    def _agent_states(self, wanted: dict[str, tuple[AgentRef, int | None]]) -> dict[str, _AgentState]:
        # Copies, so a rolled-back chunk leaves the cache as it was.
        states = {ext: _copy_state(self.agents[ext]) for ext in wanted if ext in self.agents}
        missing = [ext for ext in wanted if ext not in states]
        if not missing:
            return states
        rows = [{"external_id": ext, "name": wanted[ext][0].name or ext, "email": wanted[ext][0].email,
                 "team_id": wanted[ext][1]} for ext in missing]
        self.conn.execute(self._insert_ignore(AGENT), rows)
        columns = (AGENT.c.id, AGENT.c.external_id, AGENT.c.name, AGENT.c.email, AGENT.c.team_id)
        for row in self.conn.execute(select(*columns).where(AGENT.c.external_id.in_(missing))):
            state = _AgentState(*row)
            states[state.external_id] = state
            self._new_agents[state.external_id] = state
        return states

    def _insert_ignore(self, table: Any) -> Any:
        # Two imports may meet the same new agent or team at once: the second must not fail.
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing()
        if self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table).on_conflict_do_nothing()
        return insert(table)

    def _existing_ids(self, records: list[NativeRecord]) -> dict[tuple[str, str], int]:
        by_source: dict[str, list[str]] = {}
        for source, external_id in (r.key for r in records):
            by_source.setdefault(source, []).append(external_id)
        found: dict[tuple[str, str], int] = {}
        for source, external_ids in by_source.items():
            stmt = select(CONVERSATION.c.external_id, CONVERSATION.c.id).where(
                CONVERSATION.c.source == source, CONVERSATION.c.external_id.in_(external_ids))
            found.update({(source, ext): cid for ext, cid in self.conn.execute(stmt)})
        return found

    def _refuse_dropping_commented(
        self, records: list[NativeRecord], existing: dict[tuple[str, str], int]
    ) -> dict[int, str]:
        # Messages are replaced in place by position, so reviewers' comments stay attached; an update
        # that would delete a commented message is refused rather than losing the comment.
        if not existing:
            return {}
        m = MESSAGE
        stmt = (select(m.c.conversation_id, func.max(m.c.position))
                .join(MESSAGE_COMMENT, MESSAGE_COMMENT.c.message_id == m.c.id)
                .where(m.c.conversation_id.in_(existing.values())).group_by(m.c.conversation_id))
        last_commented: dict[int, int] = {cid: pos for cid, pos in self.conn.execute(stmt)}
        refused = {}
        for i, record in enumerate(records):
            position = last_commented.get(existing.get(record.key, -1))
            if position is not None and position >= len(record.messages):
                refused[i] = (f"messages: the stored conversation has review comments on message {position}; "
                              f"an update must keep at least {position + 1} messages")
        return refused

    def _insert_new(self, new: list[tuple[NativeRecord, tuple[Any, ...]]]) -> None:
        if not new:
            return
        # A plain executemany, then one SELECT for the ids: SQLite cannot tie RETURNING rows to a
        # batch's parameters (SQLAlchemy would insert row by row).
        self.conn.exec_driver_sql(self._insert_conversations, [row for _, row in new])
        ids = self._existing_ids([record for record, _ in new])
        self._add_messages([(ids[record.key], *m) for record, _ in new for m in record.messages])

    def _add_messages(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.dialect != "postgresql":
            self.conn.exec_driver_sql(self._insert_messages, rows)
            return
        # PostgreSQL takes bulk rows fastest through COPY (psycopg's, on this same transaction).
        driver_connection: Any = self.conn.connection.driver_connection
        with driver_connection.cursor() as cursor, cursor.copy(self._copy_messages) as copy:
            for row in rows:
                copy.write_row(row)

    def _update_known(self, known: list[tuple[NativeRecord, tuple[Any, ...], int]]) -> None:
        if not known:
            return
        self.conn.exec_driver_sql(self._update_conversations, [(*row, cid) for _, row, cid in known])
        ids = [cid for _, _, cid in known]
        # A review's reviewee is the conversation's agent, and its team and channel the conversation's: follow
        # the source if it reassigned the ticket, keeping the report summaries in step (qa.reporting.rollup).
        def of_conversation(column: Any) -> Any:
            return select(column).where(CONVERSATION.c.id == REVIEW.c.conversation_id).scalar_subquery()

        owner = of_conversation(CONVERSATION.c.agent_id)
        team, channel = of_conversation(CONVERSATION.c.team_id), of_conversation(CONVERSATION.c.channel)
        moved = list(self.conn.execute(select(REVIEW.c.id).where(
            REVIEW.c.conversation_id.in_(ids),
            REVIEW.c.agent_id.is_distinct_from(owner) | REVIEW.c.team_id.is_distinct_from(team)
            | REVIEW.c.channel.is_distinct_from(channel))).scalars())
        if moved:
            before = rollup.contributions(self.conn, moved)
            self.conn.execute(update(REVIEW).where(REVIEW.c.id.in_(moved))
                              .values(agent_id=owner, team_id=team, channel=channel))
            rollup.apply_change(self.conn, before, rollup.contributions(self.conn, moved))
        stmt = (select(MESSAGE.c.conversation_id, func.max(MESSAGE.c.position))
                .where(MESSAGE.c.conversation_id.in_(ids)).group_by(MESSAGE.c.conversation_id))
        stored = {cid: last + 1 for cid, last in self.conn.execute(stmt)}
        updates, inserts, trims = [], [], []
        for record, _, cid in known:
            count = stored.get(cid, 0)
            for m in record.messages:
                if m[0] < count:
                    updates.append((*m[1:], cid, m[0]))
                else:
                    inserts.append((cid, *m))
            if count > len(record.messages):
                trims.append((cid, len(record.messages)))
        for sql, params in ((self._delete_messages, trims), (self._update_messages, updates)):
            if params:
                self.conn.exec_driver_sql(sql, params)
        self._add_messages(inserts)


def _copy_state(state: _AgentState) -> _AgentState:
    return _AgentState(state.id, state.external_id, state.name, state.email, state.team_id)


def _fill_gaps(state: _AgentState, ref: AgentRef, team_id: int | None) -> bool:
    # An agent learns what it lacked (team, e-mail, a real name); what it has is never overwritten.
    changed = False
    if state.team_id is None and team_id is not None:
        state.team_id, changed = team_id, True
    if state.email is None and ref.email:
        state.email, changed = ref.email, True
    if state.name == state.external_id and ref.name and ref.name != state.name:
        state.name, changed = ref.name, True
    return changed


# ---- the pipeline --------------------------------------------------------------------------------


ProgressCallback = Callable[[ImportResult], None]


Pending = tuple[int, int | None, NativeRecord]  # (index in the input, line, record)


def _validate_item(
    index: int, parsed: ParsedRecord, convert: Converter, source: str, db_time: Callable[[str], Any]
) -> Pending | Rejection:
    if parsed.error is not None:
        return Rejection(index, parsed.error, parsed.line)
    try:
        record = validate_record(convert(parsed.value), default_source=source, db_time=db_time)
    except RecordError as exc:
        return Rejection(index, str(exc), parsed.line)
    return index, parsed.line, record


class _Importer:
    """Takes validated records in input order and writes them in chunks, each in its own transaction.

    A chunk is written when full, or early when a conversation repeats within it (the later copy
    then updates the earlier). A chunk the database refuses is retried record by record.
    """

    def __init__(self, conn: Connection, transaction: Callable[[], Any], *, fmt: str, source: str | None,
                 chunk_size: int, progress: ProgressCallback | None,
                 position: Callable[[], int] | None = None) -> None:
        self.convert = converter_for(fmt)
        self.position = position
        self.writer = _Writer(conn)
        self.transaction = transaction
        self.source = (source or "").strip() or DEFAULT_SOURCE
        self.chunk_size = max(1, chunk_size)
        self.progress = progress
        self.result = ImportResult()
        self._pending: list[Pending] = []
        self._keys: set[tuple[str, str]] = set()

    def run(self, records: Iterable[object]) -> ImportResult:
        """Validate and import raw records (dicts, or ParsedRecord from the parsers)."""
        for index, item in enumerate(records):
            parsed = item if isinstance(item, ParsedRecord) else ParsedRecord(item)
            self._take(_validate_item(index, parsed, self.convert, self.source, self.writer.db_time))
        return self._finish()

    def run_validated(self, batches: Iterable[list[Pending | Rejection]]) -> ImportResult:
        """Import records validated elsewhere (worker processes), batch by batch in input order."""
        for batch in batches:
            for item in batch:
                self._take(item)
        return self._finish()

    def _take(self, item: Pending | Rejection) -> None:
        if isinstance(item, Rejection):
            self.result.reject(item.index, item.error, item.line)
            return
        key = item[2].key
        if key in self._keys:  # the same conversation twice: the later one updates the earlier
            self._flush()
        self._pending.append(item)
        self._keys.add(key)
        if len(self._pending) >= self.chunk_size:
            self._flush()

    def _finish(self) -> ImportResult:
        self._flush()
        self.result.rejected.sort(key=lambda r: r.index)
        return self.result

    def _flush(self) -> None:
        pending, self._pending, self._keys = self._pending, [], set()
        if not pending:
            return
        try:
            self._write(pending)
        except (IntegrityError, DataError):
            for item in pending:  # find the culprit(s): one (sub)transaction per record
                try:
                    self._write([item])
                except (IntegrityError, DataError) as exc:
                    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
                    self.result.reject(item[0], f"the database refused the record: {reason}", item[1])
        if self.progress is not None:
            if self.position is not None:
                self.result.bytes_read = self.position()
            self.progress(self.result)

    def _write(self, items: list[Pending]) -> None:
        try:
            with self.transaction():
                created, updated, refused = self.writer.write([record for _, _, record in items])
        except BaseException:
            self.writer.discard()
            raise
        self.writer.keep()
        self.result.created += created
        self.result.updated += updated
        for i, error in refused.items():
            self.result.reject(items[i][0], error, items[i][1])


# ---- validation in worker processes (large JSON Lines files) --------------------------------------

PARALLEL_MIN_BYTES = 64 << 20
BATCH_LINES = 500


@dataclass(frozen=True)
class _Batch:
    """JSON Lines for a worker: (index, line number, raw line) plus what validation needs."""

    fmt: str
    source: str
    sqlite: bool
    lines: list[tuple[int, int, bytes]]


def _validate_batch(batch: _Batch) -> list[Pending | Rejection]:
    """In a worker process: parse and validate a batch of lines (the parent writes the results)."""
    convert = converter_for(batch.fmt)
    db_time = _as_text if batch.sqlite else _as_datetime
    return [_validate_item(index, _decode_line(raw, number), convert, batch.source, db_time)
            for index, number, raw in batch.lines]


def _can_fork() -> bool:
    # Workers are forked (spawn would re-run the caller's __main__), which is safe only in a
    # single-threaded process such as `qa import`; elsewhere (a web server's threads) imports stay serial.
    return (os.cpu_count() or 1) >= 2 and threading.active_count() == 1 and sys.platform.startswith("linux")


def _records_in_child(
    records: Callable[[], Iterable[ParsedRecord]], fp: Any, *, position: list[int],
) -> Iterator[ParsedRecord]:
    """Read `records()` in one forked process while this one validates and writes (CSV files).

    Reading a CSV file (decoding, splitting, grouping rows by conversation through a temporary
    SQLite file) and validating cost about the same, so each process takes one (bench_formats.py).
    The child sends batches (and how far it has read the file, for progress) through a bounded
    queue; an error it meets (a missing CSV column) is raised here with its message.
    """
    context = multiprocessing.get_context("fork")
    queue: Any = context.Queue(maxsize=8)

    def produce() -> None:
        try:
            batch: list[ParsedRecord] = []
            for parsed in records():
                batch.append(parsed)
                if len(batch) >= BATCH_LINES:
                    queue.put(("batch", batch, fp.tell()))
                    batch = []
            queue.put(("batch", batch, fp.tell()))
            queue.put(("end", None, None))
        except CaliperError as exc:
            queue.put(("invalid", (exc.message, exc.status_code), None))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
            queue.put(("error", f"{type(exc).__name__}: {exc}", None))
        finally:
            queue.close()
            queue.join_thread()
            os._exit(0)

    child = context.Process(target=produce, daemon=True)
    child.start()
    try:
        while True:
            kind, payload, at = queue.get()
            if kind == "end":
                return
            if kind == "invalid":
                raise InvalidInput(payload[0], status_code=payload[1])
            if kind == "error":
                raise OSError(payload)
            position[0] = at
            yield from payload
    finally:
        if child.is_alive():
            child.terminate()
        child.join()


def _worker_count(fp: Any, size: int) -> int:
    # Worth it for large JSON Lines files on a machine with a core to spare (see _can_fork). The
    # first line must parse: otherwise the file may be one pretty-printed object, which only the
    # serial path reads.
    if size < PARALLEL_MIN_BYTES or not _can_fork():
        return 0
    head = fp.read(READ_SIZE).removeprefix(BOM)
    fp.seek(0)
    if head.lstrip()[:1] in (b"[", b""):
        return 0
    first = next(_non_blank(head.split(b"\n")[:-1]), None)
    if first is None or _decode_line(first[1], first[0]).error:
        return 0
    return 2  # two parsers keep one writer busy on a 2-core machine (bench/bench_formats.py)


def _line_batches(fp: Any) -> Iterator[list[tuple[int, int, bytes]]]:
    chunks = iter(functools.partial(fp.read, READ_SIZE), b"")
    first = next(chunks, b"").removeprefix(BOM)
    batch: list[tuple[int, int, bytes]] = []
    for index, (number, raw) in enumerate(_non_blank(_lines(_chain(first, chunks)))):
        batch.append((index, number, raw))
        if len(batch) >= BATCH_LINES:
            yield batch
            batch = []
    if batch:
        yield batch


def _validated_in_workers(
    fp: Any, *, fmt: str, source: str, sqlite: bool, workers: int
) -> Iterator[list[Pending | Rejection]]:
    # Parsing and validation (pure Python, holding the GIL) run in worker processes while this
    # process writes, so two cores both work. A few batches in flight bound the memory used. The
    # workers never touch the database connection they inherit, and leave with os._exit.
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    in_flight: deque[Future[list[Pending | Rejection]]] = deque()
    try:
        for lines in _line_batches(fp):
            in_flight.append(pool.submit(_validate_batch, _Batch(fmt, source, sqlite, lines)))
            if len(in_flight) > 4 * workers:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()
    finally:
        pool.shutdown(cancel_futures=True)


def import_records(
    session: Session, records: Iterable[object], *, source: str | None = None, fmt: str = "native",
    chunk_size: int = CHUNK_SIZE,
) -> ImportResult:
    """Import raw records (dicts, or ParsedRecord from the parsers) inside the caller's transaction.

    `source` names the records that name none (default "import"). Each chunk runs in a savepoint.
    """
    session.flush()

    @contextmanager
    def savepoint() -> Iterator[None]:
        with session.begin_nested():
            session.connection()  # emits the SAVEPOINT now: the writer uses the connection directly
            yield

    importer = _Importer(session.connection(), savepoint, fmt=fmt, source=source, chunk_size=chunk_size,
                         progress=None)
    result = importer.run(records)
    session.expire_all()  # conversations just rewritten in SQL must not be served stale from the session
    return result


def import_path(
    engine: Engine, path: str | Path, *, fmt: str = "native", source: str | None = None,
    chunk_size: int = CHUNK_SIZE, progress: ProgressCallback | None = None,
    csv_mapping: Mapping[str, str] | None = None,
) -> ImportResult:
    """Import a file of `fmt` (JSON array, JSON Lines or CSV), committing every chunk.

    OSError for an unreadable file. Large JSON Lines files are parsed and validated in a worker
    process while this one writes. `progress` is called after each chunk with the result so far
    (`bytes_read` of `total_bytes`).
    """
    converter_for(fmt)  # an unsupported format fails before the file is opened
    try:
        fp = open(path, "rb")  # noqa: SIM115 - closed below, after the last chunk
    except OSError as exc:
        raise OSError(f"cannot read {path}: {exc.strerror or exc}") from None
    with fp, engine.connect() as conn:
        conn.execution_options(sqlite_begin="IMMEDIATE")
        importer = _Importer(conn, conn.begin, fmt=fmt, source=source, chunk_size=chunk_size,
                             progress=progress, position=fp.tell)
        try:
            size = os.fstat(fp.fileno()).st_size
            importer.result.total_bytes = size
            if fmt == ImportFormat.csv:
                if size < PARALLEL_MIN_BYTES or not _can_fork():
                    return importer.run(file_records(fp, fmt, csv_mapping=csv_mapping))
                read_to = [0]
                importer.position = lambda: read_to[0]
                return importer.run(_records_in_child(lambda: file_records(fp, fmt, csv_mapping=csv_mapping),
                                                      fp, position=read_to))
            workers = _worker_count(fp, size)
            if workers:
                batches = _validated_in_workers(fp, fmt=fmt, source=importer.source,
                                                sqlite=importer.writer.dialect == "sqlite", workers=workers)
                return importer.run_validated(batches)
            return importer.run(read_file_records(fp))
        except OSError as exc:
            raise OSError(f"cannot read {path}: {exc.strerror or exc}") from None


def file_records(
    fp: Any, fmt: str, *, csv_mapping: Mapping[str, str] | None = None
) -> Iterator[ParsedRecord]:
    """The raw records of an open binary file of `fmt` (CSV rows come out as native records)."""
    if fmt == ImportFormat.csv:
        from qa.conversations.formats import csv_rows

        return csv_rows.read(iter(functools.partial(fp.read, READ_SIZE), b""), csv_mapping)
    return read_file_records(fp)


def body_records(body: bytes, content_type: str | None, fmt: str, *,
                 csv_mapping: Mapping[str, str] | None = None) -> Iterator[ParsedRecord]:
    """The raw records of a request body of `fmt` (see parse_bytes for JSON)."""
    if fmt == ImportFormat.csv:
        from qa.conversations.formats import csv_rows

        return csv_rows.read(_slices(body), csv_mapping)
    return parse_bytes(body, content_type)
