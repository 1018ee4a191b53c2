"""`qa demo`: load a demo organisation so that every page shows real data.

`load_demo(session)` loads, each step only when it is missing (so a second run adds nothing and a
partly loaded demo is topped up):

1. the conversations in qa/demo/data/ (real public support threads; see data/README.md), with
   each conversation's times moved into the last RECENT_WEEKS weeks by `shift_to_recent`;
2. users for every role, all with DEMO_PASSWORD; agent logins linked to the busiest IRC agents;
3. the "Support QA" scorecard (qa.demo.rules.DEMO_SCORECARD);
4. about REVIEW_TARGET reviews written by the rules in qa.demo.rules (not by people) through the
   real review service, so scores come from the real scoring code; submitted over the last
   REVIEW_WEEKS weeks, some acknowledged by their agents, DRAFT_TARGET left as drafts, plus a few
   open assignments per reviewer. The rest of the conversations stay unreviewed in the queue.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import case, func
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, col, select

from qa.audit import service as audit
from qa.auth import service as auth_service
from qa.conversations import ingest
from qa.db import normalise_url
from qa.demo import rules
from qa.errors import CaliperError, Conflict
from qa.models import (
    Agent,
    Assignment,
    AuditLog,
    AuthorRole,
    Conversation,
    Message,
    MessageComment,
    Review,
    ReviewKind,
    ReviewStatus,
    Role,
    Scorecard,
    ScorecardVersion,
    Team,
    User,
    UserTeam,
    utcnow,
)
from qa.reviews import service as review_service
from qa.scorecard_admin import service as scorecard_service
from scorecards import validate_definition

__all__ = [
    "DEMO_PASSWORD",
    "DemoLogin",
    "DemoSummary",
    "limit_records",
    "load_demo",
    "plan_reviews",
    "read_records",
    "reset_sqlite",
    "shift_to_recent",
]

DEMO_PASSWORD = "caliper-demo"
APP_URL = "http://127.0.0.1:8000"
DATA_DIR = Path(__file__).resolve().parent / "data"
DATA_FILES = ("ubuntu-irc-support.jsonl", "twitter-customer-care.jsonl")
IRC_SOURCE = "ubuntu-irc"
DEMO_SOURCES = (IRC_SOURCE, "twitter")
RECENT_WEEKS = 10
REVIEW_WEEKS = 8
REVIEW_TARGET = 150
DRAFT_TARGET = 10
AGENT_LOGINS = 4
ACKNOWLEDGED_SHARE = 0.65
OPEN_ASSIGNMENTS = 4
PIN_SHARE = 0.3
GOLDEN_RATIO = (5**0.5 - 1) / 2
T = TypeVar("T")


@dataclass(frozen=True)
class Person:
    """A demo login; `scope` says which teams a reviewer covers: all, the IRC team or the social teams."""

    email: str
    name: str
    role: Role
    scope: str = "all"


STAFF = (
    Person("admin@caliper.demo", "Alex Morgan", Role.admin),
    Person("manager@caliper.demo", "Priya Nair", Role.manager),
    Person("reviewer@caliper.demo", "Riley Chen", Role.reviewer),
    Person("reviewer2@caliper.demo", "Marco Rossi", Role.reviewer, scope="irc"),
    Person("reviewer3@caliper.demo", "Aiko Tanaka", Role.reviewer, scope="social"),
)


@dataclass(frozen=True)
class DemoLogin:
    """One row of the login table `qa demo` prints."""

    role: str
    email: str
    name: str
    note: str


@dataclass
class DemoSummary:
    """What the demo holds after `load_demo`, and what this run added."""

    logins: list[DemoLogin] = field(default_factory=list)
    password: str = DEMO_PASSWORD
    conversations: int = 0
    conversations_added: int = 0
    rejected: list[Any] = field(default_factory=list)
    users_added: int = 0
    scorecard_added: bool = False
    reviews_added: int = 0
    reviews_submitted: int = 0
    reviews_draft: int = 0
    reviews_acknowledged: int = 0
    sampling_rule_added: bool = False
    coaching_added: bool = False

    @property
    def already_loaded(self) -> bool:
        """True when this run found everything in place and added nothing."""
        added = (self.conversations_added or self.users_added or self.scorecard_added or self.reviews_added
                 or self.sampling_rule_added)
        return not added

    def describe(self) -> str:
        """The text `qa demo` prints: what was loaded and a table of the logins."""
        head = "Demo data was already loaded; nothing to add." if self.already_loaded else "Demo data loaded."
        lines = [
            head,
            f"  {self.conversations} conversations ({self.conversations_added} new), 1 scorecard, "
            f"{self.reviews_submitted} submitted reviews ({self.reviews_acknowledged} acknowledged), "
            f"{self.reviews_draft} drafts",
        ]
        if self.rejected:
            lines.append(f"  {len(self.rejected)} demo conversations were rejected by the importer")
        lines += ["", *_table(self.logins, self.password), "",
                  f"Open {APP_URL} (start it with `qa serve`) and log in with any of these.",
                  "Demo reviews were generated by rules (qa/demo/rules.py), not by people."]
        return "\n".join(lines)


def _table(logins: Sequence[DemoLogin], password: str) -> list[str]:
    rows = [("role", "e-mail", "password", "who")]
    rows += [(login.role, login.email, password, f"{login.name}{login.note}") for login in logins]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    out = ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
           for row in rows]
    out.insert(1, "  " + "  ".join("-" * w for w in widths))
    return out


def reset_sqlite(url: str) -> Path | None:
    """Delete the SQLite database file (with its -wal/-shm/-journal files); refuse any other database."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise CaliperError(f"DATABASE_URL is not a database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    if backend != "sqlite":
        raise CaliperError(f"--reset only deletes SQLite files and will not touch a {backend} database; "
                           "drop and recreate it yourself, then run `qa demo`.")
    if not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def read_records(data_dir: Path = DATA_DIR) -> list[dict[str, Any]]:
    """The demo conversations in the native format, as stored (original dates)."""
    records: list[dict[str, Any]] = []
    for name in DATA_FILES:
        with (data_dir / name).open(encoding="utf-8") as handle:
            records.extend(json.loads(line) for line in handle if line.strip())
    return records


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _by_key(records: Iterable[dict[str, Any]], key: Any) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[key(record)].append(record)
    return groups


def _agent_id(record: dict[str, Any]) -> str:
    return str((record.get("agent") or {}).get("external_id") or "")


def limit_records(records: Sequence[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """At most `limit` conversations per source, taken round-robin over agents (busiest first)."""
    kept: list[dict[str, Any]] = []
    for group in _by_key(records, lambda r: str(r["source"])).values():
        by_agent = _by_key(group, _agent_id)
        queues = [by_agent[a] for a in sorted(by_agent, key=lambda a: (-len(by_agent[a]), a))]
        kept.extend(_round_robin(queues, limit))
    return kept


def _round_robin(queues: Sequence[Sequence[Any]], limit: int) -> list[Any]:
    taken: list[Any] = []
    depth = 0
    while len(taken) < limit and any(depth < len(q) for q in queues):
        taken.extend(q[depth] for q in queues if depth < len(q))
        depth += 1
    return taken[:limit]


def shift_to_recent(
    records: Sequence[dict[str, Any]], *, now: datetime, weeks: int = RECENT_WEEKS
) -> list[dict[str, Any]]:
    """Copies of the records moved into the last `weeks` weeks before `now`.

    Per source, conversations keep their order and are spread evenly (with a little seeded jitter)
    over the window; each keeps its internal gaps, so first-response and handle times are real.
    One that would end after `now` starts early enough to end before it. The original start is kept
    in `metadata.original_created_at`.
    """
    start, end = now - timedelta(weeks=weeks), now - timedelta(hours=1)
    shifted: list[dict[str, Any]] = []
    for source, group in _by_key(records, lambda r: str(r["source"])).items():
        ordered = sorted(group, key=lambda r: (_parse(r["created_at"]), str(r["external_id"])))
        slot = (end - start) / len(ordered)
        for index, record in enumerate(ordered):
            jitter = 0.1 + 0.8 * rules.stable_fraction(source, record["external_id"])
            shifted.append(_shift_record(record, start + slot * (index + jitter), end))
    return shifted


def _shift_record(record: dict[str, Any], target: datetime, latest: datetime) -> dict[str, Any]:
    first = _parse(record["created_at"])
    stamps = [record.get("closed_at"), *(m.get("created_at") for m in record["messages"])]
    times = [_parse(t) for t in stamps if t]
    duration = max([first, *times]) - first
    target = min(target, latest - duration)
    delta = timedelta(seconds=round((target - first).total_seconds()))
    out = copy.deepcopy(record)
    out["created_at"] = _iso(first + delta)
    if out.get("closed_at"):
        out["closed_at"] = _iso(_parse(out["closed_at"]) + delta)
    for message in out["messages"]:
        if message.get("created_at"):
            message["created_at"] = _iso(_parse(message["created_at"]) + delta)
    out["metadata"] = {**(record.get("metadata") or {}), "original_created_at": record["created_at"]}
    return out


def load_demo(
    session: Session,
    *,
    limit: int | None = None,
    reviews: int = REVIEW_TARGET,
    drafts: int = DRAFT_TARGET,
    now: datetime | None = None,
) -> DemoSummary:
    """Load (or top up) the demo organisation; `limit` caps conversations per source, for tests."""
    started = utcnow()
    now = now or started
    records = read_records()
    if limit is not None:
        records = limit_records(records, limit)
    summary = DemoSummary()
    summary.conversations_added, summary.rejected = _import_new(session, shift_to_recent(records, now=now))
    staff, agent_users = _ensure_users(session, records, summary)
    version = _ensure_scorecard(session, staff["manager@caliper.demo"], summary)
    reviewers = [user for email, user in staff.items() if user.role is Role.reviewer and email in _SCOPES]
    if not _has_reviews(session, version.scorecard_id):
        summary.reviews_added = _make_reviews(session, version, reviewers, agent_users, now=now,
                                              target=reviews, drafts=drafts)
    _backdate_setup(session, since=started, when=now - timedelta(weeks=RECENT_WEEKS, days=3))
    summary.sampling_rule_added = _ensure_sampling_rule(session, staff["manager@caliper.demo"], version,
                                                        reviewers, now=now)
    summary.coaching_added = _ensure_coaching(session, staff, agent_users, now=now)
    _ensure_calibration(session, staff, version)
    _count(session, version.scorecard_id, summary)
    return summary


def _ensure_coaching(session: Session, staff: dict[str, User], agent_users: dict[int, User], *,
                     now: datetime) -> bool:
    """Coaching as a team would have it after a few weeks, written through the coaching services: the first
    demo agent disputed three reviews (one open in the manager's queue, one accepted with a corrected
    rating, one rejected), a reviewer pinned two moments to their board, and the manager held a session
    two weeks ago (with a goal on the agent's weakest criterion) and has the next one in three days."""
    from qa.coaching import disputes, goals, pins, sessions
    from qa.models import Dispute, Rating, ReviewKind
    from qa.reporting import stats
    from qa.reviews.service import RatingIn

    agent_user = next((u for u in agent_users.values() if u.email == "agent@caliper.demo"), None)
    manager, reviewer = staff.get("manager@caliper.demo"), staff.get("reviewer@caliper.demo")
    if agent_user is None or manager is None or reviewer is None or agent_user.agent_id is None:
        return False
    if session.exec(select(Dispute.id).where(Dispute.agent_id == agent_user.agent_id)).first() is not None:
        return False
    mine = list(session.exec(
        select(Review).where(Review.agent_id == agent_user.agent_id, Review.kind == ReviewKind.manual,
                             Review.status == ReviewStatus.submitted)
        .order_by(col(Review.submitted_at).desc())))
    if len(mine) < 4:
        return False

    def weakest(review: Review) -> Rating | None:
        rated = session.exec(select(Rating).where(Rating.review_id == review.id,
                                                  col(Rating.option_score).is_not(None))
                             .order_by(col(Rating.option_score), col(Rating.id))).all()
        return rated[0] if rated else None

    # The accepted dispute is of a review that no critical criterion failed, so its score visibly changes.
    rest = sorted(mine[1:], key=lambda r: r.failed_critical)
    accepted, open_one, rejected = rest[0], rest[1], rest[2]
    for review, reason in ((open_one, "The customer asked for exactly this; I answered what they asked."),
                           (accepted, "I did confirm the fix worked: see my last message before closing."),
                           (rejected, "I think the tone was fine for this customer.")):
        low = weakest(review)
        dispute = disputes.open_dispute(session, actor=agent_user, review_id=review.id,
                                        criterion_key=low.criterion_key if low else None, reason=reason)
        if review is accepted and low is not None:
            defn = scorecard_service.definition_for(session, review.version_id)
            options = defn.criterion(low.criterion_key).options
            better = next((o.label for o in options if o.score > (low.option_score or 0)), options[-1].label)
            disputes.accept_dispute(session, actor=manager, dispute_id=dispute.id, comment="You're right, "
                                    "the confirmation is there; corrected.",
                                    ratings=[RatingIn(criterion=low.criterion_key, option=better)])
        elif review is rejected:
            disputes.reject_dispute(session, actor=manager, dispute_id=dispute.id,
                                    comment="The rating stands: the reply read as curt. Let's talk "
                                            "it through.")
    low = weakest(mine[0])
    reviewer = session.get(User, mine[0].reviewer_id) or reviewer  # a reviewer may pin what they reviewed
    pins.create_pin(session, actor=reviewer, review_id=mine[0].id, kind="review",
                    note="Good example of a calm de-escalation: worth sharing in the 1:1.")
    if low is not None:
        pins.create_pin(session, actor=reviewer, review_id=mine[0].id, kind="rating",
                        criterion_key=low.criterion_key, note="Same gap as last month: bring it up.")
    today = now.date()
    criteria = stats.criteria(session, manager, stats.Slice(today - timedelta(days=90), today,
                                                            agent_id=agent_user.agent_id)).get(None, {})
    focus = sorted(criteria, key=lambda key: criteria[key].mean or 0)[:1]
    past = sessions.create_session(session, actor=manager, agent_id=agent_user.agent_id,
                                   scheduled_at=now - timedelta(days=14), title="Monthly 1:1",
                                   review_ids=[r.id for r in mine[4:6]], focus_criteria=focus,
                                   notes="Agreed: confirm the fix with the customer before closing.",
                                   private_notes="Keen to improve; check in again in a month.")
    sessions.update_session(session, actor=manager, session_id=past.id, changes=sessions.SessionChanges(
        status="completed"))
    goals.create_goal(session, actor=manager, session_id=past.id, criterion_key=focus[0] if focus else None,
                      target_score=80, due_date=today + timedelta(days=16), today=today)
    sessions.create_session(session, actor=manager, agent_id=agent_user.agent_id,
                            scheduled_at=(now + timedelta(days=3)).replace(hour=10, minute=0, second=0,
                                                                           microsecond=0),
                            title="Follow-up 1:1", focus_criteria=focus,
                            review_ids=[mine[0].id], notes="Review the disputed tone rating together.")
    return True


DEMO_RULE_NAME = "Weekly sample: 2 per agent"


def _ensure_sampling_rule(session: Session, manager: User, version: ScorecardVersion,
                          reviewers: Sequence[User], *, now: datetime) -> bool:
    """A weekly rule as a QA lead would write it, run once for this week through the sampling service, so
    the Sampling pages show a real run and the reviewers' queues start with its assignments."""
    from qa.assignments import service as sampling_service
    from qa.models import SamplingRule

    if session.exec(select(SamplingRule.id).where(SamplingRule.name == DEMO_RULE_NAME)).first() is not None:
        return False
    rule = sampling_service.parse({
        "name": DEMO_RULE_NAME, "description": "Two conversations per agent each week, closed in the last 14 "
        "days and not reviewed yet, spread over the QA team.", "scorecard_id": version.scorecard_id,
        "strategy": "random", "quota": {"per_agent": 2},
        "filters": {"date_field": "closed", "last_days": 14, "not_reviewed": True, "handled_by": "human"},
        "reviewers": [{"id": r.id} for r in reviewers], "period": "weekly", "due_days": 7, "seed": 2026,
    })
    row = sampling_service.create_rule(session, actor=manager, rule=rule)
    sampling_service.run_stored_rule(session, actor=manager, rule_id=row.id, trigger="cli", now=now)
    return True


DEMO_CALIBRATION = ("IRC calibration: refunds and resets", "IRC calibration: this week")


def _ensure_calibration(session: Session, staff: dict[str, User], version: ScorecardVersion) -> bool:
    """Two calibration sessions on IRC conversations (every participant sees them): one revealed, scored by
    three reviewers and the manager as benchmark, with a consensus; one open for reviewer@ to score blind."""
    import random

    from qa.calibration import service as calibration_service
    from qa.models import CalibrationSession

    existing = select(CalibrationSession.id).where(CalibrationSession.name == DEMO_CALIBRATION[0])
    if session.exec(existing).first() is not None:
        return False
    manager, admin = staff["manager@caliper.demo"], staff["admin@caliper.demo"]
    first, second = staff["reviewer@caliper.demo"], staff["reviewer2@caliper.demo"]
    irc = select(Conversation.id).where(Conversation.source == IRC_SOURCE,
                                        col(Conversation.agent_id).is_not(None))
    ids = list(session.exec(irc.order_by(col(Conversation.created_at).desc()).limit(9)))
    if len(ids) < 9:
        return False
    cal = calibration_service.create_session(session, actor=manager, data=calibration_service.SessionIn(
        name=DEMO_CALIBRATION[0], scorecard_id=version.scorecard_id,
        participant_ids=[first.id, second.id, admin.id],
        conversation_ids=ids[:5], benchmark_id=manager.id, notes="Score as you would any review."))
    defn = scorecard_service.definition_for(session, version.id or 0)
    rng = random.Random(2026)
    for conversation_id in ids[:5]:
        truth = {c.key: rng.randrange(len(c.options)) for c in defn.criteria}
        for who, drift in ((manager, 0), (first, 0), (second, 1), (admin, -1)):
            ratings = []
            for c in defn.criteria:
                step = drift if rng.random() < 0.4 else 0
                index = min(len(c.options) - 1, max(0, truth[c.key] + step + (rng.random() < 0.15)))
                ratings.append(review_service.RatingIn(c.key, c.options[index].label))
            calibration_service.submit_review(session, actor=who, session_id=cal.id,
                                              conversation_id=conversation_id, ratings=ratings)
    calibration_service.reveal(session, actor=manager, session_id=cal.id)
    for conversation_id in ids[:3]:
        c = defn.criteria[0]
        calibration_service.set_consensus(session, actor=manager, session_id=cal.id,
                                          conversation_id=conversation_id, criterion_key=c.key,
                                          option_label=c.options[truth[c.key]].label,
                                          comment="Agreed in the calibration meeting.")
    calibration_service.create_session(session, actor=manager, data=calibration_service.SessionIn(
        name=DEMO_CALIBRATION[1], scorecard_id=version.scorecard_id, participant_ids=[first.id, second.id],
        conversation_ids=ids[5:9], benchmark_id=manager.id))
    return True


def _backdate_setup(session: Session, *, since: datetime, when: datetime) -> None:
    """Date the users and scorecard this run created to before the demo's weeks (they did the reviews)."""
    users = list(session.exec(select(User).where(col(User.email).endswith("@caliper.demo"),
                                                 col(User.created_at) >= since)))
    cards = list(session.exec(select(Scorecard).where(col(Scorecard.created_at) >= since,
                                                      Scorecard.name == rules.DEMO_SCORECARD["name"])))
    for user in users:
        user.created_at = when
    for card in cards:
        card.created_at = when + timedelta(hours=1)
        for version in session.exec(select(ScorecardVersion).where(ScorecardVersion.scorecard_id == card.id)):
            version.created_at = card.created_at
    entities = {"user": [u.id for u in users], "scorecard": [c.id for c in cards]}
    for entity, ids in entities.items():
        rows = select(AuditLog).where(AuditLog.entity == entity, col(AuditLog.entity_id).in_(ids),
                                      col(AuditLog.at) >= since)
        for row in session.exec(rows):
            row.at = when + timedelta(hours=1 if entity == "scorecard" else 0)
    session.flush()


def _import_new(session: Session, records: list[dict[str, Any]]) -> tuple[int, list[Any]]:
    stored = set(session.exec(select(Conversation.source, Conversation.external_id)
                              .where(col(Conversation.source).in_(DEMO_SOURCES))).all())
    fresh = [r for r in records if (r["source"], r["external_id"]) not in stored]
    if not fresh:
        return 0, []
    result = ingest.import_records(session, fresh)
    return result.created, list(result.rejected)


_SCOPES = {person.email: person.scope for person in STAFF}


def _ensure_users(
    session: Session, records: Sequence[dict[str, Any]], summary: DemoSummary
) -> tuple[dict[str, User], dict[int, User]]:
    """The staff logins by e-mail and the agent logins by agent id, creating what is missing."""
    staff: dict[str, User] = {}
    for person in STAFF:
        admin = staff.get(STAFF[0].email)
        user = _ensure_user(session, summary, actor=admin, email=person.email, role=person.role,
                            name=person.name)
        if user is not None:
            staff[person.email] = user
            summary.logins.append(DemoLogin(person.role.value, person.email, person.name,
                                            _scope_note(person)))
            _link_teams(session, actor=admin, user=user, scope=person.scope)
    agent_users: dict[int, User] = {}
    for number, (external_id, name, count) in enumerate(_busiest_irc_agents(records), start=1):
        email = "agent@caliper.demo" if number == 1 else f"agent{number}@caliper.demo"
        user = _ensure_user(session, summary, actor=staff.get(STAFF[0].email), email=email, role=Role.agent,
                            name=name, agent_external_id=external_id)
        if user is not None and user.agent_id is not None:
            agent_users[user.agent_id] = user
            note = f" (Ubuntu community, {count} conversations)"
            summary.logins.append(DemoLogin("agent", email, name, note))
    return staff, agent_users


def _scope_note(person: Person) -> str:
    if person.role is not Role.reviewer:
        return ""
    return {"all": " (all teams)", "irc": " (Ubuntu community)", "social": " (social teams)"}[person.scope]


def _ensure_user(session: Session, summary: DemoSummary, *, actor: User | None, email: str, role: Role,
                 name: str, agent_external_id: str | None = None) -> User | None:
    """The user with this e-mail, created with the demo password if missing (None if it cannot be)."""
    existing = session.exec(select(User).where(User.email == email)).first()
    if existing is not None:
        return existing
    try:
        user = auth_service.create_user(session, actor=actor, email=email, role=role, password=DEMO_PASSWORD,
                                        name=name, agent_external_id=agent_external_id)
    except Conflict:
        return None  # the agent already has another login; the demo does without this one
    summary.users_added += 1
    return user


def _team_ids(session: Session, scope: str) -> list[int]:
    irc_team = select(Conversation.team_id).where(Conversation.source == IRC_SOURCE,
                                                  col(Conversation.team_id).is_not(None))
    query = select(Team.id).where(col(Team.id).in_(
        select(Conversation.team_id).where(col(Conversation.source).in_(DEMO_SOURCES))))
    query = query.where(col(Team.id).in_(irc_team) if scope == "irc" else col(Team.id).not_in(irc_team))
    return sorted(int(team_id) for team_id in session.exec(query) if team_id is not None)


def _link_teams(session: Session, *, actor: User | None, user: User, scope: str) -> None:
    """Limit a reviewer to the teams of their scope (once; an admin's later changes are kept)."""
    if scope == "all" or session.exec(select(UserTeam).where(UserTeam.user_id == user.id)).first():
        return
    team_ids = _team_ids(session, scope)
    for team_id in team_ids:
        session.add(UserTeam(user_id=user.id, team_id=team_id))  # type: ignore[arg-type]
    session.flush()
    audit.record(session, actor=actor, action="user.teams", entity="user", entity_id=user.id,
                 before={"team_ids": []}, after={"team_ids": team_ids})


def _busiest_irc_agents(records: Sequence[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """(external id, name, conversations) of the IRC agents with the most conversations, busiest first."""
    by_agent = _by_key((r for r in records if r["source"] == IRC_SOURCE), _agent_id)
    ranked = sorted(by_agent, key=lambda a: (-len(by_agent[a]), a))[:AGENT_LOGINS]
    return [(a, str(by_agent[a][0]["agent"].get("name") or a), len(by_agent[a])) for a in ranked]


def _ensure_scorecard(session: Session, manager: User, summary: DemoSummary) -> ScorecardVersion:
    card = session.exec(select(Scorecard).where(Scorecard.name == rules.DEMO_SCORECARD["name"],
                                                Scorecard.created_by_id == manager.id)).first()
    if card is not None:
        return scorecard_service.current_version(session, card.id)  # type: ignore[arg-type]
    summary.scorecard_added = True
    definition = validate_definition(rules.DEMO_SCORECARD)
    return scorecard_service.create_scorecard(session, actor=manager, definition=definition)


def _version_ids(scorecard_id: int) -> Any:
    return select(ScorecardVersion.id).where(ScorecardVersion.scorecard_id == scorecard_id)


def _has_reviews(session: Session, scorecard_id: int) -> bool:
    query = select(Review.id).where(col(Review.version_id).in_(_version_ids(scorecard_id)))
    return session.exec(query).first() is not None


def _count(session: Session, scorecard_id: int, summary: DemoSummary) -> None:
    summary.conversations = session.exec(select(func.count()).select_from(Conversation)
                                         .where(col(Conversation.source).in_(DEMO_SOURCES))).one()
    rows = session.exec(select(Review.status, func.count(), func.count(col(Review.acknowledged_at)))
                        .where(col(Review.version_id).in_(_version_ids(scorecard_id)),
                               col(Review.kind) == ReviewKind.manual)  # not the calibration sessions' reviews
                        .group_by(col(Review.status))).all()
    for status, total, acknowledged in rows:
        if status == ReviewStatus.submitted:
            summary.reviews_submitted, summary.reviews_acknowledged = total, acknowledged
        else:
            summary.reviews_draft = total


@dataclass(frozen=True)
class PlannedReview:
    """One demo review to write: which conversation, by whom, and whether it stays a draft."""

    conversation: Conversation
    agent_external_id: str
    reviewer: User
    draft: bool


def _make_reviews(session: Session, version: ScorecardVersion, reviewers: Sequence[User],
                  agent_users: dict[int, User], *, now: datetime, target: int, drafts: int) -> int:
    rows = session.exec(
        select(Conversation, Agent.external_id, Conversation.source)
        .join(Agent, col(Agent.id) == col(Conversation.agent_id))
        .where(col(Conversation.source).in_(DEMO_SOURCES))
    ).all()
    candidates = [(conversation, external_id, source) for conversation, external_id, source in rows]
    handled = _handled_by_their_agent(session)
    owned = [row for row in candidates if row[0].id in handled]
    plans = plan_reviews(owned, reviewers, now=now, target=target, drafts=drafts)
    transcripts = _transcripts(session, [plan.conversation.id for plan in plans])  # type: ignore[misc]
    _assign(session, version, plans, candidates, reviewers, now=now)
    writer = _ReviewWriter(session, version, agent_users, now)
    for plan in plans:
        writer.write(plan, transcripts.get(plan.conversation.id, []))  # type: ignore[arg-type]
    writer.backdate()
    return len(plans)


def _handled_by_their_agent(session: Session) -> set[int]:
    """Demo conversations whose agent wrote at least half of the agent messages.

    In IRC threads several helpers chime in; reviewing the agent on a thread someone else carried
    would say little about them, so (like a QA lead sampling) the demo reviews the others.
    """
    own = case((col(Message.author_id) == col(Agent.external_id), 1), else_=0)
    query = (select(Message.conversation_id)
             .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
             .join(Agent, col(Agent.id) == col(Conversation.agent_id))
             .where(col(Conversation.source).in_(DEMO_SOURCES), Message.author == AuthorRole.agent,
                    col(Message.internal).is_(False))
             .group_by(col(Message.conversation_id))
             .having(2 * func.sum(own) >= func.count()))
    return set(session.exec(query))


def plan_reviews(
    rows: Sequence[tuple[Conversation, str, str]],
    reviewers: Sequence[User],
    *,
    now: datetime,
    target: int,
    drafts: int,
) -> list[PlannedReview]:
    """Pick conversations closed in the review window, round-robin over agents, each with a reviewer.

    Each agent's picks are spread evenly over the weeks, so weekly trends show steady review volume.
    """
    earliest, latest = now - timedelta(weeks=REVIEW_WEEKS), now - timedelta(hours=6)
    eligible = [r for r in rows if earliest <= _ended(r[0]) <= latest]
    by_agent: dict[str, list[tuple[Conversation, str, str]]] = defaultdict(list)
    for row in sorted(eligible, key=lambda r: (_ended(r[0]), r[0].external_id)):
        by_agent[row[1]].append(row)
    picked = _round_robin([_spread(by_agent[a], a) for a in sorted(by_agent)], target)
    latest_first = sorted(picked, key=lambda r: _ended(r[0]), reverse=True)
    draft_ids = {row[0].id for row in latest_first[:drafts]}
    plans = []
    # Written oldest first, so review ids grow with their dates as they would in real use.
    for conversation, agent_external_id, source in sorted(picked, key=lambda r: _ended(r[0])):
        reviewer = _choose_reviewer(conversation, source, reviewers)
        if reviewer is not None:
            draft = conversation.id in draft_ids
            plans.append(PlannedReview(conversation, agent_external_id, reviewer, draft))
    return plans


def _spread(items: Sequence[T], seed: str) -> list[T]:
    """The items reordered so that every prefix is spread evenly over the original order.

    Walks the golden-ratio sequence (a low-discrepancy sequence) over the positions, from a seeded start.
    """
    order: list[int] = []
    seen: set[int] = set()
    point = rules.stable_fraction("spread", seed)
    for _ in range(50 * len(items)):
        if len(order) == len(items):
            break
        point = (point + GOLDEN_RATIO) % 1.0
        index = int(point * len(items))
        if index not in seen:
            seen.add(index)
            order.append(index)
    order += [i for i in range(len(items)) if i not in seen]
    return [items[i] for i in order]


def _ended(conversation: Conversation) -> datetime:
    return conversation.closed_at or conversation.created_at


def _choose_reviewer(conversation: Conversation, source: str, reviewers: Sequence[User]) -> User | None:
    """A reviewer whose scope covers the conversation's team, and never the conversation's own agent."""
    wanted = _scope_of(source)
    pool = [u for u in reviewers
            if _SCOPES.get(u.email) in ("all", wanted) and u.agent_id != conversation.agent_id]
    if not pool:
        return None
    # Team specialists take most of their team's reviews; the all-teams reviewer helps out.
    weights = [3 if _SCOPES.get(u.email) == wanted else 2 for u in pool]
    point = rules.stable_fraction("reviewer", conversation.external_id) * sum(weights)
    for user, weight in zip(pool, weights, strict=True):
        if point < weight:
            return user
        point -= weight
    return pool[-1]


def _scope_of(source: str) -> str:
    return "irc" if source == IRC_SOURCE else "social"


def _assign(session: Session, version: ScorecardVersion, plans: Sequence[PlannedReview],
            candidates: Sequence[tuple[Conversation, str, str]], reviewers: Sequence[User], *,
            now: datetime) -> None:
    """Open assignments: the drafts (as if a sampling run had handed them out) and a few fresh ones each."""
    def add(conversation: Conversation, reviewer: User) -> None:
        fraction = rules.stable_fraction("assign", conversation.source, conversation.external_id)
        session.add(Assignment(conversation_id=conversation.id, reviewer_id=reviewer.id,  # type: ignore[arg-type]
                               scorecard_id=version.scorecard_id, status=review_service.ASSIGNMENT_OPEN,
                               created_at=now - timedelta(hours=6 + 48 * fraction),
                               due_at=now + timedelta(days=1 + round(4 * fraction))))

    for plan in plans:
        if plan.draft:
            add(plan.conversation, plan.reviewer)
    planned = {plan.conversation.id for plan in plans}
    recent = sorted((row for row in candidates if row[0].id not in planned), key=lambda r: _ended(r[0]),
                    reverse=True)
    for reviewer in reviewers:
        scope = _SCOPES.get(reviewer.email)
        mine = [c for c, _, source in recent
                if scope in ("all", _scope_of(source)) and c.agent_id != reviewer.agent_id]
        for conversation in mine[:OPEN_ASSIGNMENTS]:
            planned.add(conversation.id)
            add(conversation, reviewer)
        recent = [row for row in recent if row[0].id not in planned]
    session.flush()


def _transcripts(session: Session, conversation_ids: Sequence[int]) -> dict[int, list[Message]]:
    """The customer-visible messages of each conversation, in order (one query)."""
    transcripts: dict[int, list[Message]] = defaultdict(list)
    for message in session.exec(select(Message).where(col(Message.conversation_id).in_(conversation_ids),
                                                      col(Message.internal).is_(False))
                                .order_by(col(Message.conversation_id), col(Message.position))):
        transcripts[message.conversation_id].append(message)
    return transcripts


@dataclass
class _Written:
    review_id: int
    created_at: datetime
    submitted_at: datetime | None
    acknowledged_at: datetime | None


class _ReviewWriter:
    """Writes planned reviews through the review service, then dates them as if made over the weeks."""

    def __init__(self, session: Session, version: ScorecardVersion, agent_users: dict[int, User],
                 now: datetime) -> None:
        self.session = session
        self.version = version
        self.agent_users = agent_users
        self.now = now
        self.written: list[_Written] = []

    def write(self, plan: PlannedReview, transcript: Sequence[Message]) -> None:
        """Rate the conversation by the rules; submit (and maybe acknowledge) unless it is a draft."""
        conversation, reviewer = plan.conversation, plan.reviewer
        assessment = rules.assess(transcript, plan.agent_external_id)
        review = review_service.start_review(self.session, actor=reviewer, conversation_id=conversation.id,
                                             scorecard_id=self.version.scorecard_id)
        review_id: int = review.id  # type: ignore[assignment]
        seed = (conversation.source, conversation.external_id)
        findings = assessment.findings
        if plan.draft:
            findings = findings[: 1 + int(rules.stable_fraction("draft", *seed) * (len(findings) - 1))]
        for finding in findings:
            review_service.rate(self.session, actor=reviewer, review_id=review_id,
                                criterion_key=finding.key, option_label=finding.label,
                                comment=finding.comment, root_cause=finding.root_cause)
        if plan.draft:
            started = self.now - timedelta(hours=2 + 40 * rules.stable_fraction("started", *seed))
            self.written.append(_Written(review_id, started, None, None))
            return
        for index, body in _pins(assessment, seed):
            review_service.add_message_comment(self.session, actor=reviewer, review_id=review_id,
                                               message_id=transcript[index].id, body=body)
        spent = _time_spent(len(transcript), seed)
        review_service.submit_review(self.session, actor=reviewer, review_id=review_id,
                                     comment=assessment.comment, time_spent_seconds=spent)
        self.written.append(self._dated(review_id, conversation, spent, seed))

    def _dated(self, review_id: int, conversation: Conversation, spent: int,
               seed: tuple[str, str]) -> _Written:
        """Submitted a few hours to days after the conversation ended; maybe acknowledged later."""
        base = max(_ended(conversation), self.now - timedelta(weeks=REVIEW_WEEKS))
        room = self.now - timedelta(minutes=10) - base
        submitted = base + min(room, timedelta(hours=1 + 72 * rules.stable_fraction("submit", *seed)))
        created = submitted - timedelta(seconds=spent + 60)
        acknowledged = None
        agent_user = self.agent_users.get(conversation.agent_id or -1)
        wait = timedelta(minutes=30 + 48 * 60 * rules.stable_fraction("ack-wait", *seed))
        if agent_user is not None and rules.stable_fraction("ack", *seed) < ACKNOWLEDGED_SHARE \
                and submitted + wait < self.now:
            review_service.acknowledge_review(self.session, actor=agent_user, review_id=review_id)
            acknowledged = submitted + wait
        return _Written(review_id, created, submitted, acknowledged)

    def backdate(self) -> None:
        """Give reviews, their pinned comments and audit rows the times they would have had."""
        if not self.written:
            return
        by_id = {w.review_id: w for w in self.written}
        for review in self.session.exec(select(Review).where(col(Review.id).in_(by_id))):
            when = by_id[review.id]  # type: ignore[index]
            review.created_at = when.created_at
            review.updated_at = when.submitted_at or when.created_at + timedelta(minutes=5)
            review.submitted_at = when.submitted_at
            review.acknowledged_at = when.acknowledged_at
        pinned = select(MessageComment).where(col(MessageComment.review_id).in_(by_id))
        for comment in self.session.exec(pinned):
            comment.created_at = by_id[comment.review_id].created_at + timedelta(seconds=30)
        audited = select(AuditLog).where(AuditLog.entity == "review", col(AuditLog.entity_id).in_(by_id))
        for row in self.session.exec(audited):
            when = by_id[row.entity_id]  # type: ignore[index]
            row.at = _audit_time(row.action, when)
            if row.action == "review.acknowledge" and when.acknowledged_at and row.after:
                row.after = {**row.after, "acknowledged_at": when.acknowledged_at.isoformat()}
        self.session.flush()


def _audit_time(action: str, when: _Written) -> datetime:
    if "acknowledg" in action and when.acknowledged_at:
        return when.acknowledged_at
    if "submit" in action and when.submitted_at:
        return when.submitted_at
    return when.created_at + timedelta(seconds=30)


def _pins(assessment: rules.Assessment, seed: tuple[str, str]) -> list[tuple[int, str]]:
    """(message index, comment) to pin: always for a Poor tone, otherwise on about PIN_SHARE of reviews."""
    pinnable = [f for f in assessment.findings if f.pin and f.message_index is not None]
    chosen = [f for f in pinnable if f.key == "tone" and f.label == "Poor"]
    if not chosen and pinnable and rules.stable_fraction("pin", *seed) < PIN_SHARE:
        # A missing greeting is pinnable in most IRC threads; prefer what is particular to this one.
        choices = [f for f in pinnable if f.key != "greeting"] or pinnable
        chosen = [choices[int(rules.stable_fraction("which-pin", *seed) * len(choices))]]
    return [(f.message_index, f.pin) for f in chosen if f.message_index is not None and f.pin]


def _time_spent(message_count: int, seed: tuple[str, str]) -> int:
    """Reading time grows with the transcript: about 2 minutes plus 20 seconds a message, give or take."""
    base = min(120 + 20 * message_count, 1500)
    return int(base * (0.7 + 0.6 * rules.stable_fraction("spent", *seed)))
