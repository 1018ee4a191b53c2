"""The review loop: the reviewer's queue, scoring a conversation, submitting, acknowledging, reading reviews.

Every read starts from qa.auth.scope; every change to a submitted review is audited in the same
transaction. Lists use keyset pagination with an opaque cursor, so they stay fast on big tables.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Integer, and_, bindparam, case, exists, literal, or_, tuple_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import Select

from qa import cache, org_settings
from qa.audit import service as audit
from qa.auth import scope
from qa.errors import Conflict, Forbidden, InvalidInput, NotFound
from qa.models import (
    Agent,
    Assignment,
    AuthorRole,
    CalibrationSession,
    CalibrationStatus,
    Channel,
    Conversation,
    Criterion,
    Message,
    MessageComment,
    Rating,
    Review,
    ReviewKind,
    ReviewStatus,
    Role,
    Scorecard,
    ScorecardVersion,
    Team,
    User,
    utcnow,
)
from qa.models.base import UTCDateTime
from qa.notifications import service as notifications
from qa.scorecard_admin import scopes as scorecard_scopes
from qa.scorecard_admin import service as scorecard_service
from scorecards import CriterionDef, Option, ScorecardDef, ScoreResult, missing_ratings, score_review

REVIEWER_ROLES = frozenset({Role.reviewer, Role.manager, Role.admin})
MAX_COMMENT_LENGTH = 10_000
MAX_TIME_SPENT = 24 * 3600  # one page visit never counts more than a day
MAX_PAGE_SIZE = 200
SNIPPET_LENGTH = 140
QUEUE_STATUSES = ("", "reviewed", "not_reviewed", "mine")
LIST_OUTCOMES = ("", "passed", "failed", "critical")
ASSIGNMENT_OPEN = "open"
ASSIGNMENT_DONE = "done"


# ---------------------------------------------------------------------------------------------
# Plain data handed to pages and the API
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingIn:
    """One rating of a whole review sent in one call (the API): option None means N/A."""

    criterion: str
    option: str | None
    comment: str | None = None
    root_cause: str | None = None


@dataclass(frozen=True)
class QueueFilters:
    """What the reviewer narrowed the queue to; `status` is one of QUEUE_STATUSES."""

    team_id: int | None = None
    agent_id: int | None = None
    channel: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    status: str = ""
    assigned_only: bool = False


class QueueRow(NamedTuple):
    """One conversation in the queue, with the actor's own review state.

    A named tuple rather than a frozen dataclass: 100 are built per page (a frozen dataclass's
    __init__ cost ~3 µs each) and each is the key of its cached row HTML (hashed and compared in C).
    """

    conversation_id: int
    subject: str
    channel: str
    agent_name: str | None
    team_name: str | None
    created_at: datetime
    message_count: int
    csat: int | None
    my_status: str  # "none", "draft" or "submitted"
    my_review_id: int | None
    my_score: float | None
    my_passed: bool | None
    submitted_reviews: int
    assigned: bool
    due_at: datetime | None


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue and the cursor of the next (None on the last page)."""

    rows: list[QueueRow]
    next_cursor: str | None


@dataclass(frozen=True)
class ReviewFilters:
    """Filters of the reviews list; `outcome` is one of LIST_OUTCOMES."""

    team_id: int | None = None
    agent_id: int | None = None
    reviewer_id: int | None = None
    scorecard_id: int | None = None
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    score_below: float | None = None
    outcome: str = ""


@dataclass(frozen=True)
class ReviewRow:
    """One review in a list."""

    review_id: int
    conversation_id: int
    subject: str
    agent_name: str | None
    reviewer_name: str
    scorecard_name: str
    version: int
    score: float | None
    passed: bool | None
    failed_critical: bool
    status: str
    kind: str
    date: datetime
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class ReviewPage:
    """One page of reviews and the next cursor."""

    rows: list[ReviewRow]
    next_cursor: str | None


@dataclass(frozen=True)
class CriterionNote:
    """A criterion that cost points in a review, for the agent's feedback list."""

    name: str
    score: float
    critical: bool


@dataclass(frozen=True)
class FeedbackRow:
    """One of the agent's own reviews."""

    review_id: int
    submitted_at: datetime | None
    subject: str
    channel: str
    score: float | None
    passed: bool | None
    failed_critical: bool
    reviewer_name: str
    scorecard_name: str
    acknowledged_at: datetime | None
    criteria_total: int
    criteria_full: int
    focus: list[CriterionNote]


@dataclass(frozen=True)
class FeedbackSummary:
    """All-time figures of an agent's submitted manual reviews (IQS = mean of non-empty scores)."""

    reviews: int
    average_score: float | None
    pass_rate: float | None
    unacknowledged: int


@dataclass(frozen=True)
class FeedbackPage:
    """The agent's summary and one page of their reviews."""

    summary: FeedbackSummary
    rows: list[FeedbackRow]
    next_cursor: str | None


@dataclass(frozen=True)
class Section:
    """Criteria of one scorecard section (name None = unsectioned), in scorecard order."""

    name: str | None
    criteria: list[CriterionDef]


@dataclass
class ReviewDetail:
    """Everything the review page shows."""

    review: Review
    conversation: Conversation
    agent: Agent | None
    team: Team | None
    reviewer: User | None
    scorecard: Scorecard
    version: ScorecardVersion
    definition: ScorecardDef
    ratings: dict[str, Rating]
    result: ScoreResult
    messages: list[Message] = field(default_factory=list)
    message_comments: dict[int, list[MessageComment]] = field(default_factory=dict)
    can_edit: bool = False
    can_acknowledge: bool = False
    reviewer_label: str = ""  # the reviewer's name as the viewer may see it (agents: maybe "QA team")

    @property
    def sections(self) -> list[Section]:
        """The criteria grouped by section, sections in order of first appearance."""
        return [Section(name, [c for c in self.definition.criteria if c.section == name])
                for name in self.definition.sections]

    @property
    def subject(self) -> str:
        """The conversation's subject, else the start of the customer's first message."""
        if (self.conversation.subject or "").strip():
            return self.conversation.subject.strip()  # type: ignore[union-attr]
        first = next((m.body for m in self.messages if m.author == AuthorRole.customer), None)
        return _shorten(first) if first else f"Conversation {self.conversation.external_id}"

    @property
    def missing(self) -> list[CriterionDef]:
        """Criteria not answered yet."""
        return [c for c in self.definition.criteria if c.key not in self.ratings]

    @property
    def answered(self) -> int:
        """How many criteria are answered (an option or N/A)."""
        return len(self.definition.criteria) - len(self.missing)


@dataclass(frozen=True)
class Choice:
    """One option of a filter bar's select: the id sent and the name shown."""

    id: int
    name: str


@dataclass(frozen=True)
class FilterChoices:
    """Values offered by the filter bars, limited to what the actor may see."""

    teams: tuple[Choice, ...]
    agents: tuple[Choice, ...]
    reviewers: tuple[Choice, ...]
    scorecards: tuple[Choice, ...]


# ---------------------------------------------------------------------------------------------
# Cursors
# ---------------------------------------------------------------------------------------------


def encode_cursor(*parts: Any) -> str:
    """An opaque, URL-safe cursor for the given key values."""
    raw = json.dumps(list(parts), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        value = None
    if not isinstance(value, list) or len(value) != size:
        raise InvalidInput("This page link is invalid or out of date; start again from the first page.",
                           field="cursor")
    return value


def _time_id_cursor(cursor: str) -> tuple[datetime, int]:
    stamp, ident = _decode_cursor(cursor, 2)
    try:
        at = datetime.fromisoformat(stamp)
        at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        at = None
    if at is None:
        raise InvalidInput("This page link is invalid; start again from the first page.", field="cursor")
    return at, _cursor_id(ident)


def _id_cursor(cursor: str) -> int:
    (ident,) = _decode_cursor(cursor, 1)
    return _cursor_id(ident)


def _cursor_id(ident: Any) -> int:
    if isinstance(ident, bool) or not isinstance(ident, int) or not 0 <= ident < 2**63:
        raise InvalidInput("This page link is invalid; start again from the first page.", field="cursor")
    return ident


def _select_rows(*columns: Any) -> Select[*tuple[Any, ...]]:
    """A row SELECT of any width (sqlmodel's typed `select` stops at four columns)."""
    return Select(*columns)


def _clamp_limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_PAGE_SIZE))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _utc(value: Any) -> Any:
    """A literal bound with the UTC column type, so row-value comparisons compare like with like."""
    return literal(value, UTCDateTime())


# ---------------------------------------------------------------------------------------------
# Permissions shared by the functions below
# ---------------------------------------------------------------------------------------------


def _require_reviewer(actor: User) -> None:
    if actor.role not in REVIEWER_ROLES:
        raise Forbidden("Only reviewers, managers and admins can review conversations.")


def _open_assignment(
    session: Session, reviewer_id: int | None, conversation_id: int | None
) -> Assignment | None:
    query = select(Assignment).where(Assignment.reviewer_id == reviewer_id,
                                     Assignment.conversation_id == conversation_id,
                                     Assignment.status == ASSIGNMENT_OPEN)
    return session.exec(query.order_by(col(Assignment.id))).first()


def _check_may_review(session: Session, reviewer: User, conversation: Conversation, review_any: bool) -> None:
    """A reviewer never reviews their own conversation, and needs an assignment unless review_any."""
    if reviewer.agent_id is not None and reviewer.agent_id == conversation.agent_id:
        raise Forbidden("A reviewer can't review their own conversation.")
    if reviewer.role == Role.reviewer and not review_any and not _open_assignment(
        session, reviewer.id, conversation.id
    ):
        raise Forbidden("This conversation is not assigned to you.")


def _editable_review(session: Session, actor: User, review_id: Any) -> Review:
    """The review if the actor wrote it (404 if they may not see it, 403 if it isn't theirs).

    A re-import may have given the conversation to another agent since the review began: the
    reviewee follows the conversation, and a reviewer who now owns it can no longer change the review.
    """
    review = scope.get_review(session, actor, review_id)
    if review.reviewer_id != actor.id:
        raise Forbidden("Only the reviewer who wrote this review can change it.")
    if review.kind == ReviewKind.auto:
        raise Forbidden("Automatic reviews can't be edited by hand.")
    if review.calibration_id is not None:
        _check_calibration_open(session, review.calibration_id)
    conversation = session.get(Conversation, review.conversation_id)
    if conversation is not None:
        if actor.agent_id is not None and actor.agent_id == conversation.agent_id:
            raise Forbidden("A reviewer can't review their own conversation.")
        review.agent_id = conversation.agent_id
    return review


# ---------------------------------------------------------------------------------------------
# The queue
# ---------------------------------------------------------------------------------------------


def _submitted_manual(conversation_id: Any) -> ColumnElement[bool]:
    return exists().where(col(Review.conversation_id) == conversation_id,
                          col(Review.kind) == ReviewKind.manual,
                          col(Review.status) == ReviewStatus.submitted)


# A reviewer's open assignments and drafts are few among many conversations: the queue starts from
# them (IN) rather than testing every conversation, newest first, for one (EXISTS), which read the
# whole conversation index (130 ms at 1,000,000 conversations) when the reviewer had a few hundred.
def _assigned_to(actor: User) -> ColumnElement[bool]:
    return col(Conversation.id).in_(select(Assignment.conversation_id).where(
        col(Assignment.reviewer_id) == actor.id, col(Assignment.status) == ASSIGNMENT_OPEN))


def _my_drafts(actor: User) -> ColumnElement[bool]:
    return col(Conversation.id).in_(select(Review.conversation_id).where(
        col(Review.reviewer_id) == actor.id, col(Review.kind) == ReviewKind.manual,
        col(Review.status) == ReviewStatus.draft))


def _queue_clauses(actor: User, filters: QueueFilters, review_any: bool) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if actor.agent_id is not None:  # a peer reviewer never sees their own conversations here
        agent = col(Conversation.agent_id)
        clauses.append(or_(agent.is_(None), agent != actor.agent_id))
    if filters.assigned_only or (actor.role == Role.reviewer and not review_any):
        clauses.append(_assigned_to(actor))
    if filters.team_id is not None:
        clauses.append(col(Conversation.team_id) == filters.team_id)
    if filters.agent_id is not None:
        clauses.append(col(Conversation.agent_id) == filters.agent_id)
    if filters.channel:
        clauses.append(col(Conversation.channel) == filters.channel)
    if filters.date_from:
        clauses.append(col(Conversation.created_at) >= _day_start(filters.date_from))
    if filters.date_to:
        clauses.append(col(Conversation.created_at) < _day_start(filters.date_to + timedelta(days=1)))
    if filters.status == "reviewed":
        clauses.append(_submitted_manual(col(Conversation.id)))
    elif filters.status == "not_reviewed":
        clauses.append(~_submitted_manual(col(Conversation.id)))
    elif filters.status == "mine":
        clauses.append(_my_drafts(actor))
    return clauses


def check_queue_filters(filters: QueueFilters) -> None:
    """InvalidInput naming the field when a filter value is not one the queue knows."""
    if filters.status not in QUEUE_STATUSES:
        raise InvalidInput(f"Unknown status filter {filters.status!r}.", field="status")
    if filters.channel and filters.channel not in {c.value for c in Channel}:
        raise InvalidInput(f"Unknown channel {filters.channel!r}.", field="channel")
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise InvalidInput("The 'from' date is after the 'to' date.", field="date_from")


def queue_page(
    session: Session,
    *,
    actor: User,
    filters: QueueFilters,
    cursor: str | None,
    limit: int,
    review_any: bool = True,
) -> QueuePage:
    """One page of the conversations the actor may review, newest first (keyset on created_at, id)."""
    _require_reviewer(actor)
    check_queue_filters(filters)
    limit = _clamp_limit(limit)
    conversation_id = col(Conversation.id)
    query = _queue_select().where(scope.conversation_filter(session, actor),
                                  *_queue_clauses(actor, filters, review_any))
    if cursor:
        at, ident = _time_id_cursor(cursor)
        key = tuple_(col(Conversation.created_at), conversation_id)
        query = query.where(key < tuple_(_utc(at), ident))
    query = query.order_by(col(Conversation.created_at).desc(), conversation_id.desc()).limit(limit + 1)
    found = session.connection().execute(query, {"me": actor.id}).all()
    more = len(found) > limit
    found = found[:limit]
    rows = _queue_rows(session, found)
    next_cursor = encode_cursor(rows[-1].created_at.isoformat(), rows[-1].conversation_id) if more else None
    return QueuePage(rows=rows, next_cursor=next_cursor)


@functools.cache
def _queue_select() -> Select[*tuple[Any, ...]]:
    """The queue's columns, built once: the actor's own review, the number of submitted reviews and
    the actor's open assignment come as subqueries run for the page's rows only (one statement
    instead of four), for the reviewer bound as `me`. Building it cost ~1 ms a page."""
    me = bindparam("me", type_=Integer)
    manual = col(Review.kind) == ReviewKind.manual
    conversation_id = col(Conversation.id)
    mine = aliased(Review, name="mine")
    my_review_id = (select(func.max(Review.id))
                    .where(col(Review.conversation_id) == conversation_id, col(Review.reviewer_id) == me,
                           manual)
                    .scalar_subquery())
    submitted = (select(func.count(col(Review.id)))
                 .where(col(Review.conversation_id) == conversation_id, manual,
                        col(Review.status) == ReviewStatus.submitted)
                 .scalar_subquery())
    open_assignment = (col(Assignment.conversation_id) == conversation_id, col(Assignment.reviewer_id) == me,
                       col(Assignment.status) == ASSIGNMENT_OPEN)
    assigned = select(func.count(col(Assignment.id))).where(*open_assignment).scalar_subquery()
    due_at = select(func.min(col(Assignment.due_at))).where(*open_assignment).scalar_subquery()
    return (
        _select_rows(conversation_id, Conversation.created_at, Conversation.subject, Conversation.channel,
                     Conversation.message_count, Conversation.csat, Agent.name, Team.name,
                     mine.id, mine.status, mine.score, mine.passed, submitted, assigned, due_at)
        .outerjoin(Agent, col(Agent.id) == col(Conversation.agent_id))
        .outerjoin(Team, col(Team.id) == col(Conversation.team_id))
        .outerjoin(mine, col(mine.id) == my_review_id)
    )


def _queue_rows(session: Session, found: Sequence[Any]) -> list[QueueRow]:
    openings = snippets(session, [row[0] for row in found if not (row[2] or "").strip()])
    return [
        QueueRow(
            conversation_id=cid, subject=(subject or "").strip() or openings.get(cid, ""),
            channel=str(channel),
            agent_name=agent_name, team_name=team_name, created_at=created_at, message_count=messages,
            csat=csat, my_status=str(status) if review_id else "none", my_review_id=review_id,
            my_score=score, my_passed=passed, submitted_reviews=submitted, assigned=bool(assigned),
            due_at=due_at,
        )
        for (cid, created_at, subject, channel, messages, csat, agent_name, team_name, review_id, status,
             score, passed, submitted, assigned, due_at) in found
    ]


def snippets(session: Session, ids: list[int]) -> dict[int, str]:
    """The start of each conversation's first customer message (for conversations without a subject)."""
    if not ids:
        return {}
    first = (select(Message.conversation_id, func.min(Message.position).label("pos"))
             .where(col(Message.conversation_id).in_(ids), Message.author == AuthorRole.customer)
             .group_by(col(Message.conversation_id)).subquery())
    query = select(Message.conversation_id, func.substr(Message.body, 1, SNIPPET_LENGTH + 1)).join(
        first, and_(first.c.conversation_id == col(Message.conversation_id),
                    first.c.pos == col(Message.position)))
    return {cid: _shorten(body) for cid, body in session.exec(query)}


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_LENGTH else text[: SNIPPET_LENGTH - 1].rstrip() + "…"


# ---------------------------------------------------------------------------------------------
# Starting, rating, commenting and submitting
# ---------------------------------------------------------------------------------------------


def start_review(
    session: Session,
    *,
    actor: User,
    conversation_id: Any,
    scorecard_id: int | None = None,
    review_any: bool = True,
) -> Review:
    """The actor's manual review of the conversation, creating a draft on the scorecard's current version."""
    _require_reviewer(actor)
    conversation = scope.get_conversation(session, actor, conversation_id)
    _check_may_review(session, actor, conversation, review_any)
    existing = _existing_review(session, actor.id, conversation.id, scorecard_id)
    if existing is not None:
        return existing
    assignment = _open_assignment(session, actor.id, conversation.id)
    if scorecard_id is None:
        scorecard_id = assignment.scorecard_id if assignment else _default_scorecard_id(session, conversation)
    version = _usable_version(session, scorecard_id)
    review = Review(conversation_id=conversation.id, version_id=version.id, reviewer_id=actor.id,  # type: ignore[arg-type]
                    agent_id=conversation.agent_id, kind=ReviewKind.manual, status=ReviewStatus.draft)
    session.add(review)
    session.flush()
    if assignment is not None and assignment.review_id is None and assignment.scorecard_id == scorecard_id:
        assignment.review_id = review.id
    return review


def review_start_info(
    session: Session, *, actor: User, conversation_id: Any, review_any: bool = True
) -> tuple[Conversation, Review | None]:
    """The conversation and the actor's existing manual review of it, after start_review's checks."""
    _require_reviewer(actor)
    conversation = scope.get_conversation(session, actor, conversation_id)
    _check_may_review(session, actor, conversation, review_any)
    return conversation, _existing_review(session, actor.id, conversation.id, None)


def check_editable(session: Session, *, actor: User, review_id: Any) -> Review:
    """The review if the actor may change it (NotFound if they can't see it, Forbidden if not theirs)."""
    return _editable_review(session, actor, review_id)


def _existing_review(session: Session, reviewer_id: int | None, conversation_id: int | None,
                     scorecard_id: int | None) -> Review | None:
    query = select(Review).where(Review.reviewer_id == reviewer_id, Review.conversation_id == conversation_id,
                                 Review.kind == ReviewKind.manual)
    if scorecard_id is not None:
        query = query.join(ScorecardVersion, col(ScorecardVersion.id) == col(Review.version_id)).where(
            ScorecardVersion.scorecard_id == scorecard_id)
    return session.exec(query.order_by(col(Review.id).desc())).first()


def _default_scorecard_id(session: Session, conversation: Conversation | None = None) -> int:
    """The scope-based default (qa.scorecard_admin.scopes): most specific team/channel match, else newest."""
    found = scorecard_scopes.default_scorecard_id(session, conversation)
    if found is None:
        raise NotFound("There is no scorecard yet: a manager must create one before conversations "
                       "can be reviewed.")
    return found


def _usable_version(session: Session, scorecard_id: Any) -> ScorecardVersion:
    card = session.get(Scorecard, _as_int(scorecard_id, "Scorecard"))
    if card is None:
        raise NotFound(f"Scorecard {scorecard_id} not found.")
    if card.archived:
        raise InvalidInput(f"Scorecard '{card.name}' is archived; pick another one.", field="scorecard_id")
    return scorecard_service.current_version(session, card.id)  # type: ignore[arg-type]


def _as_int(value: Any, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise NotFound(f"{what} {value!r} not found.") from None
    if isinstance(value, bool) or not 0 < number < 2**63:
        raise NotFound(f"{what} {value!r} not found.")
    return number


def _criterion(defn: ScorecardDef, key: str) -> CriterionDef:
    try:
        return defn.criterion(key)
    except KeyError:
        raise NotFound(f"This scorecard has no criterion {key!r}.") from None


def _option(criterion: CriterionDef, label: str | None, field: str = "option") -> Option | None:
    """The chosen option; None is N/A, allowed only where the criterion allows it."""
    if label is None:
        if not criterion.allow_na:
            raise InvalidInput(f"'{criterion.name}' can't be rated N/A.", field=field)
        return None
    try:
        return criterion.option(label)
    except KeyError:
        labels = ", ".join(o.label for o in criterion.options)
        raise InvalidInput(f"'{label}' is not an option of '{criterion.name}' (choose {labels}).",
                           field=field) from None


def _root_cause(criterion: CriterionDef, cause: str | None, field: str = "root_cause") -> str | None:
    if cause is None or not cause.strip():
        return None
    if cause not in criterion.root_causes:
        raise InvalidInput(f"'{cause}' is not a root cause of '{criterion.name}'.", field=field)
    return cause


def _clean_text(text: str, field: str) -> str:
    text = text.strip()
    if "\x00" in text:  # PostgreSQL text cannot hold NUL, and no one types one on purpose
        raise InvalidInput("The comment contains a NUL character.", field=field)
    if len(text) > MAX_COMMENT_LENGTH:
        raise InvalidInput(f"The comment is too long (at most {MAX_COMMENT_LENGTH:,} characters).",
                           field=field)
    return text


def _ratings(session: Session, review_id: int | None) -> list[Rating]:
    return list(session.exec(select(Rating).where(Rating.review_id == review_id).order_by(col(Rating.id))))


def _rescore(session: Session, review: Review, defn: ScorecardDef) -> ScoreResult:
    """Recompute and store the review's score from its ratings (PRODUCT.md §3, via scorecards)."""
    result = score_review(defn, {r.criterion_key: r.option_label for r in _ratings(session, review.id)})
    review.score = result.score
    review.failed_critical = result.failed_critical
    review.passed = result.passed
    review.updated_at = utcnow()
    session.flush()
    return result


def _snapshot(session: Session, review: Review) -> dict[str, Any]:
    """The audited state of a review: its ratings, comment and score."""
    ratings = {r.criterion_key: {"option": r.option_label, "comment": r.comment, "root_cause": r.root_cause}
               for r in _ratings(session, review.id)}
    return {"status": str(review.status), "ratings": ratings, "comment": review.comment,
            "score": review.score,
            "failed_critical": review.failed_critical, "passed": review.passed}


def rate(
    session: Session,
    *,
    actor: User,
    review_id: Any,
    criterion_key: str,
    option_label: str | None,
    comment: str | None = None,
    root_cause: str | None = None,
) -> Review:
    """Answer one criterion (None = N/A) and rescore; comment/root_cause None leave them, "" clears them."""
    review = _editable_review(session, actor, review_id)
    defn = scorecard_service.definition_for(session, review.version_id)
    criterion = _criterion(defn, criterion_key)
    option = _option(criterion, option_label)
    cause = _root_cause(criterion, root_cause) if root_cause is not None else None
    text = _clean_text(comment, "comment") if comment is not None else None
    before = _snapshot(session, review) if review.status == ReviewStatus.submitted else None
    rating = session.exec(select(Rating).where(Rating.review_id == review.id,
                                               Rating.criterion_key == criterion.key)).first()
    if rating is None:
        criterion_id = _criterion_id(session, review.version_id, criterion.key)
        rating = Rating(review_id=review.id, criterion_id=criterion_id, criterion_key=criterion.key)  # type: ignore[arg-type]
        session.add(rating)
    rating.option_label = option.label if option else None
    rating.option_score = option.score if option else None
    if text is not None:
        rating.comment = text
    if root_cause is not None:
        rating.root_cause = cause
    session.flush()
    _rescore(session, review, defn)
    if before is not None:
        audit.record(session, actor=actor, action="review.edit", entity="review", entity_id=review.id,
                     before=before, after=_snapshot(session, review))
    return review


def _criterion_id(session: Session, version_id: int, key: str) -> int:
    query = select(Criterion.id).where(Criterion.version_id == version_id, Criterion.key == key)
    found = session.exec(query).first()
    if found is None:
        raise NotFound(f"This scorecard has no criterion {key!r}.")
    return found


def set_comment(session: Session, *, actor: User, review_id: Any, comment: str) -> Review:
    """Save the review's overall comment (audited once the review is submitted)."""
    review = _editable_review(session, actor, review_id)
    text = _clean_text(comment, "comment")
    if text == review.comment:
        return review
    before = _snapshot(session, review) if review.status == ReviewStatus.submitted else None
    review.comment = text
    review.updated_at = utcnow()
    session.flush()
    if before is not None:
        audit.record(session, actor=actor, action="review.edit", entity="review", entity_id=review.id,
                     before=before, after=_snapshot(session, review))
    return review


def add_message_comment(
    session: Session, *, actor: User, review_id: Any, message_id: Any, body: str
) -> MessageComment:
    """Pin a comment to one message of the review's conversation."""
    review = _editable_review(session, actor, review_id)
    message = session.get(Message, _as_int(message_id, "Message"))
    if message is None or message.conversation_id != review.conversation_id:
        raise NotFound(f"Message {message_id} is not part of this conversation.")
    text = _clean_text(body, "body")
    if not text:
        raise InvalidInput("Write a comment first.", field="body")
    pinned = MessageComment(review_id=review.id, message_id=message.id, body=text)  # type: ignore[arg-type]
    session.add(pinned)
    session.flush()
    if review.status == ReviewStatus.submitted:
        audit.record(session, actor=actor, action="review.message_comment.add", entity="review",
                     entity_id=review.id, after={"message_id": message.id, "body": text})
    return pinned


def delete_message_comment(session: Session, *, actor: User, review_id: Any, comment_id: Any) -> int:
    """Remove a pinned comment; returns the id of the message it was pinned to."""
    review = _editable_review(session, actor, review_id)
    pinned = session.get(MessageComment, _as_int(comment_id, "Comment"))
    if pinned is None or pinned.review_id != review.id:
        raise NotFound(f"Comment {comment_id} not found.")
    message_id = pinned.message_id
    if review.status == ReviewStatus.submitted:
        audit.record(session, actor=actor, action="review.message_comment.delete", entity="review",
                     entity_id=review.id, before={"message_id": message_id, "body": pinned.body})
    session.delete(pinned)
    session.flush()
    return message_id


def submit_review(
    session: Session,
    *,
    actor: User,
    review_id: Any,
    comment: str | None = None,
    time_spent_seconds: int | None = None,
) -> Review:
    """Submit a complete review (every criterion answered); submitting again saves an edited review."""
    review = _editable_review(session, actor, review_id)
    defn = scorecard_service.definition_for(session, review.version_id)
    answered = {r.criterion_key: r.option_label for r in _ratings(session, review.id)}
    missing = missing_ratings(defn, answered)
    if missing:
        names = ", ".join(defn.criterion(key).name for key in missing)
        raise InvalidInput(f"Rate every criterion before submitting. Still missing: {names}.",
                           field="ratings")
    first_time = review.status != ReviewStatus.submitted
    before = None if first_time else _snapshot(session, review)
    if comment is not None:
        review.comment = _clean_text(comment, "comment")
    if time_spent_seconds:
        review.time_spent_seconds += max(0, min(int(time_spent_seconds), MAX_TIME_SPENT))
    review.status = ReviewStatus.submitted
    review.submitted_at = review.submitted_at or utcnow()
    _rescore(session, review, defn)
    _complete_assignment(session, review, defn_scorecard_id=_scorecard_id(session, review.version_id))
    audit.record(session, actor=actor, action="review.submit" if first_time else "review.update",
                 entity="review", entity_id=review.id, before=before, after=_snapshot(session, review))
    if first_time:
        _notify_agent(session, review)
    return review


def _notify_agent(session: Session, review: Review) -> None:
    """Tell the reviewed agent's login about a newly submitted manual review (never about edits).

    The notice names neither reviewer nor score: the reviewer's name may be hidden from agents, and
    the review page says the rest.
    """
    if review.kind != ReviewKind.manual or review.agent_id is None:
        return
    users = session.exec(select(User.id).where(User.agent_id == review.agent_id,
                                               col(User.is_active).is_(True)))
    subject = session.exec(select(Conversation.subject)
                           .where(Conversation.id == review.conversation_id)).first() or ""
    title = f"New review of \u201c{_shorten(subject)}\u201d" if subject.strip() else "New review"
    notifications.notify(session, list(users), kind="review", title=title, link=f"/reviews/{review.id}",
                         body="A reviewer scored one of your conversations. Open it to read the feedback.",
                         dedupe_key=f"review:{review.id}")


def _scorecard_id(session: Session, version_id: int) -> int:
    return scorecard_service.get_version(session, version_id).scorecard_id


def _check_calibration_open(session: Session, calibration_id: int) -> None:
    """Scoring in a calibration session closes when the manager reveals it (issue 6)."""
    found = session.get(CalibrationSession, calibration_id)
    if found is not None and found.status != CalibrationStatus.open:
        raise Conflict(f"Calibration session '{found.name}' has been revealed: its scoring is closed.")


def _complete_assignment(session: Session, review: Review, *, defn_scorecard_id: int) -> None:
    if review.kind != ReviewKind.manual:  # calibration and re-score reviews never complete assignments
        return
    query = select(Assignment).where(Assignment.reviewer_id == review.reviewer_id,
                                     Assignment.conversation_id == review.conversation_id,
                                     Assignment.scorecard_id == defn_scorecard_id,
                                     Assignment.status == ASSIGNMENT_OPEN)
    for assignment in session.exec(query):
        assignment.status = ASSIGNMENT_DONE
        assignment.review_id = review.id


def create_review(
    session: Session,
    *,
    actor: User,
    conversation_id: Any,
    scorecard_id: Any,
    ratings: Sequence[RatingIn],
    comment: str | None = None,
    reviewer_id: int | None = None,
    review_any: bool = True,
) -> Review:
    """Create a complete, submitted review in one call (the API); managers may name another reviewer."""
    _require_reviewer(actor)
    reviewer = _reviewer_for(session, actor, reviewer_id)
    conversation = scope.get_conversation(session, actor, conversation_id)
    if reviewer is not actor:  # the named reviewer must be able to open the conversation too
        try:
            scope.get_conversation(session, reviewer, conversation.id)
        except NotFound:
            raise InvalidInput(f"{reviewer.name} can't see conversation {conversation.id} (another team).",
                               field="reviewer_id") from None
    _check_may_review(session, reviewer, conversation, review_any)
    version = _usable_version(session, scorecard_id)
    _checked_ratings(scorecard_service.definition_for(session, version.id), ratings)  # type: ignore[arg-type]
    if _existing_review(session, reviewer.id, conversation.id, version.scorecard_id) is not None:
        raise Conflict(f"{reviewer.name} already has a review of conversation {conversation.id} "
                       "with this scorecard.")
    review = create_scored_review(session, actor=actor, reviewer=reviewer, conversation=conversation,
                                  version_id=version.id, ratings=ratings, comment=comment,  # type: ignore[arg-type]
                                  kind=ReviewKind.manual)
    _complete_assignment(session, review, defn_scorecard_id=version.scorecard_id)
    _notify_agent(session, review)
    return review


def _reviewer_for(session: Session, actor: User, reviewer_id: int | None) -> User:
    if reviewer_id is None or reviewer_id == actor.id:
        return actor
    if actor.role not in (Role.manager, Role.admin):
        raise Forbidden("Only managers and admins can record a review on behalf of another reviewer.")
    reviewer = session.get(User, _as_int(reviewer_id, "User"))
    if reviewer is None or not reviewer.is_active or reviewer.role not in REVIEWER_ROLES:
        raise InvalidInput(f"User {reviewer_id} is not an active reviewer, manager or admin.",
                           field="reviewer_id")
    return reviewer


def _checked_ratings(
    defn: ScorecardDef, ratings: Sequence[RatingIn]
) -> list[tuple[CriterionDef, Option | None, str, str | None]]:
    """Validate API ratings, naming the offending field (ratings[2].option); every criterion is required."""
    chosen = []
    seen: dict[str, int] = {}
    for index, rating in enumerate(ratings):
        where = f"ratings[{index}]"
        try:
            criterion = defn.criterion(rating.criterion)
        except KeyError:
            raise InvalidInput(f"Unknown criterion {rating.criterion!r}.",
                               field=f"{where}.criterion") from None
        if criterion.key in seen:
            raise InvalidInput(f"Criterion {criterion.key!r} is rated twice "
                               f"(also ratings[{seen[criterion.key]}]).",
                               field=f"{where}.criterion")
        seen[criterion.key] = index
        option = _option(criterion, rating.option, field=f"{where}.option")
        cause = _root_cause(criterion, rating.root_cause, field=f"{where}.root_cause")
        chosen.append((criterion, option, _clean_text(rating.comment or "", f"{where}.comment"), cause))
    missing = [c.key for c in defn.criteria if c.key not in seen]
    if missing:
        raise InvalidInput("Every criterion needs a rating (use null for N/A). "
                           f"Missing: {', '.join(missing)}.",
                           field="ratings")
    return chosen


def acknowledge_review(session: Session, *, actor: User, review_id: Any) -> Review:
    """The reviewed agent confirms they have read the review (idempotent)."""
    review = scope.get_review(session, actor, review_id)
    own = (actor.role == Role.agent and actor.agent_id is not None and review.agent_id == actor.agent_id
           and review.kind == ReviewKind.manual and review.status == ReviewStatus.submitted)
    if not own:
        raise Forbidden("Only the reviewed agent can acknowledge a review.")
    if review.acknowledged_at is None:
        review.acknowledged_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="review.acknowledge", entity="review", entity_id=review.id,
                     after={"acknowledged_at": review.acknowledged_at.isoformat()})
    return review


def correct_ratings(
    session: Session, *, actor: User, review: Review, ratings: Sequence[RatingIn], dispute_id: int | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Change some ratings of a submitted review on someone else's authority (an accepted dispute).

    Each rating is checked as `rate` checks it (the review's own scorecard version; None = N/A),
    the review is rescored by the same rules, and the change is audited as "review.update" with the
    state before and after. A changed rating loses its root cause, which explained the old answer
    (reports count root causes); the reviewer's comment stays, as their words. The caller has
    checked that `actor` may do this. Returns the audited (before, after) snapshots.
    """
    if review.status != ReviewStatus.submitted:
        raise Conflict("Only a submitted review can be corrected.")
    defn = scorecard_service.definition_for(session, review.version_id)
    chosen = _checked_changes(defn, ratings)
    before = _snapshot(session, review)
    current = {r.criterion_key: r for r in _ratings(session, review.id)}
    for criterion, option in chosen:
        rating = current.get(criterion.key)
        if rating is None:
            rating = Rating(review_id=review.id, criterion_key=criterion.key,  # type: ignore[arg-type]
                            criterion_id=_criterion_id(session, review.version_id, criterion.key))
            session.add(rating)
        label = option.label if option else None
        if rating.option_label != label or rating.id is None:
            rating.root_cause = None
        rating.option_label = label
        rating.option_score = option.score if option else None
    session.flush()
    _rescore(session, review, defn)
    after = _snapshot(session, review) | {"dispute_id": dispute_id}
    audit.record(session, actor=actor, action="review.update", entity="review", entity_id=review.id,
                 before=before, after=after)
    return before, after


def _checked_changes(
    defn: ScorecardDef, ratings: Sequence[RatingIn]
) -> list[tuple[CriterionDef, Option | None]]:
    """Validate some ratings (not necessarily every criterion), naming the offending field."""
    chosen: list[tuple[CriterionDef, Option | None]] = []
    seen: dict[str, int] = {}
    for index, rating in enumerate(ratings):
        where = f"ratings[{index}]"
        try:
            criterion = defn.criterion(rating.criterion)
        except KeyError:
            raise InvalidInput(f"Unknown criterion {rating.criterion[:64]!r}.",
                               field=f"{where}.criterion") from None
        if criterion.key in seen:
            raise InvalidInput(f"Criterion {criterion.key!r} is rated twice "
                               f"(also ratings[{seen[criterion.key]}]).", field=f"{where}.criterion")
        seen[criterion.key] = index
        chosen.append((criterion, _option(criterion, rating.option, field=f"{where}.option")))
    return chosen


# ---------------------------------------------------------------------------------------------
# Reading reviews
# ---------------------------------------------------------------------------------------------


# The review page reads the review and what it stands on in one statement, instead of one look-up
# each. Aliases, so that the scope's subqueries correlate nothing by accident; made once (an alias
# cost ~0.7 ms to build).
_DETAIL_CONVERSATION = aliased(Conversation, name="conv")
_DETAIL_REVIEWER = aliased(User, name="reviewer_user")


def review_detail(
    session: Session, *, actor: User, review_id: Any, transcript: bool = True, authorised: bool = False
) -> ReviewDetail:
    """The review with its conversation, scorecard version, ratings and (optionally) the transcript.

    `authorised`: the caller has decided by another rule that the actor may read this review (a
    dispute's designated resolver, who may be a reviewer of other people's reviews), so the scope
    filter is skipped; editing and acknowledging still follow the actor's own rights.
    """
    conv, reviewer = _DETAIL_CONVERSATION, _DETAIL_REVIEWER
    start = (select(Review).where(Review.id == scope.as_id(review_id)) if authorised
             else scope.visible_review(session, actor, review_id))
    query = (start
             .add_columns(conv, ScorecardVersion, Scorecard, Agent, Team, reviewer)
             .join(conv, col(conv.id) == col(Review.conversation_id))
             .join(ScorecardVersion, col(ScorecardVersion.id) == col(Review.version_id))
             .join(Scorecard, col(Scorecard.id) == col(ScorecardVersion.scorecard_id))
             .outerjoin(Agent, col(Agent.id) == col(conv.agent_id))
             .outerjoin(Team, col(Team.id) == col(conv.team_id))
             .outerjoin(reviewer, col(reviewer.id) == col(Review.reviewer_id)))
    found = session.execute(query).first()
    if found is None:
        raise NotFound(f"Review {review_id} not found.")
    review, conversation, version, scorecard, agent, team, reviewed_by = found
    defn = scorecard_service.definition_for(session, review.version_id)
    ratings = {r.criterion_key: r for r in _ratings(session, review.id)}
    detail = ReviewDetail(
        review=review, conversation=conversation, agent=agent, team=team, reviewer=reviewed_by,
        scorecard=scorecard, version=version, definition=defn,
        ratings=ratings, result=score_review(defn, {k: r.option_label for k, r in ratings.items()}),
        can_edit=review.reviewer_id == actor.id and review.kind != ReviewKind.auto,
        can_acknowledge=(actor.role == Role.agent and review.agent_id == actor.agent_id
                         and review.kind == ReviewKind.manual and review.status == ReviewStatus.submitted),
        reviewer_label=(org_settings.reviewer_label(session, actor, reviewed_by.name) if reviewed_by
                        else "a former user"),
    )
    if transcript:
        detail.messages = list(session.exec(select(Message).where(Message.conversation_id == conversation.id)
                                            .order_by(col(Message.position))))
        detail.message_comments = _message_comments(session, review.id)
    return detail


def _message_comments(session: Session, review_id: int | None) -> dict[int, list[MessageComment]]:
    grouped: dict[int, list[MessageComment]] = defaultdict(list)
    query = (select(MessageComment).where(MessageComment.review_id == review_id)
             .order_by(col(MessageComment.id)))
    for pinned in session.exec(query):
        grouped[pinned.message_id].append(pinned)
    return dict(grouped)


def message_view(
    session: Session, *, actor: User, review_id: Any, message_id: int
) -> tuple[Message, list[MessageComment]]:
    """One message of a review's conversation with the review's comments pinned to it."""
    review = scope.get_review(session, actor, review_id)
    message = session.get(Message, message_id)
    if message is None or message.conversation_id != review.conversation_id:
        raise NotFound(f"Message {message_id} not found.")
    query = select(MessageComment).where(MessageComment.review_id == review.id,
                                         MessageComment.message_id == message_id)
    query = query.order_by(col(MessageComment.id))
    return message, list(session.exec(query))


def check_review_filters(filters: ReviewFilters) -> None:
    """InvalidInput naming the field when a list filter is not valid."""
    if filters.status not in ("", ReviewStatus.draft.value, ReviewStatus.submitted.value):
        raise InvalidInput(f"Unknown status {filters.status!r}.", field="status")
    if filters.outcome not in LIST_OUTCOMES:
        raise InvalidInput(f"Unknown outcome {filters.outcome!r}.", field="outcome")
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise InvalidInput("The 'from' date is after the 'to' date.", field="date_from")


def _review_clauses(filters: ReviewFilters) -> list[ColumnElement[bool]]:
    day = func.coalesce(col(Review.submitted_at), col(Review.created_at))
    clauses: list[ColumnElement[bool]] = [col(Review.kind) == ReviewKind.manual]
    simple = ((filters.team_id, Conversation.team_id), (filters.agent_id, Review.agent_id),
              (filters.reviewer_id, Review.reviewer_id),
              (filters.scorecard_id, ScorecardVersion.scorecard_id))
    clauses += [col(column) == value for value, column in simple if value is not None]
    if filters.status:
        clauses.append(col(Review.status) == filters.status)
    if filters.date_from:
        clauses.append(day >= _utc(_day_start(filters.date_from)))
    if filters.date_to:
        clauses.append(day < _utc(_day_start(filters.date_to + timedelta(days=1))))
    if filters.score_below is not None:
        clauses.append(col(Review.score) < filters.score_below)
    if filters.outcome == "passed":
        clauses.append(col(Review.passed).is_(True))
    elif filters.outcome == "failed":
        clauses.append(col(Review.passed).is_(False))
    elif filters.outcome == "critical":
        clauses.append(col(Review.failed_critical).is_(True))
    return clauses


def list_reviews(
    session: Session, *, actor: User, filters: ReviewFilters, cursor: str | None, limit: int
) -> ReviewPage:
    """Manual reviews the actor may see (managers: their teams'; reviewers: their own), newest first."""
    _require_reviewer(actor)
    check_review_filters(filters)
    limit = _clamp_limit(limit)
    query = (
        _select_rows(Review.id, Review.conversation_id, Conversation.subject, Agent.name, User.name,
                     ScorecardVersion.name, ScorecardVersion.version, Review.score, Review.passed,
                     Review.failed_critical, Review.status, Review.kind, Review.submitted_at,
                     Review.updated_at, Review.acknowledged_at)
        .join(Conversation, col(Conversation.id) == col(Review.conversation_id))
        .join(User, col(User.id) == col(Review.reviewer_id))
        .join(ScorecardVersion, col(ScorecardVersion.id) == col(Review.version_id))
        .outerjoin(Agent, col(Agent.id) == col(Review.agent_id))
        .where(scope.review_filter(session, actor), *_review_clauses(filters))
    )
    if cursor:
        query = query.where(col(Review.id) < _id_cursor(cursor))
    found = list(session.exec(query.order_by(col(Review.id).desc()).limit(limit + 1)))
    more = len(found) > limit
    openings = snippets(session, [r[1] for r in found[:limit] if not (r[2] or "").strip()])
    rows = [ReviewRow(review_id=r[0], conversation_id=r[1],
                      subject=(r[2] or "").strip() or openings.get(r[1], f"Conversation {r[1]}"),
                      agent_name=r[3], reviewer_name=r[4], scorecard_name=r[5], version=r[6], score=r[7],
                      passed=r[8], failed_critical=r[9], status=str(r[10]), kind=str(r[11]),
                      date=r[12] or r[13], acknowledged_at=r[14]) for r in found[:limit]]
    return ReviewPage(rows=rows, next_cursor=encode_cursor(rows[-1].review_id) if more else None)


def my_feedback(session: Session, *, actor: User, cursor: str | None = None, limit: int = 50) -> FeedbackPage:
    """The agent's own submitted manual reviews, newest first, with all-time summary figures."""
    if actor.role != Role.agent or actor.agent_id is None:
        raise Forbidden("'My feedback' is for agents: it lists the reviews of your own conversations.")
    limit = _clamp_limit(limit)
    mine = scope.review_filter(session, actor)  # own, submitted, manual: never drafts or calibration
    query = (
        _select_rows(Review.id, Review.submitted_at, Conversation.subject, Conversation.id,
                     Conversation.channel, Review.score, Review.passed, Review.failed_critical, User.name,
                     ScorecardVersion.name, Review.acknowledged_at)
        .join(Conversation, col(Conversation.id) == col(Review.conversation_id))
        .join(User, col(User.id) == col(Review.reviewer_id))
        .join(ScorecardVersion, col(ScorecardVersion.id) == col(Review.version_id))
        .where(mine)
    )
    if cursor:
        at, ident = _time_id_cursor(cursor)
        query = query.where(tuple_(col(Review.submitted_at), col(Review.id)) < tuple_(_utc(at), ident))
    query = query.order_by(col(Review.submitted_at).desc(), col(Review.id).desc()).limit(limit + 1)
    found = list(session.exec(query))
    more = len(found) > limit
    found = found[:limit]
    notes = _criteria_notes(session, [r[0] for r in found])
    openings = snippets(session, [r[3] for r in found if not (r[2] or "").strip()])
    # The page names few reviewers: ask the privacy setting once per name, not once per row.
    labels = {name: org_settings.reviewer_label(session, actor, name) for name in {r[8] for r in found}}
    rows = [FeedbackRow(review_id=r[0], submitted_at=r[1],
                        subject=(r[2] or "").strip() or openings.get(r[3], f"Conversation {r[3]}"),
                        channel=str(r[4]), score=r[5], passed=r[6], failed_critical=r[7],
                        reviewer_name=labels[r[8]],
                        scorecard_name=r[9], acknowledged_at=r[10], **notes.get(r[0], _NO_NOTES))
            for r in found]
    last = rows[-1] if rows else None
    next_cursor = (encode_cursor(last.submitted_at.isoformat(), last.review_id)
                   if more and last and last.submitted_at else None)
    return FeedbackPage(summary=_feedback_summary(session, mine), rows=rows, next_cursor=next_cursor)


_NO_NOTES: dict[str, Any] = {"criteria_total": 0, "criteria_full": 0, "focus": []}


def _criteria_notes(session: Session, review_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per review: criteria answered with an option, those at full marks, and the weakest three."""
    if not review_ids:
        return {}
    query = (_select_rows(Rating.review_id, Rating.option_score, Criterion.name, Criterion.critical,
                    Criterion.fail_below)
             .join(Criterion, col(Criterion.id) == col(Rating.criterion_id))
             .where(col(Rating.review_id).in_(review_ids), col(Rating.option_score).is_not(None))
             .order_by(col(Rating.review_id), col(Rating.option_score), col(Criterion.position)))
    notes: dict[int, dict[str, Any]] = {}
    for review_id, score, name, critical, fail_below in session.exec(query):
        entry = notes.setdefault(review_id, {"criteria_total": 0, "criteria_full": 0, "focus": []})
        entry["criteria_total"] += 1
        if score >= 1:
            entry["criteria_full"] += 1
        elif len(entry["focus"]) < 3:
            entry["focus"].append(CriterionNote(name=name, score=score * 100,
                                                critical=bool(critical and score < fail_below)))
    return notes


def _feedback_summary(session: Session, mine: ColumnElement[bool]) -> FeedbackSummary:
    """Count, IQS (mean of non-empty scores: SQL AVG skips NULL) and pass rate, in one SQL query."""
    passed = func.sum(case((col(Review.passed).is_(True), 1), else_=0))
    judged = func.count(col(Review.passed))
    unacknowledged = func.sum(case((col(Review.acknowledged_at).is_(None), 1), else_=0))
    count, average, passed_n, judged_n, open_n = session.exec(
        _select_rows(func.count(col(Review.id)), func.avg(col(Review.score)), passed, judged, unacknowledged)
        .where(mine)
    ).one()
    return FeedbackSummary(
        reviews=int(count or 0),
        average_score=float(average) if average is not None else None,
        pass_rate=(100.0 * int(passed_n or 0) / int(judged_n)) if judged_n else None,
        unacknowledged=int(open_n or 0),
    )


def filter_choices(session: Session, *, actor: User) -> FilterChoices:
    """Teams, agents, reviewers and scorecards for the filter bars, limited to the actor's teams.

    Kept per user by `qa.cache` (dropped on any change to those tables): reading them cost more
    than the page's own rows. The actor's teams are read each time, so a changed link shows at once.
    """
    allowed = tuple(scope.team_ids(session, actor)) if actor.role != Role.admin else ()
    return cache.cached(session, ("filter_choices", allowed),
                        lambda: _filter_choices(session, allowed))


def _filter_choices(session: Session, allowed: tuple[int, ...]) -> FilterChoices:
    teams_query = _select_rows(Team.id, Team.name).order_by(col(Team.name))
    agents_query = _select_rows(Agent.id, Agent.name).order_by(col(Agent.name)).limit(2000)
    if allowed:
        teams_query = teams_query.where(col(Team.id).in_(allowed))
        agents_query = agents_query.where(col(Agent.team_id).in_(allowed))
    reviewers_query = (_select_rows(User.id, User.name)
                       .where(col(User.role).in_([r.value for r in REVIEWER_ROLES]),
                              col(User.is_active).is_(True))
                       .order_by(col(User.name)))
    cards_query = (_select_rows(Scorecard.id, Scorecard.name).where(col(Scorecard.archived).is_(False))
                   .order_by(col(Scorecard.name)))

    def choices(query: Select[*tuple[Any, ...]]) -> tuple[Choice, ...]:
        return tuple(Choice(id=ident, name=name) for ident, name in session.execute(query))

    return FilterChoices(teams=choices(teams_query), agents=choices(agents_query),
                         reviewers=choices(reviewers_query), scorecards=choices(cards_query))


def create_scored_review(
    session: Session,
    *,
    actor: User,
    conversation: Conversation,
    version_id: int,
    ratings: Sequence[RatingIn],
    comment: str | None,
    kind: ReviewKind,
    calibration_id: int | None = None,
    regrade_of_id: int | None = None,
    reviewer: User | None = None,
) -> Review:
    """A complete, submitted review by `reviewer` (default: `actor`) on a given version.

    The caller has checked that the reviewer may review this conversation in this context; this checks
    the ratings (every criterion, naming the bad field), scores and audits (as `actor`). Agents are not
    notified here: `create_review` does it for manual reviews, the only ones agents see.
    """
    defn = scorecard_service.definition_for(session, version_id)
    chosen = _checked_ratings(defn, ratings)
    author = reviewer or actor
    review = Review(conversation_id=conversation.id, version_id=version_id, reviewer_id=author.id,  # type: ignore[arg-type]
                    agent_id=conversation.agent_id, kind=kind, status=ReviewStatus.submitted,
                    comment=_clean_text(comment or "", "comment"), submitted_at=utcnow(),
                    calibration_id=calibration_id, regrade_of_id=regrade_of_id)
    session.add(review)
    session.flush()
    ids = {c.key: c.id for c in scorecard_service.criteria_for(session, version_id)}
    for criterion, option, text, cause in chosen:
        session.add(Rating(review_id=review.id, criterion_id=ids[criterion.key], criterion_key=criterion.key,  # type: ignore[arg-type]
                           option_label=option.label if option else None,
                           option_score=option.score if option else None, comment=text, root_cause=cause))
    session.flush()
    _rescore(session, review, defn)
    audit.record(session, actor=actor, action="review.create", entity="review", entity_id=review.id,
                 after=_snapshot(session, review))
    return review
