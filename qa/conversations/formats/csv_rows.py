"""CSV conversations: one row per message under a header row, grouped by a conversation id column.

`read` turns a CSV byte stream into native records (`ParsedRecord`s) for the import pipeline;
`parse_mapping` reads the "field=Column" mapping the CLI, API and upload page take when the headers
are not the usual ones; FIELDS lists the fields and the header names recognised without a mapping.

A file of any size and row order: the bytes are decoded incrementally and parsed by the csv module,
every row is appended to a temporary SQLite file (deleted after), and the rows are read back sorted
by (conversation id, row number) by SQLite's external sort, so each conversation becomes one record
whatever the order and interleaving of its rows. Memory holds a batch of rows or one conversation.

Decisions:
- Required columns: conversation id, body and a time (message time, or conversation_created_at in
  its stead). Caliper needs every conversation's time: without a time column each conversation
  would be rejected, so the file is refused instead. Any other field is optional.
- Conversation fields (subject, agent, csat, ...) take the first non-blank value among the
  conversation's rows in file order, so a CSAT or close time written only on the last row counts.
  Unmapped extra columns of the conversation's first row go to metadata {"csv": {column: value}}; so
  does a channel name Caliper does not know (the channel is then "other").
- Messages keep the file's order, unless every message has a time: then they are sorted by time
  (row order breaks ties). A message without a time cannot be placed among the others by time.
- A blank role cell (or no role column) is inferred: the rows whose author id (or name) is the
  conversation's agent's are the agent's, the others the customer's.
- The conversation's `created_at` is its conversation_created_at column, else its earliest message.
- The agent is agent_id, else agent_email, else agent_name (whichever the file has), with its name
  and e-mail; without any, the importer takes the last agent who replied. The customer is
  customer_id / customer_name, else the author of the first customer message.
- Bodies are plain text (trimmed, every line break a newline); a body with real HTML tags (<p>, ...)
  becomes plain text via html_to_text, while "a < b" stays as written.
- A bad row (wrong number of fields, malformed quoting, bad time, unknown role, empty body, a blank
  conversation id, bytes that are not UTF-8, NUL, a truncated last row) is rejected with its line and
  reason; the rest of its conversation is still imported without it. A bad conversation field
  (time, CSAT) rejects the conversation, at the line holding the value. Blank lines are skipped.
- A header without a required column, a mapping naming an unknown field or column, or an empty
  file is the request's fault: InvalidInput (400) when `read` is called, before anything is imported.
- A field longer than the csv module's limit (131,072 characters) rejects its row.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from qa.conversations.formats.base import RecordError
from qa.conversations.formats.html_text import html_to_text
from qa.errors import InvalidInput

if TYPE_CHECKING:
    from qa.conversations.ingest import ParsedRecord

__all__ = ["FIELDS", "REQUIRED", "parse_mapping", "read"]

# Each field and the header names it is found under without a mapping (compared case-insensitively,
# with spaces and punctuation read as '_': "Ticket ID" is ticket_id). The first name present wins.
FIELDS: dict[str, tuple[str, ...]] = {
    "conversation_id": ("conversation_id", "ticket_id", "ticket", "conversation", "thread_id",
                        "ticket_number", "case_id", "chat_id", "thread", "conversation_external_id"),
    "author_role": ("author_role", "role", "sender_type", "author_type", "from", "author", "sender_role",
                    "user_type"),
    "author_id": ("author_id", "sender_id", "user_id", "from_id"),
    "author_name": ("author_name", "sender_name", "sender", "user_name", "from_name"),
    "body": ("body", "message", "text", "content", "comment", "message_body", "message_text"),
    "created_at": ("created_at", "timestamp", "time", "date", "sent_at", "message_created_at", "message_time",
                   "datetime"),
    "internal": ("internal", "is_internal", "private", "is_private"),
    "subject": ("subject", "title", "ticket_subject", "topic"),
    "channel": ("channel", "via", "medium"),
    "agent_id": ("agent_id", "assignee_id", "owner_id"),
    "agent_name": ("agent_name", "assignee_name", "assignee", "agent", "owner_name", "owner"),
    "agent_email": ("agent_email", "assignee_email", "owner_email"),
    "team": ("team", "group", "group_name", "team_name", "queue", "department"),
    "customer_id": ("customer_id", "requester_id", "contact_id", "client_id", "end_user_id"),
    "customer_name": ("customer_name", "requester_name", "requester", "customer", "contact_name",
                      "client_name"),
    "csat": ("csat", "satisfaction", "satisfaction_rating", "rating", "csat_score"),
    "tags": ("tags", "labels", "tag"),
    "language": ("language", "lang", "locale"),
    "source": ("source", "helpdesk"),
    "conversation_created_at": ("conversation_created_at", "ticket_created_at", "opened_at", "started_at"),
    "closed_at": ("closed_at", "solved_at", "resolved_at", "ended_at"),
}
# Every conversation needs a time, so a file needs a message time column (or, standing in for it,
# conversation_created_at): without one each conversation would be rejected, not the file refused.
REQUIRED = ("conversation_id", "body", "created_at")
_CONVERSATION_FIELDS = ("subject", "channel", "agent_id", "agent_name", "agent_email", "team", "customer_id",
                        "customer_name", "csat", "tags", "language", "source", "conversation_created_at",
                        "closed_at")
_LABELS = {"conversation_id": "conversation id", "body": "message body", "created_at": "message time"}

_ROLES: dict[str, tuple[str, bool]] = {
    **dict.fromkeys(("customer", "end_user", "enduser", "user", "requester", "contact", "lead", "visitor",
                     "client"), ("customer", False)),
    **dict.fromkeys(("agent", "admin", "staff", "operator", "support"), ("agent", False)),
    **dict.fromkeys(("bot", "automation"), ("bot", False)),
    "system": ("system", False),
    **dict.fromkeys(("note", "internal_note", "private", "private_note", "internal"), ("agent", True)),
}
_CHANNELS = {
    **dict.fromkeys(("chat", "live_chat", "livechat", "web_chat", "messenger", "messaging", "widget", "web",
                     "sms", "whatsapp"), "chat"),
    **dict.fromkeys(("email", "e_mail", "mail", "web_form"), "email"),
    **dict.fromkeys(("phone", "voice", "call", "telephone"), "phone"),
    **dict.fromkeys(("social", "twitter", "facebook", "instagram"), "social"),
    "other": "other",
}
_TRUE = frozenset({"true", "t", "yes", "y", "1", "internal", "private", "note"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "public", ""})
_CSAT_WORDS = {"good": 5, "satisfied": 5, "bad": 1, "unsatisfied": 1, "dissatisfied": 1,
               "offered": None, "unoffered": None, "n/a": None, "none": None, "-": None}

_PAIR_BREAK = re.compile(r"\s*[,;\n]+\s*(?=[A-Za-z_]\w*\s*=)")  # a separator followed by "field="
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_UNIX = re.compile(r"\d{9,}(\.\d+)?")  # 9+ digits: 1973 on (8 digits are a compact date)
_HTML = re.compile(r"<(p|br|div|span|a|b|i|u|em|strong|ul|ol|li|table|tr|td|h[1-6]|blockquote|pre|img)"
                   r"\b[^>]*>", re.IGNORECASE)
_ESCAPED = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by 'surrogateescape'
_SUSPECT = re.compile("[\x00\udc80-\udcff]")  # ... or NUL, which no row may hold
_TAG_SPLIT = re.compile(r"[,;|]")

BATCH_ROWS = 5000
MAX_LINE = 1 << 24  # characters
SPILL_CACHE_KIB = 32 << 10
_SEPARATOR = "\x00"  # between the cells of a spilled row


# ---- the mapping -----------------------------------------------------------------------------------


def parse_mapping(text: str) -> dict[str, str]:
    """"conversation_id=Ticket ID,body=Text" (or ';' / newline separated) as {field: column}.

    A separator only splits before another "field=", so a column name may itself hold a comma.
    """
    mapping: dict[str, str] = {}
    for part in _PAIR_BREAK.split(text.strip()):
        part = part.strip().strip(",;")
        if not part:
            continue
        name, equals, column = part.partition("=")
        field = name.strip().lower()
        column = column.strip()
        if not equals or not column:
            raise InvalidInput(f"CSV mapping {part!r}: expected FIELD=COLUMN, e.g. conversation_id=Ticket"
                               " ID.", field="map", status_code=400)
        _check_field(field)
        if field in mapping:
            raise InvalidInput(f"CSV mapping: {field} is mapped twice.", field="map", status_code=400)
        mapping[field] = column
    return mapping


def _check_field(field: str) -> None:
    if field not in FIELDS:
        raise InvalidInput(f"CSV mapping: unknown field {field!r}; the fields are {', '.join(FIELDS)}.",
                           field="map", status_code=400)


def _normal(name: str) -> str:
    return _NOT_WORD.sub("_", name.strip().lower()).strip("_")


class _Columns(NamedTuple):
    """Header positions of the message fields (None: the file has no such column)."""

    body: int
    role: int | None
    author_id: int | None
    author_name: int | None
    created_at: int | None
    internal: int | None


@dataclass(frozen=True, slots=True)
class _Layout:
    """Which header position holds each field, and which columns are extras for metadata."""

    header: list[str]
    at: dict[str, int]  # field -> header position
    extras: tuple[int, ...]  # positions no field claims
    message: _Columns
    conversation: tuple[tuple[str, int], ...]  # (field, position) of the conversation fields present

    def name(self, field: str) -> str:
        """"body (column 'Text')": a field and the column it was read from, for messages."""
        return f"{field} (column {self.header[self.at[field]]!r})"


def _layout(header: list[str], mapping: Mapping[str, str]) -> _Layout:
    at: dict[str, int] = {}
    for field, column in mapping.items():
        _check_field(field)
        at[field] = _column(header, field, column)
    taken = set(at.values())
    normal = [_normal(name) for name in header]
    for field, aliases in FIELDS.items():
        if field in at:
            continue
        free = [(i, n) for i, n in enumerate(normal) if i not in taken]
        found = next((i for alias in aliases for i, n in free if n == alias), None)
        if found is not None:
            at[field] = found
            taken.add(found)
    missing = [field for field in REQUIRED if field not in at]
    if "conversation_created_at" in at and "created_at" in missing:
        missing.remove("created_at")
    if missing:
        raise InvalidInput(" ".join(_missing(field, header) for field in missing), status_code=400)
    extras = tuple(i for i in range(len(header)) if i not in taken)
    message = _Columns(at["body"], at.get("author_role"), at.get("author_id"), at.get("author_name"),
                       at.get("created_at"), at.get("internal"))
    conversation = tuple((field, at[field]) for field in _CONVERSATION_FIELDS if field in at)
    return _Layout(header, at, extras, message, conversation)


def _column(header: list[str], field: str, column: str) -> int:
    if column in header:
        return header.index(column)
    wanted = _normal(column)
    for i, name in enumerate(header):
        if _normal(name) == wanted:
            return i
    raise InvalidInput(f"CSV mapping {field}={column}: the CSV has no column {column!r} "
                       f"(found: {_found(header)}).", field="map", status_code=400)


def _found(header: list[str]) -> str:
    shown = ", ".join(header[:20])
    return shown + (f", … ({len(header)} columns)" if len(header) > 20 else "")


def _missing(field: str, header: list[str]) -> str:
    looked = ", ".join(FIELDS[field][:5])
    return (f"The CSV has no {_LABELS[field]} column (looked for {looked}, …; found: {_found(header)}). "
            f"Map one with --map {field}=COLUMN.")


# ---- reading -----------------------------------------------------------------------------------------


class _Bytes(io.BufferedIOBase):
    """The chunks as a binary stream for io.TextIOWrapper, which splits lines fastest (in C).

    The text is decoded with 'surrogateescape', so bytes that are not UTF-8 survive as lone
    surrogates. `suspect` turns True at the first such byte or NUL, and from then on rows are
    checked for them (and rejected with their line): a clean file pays nothing per row.
    """

    name = "<csv>"  # TextIOWrapper asks

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self.suspect = False
        self._chunks = iter(chunks)
        self._view = memoryview(b"")
        self._utf8 = codecs.getincrementaldecoder("utf-8")()

    def readable(self) -> bool:
        return True

    def read1(self, size: int | None = -1) -> bytes:
        while not self._view:  # an empty chunk is not the end: b"" would tell TextIOWrapper it is
            chunk = next(self._chunks, None)
            self._inspect(chunk)
            if chunk is None:
                return b""
            self._view = memoryview(chunk)
        size = len(self._view) if size is None or size < 0 else size
        part, self._view = self._view[:size], self._view[size:]
        return bytes(part)

    read = read1

    def _inspect(self, chunk: bytes | None) -> None:
        if self.suspect:
            return
        try:
            self._utf8.decode(chunk or b"", final=chunk is None)
        except UnicodeDecodeError:
            self.suspect = True
        if chunk and b"\x00" in chunk:
            self.suspect = True


def _lines(stream: _Bytes) -> Iterator[str]:
    """The text lines (endings kept, a BOM dropped), split at \\n, \\r\\n or \\r as csv needs."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    # A line is cut at MAX_LINE characters, so a file without line breaks is never held whole.
    return iter(functools.partial(text.readline, MAX_LINE), "")


def read(chunks: Iterable[bytes], mapping: Mapping[str, str] | None = None) -> Iterator[ParsedRecord]:
    """The conversations of a CSV byte stream as native records, or rejected rows with their line.

    The header is read now: a missing required column, a bad mapping or an empty file raises
    InvalidInput (400) before anything is imported. The rows are read as the result is iterated.
    """
    stream = _Bytes(chunks)
    reader = csv.reader(_lines(stream), strict=True)
    header = _header(reader, stream)
    layout = _layout(header, mapping or {})
    return _records(reader, stream, layout)


def _header(reader: Any, stream: _Bytes) -> list[str]:
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                break
        else:
            raise InvalidInput("The CSV is empty: expected a header row, then one row per message.",
                               status_code=400)
    except csv.Error as exc:
        raise InvalidInput(f"The CSV header (line {reader.line_num}) is malformed: {exc}.",
                           status_code=400) from None
    if stream.suspect and _ESCAPED.search("".join(row)):
        raise InvalidInput(f"The CSV header (line {reader.line_num}) is not valid UTF-8: save the file as"
                           " UTF-8.", status_code=400)
    return [cell.strip() for cell in row]


def _records(reader: Any, stream: _Bytes, layout: _Layout) -> Iterator[ParsedRecord]:
    from qa.conversations.ingest import ParsedRecord

    with tempfile.TemporaryDirectory(prefix="caliper-csv-") as folder:
        db = sqlite3.connect(Path(folder) / "rows.sqlite")
        try:
            _create_spill(db)
            for line, error in _spill(db, reader, stream, layout):
                yield ParsedRecord(None, line, error)
            rows = db.execute("SELECT conversation, rowid, line, cells FROM spill"
                              " ORDER BY conversation, rowid")
            for conversation_id, group in itertools.groupby(rows, itemgetter(0)):
                found = [(n, line, cells.split(_SEPARATOR)) for _, n, line, cells in group]
                for item in _conversation(layout, conversation_id, found):
                    yield ParsedRecord(*item)
        finally:
            db.close()


def _create_spill(db: sqlite3.Connection) -> None:
    # Nothing here needs to survive a crash: no journal, no syncs. Rows are appended in file order
    # (the rowid is the row's order) and sorted once when read back, by SQLite's external merge
    # sort: whatever the order of the file, this costs the same (a table keyed by conversation took
    # ~3x longer on a shuffled file), and the page cache and sorter are bounded, spilling to
    # temporary files. A row's cells are one text joined by NUL, ~2x faster to write than a column
    # each (NUL is refused anyway).
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA temp_store = FILE")
    db.execute(f"PRAGMA cache_size = -{SPILL_CACHE_KIB}")
    db.execute("CREATE TABLE spill (conversation TEXT NOT NULL, line INTEGER NOT NULL, cells TEXT NOT NULL)")


def _spill(db: sqlite3.Connection, reader: Any, stream: _Bytes, layout: _Layout) -> Iterator[tuple[int, str]]:
    """Store every good row; yield (line, reason) for each bad one."""
    width = len(layout.header)
    at = layout.at["conversation_id"]
    join = _SEPARATOR.join
    batch: list[tuple[str, int, str]] = []
    end = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield end + 1, _csv_error(exc)
            end = reader.line_num
            continue
        line, end = end + 1, reader.line_num
        conversation_id = row[at].strip() if len(row) == width else ""
        if not conversation_id or (stream.suspect and _SUSPECT.search("".join(row))):
            if any(cell.strip() for cell in row):  # a blank line (or one of only commas) is no row
                yield line, _row_error(row, width, layout)
            continue
        batch.append((conversation_id, line, join(row)))
        if len(batch) >= BATCH_ROWS:
            db.executemany("INSERT INTO spill VALUES (?, ?, ?)", batch)
            batch = []
    db.executemany("INSERT INTO spill VALUES (?, ?, ?)", batch)
    db.commit()


def _csv_error(exc: csv.Error) -> str:
    if "unexpected end of data" in str(exc):
        return "the file ends inside a quoted field (is it truncated?)"
    return f"malformed CSV row: {exc}"


def _row_error(row: list[str], width: int, layout: _Layout) -> str:
    if len(row) != width:
        return f"expected {width} fields (as many as the header has), found {len(row)}"
    if any(_SEPARATOR in cell for cell in row):
        return "text must not contain NUL (\\u0000) characters"
    if _ESCAPED.search("".join(row)):
        return "not valid UTF-8: save the file as UTF-8"
    return f"{layout.name('conversation_id')} is empty"


# ---- one conversation ----------------------------------------------------------------------------------

Row = tuple[int, int, list[str]]  # (row number, line, cells)
Parsed = tuple[Any, int, str | None]  # a ParsedRecord's fields: (record, line, error)


def _conversation(layout: _Layout, conversation_id: str, rows: list[Row]) -> list[Parsed]:
    """A rejection for each bad row of the conversation, then its record (unless no row was good)."""
    out: list[Parsed] = []
    values = _first_values(layout, rows)
    agent_id, agent_name = _value(values, "agent_id"), _value(values, "agent_name")
    messages: list[tuple[Any, int, dict[str, Any]]] = []
    timed = True
    for n, line, cells in rows:
        try:
            key, message = _message(layout, cells, agent_id, agent_name)
        except RecordError as exc:
            out.append((None, line, f"conversation {conversation_id}: {exc}"))
            continue
        messages.append((key, n, message))
        timed = timed and key is not None
    if not messages:
        return out  # every row was rejected, each with its line
    if timed:
        messages.sort(key=itemgetter(0, 1))
    try:
        record = _record(layout, conversation_id, rows[0][2], values, [m for _, _, m in messages])
    except _FieldError as exc:
        out.append((None, exc.line, f"conversation {conversation_id}: {exc}"))
        return out
    out.append((record, rows[0][1], None))
    return out


class _FieldError(RecordError):
    """A conversation field is bad; `line` is where its value was read."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _first_values(layout: _Layout, rows: list[Row]) -> dict[str, tuple[str, int]]:
    # Conversation fields: the first non-blank value in file order, with its line.
    values: dict[str, tuple[str, int]] = {}
    for field, i in layout.conversation:
        for _, line, cells in rows:
            value = cells[i].strip()
            if value:
                values[field] = (value, line)
                break
    return values


def _value(values: dict[str, tuple[str, int]], field: str) -> str | None:
    found = values.get(field)
    return None if found is None else found[0]


def _message(layout: _Layout, cells: list[str], agent_id: str | None,
             agent_name: str | None) -> tuple[Any, dict[str, Any]]:
    """(time sort key or None, the native message) of one row; RecordError if the row is bad."""
    # The hot path of a large import: one call per row, hence flat.
    at = layout.message
    body = cells[at.body].strip()
    if not body:
        raise RecordError(f"{layout.name('body')} is empty")
    if "<" in body and _HTML.search(body):
        body = html_to_text(body)
    elif "\r" in body:
        body = body.replace("\r\n", "\n").replace("\r", "\n")  # a quoted field keeps the file's breaks
    author_id = None if at.author_id is None else cells[at.author_id].strip() or None
    author_name = None if at.author_name is None else cells[at.author_name].strip() or None
    role = None if at.role is None else cells[at.role].strip()
    if not role:  # inferred: the agent's own rows are the agent's, the rest the customer's
        is_agent = (agent_id is not None and author_id == agent_id) or (
            agent_name is not None and author_name == agent_name)
        author, internal = ("agent" if is_agent else "customer"), False
    else:
        known = _ROLES.get(role) or _ROLES.get(_normal(role))
        if known is None:
            raise RecordError(f"{layout.name('author_role')}: unknown role {role[:40]!r} "
                              "(use customer, agent, bot, system or note)")
        author, internal = known
    if at.internal is not None:
        internal = _flag(cells[at.internal], layout) or internal
    created_at = None if at.created_at is None else cells[at.created_at].strip() or None
    key = None
    if created_at is not None:
        try:
            created_at = _utc(created_at)
        except ValueError as exc:
            raise RecordError(f"{layout.name('created_at')}: {exc}") from None
        key = (created_at[:19], created_at[20:26])  # sorts like the time: "...:05Z" before "...:05.1Z"
    return key, {"author": author, "body": body, "created_at": created_at, "author_id": author_id,
                 "author_name": author_name, "internal": internal}


def _flag(text: str, layout: _Layout) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RecordError(f"{layout.name('internal')}: expected true or false, got {text[:40]!r}")


def _utc(text: str) -> str:
    """An ISO 8601 time (offset optional: UTC), "YYYY-MM-DD HH:MM[:SS]" or Unix seconds as "...Z" UTC.

    ValueError, saying what is accepted, for anything else.
    """
    try:
        if len(text) == 20 and text[10] == "T" and text[19] == "Z":
            datetime.fromisoformat(text)  # already the output's shape: validated, kept
            return text
        if _UNIX.fullmatch(text):
            parsed = datetime.fromtimestamp(float(text), UTC)
        else:
            parsed = datetime.fromisoformat(text[:-1] + "Z" if text[-1:] == "z" else text)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"not a time: {text[:40]!r} (expected ISO 8601, YYYY-MM-DD HH:MM:SS "
                         "or Unix seconds)") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.isoformat() + "Z"  # isoformat (C) is ~20x faster than strftime


def _record(layout: _Layout, conversation_id: str, first: list[str], values: dict[str, tuple[str, int]],
            messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The native record; _FieldError for a bad conversation field."""
    record: dict[str, Any] = {"external_id": conversation_id, "messages": messages}
    for field in ("subject", "team", "language", "source"):
        if field in values:
            record[field] = values[field][0]
    extras = {layout.header[i]: value for i in layout.extras if (value := first[i].strip())}
    if "channel" in values:
        raw = values["channel"][0]
        record["channel"] = _CHANNELS.get(_normal(raw), "other")
        if record["channel"] == "other" and _normal(raw) != "other":
            extras[layout.header[layout.at["channel"]]] = raw  # the helpdesk's own name, kept
    record["agent"] = _agent(values)
    record["customer"] = _customer(values, messages)
    for field, target in (("conversation_created_at", "created_at"), ("closed_at", "closed_at")):
        if field in values:
            record[target] = _field(layout, values, field, _utc)
    if "csat" in values:
        record["csat"] = _field(layout, values, "csat", _csat)
    if "tags" in values:
        tags = (tag.strip() for tag in _TAG_SPLIT.split(values["tags"][0]))
        record["tags"] = list(dict.fromkeys(tag for tag in tags if tag))
    record["metadata"] = {"csv": extras} if extras else {}
    return record


def _field(
    layout: _Layout, values: dict[str, tuple[str, int]], field: str, parse: Callable[[str], Any]
) -> Any:
    text, line = values[field]
    try:
        return parse(text)
    except ValueError as exc:
        raise _FieldError(f"{layout.name(field)}: {exc}", line) from None


def _csat(text: str) -> int | None:
    word = text.strip().lower()
    if word in _CSAT_WORDS:
        return _CSAT_WORDS[word]
    try:
        value = float(word)
    except ValueError:
        value = 0.0
    if not value.is_integer() or not 1 <= value <= 5:
        raise ValueError(f"expected 1 to 5 (or good/bad), got {text[:40]!r}")
    return int(value)


def _agent(values: dict[str, tuple[str, int]]) -> dict[str, Any] | None:
    name, email = _value(values, "agent_name"), _value(values, "agent_email")
    external_id = _value(values, "agent_id") or email or name
    if external_id is None:
        return None  # the import takes the last agent who replied
    return {"external_id": external_id, "name": name, "email": email}


def _customer(values: dict[str, tuple[str, int]], messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    external_id, name = _value(values, "customer_id"), _value(values, "customer_name")
    if external_id is None and name is None:
        first = next((m for m in messages if m["author"] == "customer"), None)
        if first is None:
            return None
        external_id, name = first["author_id"], first["author_name"]
    if external_id is None and name is None:
        return None
    return {"external_id": external_id, "name": name}
