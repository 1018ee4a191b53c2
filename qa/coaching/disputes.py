"""Disputes: an agent objects to a submitted review (the whole review or one criterion) with a reason;
a resolver accepts it, correcting the ratings (the review itself is rescored), or rejects it with a
comment. The agent is told the outcome in the app.

Decisions:

- **Who may dispute**: the reviewed agent, on their own submitted manual reviews (the scope's rule for
  agents, so any other review is "not found"). One open dispute per review and criterion (or per
  review for a whole-review dispute); a second is a Conflict. Once resolved, the agent may dispute
  again (new facts after a rejection); each dispute keeps its own outcome.
- **Who resolves** (contracts.md): the users linked to the conversation's team with
  `UserTeam.resolves_disputes`, if the team has any; otherwise the managers whose scope covers the
  team (managers linked to no team cover every team, and conversations without a team); admins
  always. Never the review's own reviewer: a designated resolver who wrote the review does not
  count, so when they are the team's only one, the managers resolve it. Agents never resolve.
  `resolvable_filter` is that rule as SQL (queue, counts, checks); `resolver_ids` is the same rule
  from the other side (whom to notify), and the tests hold the two together.
- **Who may read a dispute**: its resolvers and whoever may read the review (its reviewer, the
  team's managers, admins; the agent on their review page). Resolving needs the resolver rule:
  someone who may read but not resolve gets 403, anyone else 404.
- **Accepting** changes ratings through qa.reviews.service.correct_ratings: the same validation and
  scoring rules as a reviewer's edit, audited as "review.update" (with the dispute's id), so the
  review row carries the corrected score and every report (IQS, dashboards) uses it. An acceptance
  that changes no rating is refused: accepting means the score was wrong. `Dispute.before/after`
  keep the ratings and score on both sides, so the outcome reads the same after later edits.
- **Audit**: "dispute.open", "dispute.accept" and "dispute.reject" with before/after, plus the
  review's own "review.update". **Notifications**: "dispute" to the resolvers when it is opened
  (admins only when nobody else resolves it, so they are not told of every dispute), and
  "dispute_outcome" to the agent. Neither names the reviewer or resolver: names may be hidden from
  agents (qa.org_settings.reviewer_label), which is also how agents see names on their pages.
- **Statistics** (`dispute_stats`) count disputes by the day their review was submitted (UTC), the
  period rule of qa.reporting.stats, so "disputes per 100 reviews" divides like by like. Per
  reviewer: raised against their reviews, accepted ("lost"), rejected, open, rate; per criterion:
  raised and accepted. Grouped SQL queries, limited to what the actor may aggregate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, false, func, true
from sqlalchemy import select as select_rows
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from qa import org_settings
from qa.audit import service as audit
from qa.auth import scope
from qa.errors import Conflict, Forbidden, InvalidInput, NotFound
from qa.models import (
    Agent,
    Conversation,
    Criterion,
    Dispute,
    DisputeStatus,
    Rating,
    Review,
    Role,
    User,
    UserTeam,
    utcnow,
)
from qa.notifications import service as notifications
from qa.reporting import stats
from qa.reviews import service as review_service
from qa.reviews.service import RatingIn
from qa.scorecard_admin import service as scorecard_service
from scorecards import ScoreResult, ScoringError, format_score, score_review

MAX_REASON = 2000
MAX_COMMENT = 4000
MAX_LIST = 200
RECENTLY_RESOLVED = 20
STATUSES = tuple(s.value for s in DisputeStatus)
WHOLE = ""  # the key of a whole-review dispute in forms and lookups (criterion keys are never empty)


# ---------------------------------------------------------------------------------------------
# Plain data for pages and the API
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisputeRow:
    """One dispute with what a list shows of its review; names as the viewer may see them."""

    id: int
    review_id: int
    conversation_id: int
    subject: str
    agent_id: int
    agent_name: str | None
    reviewer_id: int
    reviewer_name: str
    criterion_key: str | None
    criterion_name: str | None
    reason: str
    status: str
    created_at: datetime
    resolved_at: datetime | None
    resolver_name: str | None
    resolution_comment: str
    score_before: float | None
    score_after: float | None
    review_score: float | None

    @property
    def target(self) -> str:
        """What is disputed, in words."""
        if self.criterion_key is None:
            return "Whole review"
        return self.criterion_name or self.criterion_key

    @property
    def is_open(self) -> bool:
        return self.status == DisputeStatus.open


@dataclass(frozen=True)
class RatingChange:
    """A rating an accepted dispute changed (labels None = N/A)."""

    criterion_key: str
    criterion_name: str
    before: str | None
    after: str | None


@dataclass
class DisputeDetail:
    """The dispute page: the dispute, its review (ratings and transcript) and what the viewer may do."""

    row: DisputeRow
    review: review_service.ReviewDetail
    can_resolve: bool
    changes: list[RatingChange] = field(default_factory=list)
    review_visible: bool = False  # whether the viewer may open the review page itself


@dataclass(frozen=True)
class DisputeQueue:
    """A resolver's queue: open disputes they may resolve (oldest first) and recently resolved ones."""

    open: list[DisputeRow]
    resolved: list[DisputeRow]


@dataclass(frozen=True)
class ReviewDisputes:
    """The disputes of one review as its page shows them, and whether the viewer may open one."""

    rows: list[DisputeRow]
    can_dispute: bool

    @property
    def open_keys(self) -> set[str]:
        """Targets with an open dispute (WHOLE for the whole review)."""
        return {row.criterion_key or WHOLE for row in self.rows if row.is_open}

    def for_key(self, key: str | None) -> list[DisputeRow]:
        """The disputes of one criterion (None or WHOLE: of the whole review), newest first."""
        return [row for row in self.rows if (row.criterion_key or WHOLE) == (key or WHOLE)]


@dataclass(frozen=True)
class FeedbackDisputes:
    """A review's dispute state for the agent's feedback list."""

    open: int
    accepted: int
    rejected: int
    score_before: float | None  # of the latest accepted dispute
    score_after: float | None


@dataclass(frozen=True)
class ReviewerDisputes:
    """Disputes raised against one reviewer's reviews in a period."""

    reviewer_id: int
    name: str
    reviews: int
    raised: int
    accepted: int
    rejected: int
    open: int

    @property
    def rate(self) -> float | None:
        """Disputes per 100 reviews."""
        return 100.0 * self.raised / self.reviews if self.reviews else None


@dataclass(frozen=True)
class CriterionDisputes:
    """Disputes of one criterion (matched by key across scorecard versions)."""

    key: str
    name: str
    raised: int
    accepted: int


@dataclass(frozen=True)
class DisputeStats:
    """Dispute statistics of a period (start/end None = open-ended)."""

    start: date | None
    end: date | None
    reviewers: list[ReviewerDisputes]
    criteria: list[CriterionDisputes]

    @property
    def raised(self) -> int:
        return sum(r.raised for r in self.reviewers)

    @property
    def accepted(self) -> int:
        return sum(r.accepted for r in self.reviewers)


# ---------------------------------------------------------------------------------------------
# Who resolves, who reads
# ---------------------------------------------------------------------------------------------

_RESOLVER_LINK = aliased(UserTeam, name="resolver_link")
_RESOLVER_USER = aliased(User, name="resolver_user")


def _designated_exists(team_id: Any, reviewer_id: Any) -> ColumnElement[bool]:
    """True when the team has a designated resolver other than the review's reviewer."""
    link, user = _RESOLVER_LINK, _RESOLVER_USER
    return exists().where(
        col(link.team_id) == team_id,
        col(link.resolves_disputes).is_(True),
        col(user.id) == col(link.user_id),
        col(user.is_active).is_(True),
        col(user.role) != Role.agent,
        col(user.id) != reviewer_id,
    )


def resolvable_filter(session: Session, actor: User) -> ColumnElement[bool]:
    """A WHERE clause for the disputes `actor` may resolve (the query joins Review and Conversation)."""
    not_own = col(Review.reviewer_id) != actor.id
    if actor.role is Role.admin and actor.is_active:
        return not_own
    if actor.role is Role.agent or not actor.is_active:
        return false()
    designated = select(UserTeam.team_id).where(
        UserTeam.user_id == actor.id, col(UserTeam.resolves_disputes).is_(True)
    )
    clause: ColumnElement[bool] = col(Conversation.team_id).in_(designated)
    if actor.role is Role.manager:
        teams = scope.team_ids(session, actor)
        covers = col(Conversation.team_id).in_(teams) if teams else true()
        clause = clause | (covers & ~_designated_exists(col(Conversation.team_id), col(Review.reviewer_id)))
    return clause & not_own


def resolver_ids(session: Session, *, team_id: int | None, reviewer_id: int) -> list[int]:
    """Who resolves a dispute of a review by `reviewer_id` on a conversation of `team_id` (admins only
    when nobody else does: they may resolve every dispute, but are told only when they must)."""
    active = [col(User.is_active).is_(True), col(User.id) != reviewer_id]
    ids: list[int] = []
    if team_id is not None:
        designated = select(UserTeam.user_id).where(
            UserTeam.team_id == team_id, col(UserTeam.resolves_disputes).is_(True)
        )
        ids = _user_ids(session, col(User.id).in_(designated), col(User.role) != Role.agent, *active)
    if not ids:
        covers: ColumnElement[bool] = ~col(User.id).in_(select(UserTeam.user_id))
        if team_id is not None:
            covers = covers | col(User.id).in_(select(UserTeam.user_id).where(UserTeam.team_id == team_id))
        ids = _user_ids(session, col(User.role) == Role.manager, covers, *active)
    return ids or _user_ids(session, col(User.role) == Role.admin, *active)


def _user_ids(session: Session, *where: ColumnElement[bool]) -> list[int]:
    return sorted(session.execute(select_rows(col(User.id)).where(*where)).scalars())


def _readable_filter(session: Session, actor: User) -> ColumnElement[bool]:
    return resolvable_filter(session, actor) | scope.review_filter(session, actor)


def _joined(*columns: Any) -> Any:
    return (
        select_rows(*columns)
        .select_from(Dispute)
        .join(Review, col(Review.id) == col(Dispute.review_id))
        .join(Conversation, col(Conversation.id) == col(Review.conversation_id))
    )


def may_resolve(session: Session, *, actor: User, dispute_id: Any) -> bool:
    """Whether `actor` may resolve this dispute (whatever its status)."""
    query = _joined(col(Dispute.id)).where(
        col(Dispute.id) == scope.as_id(dispute_id), resolvable_filter(session, actor)
    )
    return session.execute(query).first() is not None


def _check_resolver(session: Session, actor: User, dispute_id: Any) -> int:
    """The dispute's id if `actor` may resolve it: 404 if they may not even read it, else 403."""
    ident = scope.as_id(dispute_id)
    flags = _joined(resolvable_filter(session, actor), _readable_filter(session, actor))
    found = session.execute(flags.where(col(Dispute.id) == ident)).first()
    if found is None or not found[1]:
        raise NotFound(f"Dispute {dispute_id} not found.")
    if not found[0]:
        raise Forbidden(
            "Only the dispute's resolvers (the team's designated resolvers or managers, "
            "and admins) can resolve it; never the review's own reviewer."
        )
    return ident


def open_count(session: Session, *, actor: User) -> int:
    """How many open disputes `actor` may resolve (for the navigation's badge)."""
    if actor.role is Role.agent:
        return 0
    query = _joined(func.count(col(Dispute.id))).where(
        col(Dispute.status) == DisputeStatus.open, resolvable_filter(session, actor)
    )
    return int(session.execute(query).scalar_one())


# ---------------------------------------------------------------------------------------------
# Opening a dispute
# ---------------------------------------------------------------------------------------------


def _text(value: str | None, *, field: str, limit: int, required: str | None) -> str:
    """Stripped text within `limit`; `required` is the message when it may not be empty."""
    text = (value or "").strip()
    if "\x00" in text:
        raise InvalidInput("The text contains a NUL character.", field=field)
    if len(text) > limit:
        raise InvalidInput(
            f"That is too long: at most {limit:,} characters (you wrote {len(text):,}).", field=field
        )
    if required and not text:
        raise InvalidInput(required, field=field)
    return text


def open_dispute(
    session: Session, *, actor: User, review_id: Any, criterion_key: str | None, reason: str
) -> Dispute:
    """The reviewed agent disputes their submitted review, or one criterion of it, with a reason."""
    if actor.role is not Role.agent:
        raise Forbidden("Only the reviewed agent can dispute a review.")
    review = scope.get_review(session, actor, review_id)  # the agent's own submitted manual reviews only
    # Lock the review (PostgreSQL; SQLite writes are serialised) so a double click opens one dispute.
    session.exec(select(Review.id).where(Review.id == review.id).with_for_update())
    key = _criterion_key(session, review, criterion_key)
    text = _text(
        reason,
        field="reason",
        limit=MAX_REASON,
        required="Say why you disagree: the reason is what the resolver reads first.",
    )
    same_target = col(Dispute.criterion_key) == key if key else col(Dispute.criterion_key).is_(None)
    duplicate = select(Dispute.id).where(
        Dispute.review_id == review.id, Dispute.status == DisputeStatus.open, same_target
    )
    if session.exec(duplicate).first() is not None:
        what = "this criterion" if key else "this review"
        raise Conflict(f"You already have an open dispute of {what}; wait for its outcome.")
    dispute = Dispute(
        review_id=review.id,  # type: ignore[arg-type]
        agent_id=actor.agent_id,  # type: ignore[arg-type]
        reviewer_id=review.reviewer_id,
        raised_by_id=actor.id,  # type: ignore[arg-type]
        criterion_key=key,
        reason=text,
    )
    session.add(dispute)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="dispute.open",
        entity="dispute",
        entity_id=dispute.id,
        after={"review_id": review.id, "criterion": key, "reason": text, "score": review.score},
    )
    _notify_resolvers(session, dispute, review)
    return dispute


def _criterion_key(session: Session, review: Review, key: str | None) -> str | None:
    """None for the whole review, else a criterion key of the review's scorecard version."""
    if key is None or key == WHOLE:
        return None
    defn = scorecard_service.definition_for(session, review.version_id)
    if key not in {c.key for c in defn.criteria}:
        raise InvalidInput(f"This review's scorecard has no criterion {key[:64]!r}.", field="criterion")
    return key


def _notify_resolvers(session: Session, dispute: Dispute, review: Review) -> None:
    conversation = session.get(Conversation, review.conversation_id)
    agent = session.get(Agent, dispute.agent_id)
    team_id = conversation.team_id if conversation else None
    what = _criterion_name(session, review.version_id, dispute.criterion_key) or "the whole review"
    who = agent.name if agent else "An agent"
    notifications.notify(
        session,
        resolver_ids(session, team_id=team_id, reviewer_id=review.reviewer_id),
        kind="dispute",
        title=f"{who} disputes {what}",
        link=f"/disputes/{dispute.id}",
        body=dispute.reason[:300],
    )


def _criterion_name(session: Session, version_id: int, key: str | None) -> str | None:
    if key is None:
        return None
    return (
        session.exec(
            select(Criterion.name).where(Criterion.version_id == version_id, Criterion.key == key)
        ).first()
        or key
    )


# ---------------------------------------------------------------------------------------------
# Resolving
# ---------------------------------------------------------------------------------------------


def _locked_open(session: Session, actor: User, dispute_id: Any) -> tuple[Dispute, Review]:
    """The dispute, locked for this transaction, if `actor` may resolve it and it is still open."""
    ident = _check_resolver(session, actor, dispute_id)
    dispute = session.exec(
        select(Dispute).where(Dispute.id == ident).with_for_update().execution_options(populate_existing=True)
    ).one()
    if dispute.status != DisputeStatus.open:
        raise Conflict(f"This dispute was already {dispute.status.value}.")
    review = session.exec(
        select(Review)
        .where(Review.id == dispute.review_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return dispute, review


def _scored(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """What Dispute.before/after keep of a review snapshot: option labels and the score."""
    return {
        "ratings": {key: r["option"] for key, r in snapshot["ratings"].items()},
        "score": snapshot["score"],
        "passed": snapshot["passed"],
        "failed_critical": snapshot["failed_critical"],
    }


def accept_dispute(
    session: Session, *, actor: User, dispute_id: Any, ratings: Sequence[RatingIn], comment: str = ""
) -> Dispute:
    """Accept: correct the review's ratings (rescored by its scorecard's rules) and close the dispute."""
    dispute, review = _locked_open(session, actor, dispute_id)
    text = _text(comment, field="comment", limit=MAX_COMMENT, required=None)
    _validate(session, review, ratings)  # a bad criterion or label is a 422 naming it, changed or not
    current = review_ratings_labels(session, review.id)
    if all(r.criterion in current and current[r.criterion] == r.option for r in ratings):
        raise InvalidInput(
            "No rating was changed. Change the ratings the agent is right about, or reject "
            "the dispute with a comment.",
            field="ratings",
        )
    before, after = review_service.correct_ratings(
        session, actor=actor, review=review, ratings=ratings, dispute_id=dispute.id
    )
    _close(dispute, actor, DisputeStatus.accepted, text)
    dispute.before, dispute.after = _scored(before), _scored(after)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="dispute.accept",
        entity="dispute",
        entity_id=dispute.id,
        before={"status": "open", **dispute.before},
        after={"status": "accepted", "comment": text, **dispute.after},
    )
    score = f"{format_score(dispute.before['score'])} \u2192 {format_score(dispute.after['score'])}"
    _notify_agent(session, dispute, title=f"Your dispute was accepted: score {score}")
    return dispute


def reject_dispute(session: Session, *, actor: User, dispute_id: Any, comment: str) -> Dispute:
    """Reject with a comment that tells the agent why; the review is unchanged."""
    dispute, review = _locked_open(session, actor, dispute_id)
    text = _text(
        comment,
        field="comment",
        limit=MAX_COMMENT,
        required="Tell the agent why the review stands: a rejection needs a comment.",
    )
    _close(dispute, actor, DisputeStatus.rejected, text)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="dispute.reject",
        entity="dispute",
        entity_id=dispute.id,
        before={"status": "open"},
        after={"status": "rejected", "comment": text, "score": review.score},
    )
    _notify_agent(session, dispute, title="Your dispute was rejected")
    return dispute


def _close(dispute: Dispute, actor: User, status: DisputeStatus, comment: str) -> None:
    dispute.status = status
    dispute.resolved_by_id = actor.id
    dispute.resolved_at = utcnow()
    dispute.resolution_comment = comment


def _notify_agent(session: Session, dispute: Dispute, *, title: str) -> None:
    users = session.exec(
        select(User.id).where(User.agent_id == dispute.agent_id, col(User.is_active).is_(True))
    )
    notifications.notify(
        session,
        list(users),
        kind="dispute_outcome",
        title=title,
        link=f"/reviews/{dispute.review_id}#disputes",
        body=dispute.resolution_comment[:300],
    )


def _validate(session: Session, review: Review, ratings: Sequence[RatingIn]) -> ScoreResult:
    """The review's score with `ratings` applied (nothing stored); InvalidInput names a bad rating."""
    defn = scorecard_service.definition_for(session, review.version_id)
    labels = review_ratings_labels(session, review.id)
    for index, rating in enumerate(ratings):
        labels[rating.criterion] = rating.option
        try:
            score_review(defn, {rating.criterion: rating.option})
        except ScoringError as exc:
            part = "criterion" if exc.message == "unknown criterion" else "option"
            raise InvalidInput(
                f"{rating.criterion[:64]}: {exc.message}", field=f"ratings[{index}].{part}"
            ) from None
    return score_review(defn, labels)


def preview(
    session: Session, *, actor: User, dispute_id: Any, ratings: Sequence[RatingIn]
) -> tuple[Review, ScoreResult]:
    """The review and what it would score with these ratings (the resolver's form; nothing is saved)."""
    ident = _check_resolver(session, actor, dispute_id)
    review = session.exec(
        select(Review).join(Dispute, col(Dispute.review_id) == col(Review.id)).where(Dispute.id == ident)
    ).one()
    return review, _validate(session, review, ratings)


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------

_REVIEWER = aliased(User, name="dispute_reviewer")
_RESOLVER = aliased(User, name="dispute_resolver")


def _rows_query(*where: ColumnElement[bool]) -> Any:
    """The columns of DisputeRow in one statement (review, conversation, names, criterion name)."""
    return (
        _joined(
            Dispute,
            Review.conversation_id,
            Conversation.subject,
            Agent.name,
            _REVIEWER.name,
            _RESOLVER.name,
            Criterion.name,
            Review.score,
        )
        .outerjoin(Agent, col(Agent.id) == col(Dispute.agent_id))
        .outerjoin(_REVIEWER, col(_REVIEWER.id) == col(Dispute.reviewer_id))
        .outerjoin(_RESOLVER, col(_RESOLVER.id) == col(Dispute.resolved_by_id))
        .outerjoin(
            Criterion,
            and_(
                col(Criterion.version_id) == col(Review.version_id),
                col(Criterion.key) == col(Dispute.criterion_key),
            ),
        )
        .where(*where)
    )


def _rows(session: Session, viewer: User, found: Sequence[Any]) -> list[DisputeRow]:
    """DisputeRows from _rows_query's rows; reviewer and resolver named as `viewer` may see them."""
    openings = review_service.snippets(session, [r[1] for r in found if not (r[2] or "").strip()])
    labels: dict[str | None, str] = {}

    def label(name: str | None) -> str:
        if name not in labels:  # the privacy setting is read once per name, not once per row
            labels[name] = org_settings.reviewer_label(session, viewer, name)
        return labels[name]

    return [
        DisputeRow(
            id=d.id,
            review_id=d.review_id,
            conversation_id=cid,
            subject=(subject or "").strip() or openings.get(cid, f"Conversation {cid}"),
            agent_id=d.agent_id,
            agent_name=agent_name,
            reviewer_id=d.reviewer_id,
            reviewer_name=label(reviewer_name),
            criterion_key=d.criterion_key,
            criterion_name=criterion_name,
            reason=d.reason,
            status=d.status.value,
            created_at=d.created_at,
            resolved_at=d.resolved_at,
            resolver_name=label(resolver_name) if d.resolved_by_id else None,
            resolution_comment=d.resolution_comment,
            score_before=(d.before or {}).get("score"),
            score_after=(d.after or {}).get("score"),
            review_score=score,
        )
        for d, cid, subject, agent_name, reviewer_name, resolver_name, criterion_name, score in found
    ]


def _fetch(session: Session, viewer: User, query: Any) -> list[DisputeRow]:
    return _rows(session, viewer, session.execute(query).all())


def queue(session: Session, *, actor: User) -> DisputeQueue:
    """The open disputes `actor` may resolve, oldest first, and the latest resolved ones."""
    if actor.role is Role.agent:
        raise Forbidden("The dispute queue is for resolvers; your disputes are on your reviews.")
    mine = resolvable_filter(session, actor)
    pending = (
        _rows_query(col(Dispute.status) == DisputeStatus.open, mine)
        .order_by(col(Dispute.created_at), col(Dispute.id))
        .limit(MAX_LIST)
    )
    done = _rows_query(
        col(Dispute.status) != DisputeStatus.open, mine | (col(Dispute.resolved_by_id) == actor.id)
    )
    done = done.order_by(col(Dispute.resolved_at).desc(), col(Dispute.id).desc()).limit(RECENTLY_RESOLVED)
    return DisputeQueue(open=_fetch(session, actor, pending), resolved=_fetch(session, actor, done))


def list_disputes(
    session: Session,
    *,
    actor: User,
    status: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> tuple[list[DisputeRow], int | None]:
    """Agents: their own disputes; others: those they may resolve. Newest first; returns the rows and
    the id to continue before (None on the last page)."""
    if status and status not in STATUSES:
        raise InvalidInput(f"Unknown status {status[:20]!r}: use open, accepted or rejected.", field="status")
    if actor.role is Role.agent:
        who = col(Dispute.agent_id) == actor.agent_id if actor.agent_id else false()
        where = [who, scope.review_filter(session, actor)]
    else:
        where = [resolvable_filter(session, actor)]
    if status:
        where.append(col(Dispute.status) == status)
    if before_id is not None:
        where.append(col(Dispute.id) < before_id)
    limit = max(1, min(int(limit), MAX_LIST))
    rows = _fetch(session, actor, _rows_query(*where).order_by(col(Dispute.id).desc()).limit(limit + 1))
    return rows[:limit], rows[limit - 1].id if len(rows) > limit else None


def dispute_row(session: Session, *, actor: User, dispute_id: Any) -> DisputeRow:
    """One dispute as lists show it, for those who may read it (NotFound otherwise)."""
    query = _rows_query(col(Dispute.id) == scope.as_id(dispute_id), _readable_filter(session, actor))
    rows = _fetch(session, actor, query)
    if not rows:
        raise NotFound(f"Dispute {dispute_id} not found.")
    return rows[0]


def get_dispute(session: Session, *, actor: User, dispute_id: Any) -> DisputeDetail:
    """The dispute with its review, for those who may read it (NotFound otherwise)."""
    query = _rows_query(col(Dispute.id) == scope.as_id(dispute_id), _readable_filter(session, actor))
    flags = (resolvable_filter(session, actor), scope.review_filter(session, actor))
    found = session.execute(query.add_columns(*flags)).first()
    if found is None:
        raise NotFound(f"Dispute {dispute_id} not found.")
    row = _rows(session, actor, [found[:-2]])[0]
    detail = review_service.review_detail(session, actor=actor, review_id=row.review_id, authorised=True)
    return DisputeDetail(
        row=row,
        review=detail,
        can_resolve=bool(found[-2]) and row.is_open,
        changes=_changes(detail, found[0]),
        review_visible=bool(found[-1]),
    )


def _changes(detail: review_service.ReviewDetail, dispute: Dispute) -> list[RatingChange]:
    before = (dispute.before or {}).get("ratings", {})
    after = (dispute.after or {}).get("ratings", {})
    return [
        RatingChange(c.key, c.name, before.get(c.key), after.get(c.key))
        for c in detail.definition.criteria
        if c.key in after and before.get(c.key) != after.get(c.key)
    ]


def review_disputes(session: Session, *, actor: User, review: Review) -> ReviewDisputes:
    """The disputes of a review its page shows: all of them to whoever may read the review."""
    rows = _fetch(
        session,
        actor,
        _rows_query(col(Dispute.review_id) == review.id).order_by(
            col(Dispute.created_at).desc(), col(Dispute.id).desc()
        ),
    )
    can = (
        actor.role is Role.agent
        and actor.agent_id is not None
        and review.agent_id == actor.agent_id
        and review.kind == "manual"
        and review.status == "submitted"
    )
    return ReviewDisputes(rows=rows, can_dispute=can)


def feedback_states(
    session: Session, *, actor: User, review_ids: Sequence[int]
) -> dict[int, FeedbackDisputes]:
    """Per review of the agent's feedback page: open/accepted/rejected counts and the last correction."""
    if not review_ids:
        return {}
    query = (
        select(Dispute)
        .join(Review, col(Review.id) == col(Dispute.review_id))
        .where(col(Dispute.review_id).in_(list(review_ids)), scope.review_filter(session, actor))
        .order_by(col(Dispute.id))
    )
    counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    last: dict[int, Dispute] = {}
    for dispute in session.exec(query):
        counts[dispute.review_id][dispute.status.value] += 1
        if dispute.status == DisputeStatus.accepted:
            last[dispute.review_id] = dispute
    return {
        rid: FeedbackDisputes(
            open=c["open"],
            accepted=c["accepted"],
            rejected=c["rejected"],
            score_before=(last[rid].before or {}).get("score") if rid in last else None,
            score_after=(last[rid].after or {}).get("score") if rid in last else None,
        )
        for rid, c in counts.items()
    }


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------


def dispute_stats(
    session: Session,
    *,
    actor: User,
    start: date | None = None,
    end: date | None = None,
    team_id: int | None = None,
) -> DisputeStats:
    """Disputes per reviewer and per criterion for reviews submitted from `start` to `end` (inclusive,
    UTC; None = open-ended) that `actor` may aggregate (qa.reporting.stats.report_filter)."""
    if actor.role is Role.agent:
        raise Forbidden("Dispute statistics are for managers, reviewers and admins.")
    if start and end and start > end:
        raise InvalidInput(f"The start date ({start}) is after the end date ({end}).", field="start")
    where = [stats.counted(), stats.report_filter(session, actor)]
    if start:
        where.append(col(Review.submitted_at) >= datetime.combine(start, time.min, tzinfo=UTC))
    if end:
        where.append(
            col(Review.submitted_at) < datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
        )
    if team_id is not None:
        where.append(col(Conversation.team_id) == team_id)
    return DisputeStats(
        start=start, end=end, reviewers=_per_reviewer(session, where), criteria=_per_criterion(session, where)
    )


def _status_sum(status: DisputeStatus) -> Any:
    return func.sum(case((col(Dispute.status) == status, 1), else_=0))


def _per_reviewer(session: Session, where: list[ColumnElement[bool]]) -> list[ReviewerDisputes]:
    reviews = (
        select_rows(col(Review.reviewer_id), col(User.name), func.count(col(Review.id)))
        .select_from(Review)
        .join(Conversation, col(Conversation.id) == col(Review.conversation_id))
        .join(User, col(User.id) == col(Review.reviewer_id))
        .where(*where)
        .group_by(col(Review.reviewer_id), col(User.name))
    )
    disputes = (
        _joined(
            col(Review.reviewer_id),
            func.count(col(Dispute.id)),
            _status_sum(DisputeStatus.accepted),
            _status_sum(DisputeStatus.rejected),
            _status_sum(DisputeStatus.open),
        )
        .where(*where)
        .group_by(col(Review.reviewer_id))
    )
    counted = {
        rid: (int(a or 0), int(b or 0), int(c or 0), int(d or 0))
        for rid, a, b, c, d in session.execute(disputes)
    }
    rows = [
        ReviewerDisputes(rid, name, int(n), *counted.get(rid, (0, 0, 0, 0)))
        for rid, name, n in session.execute(reviews)
    ]
    return sorted(rows, key=lambda r: (-(r.rate or 0), -r.raised, r.name.lower(), r.reviewer_id))


def _per_criterion(session: Session, where: list[ColumnElement[bool]]) -> list[CriterionDisputes]:
    query = (
        _joined(col(Dispute.criterion_key), func.count(col(Dispute.id)), _status_sum(DisputeStatus.accepted))
        .where(*where, col(Dispute.criterion_key).is_not(None))
        .group_by(col(Dispute.criterion_key))
    )
    found = {key: (int(n), int(a or 0)) for key, n, a in session.execute(query)}
    names = stats.criterion_names(session, list(found))
    return [
        CriterionDisputes(key, names.get(key, key), *found[key])
        for key in stats.criterion_order(session, list(found))
    ]


def review_ratings_labels(session: Session, review_id: int | None) -> dict[str, str | None]:
    """The review's current option labels by criterion key (None = N/A)."""
    query = select(Rating.criterion_key, Rating.option_label).where(Rating.review_id == review_id)
    return dict(session.exec(query).all())
