"""The conversations a rule's filters match, read as numpy columns in one statement.

A rule may match a million conversations; reading them as ORM objects would cost seconds, so the filters
become one SQL WHERE clause and only the columns the strategy needs come back, as arrays.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Text, and_, case, cast, exists, func, literal, not_, or_
from sqlmodel import Session, col, select

from qa.models import (
    Assignment,
    AssignmentStatus,
    AuthorRole,
    Channel,
    Conversation,
    Message,
    Review,
    ReviewKind,
    ReviewStatus,
)
from qa.models.base import UTCDateTime
from sampling.rules import Filters

# Columns a strategy may read, by the name the sampling package uses.
NUMERIC_COLUMNS = {
    "messages": Conversation.message_count,
    "agent_messages": Conversation.agent_message_count,
    "customer_messages": Conversation.customer_message_count,
    "first_response_seconds": Conversation.first_response_seconds,
    "handle_seconds": Conversation.handle_seconds,
    "csat": Conversation.csat,
    "reopens": Conversation.reopen_count,
}
STRATUM_COLUMNS = {
    "channel": Conversation.channel,
    "team": Conversation.team_id,
    "source": Conversation.source,
    "language": Conversation.language,
    "csat": Conversation.csat,
}
# Strata with a small or integer domain come back from SQL as integers (no per-row strings to factorise:
# at 1,000,000 candidates that saved ~0.6 s); -1 stands for "none".
INTEGER_STRATA = ("channel", "team", "csat")
_CHANNELS = tuple(c.value for c in Channel)


def _stratum_code(stratum: str) -> Any:
    if stratum == "channel":
        return case(*((col(Conversation.channel) == value, i) for i, value in enumerate(_CHANNELS)), else_=-1)
    return func.coalesce(STRATUM_COLUMNS[stratum], -1)


def _stratum_value(stratum: str, code: int) -> Any:
    if code == -1:
        return None
    return _CHANNELS[code] if stratum == "channel" else code


TEXT_CHARS = 1200  # per conversation and side
TEXT_MESSAGES = 12
MESSAGE_CHARS = 400
ID_CHUNK = 5000


def _utc(value: datetime) -> Any:
    return literal(value, UTCDateTime())


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _has_tag(tag: str) -> ColumnElement[bool]:
    # Tags are stored as JSON text written by json.dumps (both databases keep that text), so a tag is
    # present exactly when its JSON string literal appears in it; portable, no JSON operators needed.
    pattern = "%" + _escape_like(json.dumps(tag)) + "%"
    return cast(col(Conversation.tags), Text).like(pattern, escape="\\")


def window(filters: Filters, anchor: datetime) -> tuple[datetime | None, datetime | None]:
    """The [start, end) times the date filter allows; a relative window ends at `anchor`."""
    if filters.last_days is not None:
        return anchor - timedelta(days=filters.last_days), anchor
    start = _day_start(filters.date_from) if filters.date_from else None
    end = _day_start(filters.date_to + timedelta(days=1)) if filters.date_to else None
    return start, end


def filter_clauses(filters: Filters, *, anchor: datetime) -> list[ColumnElement[bool]]:
    """WHERE clauses for a rule's filters (scope, period exclusions and ids are added by the caller)."""
    c = Conversation
    clauses: list[ColumnElement[bool]] = []
    if filters.teams:
        clauses.append(col(c.team_id).in_(filters.teams))
    if filters.agents:
        clauses.append(col(c.agent_id).in_(filters.agents))
    if filters.channels:
        clauses.append(col(c.channel).in_(filters.channels))
    if filters.sources:
        clauses.append(col(c.source).in_(filters.sources))
    if filters.languages:
        clauses.append(col(c.language).in_(filters.languages))
    start, end = window(filters, anchor)
    when = col(c.closed_at) if filters.date_field == "closed" else col(c.created_at)
    if start is not None:
        clauses.append(when >= _utc(start))
    if end is not None:
        clauses.append(when < _utc(end))
    if filters.tags_any:
        clauses.append(or_(*(_has_tag(t) for t in filters.tags_any)))
    clauses.extend(_has_tag(t) for t in filters.tags_all)
    clauses.extend(not_(_has_tag(t)) for t in filters.tags_none)
    if filters.csat:
        ratings = [v for v in filters.csat if v != "none"]
        options = [col(c.csat).in_(ratings)] if ratings else []
        if "none" in filters.csat:
            options.append(col(c.csat).is_(None))
        clauses.append(or_(*options))
    for name, column in (("messages", c.message_count), ("agent_messages", c.agent_message_count),
                         ("customer_messages", c.customer_message_count),
                         ("first_response_seconds", c.first_response_seconds),
                         ("handle_seconds", c.handle_seconds)):
        low, high = getattr(filters, f"min_{name}"), getattr(filters, f"max_{name}")
        if low is not None:
            clauses.append(col(column) >= low)
        if high is not None:
            clauses.append(col(column) <= high)
    if filters.handled_by != "any":
        bot_replied = exists().where(col(Message.conversation_id) == col(c.id),
                                     col(Message.author) == AuthorRole.bot)
        if filters.handled_by == "bot":
            clauses.append(and_(col(c.agent_message_count) == 0, bot_replied))
        else:
            clauses.append(col(c.agent_message_count) > 0)
    return clauses


# Exclusions ("not yet reviewed", "not yet assigned", "not handed out this period") are read as sets of ids
# and applied with numpy: a correlated NOT EXISTS probed an index once per candidate, ~3 µs each, which alone
# took seconds at 1,000,000 candidates; the excluded sets are small and read through their own indexes.


def exclusions(filters: Filters) -> list[Any]:
    """SELECTs of the conversation ids the filters exclude whatever their other fields."""
    out: list[Any] = []
    if filters.not_reviewed:
        out.append(select(Review.conversation_id).where(col(Review.kind) == ReviewKind.manual,
                                                        col(Review.status) == ReviewStatus.submitted))
    if filters.not_assigned:
        out.append(select(Assignment.conversation_id).where(
            col(Assignment.status).in_((AssignmentStatus.open, AssignmentStatus.done))))
    return out


def not_in_period(rule_id: int | None, period_key: str) -> list[Any]:
    """A rule never hands out the same conversation twice in one period (whatever became of it)."""
    if rule_id is None:
        return []
    return [select(Assignment.conversation_id).where(col(Assignment.rule_id) == rule_id,
                                                     col(Assignment.period_key) == period_key)]


@dataclass(frozen=True)
class Candidates:
    """Matching conversations as columns: ids, quota groups (agent id, -1 for none) and extras by name."""

    ids: np.ndarray
    agents: np.ndarray
    extra: dict[str, np.ndarray]
    stratum_values: tuple[Any, ...] = ()  # extra["stratum"] holds codes into this

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, positions: np.ndarray) -> Candidates:
        return Candidates(self.ids[positions], self.agents[positions],
                          {k: v[positions] for k, v in self.extra.items()}, self.stratum_values)


def _raw_rows(session: Session, query: Any) -> list[tuple[Any, ...]]:
    """The driver's own tuples: these columns need no result processing, and building a Row per result
    cost ~4 µs each (4 s at 1,000,000 candidates)."""
    result = session.connection().execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _id_set(session: Session, queries: Sequence[Any]) -> np.ndarray:
    found = [np.array([r[0] for r in _raw_rows(session, q)], dtype=np.int64) for q in queries]
    return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)


def read(session: Session, clauses: Sequence[ColumnElement[bool]], *, exclude: Sequence[Any] = (),
         numeric: Iterable[str] = (), stratum: str | None = None) -> Candidates:
    """The matching conversations, less the ids `exclude` selects, with the numeric columns asked for (float,
    NaN for unknown) and the stratum column (text, "" for none)."""
    numeric = list(numeric)
    columns: list[Any] = [col(Conversation.id), func.coalesce(col(Conversation.agent_id), -1)]
    columns += [NUMERIC_COLUMNS[name] for name in numeric]
    coded = stratum in INTEGER_STRATA
    if stratum is not None:
        columns.append(_stratum_code(stratum) if coded else STRATUM_COLUMNS[stratum])
    rows = _raw_rows(session, select(*columns).where(*clauses))
    if not rows:
        return Candidates(np.empty(0, np.int64), np.empty(0, np.int64),
                          {**{n: np.empty(0) for n in numeric},
                           **({"stratum": np.empty(0, dtype=np.int64)} if stratum else {})})
    # fromiter over the flattened rows is ~3× faster than np.array on a list of tuples
    width = 2 + len(numeric) + (1 if stratum is not None else 0)
    if width == 2 or (coded and not numeric):
        keys = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=width * len(rows))
    else:
        pairs = itertools.chain.from_iterable(r[:2] for r in rows)
        keys = np.fromiter(pairs, dtype=np.int64, count=2 * len(rows))
    keys = keys.reshape(len(rows), -1)
    ids, agents = keys[:, 0], keys[:, 1]
    extra: dict[str, np.ndarray] = {}
    if numeric:
        values = np.array([r[2:2 + len(numeric)] for r in rows], dtype=np.float64)
        extra = {name: values[:, i] for i, name in enumerate(numeric)}
    distinct: dict[Any, int] = {}
    if stratum is not None and coded:  # integer codes from SQL: map them to 0..k-1 and back to values
        raw = keys[:, 2] if keys.shape[1] == 3 else np.array([r[-1] for r in rows], dtype=np.int64)
        uniques, codes = np.unique(raw, return_inverse=True)
        extra["stratum"] = codes.astype(np.int64)
        distinct = {_stratum_value(stratum, int(u)): i for i, u in enumerate(uniques.tolist())}
    elif stratum is not None:  # text: factorised in Python, a code per row and the few distinct values
        extra["stratum"] = np.fromiter((distinct.setdefault(r[-1], len(distinct)) for r in rows),
                                       dtype=np.int64, count=len(rows))
    found = Candidates(ids, agents, extra, tuple(distinct))
    excluded = _id_set(session, exclude)
    if len(excluded):
        found = found.take(np.flatnonzero(~np.isin(ids, excluded)))
    return found


def texts(session: Session, ids: Sequence[int]) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Agent and customer text of each conversation and their lengths in characters, from the first
    TEXT_MESSAGES messages (capped at TEXT_CHARS a side): enough to tell topics and tone apart, and bounded,
    since spotlight reads tens of thousands of transcripts."""
    index = {int(cid): i for i, cid in enumerate(ids)}
    agent_parts: list[list[str]] = [[] for _ in ids]
    customer_parts: list[list[str]] = [[] for _ in ids]
    agent_chars = np.zeros(len(ids))
    customer_chars = np.zeros(len(ids))
    id_list = list(index)
    agent = AuthorRole.agent.value
    for start in range(0, len(id_list), ID_CHUNK):
        chunk = id_list[start:start + ID_CHUNK]
        query = (select(Message.conversation_id, Message.author, func.substr(Message.body, 1, MESSAGE_CHARS),
                        func.length(Message.body))
                 .where(col(Message.conversation_id).in_(chunk), col(Message.position) < TEXT_MESSAGES,
                        col(Message.internal).is_(False),
                        col(Message.author).in_((AuthorRole.agent, AuthorRole.customer)))
                 .order_by(col(Message.conversation_id), col(Message.position)))
        for cid, author, body, length in _raw_rows(session, query):
            i = index[cid]
            if author == agent:
                agent_chars[i] += length or 0
                agent_parts[i].append(body or "")
            else:
                customer_chars[i] += length or 0
                customer_parts[i].append(body or "")
    agent_texts = [" ".join(p)[:TEXT_CHARS] for p in agent_parts]
    customer_texts = [" ".join(p)[:TEXT_CHARS] for p in customer_parts]
    return agent_texts, customer_texts, agent_chars, customer_chars


ASSIGNMENT_COLUMNS = ("conversation_id", "reviewer_id", "scorecard_id", "status", "due_at", "created_at",
                      "updated_at", "run_id", "rule_id", "period_key", "reason", "stratum")


def insert_assignments(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many assignments with the driver's executemany: the ORM's bulk insert spent ~130 µs a row
    (20,000 rows: 2.6 s) processing parameters that are the same for every row."""
    connection = session.connection()
    dialect = connection.dialect
    processor = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    to_db: Any = processor if processor is not None else (lambda value: value)
    times: dict[str, dict[Any, Any]] = {name: {} for name in ("due_at", "created_at", "updated_at")}
    marks = ", ".join(["?" if dialect.paramstyle == "qmark" else "%s"] * len(ASSIGNMENT_COLUMNS))
    sql = f"INSERT INTO assignment ({', '.join(ASSIGNMENT_COLUMNS)}) VALUES ({marks})"
    values = []
    for row in rows:
        out = []
        for name in ASSIGNMENT_COLUMNS:
            value = row.get(name)
            if name in times and value is not None:
                cached = times[name]
                if value not in cached:
                    cached[value] = to_db(value)
                value = cached[value]
            out.append(value)
        values.append(tuple(out))
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect.name == "postgresql":  # COPY: executemany made a round trip a row (20,000 rows: 2.6 s)
            with cursor.copy(f"COPY assignment ({', '.join(ASSIGNMENT_COLUMNS)}) FROM STDIN") as copy:
                for row_values in values:
                    copy.write_row(row_values)
        else:
            cursor.executemany(sql, values)
    finally:
        cursor.close()
