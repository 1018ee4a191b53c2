"""Writing and reading notifications; always inside the caller's transaction.

Other modules call `notify` when something happens to a person (the new review's agent, the
dispute's resolvers, ...). A notice with a `dedupe_key` is written at most once per user, so a job
that runs again (e.g. "goal due" from the scheduler) does not repeat itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func
from sqlmodel import Session, col, select, update

from qa.models import Notification, User, utcnow

MAX_TITLE = 300
MAX_BODY = 2000


def notify(session: Session, user_ids: Iterable[int | None], *, kind: str, title: str, link: str = "",
           body: str = "", dedupe_key: str | None = None) -> int:
    """Add one notice per user (None and duplicates skipped); returns how many were written."""
    wanted = sorted({u for u in user_ids if u is not None})
    if not wanted:
        return 0
    if dedupe_key is not None:
        seen = set(session.exec(select(Notification.user_id).where(
            col(Notification.user_id).in_(wanted), Notification.dedupe_key == dedupe_key)))
        wanted = [u for u in wanted if u not in seen]
    session.add_all(Notification(user_id=u, kind=kind, title=title[:MAX_TITLE], body=body[:MAX_BODY],
                                 link=link[:500], dedupe_key=dedupe_key) for u in wanted)
    session.flush()
    return len(wanted)


def unread_count(session: Session, user: User) -> int:
    """How many of the user's notices are unread."""
    query = select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, col(Notification.read_at).is_(None))
    return int(session.exec(query).one())


def latest(
    session: Session, user: User, *, limit: int = 50, before_id: int | None = None
) -> list[Notification]:
    """The user's notices, newest first (keyset paging by id)."""
    query = select(Notification).where(Notification.user_id == user.id)
    if before_id is not None:
        query = query.where(col(Notification.id) < before_id)
    return list(session.exec(query.order_by(col(Notification.id).desc()).limit(limit)))


def mark_read(session: Session, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the given notices (all when None) of this user read; another user's ids are ignored."""
    statement = update(Notification).where(col(Notification.user_id) == user.id,
                                           col(Notification.read_at).is_(None))
    if notification_ids is not None:
        statement = statement.where(col(Notification.id).in_(list(notification_ids)))
    result = session.exec(statement.values(read_at=utcnow()))
    return int(result.rowcount or 0)
