"""Helpers of the dispute and pin tests: the review tests' organisation plus a critical-fail review."""

from __future__ import annotations

from sqlmodel import Session, col, select

from qa.models import AuditLog, Notification, Review, User, UserTeam
from tests.reviews.helpers import World, rated_review

# EXAMPLE_SCORECARD: greeting (binary, w1), accuracy (5-point, w3, critical, fails below 0.5),
# tone (custom Poor 0 / OK 0.6 / Great 1, w2, N/A allowed).
CRITICAL_FAIL = {"greeting": "Yes", "accuracy": "2", "tone": "OK"}  # accuracy 0.25 < 0.5: score 0
CORRECTED = 100 * (1 * 1 + 0.75 * 3 + 0.6 * 2) / 6  # accuracy "4" (0.75): 74.1666…, below the pass mark 80
ALL_TOP = 100.0  # greeting Yes, accuracy 5, tone Great


def failed_review(session: Session, world: World, **overrides: object) -> Review:
    """A submitted review of the agent's conversation that fails on the critical criterion (score 0)."""
    return rated_review(session, world, ratings=dict(CRITICAL_FAIL), **overrides)  # type: ignore[arg-type]


def designate(session: Session, user: User, team_id: int | None) -> None:
    """Make `user` a designated dispute resolver of the team."""
    link = session.get(UserTeam, (user.id, team_id))
    if link is None:
        session.add(UserTeam(user_id=user.id, team_id=team_id, resolves_disputes=True))  # type: ignore[arg-type]
    else:
        link.resolves_disputes = True
    session.flush()


def audit_of(session: Session, entity: str, entity_id: int | None) -> list[AuditLog]:
    """The audit entries of one object, oldest first."""
    query = select(AuditLog).where(AuditLog.entity == entity, AuditLog.entity_id == entity_id)
    return list(session.exec(query.order_by(col(AuditLog.id))))


def notices(session: Session, user: User, kind: str | None = None) -> list[Notification]:
    """The user's notifications (of one kind), oldest first."""
    query = select(Notification).where(Notification.user_id == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(session.exec(query.order_by(col(Notification.id))))
