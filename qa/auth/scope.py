"""The one place that decides what a user may see: pre-filtered selects every query starts from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, true
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from qa.errors import NotFound
from qa.models import Conversation, Review, ReviewKind, ReviewStatus, Role, User, UserTeam

MAX_ID = 2**31 - 1


def team_ids(session: Session, user: User) -> list[int]:
    """The teams linked to a manager or reviewer; empty means the whole organisation."""
    return list(session.exec(select(UserTeam.team_id).where(UserTeam.user_id == user.id)))


def conversation_filter(session: Session, actor: User) -> ColumnElement[bool]:
    """A WHERE clause limiting conversations to those `actor` may open."""
    if actor.role is Role.admin:
        return true()
    if actor.role is Role.agent:
        return col(Conversation.agent_id) == actor.agent_id if actor.agent_id else false()
    teams = team_ids(session, actor)
    return col(Conversation.team_id).in_(teams) if teams else true()


def review_filter(session: Session, actor: User) -> ColumnElement[bool]:
    """A WHERE clause limiting reviews to those `actor` may read.

    Agents see only submitted manual reviews of themselves (never calibration or drafts);
    reviewers see the reviews they wrote; managers those of their teams' conversations.
    """
    if actor.role is Role.admin:
        return true()
    if actor.role is Role.agent:
        if not actor.agent_id:
            return false()
        return (
            (col(Review.agent_id) == actor.agent_id)
            & (col(Review.status) == ReviewStatus.submitted)
            & (col(Review.kind) == ReviewKind.manual)
        )
    if actor.role is Role.reviewer:
        return col(Review.reviewer_id) == actor.id
    teams = team_ids(session, actor)
    if not teams:
        return true()
    in_team = select(Conversation.id).where(col(Conversation.team_id).in_(teams))
    return col(Review.conversation_id).in_(in_team) | (col(Review.reviewer_id) == actor.id)


def visible_conversations(session: Session, actor: User) -> SelectOfScalar[Conversation]:
    """SELECT conversations `actor` may see."""
    return select(Conversation).where(conversation_filter(session, actor))


def visible_reviews(session: Session, actor: User) -> SelectOfScalar[Review]:
    """SELECT reviews `actor` may see."""
    return select(Review).where(review_filter(session, actor))


def get_conversation(session: Session, actor: User, conversation_id: Any) -> Conversation:
    """The conversation if `actor` may see it; NotFound for unknown and forbidden ids alike."""
    row = session.exec(
        visible_conversations(session, actor).where(Conversation.id == as_id(conversation_id))
    ).first()
    if row is None:
        raise NotFound(f"Conversation {conversation_id} not found.")
    return row


def get_review(session: Session, actor: User, review_id: Any) -> Review:
    """The review if `actor` may see it; NotFound for unknown and forbidden ids alike."""
    row = session.exec(visible_review(session, actor, review_id)).first()
    if row is None:
        raise NotFound(f"Review {review_id} not found.")
    return row


def visible_review(session: Session, actor: User, review_id: Any) -> SelectOfScalar[Review]:
    """SELECT the review if `actor` may see it (add columns and joins to read more in one go)."""
    return visible_reviews(session, actor).where(Review.id == as_id(review_id))


def as_id(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise NotFound(f"No object with id {value!r}.") from None
    if not 0 < number <= MAX_ID:  # ids are 32-bit on PostgreSQL: a larger one is simply not there
        raise NotFound(f"No object with id {value!r}.")
    return number
