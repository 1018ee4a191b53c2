"""Pins: a reviewer or coach pins a moment of a review (a message, a rating, the whole review) to the
agent's coaching board with a note, to bring up in the next session.

Decisions:

- **Who pins**: reviewers, managers and admins who may read the review (qa.auth.scope); agents never
  see pins or pin (they are a coach's preparation notes). A pin's agent is the review's agent.
  Calibration reviews cannot be pinned: they are never shown to the agent, so they cannot be
  discussed with them.
- **Who reads a pin**: its author, and whoever may read its review (the team's managers, admins,
  the review's reviewer). Archiving is for the author, managers and admins; marking a pin discussed
  (in a coaching session of the same agent) for anyone who may read it, the session's coach or a
  manager/admin.
- **Pinning twice**: the same author pinning the same moment again while the first pin is still
  open (not archived, not discussed) gets that pin back, with the new note if one was given, so a
  double click makes one pin.
- **Not audited**: a pin changes no score, review or person's record (PRODUCT.md §1's audit list);
  the row itself keeps who pinned what and when, and when it was archived or discussed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func
from sqlalchemy import select as select_rows
from sqlmodel import Session, col, select

from qa.auth import scope
from qa.errors import Forbidden, InvalidInput, NotFound
from qa.models import (
    CoachingSession,
    Criterion,
    Message,
    Pin,
    PinKind,
    Rating,
    Review,
    ReviewKind,
    Role,
    User,
    utcnow,
)
from qa.scorecard_admin import service as scorecard_service

MAX_NOTE = 2000
EXCERPT = 200
KINDS = tuple(k.value for k in PinKind)


@dataclass(frozen=True)
class PinView:
    """A pin as boards and the review page show it."""

    id: int
    kind: str
    note: str
    author_name: str
    created_at: datetime
    review_id: int | None
    conversation_id: int | None
    message_excerpt: str | None
    criterion_key: str | None
    criterion_name: str | None
    option_label: str | None  # the rating's current option (None: N/A or not a rating pin)
    option_score: float | None  # 0..1
    session_id: int | None
    archived_at: datetime | None
    link: str
    message_id: int | None = None
    author_id: int | None = None


def _kind(kind: Any) -> PinKind:
    try:
        return PinKind(kind)
    except ValueError:
        raise InvalidInput(
            f"Unknown pin kind {str(kind)[:20]!r}: use message, rating or review.", field="kind"
        ) from None


def _note(note: str | None) -> str:
    text = (note or "").strip()
    if "\x00" in text:
        raise InvalidInput("The note contains a NUL character.", field="note")
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"The note is too long (at most {MAX_NOTE:,} characters).", field="note")
    return text


def _require_coach(actor: User) -> None:
    if actor.role is Role.agent:
        raise Forbidden("Pins are coaching notes for reviewers, coaches and managers.")


def may_pin(actor: User, review: Review) -> bool:
    """Whether the review page offers `actor` (who can see `review`) pin buttons."""
    return (
        actor.role is not Role.agent and review.kind != ReviewKind.calibration and review.agent_id is not None
    )


def create_pin(
    session: Session,
    *,
    actor: User,
    review_id: Any,
    kind: PinKind | str,
    note: str,
    message_id: Any = None,
    criterion_key: str | None = None,
) -> Pin:
    """Pin a message, a rating or the whole review to the review's agent's board."""
    _require_coach(actor)
    review = scope.get_review(session, actor, review_id)
    what = _kind(kind)
    if review.kind == ReviewKind.calibration:
        raise InvalidInput("Calibration reviews are never shown to the agent, so they can't be pinned.")
    if review.agent_id is None:
        raise InvalidInput("This conversation has no agent to pin it for.")
    target = _target(session, review, what, message_id, criterion_key)
    text = _note(note)
    existing = session.exec(
        select(Pin).where(
            Pin.author_id == actor.id,
            Pin.review_id == review.id,
            Pin.kind == what,
            _same(col(Pin.message_id), target[0]),
            _same(col(Pin.criterion_key), target[1]),
            col(Pin.archived_at).is_(None),
            col(Pin.session_id).is_(None),
        )
    ).first()
    if existing is not None:
        existing.note = text or existing.note
        session.flush()
        return existing
    pin = Pin(
        agent_id=review.agent_id,
        author_id=actor.id,  # type: ignore[arg-type]
        kind=what,
        review_id=review.id,
        message_id=target[0],
        criterion_key=target[1],
        note=text,
    )
    session.add(pin)
    session.flush()
    return pin


def _same(column: Any, value: Any) -> ColumnElement[bool]:
    clause: ColumnElement[bool] = column.is_(None) if value is None else column == value
    return clause


def _target(
    session: Session, review: Review, kind: PinKind, message_id: Any, criterion_key: str | None
) -> tuple[int | None, str | None]:
    """(message_id, criterion_key) of the pin, checked against the review."""
    if kind is PinKind.message:
        if message_id in (None, ""):
            raise InvalidInput("Say which message to pin.", field="message_id")
        message = session.get(Message, scope.as_id(message_id))
        if message is None or message.conversation_id != review.conversation_id:
            raise NotFound(f"Message {message_id} is not part of this conversation.")
        return message.id, None
    if kind is PinKind.rating:
        keys = {c.key for c in scorecard_service.definition_for(session, review.version_id).criteria}
        if not criterion_key or criterion_key not in keys:
            raise InvalidInput(
                f"This review's scorecard has no criterion {str(criterion_key)[:64]!r}.", field="criterion"
            )
        return None, criterion_key
    return None, None


def _pins_query(*where: ColumnElement[bool]) -> Any:
    """Pins with what they point at, in one statement."""
    excerpt = func.substr(col(Message.body), 1, EXCERPT + 1)
    return (
        select_rows(
            Pin,
            col(User.name),
            col(Review.conversation_id),
            excerpt,
            col(Criterion.name),
            col(Rating.option_label),
            col(Rating.option_score),
        )
        .select_from(Pin)
        .join(Review, col(Review.id) == col(Pin.review_id))
        .join(User, col(User.id) == col(Pin.author_id))
        .outerjoin(Message, col(Message.id) == col(Pin.message_id))
        .outerjoin(
            Criterion,
            and_(
                col(Criterion.version_id) == col(Review.version_id),
                col(Criterion.key) == col(Pin.criterion_key),
            ),
        )
        .outerjoin(
            Rating,
            and_(
                col(Rating.review_id) == col(Pin.review_id),
                col(Rating.criterion_key) == col(Pin.criterion_key),
            ),
        )
        .where(*where)
        .order_by(col(Pin.created_at).desc(), col(Pin.id).desc())
    )


def _visible(session: Session, actor: User) -> ColumnElement[bool]:
    return scope.review_filter(session, actor) | (col(Pin.author_id) == actor.id)


def _shorten(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1].rstrip() + "\u2026"


def _link(pin: Pin) -> str:
    anchor = (
        f"#msg-{pin.message_id}"
        if pin.message_id
        else f"#crit-{pin.criterion_key}"
        if pin.criterion_key
        else ""
    )
    return f"/reviews/{pin.review_id}{anchor}"


def _views(session: Session, query: Any) -> list[PinView]:
    return [
        PinView(
            id=pin.id,
            kind=pin.kind.value,
            note=pin.note,
            author_name=author,
            created_at=pin.created_at,
            review_id=pin.review_id,
            conversation_id=conversation_id,
            message_excerpt=_shorten(body),
            criterion_key=pin.criterion_key,
            criterion_name=criterion_name or pin.criterion_key,
            option_label=label,
            option_score=score,
            session_id=pin.session_id,
            archived_at=pin.archived_at,
            link=_link(pin),
            message_id=pin.message_id,
            author_id=pin.author_id,
        )
        for pin, author, conversation_id, body, criterion_name, label, score in session.execute(query)
    ]


def list_pins(
    session: Session, *, actor: User, agent_id: Any, include_archived: bool = False
) -> list[PinView]:
    """The pins of one agent's board that `actor` may read, newest first."""
    _require_coach(actor)
    where = [col(Pin.agent_id) == scope.as_id(agent_id), _visible(session, actor)]
    if not include_archived:
        where.append(col(Pin.archived_at).is_(None))
    return _views(session, _pins_query(*where))


def review_pins(session: Session, *, actor: User, review_id: int) -> list[PinView]:
    """The open pins on one review that `actor` may read (none for agents), newest first."""
    if actor.role is Role.agent:
        return []
    where = [col(Pin.review_id) == review_id, col(Pin.archived_at).is_(None), _visible(session, actor)]
    return _views(session, _pins_query(*where))


def _visible_pin(session: Session, actor: User, pin_id: Any) -> Pin:
    _require_coach(actor)
    query = (
        select(Pin)
        .join(Review, col(Review.id) == col(Pin.review_id))
        .where(Pin.id == scope.as_id(pin_id), _visible(session, actor))
    )
    pin = session.exec(query).first()
    if pin is None:
        raise NotFound(f"Pin {pin_id} not found.")
    return pin


def archive_pin(session: Session, *, actor: User, pin_id: Any) -> Pin:
    """Take a pin off the board (its author, managers and admins); archiving twice changes nothing."""
    pin = _visible_pin(session, actor, pin_id)
    if pin.author_id != actor.id and actor.role not in (Role.manager, Role.admin):
        raise Forbidden("Only the pin's author or a manager can archive it.")
    if pin.archived_at is None:
        pin.archived_at = utcnow()
        session.flush()
    return pin


def mark_discussed(session: Session, *, actor: User, pin_id: Any, coaching_session_id: Any) -> Pin:
    """Record that a pin was discussed in a coaching session of the same agent."""
    pin = _visible_pin(session, actor, pin_id)
    coaching = session.get(CoachingSession, scope.as_id(coaching_session_id))
    if coaching is None or coaching.agent_id != pin.agent_id:
        raise InvalidInput(
            f"Coaching session {coaching_session_id} is not one of this agent's sessions.", field="session_id"
        )
    if coaching.coach_id != actor.id and actor.role not in (Role.manager, Role.admin):
        raise Forbidden("Only the session's coach or a manager can bring pins into it.")
    pin.session_id = coaching.id
    session.flush()
    return pin
