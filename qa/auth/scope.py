"""The one place that decides what a user may see: pre-filtered selects every query starts from."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from qa.errors import InvalidInput, NotFound
from qa.models import (
    CalibrationParticipant,
    CalibrationSession,
    CalibrationStatus,
    Conversation,
    Review,
    ReviewKind,
    ReviewStatus,
    Role,
    User,
    UserTeam,
)

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
    Calibration (issue 6): a review of a calibration session is blind — only its author sees it until
    the session is revealed, whatever their role; afterwards, if submitted, the session's participants
    and the managers and admins who see its conversation. A grader-QA re-score (`regrade_of_id`) is
    shown to the re-graded reviewer once it is submitted, so they learn from it.
    """
    if actor.role is Role.agent:
        if not actor.agent_id:
            return false()
        return (
            (col(Review.agent_id) == actor.agent_id)
            & (col(Review.status) == ReviewStatus.submitted)
            & (col(Review.kind) == ReviewKind.manual)
        )
    # Written as "id NOT IN (a small set)" rather than a test on calibration_id, so that the report
    # queries still read their covering indexes alone (every SQLite index holds the rowid).
    blind = col(Review.id).not_in(_blind_reviews(actor))
    if actor.role is Role.admin:
        return blind
    if actor.role is Role.reviewer:
        return (col(Review.reviewer_id) == actor.id) | (blind & _shared_with_reviewer(actor))
    teams = team_ids(session, actor)
    if not teams:
        return blind
    in_team = select(Conversation.id).where(col(Conversation.team_id).in_(teams))
    return (col(Review.reviewer_id) == actor.id) | (
        blind & (col(Review.conversation_id).in_(in_team) | _shared_with_reviewer(actor)))


def _blind_reviews(actor: User) -> Any:
    """Ids of other people's calibration reviews `actor` may not read: of a session not yet revealed,
    or left as drafts (scoring closes at the reveal; a late draft is never shown)."""
    other = aliased(Review, name="blind_review")
    revealed = select(CalibrationSession.id).where(CalibrationSession.status == CalibrationStatus.revealed)
    return select(other.id).where(
        col(other.calibration_id).is_not(None), col(other.reviewer_id) != actor.id,
        col(other.calibration_id).not_in(revealed) | (col(other.status) != ReviewStatus.submitted))


def _shared_with_reviewer(actor: User) -> ColumnElement[bool]:
    """Others' reviews a reviewer may read: those of revealed sessions they took part in, and
    submitted re-scores of their own reviews (grader QA)."""
    mine = aliased(Review, name="regraded_review")
    joined = col(CalibrationSession.id) == col(CalibrationParticipant.session_id)
    sessions = (select(CalibrationParticipant.session_id).join(CalibrationSession, joined)
                .where(CalibrationParticipant.user_id == actor.id,
                       CalibrationSession.status == CalibrationStatus.revealed))
    of_mine = select(mine.id).where(mine.reviewer_id == actor.id)
    submitted = col(Review.status) == ReviewStatus.submitted
    return submitted & (col(Review.calibration_id).in_(sessions)
                        | (col(Review.calibration_id).is_(None) & col(Review.regrade_of_id).in_(of_mine)))


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


def as_ids(values: Iterable[Any], field_name: str) -> list[int]:
    """Ids from a form or a JSON list, in order, duplicates dropped; anything else is a 422 naming it."""
    if isinstance(values, str | bytes | dict) or not isinstance(values, Iterable):
        raise InvalidInput(f"'{field_name}' must be a list of ids.", field=field_name)
    found: list[int] = []
    for value in values:
        text = str(value).strip()
        if isinstance(value, bool) or not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
            raise InvalidInput(f"{text[:30]!r} in '{field_name}' is not an id.", field=field_name)
        if int(text) not in found:
            found.append(int(text))
    return found
