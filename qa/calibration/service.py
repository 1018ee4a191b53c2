"""Calibration sessions: several reviewers score the same conversations blind, then compare (issue 6).

Decisions (written here, as nobody answers questions):
- The session freezes the scorecard's current published version: every review of the session uses it,
  so the answers compare criterion by criterion even if the scorecard changes meanwhile.
- Participants are reviewers, managers or admins. The benchmark reviewer (the gold standard) must take
  part, so naming one adds them to the participants automatically. A session needs two participants.
- Every participant must be able to open every conversation of the session (their teams) and may not
  be its agent (a reviewer never reviews their own conversation); a failing pair is a 422 naming both.
- Conversations come by hand (ids) or drawn from a sampling rule: the rule's filters within the
  manager's scope, less conversations handled by a participant, N drawn with numpy's seeded generator.
- Blindness lives in qa.auth.scope.review_filter: before the reveal nobody (admins included) can read
  another participant's calibration review through any door. What this module shows before the reveal
  is progress only: how many reviews each participant submitted, never a score.
- Who sees a session: its participants; its creator; admins; managers whose teams hold one of its
  conversations (or managers of the whole organisation). Managing it (reveal, consensus) is for those
  managers and admins, not for a participant as such.
- The reveal is explicit, audited and notifies the participants. It closes scoring: drafts left then
  stay drafts, shown as "not submitted", and are left out of the measures.
- The consensus is one answer per conversation and criterion (an option, or N/A), recorded by a manager
  after the reveal; choosing "no consensus" removes it. Each change is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, case, exists, false, or_, true
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import Select

from qa.assignments import candidates as cand
from qa.assignments import service as assignment_service
from qa.audit import service as audit
from qa.auth import scope
from qa.errors import Conflict, Forbidden, InvalidInput, NotFound
from qa.models import (
    Agent,
    CalibrationConsensus,
    CalibrationConversation,
    CalibrationParticipant,
    CalibrationSession,
    CalibrationStatus,
    Conversation,
    Review,
    ReviewKind,
    ReviewStatus,
    Role,
    Scorecard,
    ScorecardVersion,
    User,
    utcnow,
)
from qa.notifications import service as notifications
from qa.reviews import service as review_service
from qa.scorecard_admin import service as scorecard_service
from scorecards import ScorecardDef

PARTICIPANT_ROLES = frozenset({Role.reviewer, Role.manager, Role.admin})
MANAGER_ROLES = frozenset({Role.manager, Role.admin})
MAX_CONVERSATIONS = 200
MAX_PARTICIPANTS = 50
MAX_NAME = 200
MAX_NOTES = 10_000


# ---------------------------------------------------------------------------------------------
# Plain data in and out
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionIn:
    """What a manager asks for; conversations by id, or `sample_size` drawn from a sampling rule."""

    name: str
    scorecard_id: Any
    participant_ids: Sequence[Any]
    conversation_ids: Sequence[Any] = ()
    benchmark_id: Any = None
    due_at: datetime | None = None
    notes: str = ""
    sampling_rule_id: Any = None
    sample_size: int | None = None
    seed: int = 0


@dataclass(frozen=True)
class SessionRow:
    """One session in the list, with the viewer's own progress."""

    id: int
    name: str
    status: str
    scorecard_name: str
    version: int
    conversations: int
    participants: int
    submitted: int  # all participants' submitted reviews
    mine_submitted: int
    is_participant: bool
    due_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class Participant:
    """A participant and their progress (a count, never a score, before the reveal)."""

    user_id: int
    name: str
    submitted: int
    drafts: int
    is_benchmark: bool


@dataclass(frozen=True)
class SessionConversation:
    """A conversation of the session with the viewer's own review of it."""

    conversation_id: int
    subject: str
    agent_name: str | None
    submitted: int
    my_review_id: int | None
    my_status: str  # "none", "draft" or "submitted"
    my_score: float | None


@dataclass
class SessionView:
    """Everything the session page shows."""

    cal: CalibrationSession
    scorecard: Scorecard
    version: ScorecardVersion
    participants: list[Participant]
    conversations: list[SessionConversation]
    is_participant: bool
    can_manage: bool
    creator_name: str | None
    benchmark_name: str | None

    @property
    def revealed(self) -> bool:
        """Whether the manager has revealed the session."""
        return self.cal.status == CalibrationStatus.revealed

    @property
    def total_expected(self) -> int:
        """Reviews a complete session holds: participants x conversations."""
        return len(self.participants) * len(self.conversations)

    @property
    def total_submitted(self) -> int:
        """Reviews submitted so far."""
        return sum(p.submitted for p in self.participants)


@dataclass(frozen=True)
class Cell:
    """One reviewer's answer to one criterion of the conversation (label None + rated: N/A)."""

    rated: bool
    label: str | None
    score: float | None
    comment: str


@dataclass(frozen=True)
class ComparisonRow:
    """One criterion of the side-by-side: every reviewer's answer and the consensus."""

    key: str
    name: str
    section: str | None
    options: list[str]
    allow_na: bool
    cells: list[Cell]  # in the order of Comparison.reviewers
    disagree: bool
    consensus: CalibrationConsensus | None


@dataclass(frozen=True)
class ReviewerColumn:
    """A column of the side-by-side: a participant and their review of the conversation."""

    user_id: int
    name: str
    is_benchmark: bool
    review_id: int | None
    submitted: bool
    score: float | None
    failed_critical: bool
    comment: str


@dataclass
class Comparison:
    """The side-by-side of one conversation after the reveal."""

    view: SessionView
    conversation: Conversation
    position: int
    reviewers: list[ReviewerColumn]
    rows: list[ComparisonRow]
    spread: dict[str, float | None] = field(default_factory=dict)
    previous_id: int | None = None
    next_id: int | None = None


def _select_rows(*columns: Any) -> Any:
    """A row SELECT of any width (sqlmodel's typed `select` stops at four columns)."""
    return Select(*columns)


# ---------------------------------------------------------------------------------------------
# Who sees and manages a session
# ---------------------------------------------------------------------------------------------


def _participates(actor: User) -> ColumnElement[bool]:
    return exists().where(
        col(CalibrationParticipant.session_id) == col(CalibrationSession.id),
        col(CalibrationParticipant.user_id) == actor.id,
    )


def _managed(session: Session, actor: User) -> ColumnElement[bool]:
    """Sessions a manager or admin may manage (reveal, consensus)."""
    if actor.role is Role.admin:
        return true()
    if actor.role is not Role.manager:
        return false()
    teams = scope.team_ids(session, actor)
    if not teams:
        return true()
    in_team = (
        select(CalibrationConversation.session_id)
        .join(Conversation, col(Conversation.id) == col(CalibrationConversation.conversation_id))
        .where(col(Conversation.team_id).in_(teams))
    )
    return or_(col(CalibrationSession.created_by_id) == actor.id, col(CalibrationSession.id).in_(in_team))


def session_filter(session: Session, actor: User) -> ColumnElement[bool]:
    """A WHERE clause limiting calibration sessions to those `actor` may see."""
    if actor.role is Role.agent:
        return false()
    return or_(_managed(session, actor), _participates(actor))


def get_session(session: Session, *, actor: User, session_id: Any) -> CalibrationSession:
    """The session if `actor` may see it; NotFound for unknown and hidden ids alike."""
    found = session.exec(
        select(CalibrationSession).where(
            CalibrationSession.id == scope.as_id(session_id), session_filter(session, actor)
        )
    ).first()
    if found is None:
        raise NotFound(f"Calibration session {session_id} not found.")
    return found


def may_manage(session: Session, actor: User, cal: CalibrationSession) -> bool:
    """Whether `actor` may reveal the session and record its consensus."""
    query = (
        select(func.count())
        .select_from(CalibrationSession)
        .where(CalibrationSession.id == cal.id, _managed(session, actor))
    )
    return bool(session.exec(query).one())


def _managed_session(session: Session, actor: User, session_id: Any) -> CalibrationSession:
    cal = get_session(session, actor=actor, session_id=session_id)
    if not may_manage(session, actor, cal):
        raise Forbidden("Only the session's managers and admins can do this.")
    return cal


def is_participant(session: Session, cal: CalibrationSession, user: User) -> bool:
    """Whether `user` takes part in the session."""
    return (
        session.exec(
            select(CalibrationParticipant.id).where(
                CalibrationParticipant.session_id == cal.id, CalibrationParticipant.user_id == user.id
            )
        ).first()
        is not None
    )


def require_manager(actor: User) -> None:
    """Only managers and admins create sessions."""
    if actor.role not in MANAGER_ROLES:
        raise Forbidden("Only managers and admins can run calibration sessions.")


# ---------------------------------------------------------------------------------------------
# Creating a session
# ---------------------------------------------------------------------------------------------


def _one_id(value: Any, field_name: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return scope.as_ids([value], field_name)[0]


def _clean_name(name: str) -> str:
    text = " ".join((name or "").split())
    if not text:
        raise InvalidInput("Give the session a name.", field="name")
    if len(text) > MAX_NAME:
        raise InvalidInput(f"The name is too long (at most {MAX_NAME} characters).", field="name")
    return text


def _scorecard_version(session: Session, scorecard_id: Any) -> ScorecardVersion:
    ident = _one_id(scorecard_id, "scorecard_id")
    card = session.get(Scorecard, ident) if ident else None
    if card is None:
        raise InvalidInput(f"Scorecard {scorecard_id} does not exist.", field="scorecard_id")
    if card.archived:
        raise InvalidInput(f"Scorecard '{card.name}' is archived; pick another one.", field="scorecard_id")
    try:
        return scorecard_service.current_version(session, ident)  # type: ignore[arg-type]
    except NotFound as exc:
        raise InvalidInput(exc.message, field="scorecard_id") from None


def _participants(session: Session, ids: list[int], benchmark_id: int | None) -> list[User]:
    if benchmark_id is not None and benchmark_id not in ids:
        ids = [*ids, benchmark_id]  # the benchmark must take part: added rather than refused
    if len(ids) > MAX_PARTICIPANTS:
        raise InvalidInput(f"At most {MAX_PARTICIPANTS} participants.", field="participant_ids")
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids)))}
    bad = [
        i for i in ids if i not in users or not users[i].is_active or users[i].role not in PARTICIPANT_ROLES
    ]
    if bad:
        field_name = "benchmark_id" if bad == [benchmark_id] else "participant_ids"
        raise InvalidInput(
            "Not active reviewers, managers or admins: user " + ", ".join(str(i) for i in bad) + ".",
            field=field_name,
        )
    if len(ids) < 2:
        raise InvalidInput("A calibration session needs at least two participants.", field="participant_ids")
    return [users[i] for i in ids]


def _conversations(session: Session, actor: User, ids: list[int]) -> list[Conversation]:
    if not ids:
        raise InvalidInput("Pick at least one conversation.", field="conversation_ids")
    if len(ids) > MAX_CONVERSATIONS:
        raise InvalidInput(
            f"At most {MAX_CONVERSATIONS} conversations per session.", field="conversation_ids"
        )
    found = {
        c.id: c
        for c in session.exec(
            select(Conversation).where(
                col(Conversation.id).in_(ids), scope.conversation_filter(session, actor)
            )
        )
    }
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise InvalidInput(
            "Unknown conversations (or not yours to see): " + ", ".join(str(i) for i in unknown) + ".",
            field="conversation_ids",
        )
    return [found[i] for i in ids]


def _check_pairs(session: Session, users: list[User], conversations: list[Conversation]) -> None:
    """Every participant can open every conversation and none is its agent."""
    ids = [c.id for c in conversations]
    for user in users:
        own = [c.id for c in conversations if user.agent_id is not None and c.agent_id == user.agent_id]
        if own:
            raise InvalidInput(
                f"{user.name} (user {user.id}) is the agent of conversation "
                f"{', '.join(map(str, own))}: a reviewer never reviews their own conversation.",
                field="participant_ids",
            )
        seen = set(
            session.exec(
                select(Conversation.id).where(
                    col(Conversation.id).in_(ids), scope.conversation_filter(session, user)
                )
            )
        )
        hidden = [i for i in ids if i not in seen]
        if hidden:
            raise InvalidInput(
                f"{user.name} (user {user.id}) can't see conversation "
                f"{', '.join(map(str, hidden))} (another team).",
                field="participant_ids",
            )


def draw_conversations(
    session: Session, *, actor: User, rule_id: Any, size: Any, seed: int, exclude_agents: Sequence[int] = ()
) -> list[int]:
    """`size` conversations drawn (seeded) from a sampling rule's filters within the actor's scope.

    Conversations handled by a participant are left out, so the draw never breaks the own-conversation
    rule. The rule's strategy and quotas are for assignments; a calibration draw is a plain random one.
    """
    row = assignment_service.get_rule(session, actor=actor, rule_id=rule_id)
    rule = assignment_service.rule_of(row)
    count = _one_id(size, "sample_size")
    if count is None or count > MAX_CONVERSATIONS:
        raise InvalidInput(f"Draw between 1 and {MAX_CONVERSATIONS} conversations.", field="sample_size")
    clauses = [*cand.filter_clauses(rule.filters, anchor=utcnow()), scope.conversation_filter(session, actor)]
    if exclude_agents:
        clauses.append(
            or_(col(Conversation.agent_id).is_(None), col(Conversation.agent_id).not_in(exclude_agents))
        )
    found = cand.read(session, clauses)
    if not len(found):
        raise InvalidInput(
            f"Sampling rule '{row.name}' matches no conversation you can see.", field="sampling_rule_id"
        )
    ids = np.sort(found.ids)  # the draw depends on the seed and the matches, not on the read order
    picked = np.random.default_rng(seed).choice(ids, size=min(count, len(ids)), replace=False)
    return [int(i) for i in picked]


def create_session(session: Session, *, actor: User, data: SessionIn) -> CalibrationSession:
    """Create a session, freeze the scorecard's version, notify the participants; audited."""
    require_manager(actor)
    name = _clean_name(data.name)
    version = _scorecard_version(session, data.scorecard_id)
    benchmark_id = _one_id(data.benchmark_id, "benchmark_id")
    users = _participants(session, scope.as_ids(data.participant_ids, "participant_ids"), benchmark_id)
    rule_id = _one_id(data.sampling_rule_id, "sampling_rule_id")
    if rule_id is not None and not data.conversation_ids:
        agents = [u.agent_id for u in users if u.agent_id is not None]
        conversation_ids = draw_conversations(
            session,
            actor=actor,
            rule_id=rule_id,
            size=data.sample_size,
            seed=data.seed,
            exclude_agents=agents,
        )
    else:
        conversation_ids = scope.as_ids(data.conversation_ids, "conversation_ids")
    conversations = _conversations(session, actor, conversation_ids)
    _check_pairs(session, users, conversations)
    notes = review_service._clean_text(data.notes or "", "notes") if data.notes else ""  # noqa: SLF001
    cal = CalibrationSession(
        name=name,
        scorecard_id=version.scorecard_id,
        version_id=version.id,  # type: ignore[arg-type]
        benchmark_id=benchmark_id,
        sampling_rule_id=rule_id,
        notes=notes,
        due_at=data.due_at,
        created_by_id=actor.id,
    )
    session.add(cal)
    session.flush()
    assert cal.id is not None
    session.add_all(CalibrationParticipant(session_id=cal.id, user_id=u.id or 0) for u in users)
    session.add_all(
        CalibrationConversation(session_id=cal.id, conversation_id=c.id or 0, position=i)
        for i, c in enumerate(conversations)
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="calibration.create",
        entity="calibration_session",
        entity_id=cal.id,
        after=_snapshot(cal, [u.id for u in users], conversation_ids),
    )
    notifications.notify(
        session,
        [u.id for u in users if u.id != actor.id],
        kind="calibration",
        title=f"Calibration session \u201c{name}\u201d",
        link=f"/calibration/{cal.id}",
        dedupe_key=f"calibration:{cal.id}:start",
        body=f"Score {len(conversations)} conversation(s) blind with {version.name}. "
        "Nobody sees the others' answers until the session is revealed.",
    )
    return cal


def _snapshot(
    cal: CalibrationSession, users: Sequence[int | None], conversations: Sequence[int]
) -> dict[str, Any]:
    return {
        "name": cal.name,
        "scorecard_id": cal.scorecard_id,
        "version_id": cal.version_id,
        "benchmark_id": cal.benchmark_id,
        "sampling_rule_id": cal.sampling_rule_id,
        "participant_ids": list(users),
        "conversation_ids": list(conversations),
        "due_at": cal.due_at.isoformat() if cal.due_at else None,
        "status": str(cal.status),
    }


# ---------------------------------------------------------------------------------------------
# Reading sessions
# ---------------------------------------------------------------------------------------------


def _submitted_count(session_id: Any, reviewer_id: Any = None) -> Any:
    query = select(func.count(col(Review.id))).where(
        col(Review.calibration_id) == session_id, col(Review.status) == ReviewStatus.submitted
    )
    if reviewer_id is not None:
        query = query.where(col(Review.reviewer_id) == reviewer_id)
    return query.scalar_subquery()


def list_sessions(session: Session, *, actor: User) -> list[SessionRow]:
    """Sessions the actor may see, newest first, with counts (one statement)."""
    if actor.role is Role.agent:
        raise Forbidden("Calibration sessions are for reviewers and managers.")
    cal = CalibrationSession
    n_conv = (
        select(func.count(col(CalibrationConversation.id)))
        .where(col(CalibrationConversation.session_id) == col(cal.id))
        .scalar_subquery()
    )
    n_part = (
        select(func.count(col(CalibrationParticipant.id)))
        .where(col(CalibrationParticipant.session_id) == col(cal.id))
        .scalar_subquery()
    )
    query = (
        _select_rows(
            cal,
            ScorecardVersion.name,
            ScorecardVersion.version,
            n_conv,
            n_part,
            _submitted_count(col(cal.id)),
            _submitted_count(col(cal.id), actor.id),
            case((_participates(actor), 1), else_=0),
        )
        .join(ScorecardVersion, col(ScorecardVersion.id) == col(cal.version_id))
        .where(session_filter(session, actor))
        .order_by(col(cal.created_at).desc(), col(cal.id).desc())
        .limit(500)
    )
    return [
        SessionRow(
            id=c.id or 0,
            name=c.name,
            status=str(c.status),
            scorecard_name=card,
            version=number,
            conversations=convs,
            participants=parts,
            submitted=total,
            mine_submitted=mine,
            is_participant=bool(mine_part),
            due_at=c.due_at,
            created_at=c.created_at,
        )
        for c, card, number, convs, parts, total, mine, mine_part in session.execute(query)
    ]


def session_view(session: Session, *, actor: User, session_id: Any) -> SessionView:
    """The session with progress per participant and the viewer's own reviews."""
    cal = get_session(session, actor=actor, session_id=session_id)
    participants = _participant_rows(session, cal)
    names = {p.user_id: p.name for p in participants}
    creator = session.get(User, cal.created_by_id) if cal.created_by_id else None
    return SessionView(
        cal=cal,
        scorecard=scorecard_service.get_scorecard(session, cal.scorecard_id),
        version=scorecard_service.get_version(session, cal.version_id),
        participants=participants,
        conversations=_conversation_rows(session, cal, actor),
        is_participant=actor.id in names,
        can_manage=may_manage(session, actor, cal),
        creator_name=creator.name if creator else None,
        benchmark_name=names.get(cal.benchmark_id) if cal.benchmark_id else None,
    )


def _participant_rows(session: Session, cal: CalibrationSession) -> list[Participant]:
    submitted = func.sum(case((col(Review.status) == ReviewStatus.submitted, 1), else_=0))
    drafts = func.sum(case((col(Review.status) == ReviewStatus.draft, 1), else_=0))
    query = (
        select(User.id, User.name, submitted, drafts)
        .join(CalibrationParticipant, col(CalibrationParticipant.user_id) == col(User.id))
        .outerjoin(Review, (col(Review.calibration_id) == cal.id) & (col(Review.reviewer_id) == col(User.id)))
        .where(CalibrationParticipant.session_id == cal.id)
        .group_by(col(User.id), col(User.name))
        .order_by(col(User.name), col(User.id))
    )
    return [
        Participant(
            user_id=uid or 0,
            name=name,
            submitted=int(s or 0),
            drafts=int(d or 0),
            is_benchmark=uid == cal.benchmark_id,
        )
        for uid, name, s, d in session.exec(query)
    ]


def _conversation_rows(session: Session, cal: CalibrationSession, actor: User) -> list[SessionConversation]:
    mine = (
        select(Review.conversation_id, Review.id, Review.status, Review.score)
        .where(Review.calibration_id == cal.id, Review.reviewer_id == actor.id)
        .subquery()
    )
    submitted = (
        select(func.count(col(Review.id)))
        .where(
            col(Review.calibration_id) == cal.id,
            col(Review.conversation_id) == col(CalibrationConversation.conversation_id),
            col(Review.status) == ReviewStatus.submitted,
        )
        .scalar_subquery()
    )
    query = (
        _select_rows(
            Conversation.id,
            Conversation.subject,
            Conversation.external_id,
            Agent.name,
            submitted,
            mine.c.id,
            mine.c.status,
            mine.c.score,
        )
        .join(CalibrationConversation, col(CalibrationConversation.conversation_id) == col(Conversation.id))
        .outerjoin(Agent, col(Agent.id) == col(Conversation.agent_id))
        .outerjoin(mine, mine.c.conversation_id == col(Conversation.id))
        .where(CalibrationConversation.session_id == cal.id)
        .order_by(col(CalibrationConversation.position), col(Conversation.id))
    )
    rows = list(session.execute(query))
    openings = review_service.snippets(session, [r[0] for r in rows if not (r[1] or "").strip()])
    return [
        SessionConversation(
            conversation_id=cid,
            subject=(subj or "").strip() or openings.get(cid, f"Conversation {ext}"),
            agent_name=agent,
            submitted=int(n or 0),
            my_review_id=rid,
            my_status=str(status) if rid else "none",
            # before the reveal the viewer sees their own score only (it is theirs)
            my_score=score,
        )
        for cid, subj, ext, agent, n, rid, status, score in rows
    ]


def session_conversation_ids(session: Session, cal: CalibrationSession) -> list[int]:
    """The session's conversations in order."""
    return list(
        session.exec(
            select(CalibrationConversation.conversation_id)
            .where(CalibrationConversation.session_id == cal.id)
            .order_by(col(CalibrationConversation.position), col(CalibrationConversation.id))
        )
    )


def banner(session: Session, review: Review) -> CalibrationSession | None:
    """The calibration session of a review (for the review page's banner), if any."""
    return session.get(CalibrationSession, review.calibration_id) if review.calibration_id else None


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def _scoring_target(
    session: Session, actor: User, session_id: Any, conversation_id: Any
) -> tuple[CalibrationSession, Conversation]:
    """The open session and one of its conversations, for a participant who may score it."""
    cal = get_session(session, actor=actor, session_id=session_id)
    if not is_participant(session, cal, actor):
        raise Forbidden("Only the session's participants score its conversations.")
    if cal.status != CalibrationStatus.open:
        raise Conflict(f"Calibration session '{cal.name}' has been revealed: its scoring is closed.")
    ident = _one_id(conversation_id, "conversation_id")
    conversation = session.exec(
        select(Conversation)
        .join(CalibrationConversation, col(CalibrationConversation.conversation_id) == col(Conversation.id))
        .where(CalibrationConversation.session_id == cal.id, Conversation.id == ident)
    ).first()
    if conversation is None:
        raise InvalidInput(
            f"Conversation {conversation_id} is not part of this session.", field="conversation_id"
        )
    if actor.agent_id is not None and conversation.agent_id == actor.agent_id:
        raise Forbidden("A reviewer can't review their own conversation.")
    return cal, conversation


def _own_review(
    session: Session, cal: CalibrationSession, actor: User, conversation_id: int | None
) -> Review | None:
    return session.exec(
        select(Review).where(
            Review.calibration_id == cal.id,
            Review.reviewer_id == actor.id,
            Review.conversation_id == conversation_id,
        )
    ).first()


def open_review(session: Session, *, actor: User, session_id: Any, conversation_id: Any) -> Review:
    """The participant's review of a session conversation, creating the draft on first use."""
    cal = get_session(session, actor=actor, session_id=session_id)
    existing = _own_review(session, cal, actor, scope.as_id(conversation_id))
    if existing is not None:  # reopening one's own review stays possible after the reveal (read-only)
        return existing
    cal, conversation = _scoring_target(session, actor, session_id, conversation_id)
    review = Review(
        conversation_id=conversation.id or 0,
        version_id=cal.version_id,
        reviewer_id=actor.id or 0,
        agent_id=conversation.agent_id,
        kind=ReviewKind.calibration,
        status=ReviewStatus.draft,
        calibration_id=cal.id,
    )
    session.add(review)
    session.flush()
    return review


def submit_review(
    session: Session,
    *,
    actor: User,
    session_id: Any,
    conversation_id: Any,
    ratings: Sequence[review_service.RatingIn],
    comment: str | None = None,
) -> Review:
    """A complete calibration review in one call (the API): once per participant and conversation."""
    cal, conversation = _scoring_target(session, actor, session_id, conversation_id)
    existing = _own_review(session, cal, actor, conversation.id)
    if existing is not None:
        raise Conflict(
            f"You already have a review of conversation {conversation.id} in this session "
            f"(review {existing.id}, {existing.status})."
        )
    return review_service.create_scored_review(
        session,
        actor=actor,
        conversation=conversation,
        version_id=cal.version_id,
        ratings=ratings,
        comment=comment,
        kind=ReviewKind.calibration,
        calibration_id=cal.id,
    )


# ---------------------------------------------------------------------------------------------
# Reveal and consensus
# ---------------------------------------------------------------------------------------------


def reveal(session: Session, *, actor: User, session_id: Any) -> CalibrationSession:
    """Show everyone's answers and close scoring; audited, participants notified."""
    cal = _managed_session(session, actor, session_id)
    if cal.status == CalibrationStatus.revealed:
        raise Conflict(f"Calibration session '{cal.name}' is already revealed.")
    cal.status = CalibrationStatus.revealed
    cal.revealed_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="calibration.reveal",
        entity="calibration_session",
        entity_id=cal.id,
        before={"status": "open"},
        after={"status": "revealed", "revealed_at": cal.revealed_at.isoformat()},
    )
    users = session.exec(
        select(CalibrationParticipant.user_id).where(CalibrationParticipant.session_id == cal.id)
    )
    notifications.notify(
        session,
        [u for u in users if u != actor.id],
        kind="calibration",
        title=f"Calibration \u201c{cal.name}\u201d revealed",
        link=f"/calibration/{cal.id}",
        dedupe_key=f"calibration:{cal.id}:reveal",
        body="Compare your answers with the others' and see how well the team agrees.",
    )
    return cal


def _require_revealed(cal: CalibrationSession) -> None:
    if cal.status != CalibrationStatus.revealed:
        raise Conflict(
            f"Calibration session '{cal.name}' is not revealed yet: answers stay blind until then."
        )


def set_consensus(
    session: Session,
    *,
    actor: User,
    session_id: Any,
    conversation_id: Any,
    criterion_key: str,
    option_label: str | None,
    clear: bool = False,
    comment: str = "",
) -> CalibrationConsensus | None:
    """Record the agreed answer for one criterion (option None = N/A; clear removes it); audited."""
    cal = _managed_session(session, actor, session_id)
    _require_revealed(cal)
    ident = _one_id(conversation_id, "conversation_id")
    if ident not in session_conversation_ids(session, cal):
        raise NotFound(f"Conversation {conversation_id} is not part of this session.")
    defn = scorecard_service.definition_for(session, cal.version_id)
    try:
        criterion = defn.criterion(criterion_key)
    except KeyError:
        raise NotFound(f"This scorecard has no criterion {criterion_key[:64]!r}.") from None
    current = session.exec(
        select(CalibrationConsensus).where(
            CalibrationConsensus.session_id == cal.id,
            CalibrationConsensus.conversation_id == ident,
            CalibrationConsensus.criterion_key == criterion.key,
        )
    ).first()
    before = _consensus_snapshot(current)
    if clear:
        if current is not None:
            session.delete(current)
            session.flush()
            _audit_consensus(session, actor, cal, ident, criterion.key, before, None)
        return None
    option = review_service._option(criterion, option_label)  # noqa: SLF001  (same N/A rules as a review)
    text = review_service._clean_text(comment or "", "comment")  # noqa: SLF001
    if current is None:
        current = CalibrationConsensus(session_id=cal.id, conversation_id=ident, criterion_key=criterion.key)  # type: ignore[arg-type]
        session.add(current)
    current.option_label = option.label if option else None
    current.option_score = option.score if option else None
    current.comment = text
    current.decided_by_id = actor.id
    current.decided_at = utcnow()
    session.flush()
    _audit_consensus(session, actor, cal, ident, criterion.key, before, _consensus_snapshot(current))
    return current


def _consensus_snapshot(row: CalibrationConsensus | None) -> dict[str, Any] | None:
    return None if row is None else {"option": row.option_label, "comment": row.comment}


def _audit_consensus(
    session: Session,
    actor: User,
    cal: CalibrationSession,
    conversation_id: int,
    key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    where = {"conversation_id": conversation_id, "criterion": key}
    audit.record(
        session,
        actor=actor,
        action="calibration.consensus",
        entity="calibration_session",
        entity_id=cal.id,
        before=None if before is None else where | before,
        after=None if after is None else where | after,
    )


def consensus_map(session: Session, cal: CalibrationSession) -> dict[tuple[int, str], CalibrationConsensus]:
    """The session's consensus answers by (conversation, criterion)."""
    rows = session.exec(select(CalibrationConsensus).where(CalibrationConsensus.session_id == cal.id))
    return {(r.conversation_id, r.criterion_key): r for r in rows}


# ---------------------------------------------------------------------------------------------
# The side-by-side
# ---------------------------------------------------------------------------------------------


def comparison(session: Session, *, actor: User, session_id: Any, conversation_id: Any) -> Comparison:
    """Every participant's answers to one conversation, criterion by criterion (after the reveal)."""
    view = session_view(session, actor=actor, session_id=session_id)
    _require_revealed(view.cal)
    order = [c.conversation_id for c in view.conversations]
    ident = _one_id(conversation_id, "conversation_id")
    if ident not in order:
        raise NotFound(f"Conversation {conversation_id} is not part of this session.")
    position = order.index(ident)
    conversation = session.get(Conversation, ident)
    assert conversation is not None
    # Submitted reviews only (late drafts are "not submitted"), read through the scope like every door.
    reviews = {
        r.reviewer_id: r
        for r in session.exec(
            scope.visible_reviews(session, actor).where(
                Review.calibration_id == view.cal.id,
                Review.conversation_id == ident,
                Review.status == ReviewStatus.submitted,
            )
        )
    }
    ratings: dict[tuple[int, str], Any] = {}
    if reviews:
        from qa.models import Rating

        ids = {r.id: uid for uid, r in reviews.items()}
        for rating in session.exec(select(Rating).where(col(Rating.review_id).in_(list(ids)))):
            ratings[(ids[rating.review_id], rating.criterion_key)] = rating
    columns = _columns(view, reviews)
    defn = scorecard_service.definition_for(session, view.cal.version_id)
    rows = _rows(defn, columns, ratings, consensus_map(session, view.cal), ident)
    scores = [c.score for c in columns if c.submitted and c.score is not None]
    return Comparison(
        view=view,
        conversation=conversation,
        position=position,
        reviewers=columns,
        rows=rows,
        spread=_spread(scores),
        previous_id=order[position - 1] if position else None,
        next_id=order[position + 1] if position + 1 < len(order) else None,
    )


def _columns(view: SessionView, reviews: dict[int, Review]) -> list[ReviewerColumn]:
    people = sorted(view.participants, key=lambda p: (not p.is_benchmark, p.name.lower()))
    out = []
    for p in people:
        review = reviews.get(p.user_id)
        out.append(
            ReviewerColumn(
                user_id=p.user_id,
                name=p.name,
                is_benchmark=p.is_benchmark,
                review_id=review.id if review else None,
                submitted=review is not None,
                score=review.score if review else None,
                failed_critical=bool(review and review.failed_critical),
                comment=review.comment if review else "",
            )
        )
    return out


def _rows(
    defn: ScorecardDef,
    columns: list[ReviewerColumn],
    ratings: dict[tuple[int, str], Any],
    consensus: dict[tuple[int, str], CalibrationConsensus],
    conversation_id: int,
) -> list[ComparisonRow]:
    rows = []
    for criterion in defn.criteria:
        cells = []
        for column in columns:
            r = ratings.get((column.user_id, criterion.key))
            cells.append(
                Cell(
                    rated=r is not None,
                    label=r.option_label if r else None,
                    score=r.option_score if r else None,
                    comment=r.comment if r else "",
                )
            )
        answers = {c.label for c in cells if c.rated}
        rows.append(
            ComparisonRow(
                key=criterion.key,
                name=criterion.name,
                section=criterion.section,
                options=[o.label for o in criterion.options],
                allow_na=criterion.allow_na,
                cells=cells,
                disagree=len(answers) > 1,
                consensus=consensus.get((conversation_id, criterion.key)),
            )
        )
    return rows


def _spread(scores: list[float]) -> dict[str, float | None]:
    if not scores:
        return {"n": 0, "mean": None, "min": None, "max": None, "stdev": None}
    values = np.array(scores, dtype=float)
    return {
        "n": len(scores),
        "mean": float(values.mean()),
        "min": float(values.min()),
        "max": float(values.max()),
        "stdev": float(values.std(ddof=1)) if len(scores) > 1 else None,
    }


# ---------------------------------------------------------------------------------------------
# Choices for the create form
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversationChoice:
    """A conversation offered on the create form."""

    id: int
    subject: str
    agent_name: str | None
    created_at: datetime


def conversation_choices(
    session: Session, *, actor: User, search: str = "", limit: int = 40
) -> list[ConversationChoice]:
    """Recent conversations the manager may see, optionally matching a subject or external id."""
    require_manager(actor)
    query = (
        _select_rows(
            Conversation.id,
            Conversation.subject,
            Conversation.external_id,
            Agent.name,
            Conversation.created_at,
        )
        .outerjoin(Agent, col(Agent.id) == col(Conversation.agent_id))
        .where(scope.conversation_filter(session, actor))
    )
    text = search.strip()[:100]
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                col(Conversation.subject).ilike(like, escape="\\"),
                col(Conversation.external_id).ilike(like, escape="\\"),
            )
        )
    query = query.order_by(col(Conversation.created_at).desc(), col(Conversation.id).desc()).limit(limit)
    return [
        ConversationChoice(
            id=i, subject=(s or "").strip() or f"Conversation {ext}", agent_name=a, created_at=at
        )
        for i, s, ext, a, at in session.execute(query)
    ]


def participant_choices(session: Session) -> list[User]:
    """Active reviewers, managers and admins, by name."""
    return list(
        session.exec(
            select(User)
            .where(col(User.is_active).is_(True), col(User.role).in_([r.value for r in PARTICIPANT_ROLES]))
            .order_by(col(User.name))
        )
    )


def scorecard_choices(session: Session) -> list[tuple[int, str]]:
    """Scorecards with a published version, not archived."""
    published = exists().where(
        col(ScorecardVersion.scorecard_id) == col(Scorecard.id), col(ScorecardVersion.published).is_(True)
    )
    query = select(Scorecard.id, Scorecard.name).where(col(Scorecard.archived).is_(False), published)
    return [(i or 0, n) for i, n in session.exec(query.order_by(col(Scorecard.name)))]
