"""Keeping the report summaries right: Review's copied columns and the `criterion_day` table.

Why: an organisation-wide criterion average over 30 days reads every rating of those days (about
400,000 at 500,000 reviews a year); SQLite needs 0.3–0.4 s for that however it is indexed. The
criterion_day table holds, per day × team × channel × scorecard × criterion, the count and the sum
of the option scores of counted ratings (submitted manual reviews, N/A left out): a month is a few
thousand rows. Agent- and reviewer-level figures still read the ratings themselves (a team's or an
agent's are few).

How it stays right, without anyone having to remember it:
- Review.team_id/channel/scorecard_id are filled from the conversation and the scorecard version
  when a review is inserted through the ORM (a `before_insert` mapper event), unless given.
- Every ORM flush that touches a review or a rating applies the difference it made: before the
  flush, the affected reviews' contributions are read from the database; after it, again; the
  difference is added with upserts (INSERT ... ON CONFLICT DO UPDATE n = n + ..). Differences
  commute, so concurrent writers on PostgreSQL cannot lose each other's changes, and the sums are
  integers (1e-9 units), so adding and taking away is exact.
- Writes that bypass the ORM (bulk loads in benchmarks, raw SQL by an operator) must call
  `rebuild` afterwards; `qa reports rebuild` does it, and the migration that created the table
  filled it the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Date, delete, event, func, insert, literal_column, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session, UOWTransaction
from sqlmodel import col

from qa.models import Conversation, CriterionDay, Rating, Review, ScorecardVersion

SCALE = 1_000_000_000
_PENDING = "qa.rollup.pending"

Key = tuple[date, int, str, int, str]  # day, team (0 = none), channel ('' = none), scorecard (0), criterion


def counted_clause() -> Any:
    """Submitted manual reviews, spelt with literals so the partial index ix_review_counted applies."""
    return (col(Review.kind) == literal_column("'manual'")) & (
        col(Review.status) == literal_column("'submitted'")
    )


def day_of(dialect: str, column: Any) -> Any:
    """The UTC day of a stored (naive UTC) timestamp, as a SQL date."""
    if dialect == "sqlite":
        return func.date(column, type_=Date)
    return sql_cast(column, Date)


def _contribution_query(dialect: str) -> Any:
    return (
        select(day_of(dialect, col(Review.submitted_at)))
        .add_columns(
            func.coalesce(col(Review.team_id), 0),
            func.coalesce(col(Review.channel), ""),
            func.coalesce(col(Review.scorecard_id), 0),
            col(Rating.criterion_key),
            col(Rating.option_score),
        )
        .select_from(Review)
        .join(Rating, col(Rating.review_id) == col(Review.id))
        .where(counted_clause(), col(Rating.option_score).is_not(None))
    )


Sums = dict[Key, tuple[int, int]]


def contributions(connection: Connection, review_ids: Iterable[int]) -> Sums:
    """Per key: (count, scaled sum) of what these reviews add to criterion_day now."""
    ids = sorted(set(review_ids))
    totals: dict[Key, list[int]] = {}
    if not ids:
        return {}
    query = _contribution_query(connection.dialect.name)
    for start in range(0, len(ids), 500):
        for day, team, channel, card, key, score in connection.execute(
            query.where(col(Review.id).in_(ids[start : start + 500]))
        ):
            day = day if isinstance(day, date) else date.fromisoformat(str(day))
            entry = totals.setdefault((day, int(team), str(channel), int(card), key), [0, 0])
            entry[0] += 1
            entry[1] += round(float(score) * SCALE)
    return {k: (v[0], v[1]) for k, v in totals.items()}


def apply_change(connection: Connection, before: Sums, after: Sums) -> None:
    """Add (after − before) to criterion_day with commutative upserts."""
    changes = []
    for key in set(before) | set(after):
        n0, t0 = before.get(key, (0, 0))
        n1, t1 = after.get(key, (0, 0))
        if (n1 - n0, t1 - t0) != (0, 0):
            day, team, channel, card, criterion = key
            changes.append(
                {
                    "day": day,
                    "team_id": team,
                    "channel": channel,
                    "scorecard_id": card,
                    "criterion_key": criterion,
                    "n": n1 - n0,
                    "total": t1 - t0,
                }
            )
    if not changes:
        return
    table = CriterionDay.__table__  # type: ignore[attr-defined]
    make = sqlite_insert if connection.dialect.name == "sqlite" else pg_insert
    statement = make(table)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "team_id", "channel", "scorecard_id", "criterion_key"],
        set_={"n": table.c.n + statement.excluded.n, "total": table.c.total + statement.excluded.total},
    )
    connection.execute(statement, changes)


def _affected(session: Session) -> tuple[set[int], list[Review]]:
    """Ids of stored reviews this flush may change, and the new reviews (ids known only after it)."""
    ids: set[int] = set()
    fresh: list[Review] = []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Review):
            if obj.id is None:
                fresh.append(obj)
            else:
                ids.add(obj.id)
        elif isinstance(obj, Rating) and obj.review_id is not None:
            ids.add(obj.review_id)
    return ids, fresh


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    ids, fresh = _affected(session)
    if not ids and not fresh:
        return
    connection = session.connection()
    session.info[_PENDING] = (ids, fresh, contributions(connection, ids))


@event.listens_for(Session, "after_flush_postexec")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    ids, fresh, before = pending
    ids = ids | {r.id for r in fresh if r.id is not None}
    connection = session.connection()
    apply_change(connection, before, contributions(connection, ids))


@event.listens_for(Review, "before_insert")
def _copy_conversation_facts(mapper: Mapper[Review], connection: Connection, review: Review) -> None:
    """A new review gets its conversation's team and channel and its version's scorecard."""
    if review.team_id is None and review.channel is None and review.conversation_id is not None:
        found = connection.execute(
            select(col(Conversation.team_id), col(Conversation.channel)).where(
                col(Conversation.id) == review.conversation_id
            )
        ).first()
        if found is not None:
            review.team_id, review.channel = found[0], (str(found[1]) if found[1] is not None else None)
    if review.scorecard_id is None and review.version_id is not None:
        review.scorecard_id = connection.execute(
            select(col(ScorecardVersion.scorecard_id)).where(col(ScorecardVersion.id) == review.version_id)
        ).scalar()


def rebuild(connection: Connection) -> int:
    """Recompute criterion_day from the ratings (after bulk writes that bypassed the ORM); returns rows."""
    table = CriterionDay.__table__  # type: ignore[attr-defined]
    dialect = connection.dialect.name
    day = day_of(dialect, col(Review.submitted_at))
    keys = (
        day,
        func.coalesce(col(Review.team_id), 0),
        func.coalesce(col(Review.channel), ""),
        func.coalesce(col(Review.scorecard_id), 0),
        col(Rating.criterion_key),
    )
    total = func.sum(func.round(col(Rating.option_score) * SCALE))
    grouped = (
        select(*keys, func.count(), sql_cast(total, table.c.total.type))
        .select_from(Review)
        .join(Rating, col(Rating.review_id) == col(Review.id))
        .where(counted_clause(), col(Rating.option_score).is_not(None), col(Review.submitted_at).is_not(None))
        .group_by(*keys)
    )
    connection.execute(delete(table))
    connection.execute(
        insert(table).from_select(
            ["day", "team_id", "channel", "scorecard_id", "criterion_key", "n", "total"], grouped
        )
    )
    return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def fill_review_columns(connection: Connection) -> None:
    """Set Review.team_id/channel/scorecard_id from conversations and versions where missing (bulk)."""
    table = Review.__table__  # type: ignore[attr-defined]
    conv = Conversation.__table__  # type: ignore[attr-defined]
    version = ScorecardVersion.__table__  # type: ignore[attr-defined]
    connection.execute(
        table.update()
        .where(table.c.channel.is_(None))
        .values(
            team_id=select(conv.c.team_id).where(conv.c.id == table.c.conversation_id).scalar_subquery(),
            channel=select(conv.c.channel).where(conv.c.id == table.c.conversation_id).scalar_subquery(),
        )
    )
    connection.execute(
        table.update()
        .where(table.c.scorecard_id.is_(None))
        .values(
            scorecard_id=select(version.c.scorecard_id)
            .where(version.c.id == table.c.version_id)
            .scalar_subquery()
        )
    )
