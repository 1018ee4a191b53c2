"""The agent feedback report: one agent's quality over a period, beside their team's, in SQL.

Built on qa.reporting.stats, so the rules of its docstring hold here (submitted manual reviews only,
a review's day is its UTC submitted day, team = the conversation's team, criteria matched by key).

Decisions:

- **Who may open whose report** (`report_agent`): an agent only their own (any other id is 404, as
  for an unknown id); managers and reviewers the agents whose team (`Agent.team_id`) is one of
  theirs (all agents when they are linked to no team); admins everyone. The agent's figures are
  then taken with the viewer's own scope (`stats.report_filter`), so the drill-down list of every
  number shows exactly the reviews behind it.
- **The team figures** are over the team's conversations (`Slice.team_id = Agent.team_id`), the
  agent's own reviews included, as "the team average" usually means. An agent sees them as
  aggregates only: for an agent viewer they are computed in the organisation's scope restricted to
  the team, and are not linked to a list of the team's reviews (the agent may not see those).
- **Change** = IQS minus the IQS of the period of equal length just before (`Slice.previous`);
  none when either period has no score.
- **Strongest and weakest criteria**: among the criteria the agent has at least `MIN_RATINGS`
  rated (non-N/A) answers on and the team has a mean for, the (up to) two with the largest
  positive gap agent − team are the strongest, the two with the largest negative gap the weakest.
  A gap under `MIN_GAP` points is not called out. When there is no team figure at all (an agent
  without a team), the highest and lowest means stand in for the gaps.
- **Root causes** are counted over ratings with an option (a cause explains a rating given;
  N/A has none), grouped by criterion key and cause, most frequent first; so the drill-down
  (criterion + root cause) lists exactly that many reviews.
- **Comments**: review comments and per-criterion rating comments, newest review first, the
  reviewer named as org_settings.reviewer_label tells (agents may see "QA team").
- **Periods**: presets (last 7/30/90 days ending today, this month, last month, this quarter) or
  custom dates; the default is the last 30 days ending today (UTC). Explicit dates win over a preset.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import String, func, literal, union_all
from sqlalchemy import select as select_rows
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from qa import org_settings
from qa.auth import scope
from qa.errors import InvalidInput, NotFound
from qa.models import Agent, Conversation, Criterion, Rating, Review, Role, Team, User
from qa.reporting import stats
from qa.reporting.stats import EMPTY, CriterionMean, Quality, Slice
from qa.spreadsheet import spreadsheet_safe
from scorecards import format_score

MIN_RATINGS = 2  # a criterion needs this many rated answers of the agent to be called out
MIN_GAP = 0.05  # points: a smaller gap to the team is "the same", not a strength or a weakness
CALL_OUTS = 2  # strongest and weakest criteria shown
TOP_ROOT_CAUSES = 5
CRITICAL_LIST = 20
COMMENTS = 8

PRESETS: dict[str, str] = {
    "last7": "Last 7 days",
    "last30": "Last 30 days",
    "last90": "Last 90 days",
    "this_month": "This month",
    "last_month": "Last month",
    "this_quarter": "This quarter",
}
DEFAULT_PRESET = "last30"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FULL_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")


# ---------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The report's days (inclusive, UTC) and the preset that chose them, if any."""

    start: date
    end: date
    preset: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        """The days in words: "1–30 Nov 2026"."""
        return format_range(self.start, self.end)

    @property
    def phrase(self) -> str:
        """The period in a sentence: "over the last 30 days", "in October 2026", "from 1 to 9 Nov 2026"."""
        if self.preset in ("last7", "last30", "last90"):
            return f"over the last {self.days} days"
        if self.preset == "last_month":
            return f"in {FULL_MONTHS[self.start.month - 1]} {self.start.year}"
        if self.preset == "this_month":
            return f"so far in {FULL_MONTHS[self.start.month - 1]} {self.start.year}"
        if self.preset == "this_quarter":
            return f"so far this quarter (Q{(self.start.month - 1) // 3 + 1} {self.start.year})"
        if self.start == self.end:
            return f"on {format_day(self.start)}"
        return f"from {format_range(self.start, self.end, joiner=' to ')}"


def today_utc() -> date:
    """Today's date in UTC, the calendar every report uses."""
    return datetime.now(UTC).date()


def format_day(day: date) -> str:
    """7 Nov 2026."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def format_range(start: date, end: date, joiner: str = "–") -> str:
    """1–30 Nov 2026, 28 Oct – 3 Nov 2026, 30 Dec 2025 – 5 Jan 2026 (shortest unambiguous form)."""
    if start == end:
        return format_day(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}{joiner}{format_day(end)}"
    spaced = joiner if joiner.startswith(" ") else f" {joiner} "
    if start.year == end.year:
        return f"{start.day} {MONTHS[start.month - 1]}{spaced}{format_day(end)}"
    return f"{format_day(start)}{spaced}{format_day(end)}"


def preset_period(preset: str, today: date) -> Period:
    """The days of a named preset, ending today (or in the month/quarter before)."""
    if preset in ("last7", "last30", "last90"):
        days = int(preset[4:])
        return Period(today - timedelta(days=days - 1), today, preset)
    if preset == "this_month":
        return Period(today.replace(day=1), today, preset)
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return Period(last.replace(day=1), last, preset)
    if preset == "this_quarter":
        return Period(date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today, preset)
    raise InvalidInput(f"Unknown period {preset[:40]!r}; choose one of: {', '.join(PRESETS)}.",
                       field="period")


def parse_day(value: str, field: str) -> date:
    """A YYYY-MM-DD date, or InvalidInput naming the field."""
    text = value.strip()
    try:
        if len(text) != 10:
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        shown = text[:40].replace("\x00", "")
        raise InvalidInput(f"{field.title()} date {shown!r} is not a date (use YYYY-MM-DD).",
                           field=field) from None
    if not 1900 <= day.year <= 9000:
        raise InvalidInput(f"{field.title()} date {text} is out of range.", field=field)
    return day


def resolve_period(params: Mapping[str, str], today: date | None = None) -> Period:
    """The period the query asks for: start/end (both), else a preset (`period`), else the last 30 days."""
    today = today or today_utc()
    start, end = (params.get("start") or "").strip(), (params.get("end") or "").strip()
    if start or end:
        if not (start and end):
            raise InvalidInput("Give both a start and an end date, or choose a period.",
                               field="end" if start else "start")
        first, last = parse_day(start, "start"), parse_day(end, "end")
        Slice(first, last)  # checks the order and the length (InvalidInput)
        preset = next((name for name in PRESETS if preset_period(name, today) == Period(first, last, name)),
                      None)
        return Period(first, last, preset)
    return preset_period((params.get("period") or DEFAULT_PRESET).strip(), today)


# ---------------------------------------------------------------------------------------------
# The report's data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentInfo:
    """The agent the report is about."""

    id: int
    name: str
    team_id: int | None
    team_name: str | None


@dataclass(frozen=True)
class WeekPoint:
    """One week of the trend: its Monday, its days inside the period, the agent's and the team's IQS."""

    week: date
    start: date
    end: date
    agent: Quality
    team: Quality | None

    @property
    def label(self) -> str:
        """The week's Monday, short: "2 Nov"."""
        return f"{self.week.day} {MONTHS[self.week.month - 1]}"


@dataclass(frozen=True)
class CriterionRow:
    """One criterion (by key): the agent's mean and count beside the team's."""

    key: str
    name: str
    mean: float | None
    n: int
    team_mean: float | None
    team_n: int

    @property
    def gap(self) -> float | None:
        """Agent mean minus team mean, in points."""
        if self.mean is None or self.team_mean is None:
            return None
        return self.mean - self.team_mean


@dataclass(frozen=True)
class RootCause:
    """How often a root cause was given on a criterion."""

    criterion_key: str
    criterion_name: str
    cause: str
    count: int


@dataclass(frozen=True)
class CriticalFail:
    """A review that failed on a critical criterion, and the rating that failed it."""

    review_id: int
    submitted_at: datetime
    subject: str
    criterion_key: str
    criterion_name: str
    option_label: str | None


@dataclass(frozen=True)
class Comment:
    """A reviewer's comment on a review (criterion None) or on one criterion's rating."""

    review_id: int
    submitted_at: datetime
    reviewer: str
    criterion_key: str | None
    criterion_name: str | None
    text: str


@dataclass(frozen=True)
class AgentReport:
    """Everything the report page, CSV, PDF and API show."""

    agent: AgentInfo
    period: Period
    quality: Quality
    previous: Quality
    team: Quality | None  # None: the agent has no team
    weekly: list[WeekPoint]
    criteria: list[CriterionRow]
    strongest: list[CriterionRow]
    weakest: list[CriterionRow]
    root_causes: list[RootCause]
    critical_fails: list[CriticalFail]
    comments: list[Comment]
    team_linked: bool  # whether the viewer may open the list of the team's reviews
    openable: frozenset[int]  # the listed reviews (critical fails, comments) the viewer may open

    @property
    def iqs(self) -> float | None:
        return self.quality.iqs

    @property
    def change(self) -> float | None:
        """IQS minus the previous period's IQS."""
        if self.quality.iqs is None or self.previous.iqs is None:
            return None
        return self.quality.iqs - self.previous.iqs

    @property
    def team_iqs(self) -> float | None:
        return self.team.iqs if self.team else None

    @property
    def previous_period(self) -> Period:
        piece = Slice(self.period.start, self.period.end).previous()
        return Period(piece.start, piece.end)


def report_agent(session: Session, actor: User, agent_id: Any) -> Agent:
    """The agent whose report `actor` may open; NotFound for unknown ids and other people's agents alike."""
    agent = session.get(Agent, scope.as_id(agent_id))
    if agent is None or not may_report_on(session, actor, agent):
        raise NotFound(f"Agent {str(agent_id)[:20]} not found.")
    return agent


def may_report_on(session: Session, actor: User, agent: Agent) -> bool:
    """Agents: themselves; managers and reviewers: agents of their teams (or all); admins: all."""
    if actor.role is Role.admin:
        return True
    if actor.role is Role.agent:
        return actor.agent_id is not None and actor.agent_id == agent.id
    teams = scope.team_ids(session, actor)
    return not teams or agent.team_id in teams


def _team_viewer(actor: User) -> User:
    """Whose scope the team figures are taken in: the actor's, but the organisation's for an agent,
    whose own scope holds only their reviews (the team slice still limits them to the team)."""
    if actor.role is not Role.agent:
        return actor
    return User(id=None, email="", name="team figures", role=Role.admin, password_hash="")


def agent_report(session: Session, *, actor: User, agent_id: Any, start: date, end: date,
                 preset: str | None = None) -> AgentReport:
    """The feedback report of one agent over start..end (inclusive, UTC days)."""
    agent = report_agent(session, actor, agent_id)
    piece = Slice(start, end, agent_id=agent.id)
    team_name = session.get(Team, agent.team_id).name if agent.team_id else None  # type: ignore[union-attr]
    info = AgentInfo(agent.id or 0, agent.name, agent.team_id, team_name)
    team_piece = Slice(start, end, team_id=agent.team_id) if agent.team_id else None
    team_actor = _team_viewer(actor)
    mine = stats.quality(session, actor, piece).get(None, EMPTY)
    team = stats.quality(session, team_actor, team_piece).get(None, EMPTY) if team_piece else None
    criteria = _criteria(session, actor, team_actor, piece, team_piece)
    strongest, weakest = call_outs(criteria, has_team=team_piece is not None)
    fails, comments = _critical_fails(session, actor, piece), _comments(session, actor, piece)
    return AgentReport(
        agent=info,
        period=Period(start, end, preset),
        quality=mine,
        previous=stats.quality(session, actor, piece.previous()).get(None, EMPTY),
        team=team,
        weekly=_weekly(session, actor, team_actor, piece, team_piece),
        criteria=criteria,
        strongest=strongest,
        weakest=weakest,
        root_causes=_root_causes(session, actor, piece),
        critical_fails=fails,
        comments=comments,
        team_linked=actor.role is not Role.agent,
        openable=openable_reviews(
            session, actor, [f.review_id for f in fails] + [c.review_id for c in comments]),
    )


def openable_reviews(session: Session, actor: User, ids: list[int]) -> frozenset[int]:
    """Which of these reviews the actor may open on the review page (the one rule, qa.auth.scope):
    a reviewer may aggregate a team's reviews but opens only the ones they wrote."""
    if not ids:
        return frozenset()
    query = select_rows(col(Review.id)).where(scope.review_filter(session, actor),
                                              col(Review.id).in_(sorted(set(ids))))
    return frozenset(session.execute(query).scalars())


def _weekly(session: Session, actor: User, team_actor: User, piece: Slice,
            team_piece: Slice | None) -> list[WeekPoint]:
    """Every week the period touches, oldest first; weeks without reviews have empty figures."""
    mine = stats.quality(session, actor, piece, by=("week",))
    team = stats.quality(session, team_actor, team_piece, by=("week",)) if team_piece else {}
    points = []
    for monday in stats.weeks(piece):
        first, last = max(monday, piece.start), min(monday + timedelta(days=6), piece.end)
        points.append(WeekPoint(monday, first, last, mine.get(monday, EMPTY),
                                team.get(monday, EMPTY) if team_piece else None))
    return points


def _criteria(session: Session, actor: User, team_actor: User, piece: Slice,
              team_piece: Slice | None) -> list[CriterionRow]:
    """The agent's criteria (matched by key), in scorecard order, with the team's mean beside each."""
    mine: dict[str, CriterionMean] = stats.criteria(session, actor, piece).get(None, {})
    team: dict[str, CriterionMean] = (
        stats.criteria(session, team_actor, team_piece).get(None, {}) if team_piece else {})
    keys = list(mine)
    names = stats.criterion_names(session, keys)
    rows = []
    for key in stats.criterion_order(session, keys):
        ours, theirs = mine[key], team.get(key, CriterionMean(0, None))
        rows.append(CriterionRow(key, names.get(key, key), ours.mean, ours.n, theirs.mean, theirs.n))
    return rows


def call_outs(rows: list[CriterionRow], *, has_team: bool) -> tuple[list[CriterionRow], list[CriterionRow]]:
    """The strongest and weakest criteria (see the module docstring for the rule)."""
    eligible = [r for r in rows if r.n >= MIN_RATINGS and r.mean is not None]
    if has_team:
        gaps = [(r.gap, r) for r in eligible if r.gap is not None]
        strong = sorted((g, r.key, r) for g, r in gaps if g >= MIN_GAP)
        weak = sorted((g, r.key, r) for g, r in gaps if g <= -MIN_GAP)
        return [r for _, _, r in reversed(strong[-CALL_OUTS:])], [r for _, _, r in weak[:CALL_OUTS]]
    ranked = sorted(((r.mean or 0.0), r.key, r) for r in eligible)
    if len(ranked) < 2:
        return [], []
    count = min(CALL_OUTS, len(ranked) // 2)
    return [r for _, _, r in reversed(ranked[-count:])], [r for _, _, r in ranked[:count]]


def _root_causes(session: Session, actor: User, piece: Slice) -> list[RootCause]:
    """The most frequent (criterion, root cause) pairs, counted in SQL."""
    count = func.count(col(Rating.id))
    query = (
        stats.reviews_of(session, actor, piece, col(Rating.criterion_key), col(Rating.root_cause), count)
        .join(Rating, col(Rating.review_id) == col(Review.id))
        .where(col(Rating.root_cause).is_not(None), col(Rating.root_cause) != "",
               col(Rating.option_score).is_not(None))
        .group_by(col(Rating.criterion_key), col(Rating.root_cause))
        .order_by(count.desc(), col(Rating.criterion_key), col(Rating.root_cause))
        .limit(TOP_ROOT_CAUSES)
    )
    found = session.execute(query).all()
    names = stats.criterion_names(session, [row[0] for row in found])
    return [RootCause(key, names.get(key, key), cause, int(n)) for key, cause, n in found]


def _critical_fails(session: Session, actor: User, piece: Slice) -> list[CriticalFail]:
    """The critically failed reviews, newest first, each with the critical rating(s) that failed it."""
    query = (
        stats.reviews_of(session, actor, piece, col(Review.id), col(Review.submitted_at),
                         col(Conversation.subject), col(Rating.criterion_key), col(Rating.option_label))
        .join(Rating, col(Rating.review_id) == col(Review.id))
        .join(Criterion, col(Criterion.id) == col(Rating.criterion_id))
        .where(col(Review.failed_critical).is_(True), col(Criterion.critical).is_(True),
               col(Rating.option_score) < col(Criterion.fail_below))
        .order_by(col(Review.submitted_at).desc(), col(Review.id).desc(), col(Criterion.position))
        .limit(CRITICAL_LIST)
    )
    found = session.execute(query).all()
    names = stats.criterion_names(session, [row[3] for row in found])
    return [CriticalFail(rid, at, subject or f"Conversation of review {rid}", key, names.get(key, key), label)
            for rid, at, subject, key, label in found]


def _comments(session: Session, actor: User, piece: Slice) -> list[Comment]:
    """The newest review and rating comments (one UNION query), reviewers named as the actor may see."""
    reviewer = aliased(User)
    on_review = (
        stats.reviews_of(session, actor, piece, col(Review.id).label("review_id"),
                         col(Review.submitted_at).label("at"), col(reviewer.name).label("reviewer"),
                         literal(None, String).label("criterion_key"), col(Review.comment).label("text"))
        .join(reviewer, col(reviewer.id) == col(Review.reviewer_id))
        .where(col(Review.comment) != "")
    )
    on_rating = (
        stats.reviews_of(session, actor, piece, col(Review.id), col(Review.submitted_at), col(reviewer.name),
                         col(Rating.criterion_key), col(Rating.comment))
        .join(reviewer, col(reviewer.id) == col(Review.reviewer_id))
        .join(Rating, col(Rating.review_id) == col(Review.id))
        .where(col(Rating.comment) != "")
    )
    both = union_all(on_review, on_rating).subquery()
    newest_first = (both.c.at.desc(), both.c.review_id.desc(), both.c.criterion_key.is_not(None),
                    both.c.criterion_key)  # the review's own comment before its criteria's
    query = select_rows(both).order_by(*newest_first).limit(COMMENTS)
    found = session.execute(query).all()
    names = stats.criterion_names(session, [row.criterion_key for row in found if row.criterion_key])
    labels = {name: org_settings.reviewer_label(session, actor, name)
              for name in {row.reviewer for row in found}}
    return [Comment(row.review_id, row.at, labels[row.reviewer], row.criterion_key,
                    names.get(row.criterion_key, row.criterion_key) if row.criterion_key else None, row.text)
            for row in found]


# ---------------------------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------------------------


def summary_sentence(report: AgentReport, *, own: bool) -> str:
    """The report in one plain sentence, e.g. "Your quality score was 84.2 over the last 30 days, up 3.1
    from the 30 days before; your team's was 80.0."."""
    who = "Your" if own else f"{report.agent.name}'s"
    period, q = report.period, report.quality
    if q.reviews == 0:
        subject = "You have" if own else f"{report.agent.name} has"
        return f"{subject} no reviews {period.phrase}." + _team_clause(report, own=own, sentence=True)
    if report.iqs is None:
        verb = "has" if q.reviews == 1 else "have"
        return (f"{who} {q.reviews} review{_s(q.reviews)} {period.phrase} {verb} no score "
                "(every criterion was N/A)." + _team_clause(report, own=own, sentence=True))
    before = f"the {period.days} day{_s(period.days)} before"
    change = report.change
    if change is None:
        trend = f", with no scored reviews in {before} to compare with"
    elif format_score(abs(change)) == "0.0":
        trend = f", about the same as in {before}"
    else:
        trend = f", {'up' if change > 0 else 'down'} {format_score(abs(change))} from {before}"
    return (f"{who} quality score was {format_score(report.iqs)} {period.phrase}{trend}"
            + (_team_clause(report, own=own, sentence=False) or "."))


def _team_clause(report: AgentReport, *, own: bool, sentence: bool) -> str:
    """The team's figure, as a sentence of its own or as the end of the summary's."""
    if report.team is None:
        return ""
    team = "your team" if own else f"the {report.agent.team_name} team"
    if report.team_iqs is None:
        text = f"{team} has no scored reviews in this period"
    else:
        text = f"{team}'s {'quality score ' if sentence else ''}was {format_score(report.team_iqs)}"
    return f" {text[0].upper()}{text[1:]}." if sentence else f"; {text}."


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def call_out_reason(row: CriterionRow, *, has_team: bool) -> str:
    """Why a criterion is called out, in words: "+12.0 vs the team (8 ratings)"."""
    if has_team and row.gap is not None:
        sign = "+" if row.gap > 0 else "−"
        return f"{sign}{format_score(abs(row.gap))} vs the team ({row.n} rating{_s(row.n)})"
    return f"average {format_score(row.mean)} ({row.n} rating{_s(row.n)})"


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------


def _num(value: float | None, places: int = 2) -> str:
    return "" if value is None else f"{value:.{places}f}"


def report_csv(report: AgentReport) -> str:
    """The report as CSV: sections (summary, weekly trend, criteria, root causes, critical fails),
    each a title line, a header and its rows, separated by a blank line. Text cells are guarded
    against spreadsheet formulas (qa.spreadsheet)."""
    out = io.StringIO()
    writer = csv.writer(out)
    safe = spreadsheet_safe
    agent, q, team = report.agent, report.quality, report.team
    prev = report.previous_period
    writer.writerows([
        ["Summary"], ["metric", "value"],
        ["agent", safe(agent.name)], ["agent_id", agent.id], ["team", safe(agent.team_name or "")],
        ["start", report.period.start.isoformat()], ["end", report.period.end.isoformat()],
        ["iqs", _num(q.iqs)], ["reviews", q.reviews], ["scored_reviews", q.scored],
        ["pass_rate", _num(q.pass_rate)], ["passed", q.passed], ["judged", q.judged],
        ["critical_fails", q.critical_fails],
        ["previous_start", prev.start.isoformat()], ["previous_end", prev.end.isoformat()],
        ["previous_iqs", _num(report.previous.iqs)], ["change", _num(report.change)],
        ["team_iqs", _num(team.iqs if team else None)], ["team_reviews", team.reviews if team else ""],
        [],
        ["Weekly trend"], ["week", "start", "end", "iqs", "reviews", "team_iqs", "team_reviews"],
    ])
    for w in report.weekly:
        team_cells = [_num(w.team.iqs), w.team.reviews] if w.team else ["", ""]
        writer.writerow([w.week.isoformat(), w.start.isoformat(), w.end.isoformat(), _num(w.agent.iqs),
                         w.agent.reviews, *team_cells])
    strong, weak = {r.key for r in report.strongest}, {r.key for r in report.weakest}
    writer.writerows([[], ["Criteria"],
                      ["criterion", "name", "mean", "n", "team_mean", "team_n", "gap", "call_out"]])
    for c in report.criteria:
        mark = "strongest" if c.key in strong else "weakest" if c.key in weak else ""
        writer.writerow([safe(c.key), safe(c.name), _num(c.mean), c.n, _num(c.team_mean), c.team_n,
                         _num(c.gap), mark])
    writer.writerows([[], ["Root causes"], ["criterion", "name", "root_cause", "count"]])
    writer.writerows([safe(r.criterion_key), safe(r.criterion_name), safe(r.cause), r.count]
                     for r in report.root_causes)
    writer.writerows([[], ["Critical fails"],
                      ["review_id", "submitted_at", "conversation", "criterion", "name", "rating"]])
    writer.writerows([f.review_id, f.submitted_at.strftime("%Y-%m-%d %H:%M"), safe(f.subject),
                      safe(f.criterion_key), safe(f.criterion_name), safe(f.option_label or "")]
                     for f in report.critical_fails)
    return out.getvalue()


def export_filename(report: AgentReport, extension: str) -> str:
    """A download name that says what is in the file: agent-7-report-2026-11-01-to-2026-11-30.csv."""
    return f"agent-{report.agent.id}-report-{report.period.start}-to-{report.period.end}.{extension}"
