"""A per-process cache for what every page shows and rarely changes: filter lists, scorecard definitions.

The queue and the reviews list put every team, agent, reviewer and scorecard in their filter bars.
Reading them on each page cost more than the page's own rows (~2.5 ms of SQLAlchemy for five
statements and 270 rows at 1,000,000 conversations; docs/benchmarks.md), yet they change only when
an import meets a new agent, or someone adds a user, a team link or a scorecard. Likewise the
definition of a scorecard version, which every review page and rating needs.

So they are kept per database and key, and dropped whenever any statement writes to one of
WATCHED_TABLES, through the ORM or Core, in this process: at the write (read-your-writes on the
same connection) and again when it commits (so a page that filled the cache between the two does
not keep the old lists). Other processes (another worker, a `qa import` on the command line) are
not told; their cache expires after TTL_SECONDS. Only display lists go here: what a user may see is
always decided by the query itself (`qa.auth.scope`), never from this cache.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

T = TypeVar("T")

TTL_SECONDS = 30.0
WATCHED_TABLES = frozenset(
    {"team", "agent", "user", "user_team", "scorecard", "scorecard_version", "criterion"})
_MAX_KEYS = 1024  # per database; past it the whole map is dropped (users, not requests, make keys)

_lock = threading.Lock()
_generation = 0
_entries: weakref.WeakKeyDictionary[Any, dict[Hashable, tuple[int, float, Any]]] = weakref.WeakKeyDictionary()
_DIRTY = "qa.cache.dirty"


def cached(session: Session, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, or its value from an earlier call with the same key on the same database."""
    bind = session.get_bind()
    now = time.monotonic()
    with _lock:
        found = _entries.get(bind, {}).get(key)
        generation = _generation
    if found is not None and found[0] == generation and found[1] > now:
        value: T = found[2]
        return value
    value = compute()
    with _lock:
        entries = _entries.setdefault(bind, {})
        if len(entries) >= _MAX_KEYS:
            entries.clear()
        entries[key] = (generation, now + TTL_SECONDS, value)
    return value


def invalidate() -> None:
    """Forget every cached value (in this process)."""
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()


def _writes_watched(statement: Any) -> bool:
    if not getattr(statement, "is_dml", False):
        return False
    table = getattr(statement, "table", None)
    return getattr(table, "name", None) in WATCHED_TABLES


@event.listens_for(Engine, "after_execute")
def _after_execute(conn: Connection, statement: Any, *_args: Any) -> None:
    if _writes_watched(statement):
        conn.info[_DIRTY] = True
        invalidate()


@event.listens_for(Engine, "commit")
def _on_commit(conn: Connection) -> None:
    if conn.info.pop(_DIRTY, False):
        invalidate()


@event.listens_for(Engine, "release_savepoint")
def _on_release(conn: Connection, _name: Any, _context: Any) -> None:
    if conn.info.get(_DIRTY):
        invalidate()


@event.listens_for(Engine, "rollback")
def _on_rollback(conn: Connection) -> None:
    if conn.info.pop(_DIRTY, False):
        invalidate()  # the rows the cache may have read on this connection are gone
