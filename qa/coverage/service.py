"""Coverage and confidence: per agent and period, how much was reviewed and how sure the score is.

Decisions (the page's explanation box says the same in plain words):

- **Which period a review belongs to**: its conversation's. A conversation counts in the period of
  its `created_at` (a UTC day), and so do its reviews, whenever they were written. Coverage is
  then the share of that period's conversations that were reviewed, and those conversations are
  the population N of the finite population correction (sampling.confidence).
- **What is counted**: handled = the agent's conversations (Conversation.agent_id) in the period;
  reviewed = those with at least one submitted manual review; reviews = the submitted manual
  reviews of them. Drafts, calibration and auto reviews never count (PRODUCT.md §3). Reviews are
  grouped by their conversation's agent, not Review.agent_id, so reviewed ⊆ handled always holds.
  Conversations without an agent are left out of the rows and counted in `without_agent`.
- **The unit of the sample is the conversation**: a conversation scored by two reviewers counts
  once, with the mean of its scores, so n never exceeds N and two reviews of one conversation are
  not taken for two independent draws. The score shown is the mean of these per-conversation
  scores; when each conversation has one review (the sampler never assigns one twice, and a
  reviewer has one review per conversation) it is exactly the IQS of PRODUCT.md §3. Reviews with
  an empty score (every criterion N/A) count as reviewed but not in n.
- **Totals row**: the period's agents pooled, as one sample of all their conversations (N = all
  handled). With per-agent quotas that is not a simple random sample of the team (small agents are
  over-represented), so the total's interval is a rough guide; the per-agent rows are the point.
- **Buckets**: weeks run Monday to Sunday (ISO), months are calendar months, "all" is the whole
  range; the first and last bucket are clipped to the range. A report holds at most MAX_BUCKETS
  periods, so a page stays readable (a longer range asks for a longer period).
- **Aggregation is in SQL**: one grouped query for handled counts (with agent names) and one for
  review statistics (count, sum, sum of squares per agent and bucket), whatever the number of
  agents. Buckets are computed in SQL with each backend's date functions (SQLite `date()`
  modifiers, PostgreSQL `date_trunc`); timestamps are stored as naive UTC on both (UTCDateTime).
- **Who sees what**: qa.auth.scope.conversation_filter, so managers see their teams (or all),
  reviewers the teams they review (or all), admins everything; agents are refused (their own
  figures are on My feedback). An unknown team and a team outside the actor's are both NotFound.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, NamedTuple

from sqlalchemy import ColumnElement, Date, func
from sqlalchemy import cast as sql_cast
from sqlalchemy import select as select_rows
from sqlmodel import Session, col, select

from qa.auth import scope
from qa.errors import Forbidden, InvalidInput, NotFound
from qa.models import Agent, Conversation, Review, ReviewKind, ReviewStatus, Role, Team, User, utcnow
from qa.spreadsheet import spreadsheet_safe
from sampling.confidence import DEFAULT_CONFIDENCE, DEFAULT_TARGET, margin_of_error, reviews_needed, sample_sd

Period = Literal["week", "month", "all"]
PERIODS: tuple[Period, ...] = ("week", "month", "all")
DEFAULT_PERIOD: Period = "week"
DEFAULT_WEEKS = 4
MAX_BUCKETS = 60  # a year and a bit of weeks, five years of months
MIN_YEAR, MAX_YEAR = 1900, 9000
TARGET = DEFAULT_TARGET
CONFIDENCE = DEFAULT_CONFIDENCE


# ---------------------------------------------------------------------------------------------
# Plain data handed to pages, the CSV and the API
# ---------------------------------------------------------------------------------------------


class TeamChoice(NamedTuple):
    """A team the actor may pick in the filter bar."""

    id: int
    name: str


@dataclass(frozen=True)
class CoverageQuery:
    """The report's parameters, parsed and checked."""

    start: date
    end: date  # inclusive
    team_id: int | None = None
    period: Period = DEFAULT_PERIOD


@dataclass(frozen=True)
class Sums:
    """Additive counts and sums of one agent-period, from which every figure follows."""

    handled: int = 0
    reviewed: int = 0
    reviews: int = 0
    scored: int = 0
    total: float = 0.0
    total_squares: float = 0.0

    def __add__(self, other: Sums) -> Sums:
        return Sums(self.handled + other.handled, self.reviewed + other.reviewed,
                    self.reviews + other.reviews, self.scored + other.scored,
                    self.total + other.total, self.total_squares + other.total_squares)


@dataclass(frozen=True)
class CoverageRow:
    """One agent in one period (or a period's total, with agent_id None)."""

    agent_id: int | None
    name: str
    handled: int
    reviewed: int
    reviews: int
    scored: int  # n: reviewed conversations with a score
    score: float | None
    sd: float | None
    margin: float | None
    needed: int | None  # more reviewed conversations for a margin ≤ TARGET; None: too few to tell

    @property
    def coverage(self) -> float | None:
        """Reviewed conversations as a percentage of handled ones."""
        return 100.0 * self.reviewed / self.handled if self.handled else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The score's confidence interval, clipped to the 0–100 scale."""
        if self.score is None or self.margin is None:
            return None
        return max(0.0, self.score - self.margin), min(100.0, self.score + self.margin)

    @property
    def status(self) -> Literal["within", "needs", "too_few"]:
        """within: margin ≤ TARGET; needs: more reviews would get there; too_few: n < 2."""
        if self.needed is None:
            return "too_few"
        return "within" if self.needed == 0 else "needs"


@dataclass(frozen=True)
class CoveragePeriod:
    """One bucket of the report: its days (clipped to the range), its agents and their total."""

    kind: Period
    start: date
    end: date
    rows: list[CoverageRow]
    total: CoverageRow

    @property
    def label(self) -> str:
        """A heading: "Week 10 · 2 – 8 Mar 2026", "March 2026" or the range's days."""
        days = day_range(self.start, self.end)
        if self.kind == "week":
            return f"Week {self.start.isocalendar().week} · {days}"
        if self.kind == "month":
            whole = self.start.day == 1 and _next_bucket(self.start, "month") - timedelta(days=1) == self.end
            return f"{self.start:%B %Y}" if whole else f"{self.start:%B %Y} ({days})"
        return days


def day_range(first: date, last: date) -> str:
    """Two days as people write them: "2 – 8 Mar 2026", "23 Feb – 1 Mar 2026", "5 Jan 2026"."""
    if first == last:
        return f"{first.day} {first:%b %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day} – {last.day} {last:%b %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"


@dataclass(frozen=True)
class CoverageReport:
    """The whole report, newest period first."""

    query: CoverageQuery
    team_name: str | None
    periods: list[CoveragePeriod]
    without_agent: int = 0
    target: float = TARGET
    confidence: float = CONFIDENCE
    teams: tuple[TeamChoice, ...] = field(default=())


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------


def default_range(today: date) -> tuple[date, date]:
    """The last DEFAULT_WEEKS complete weeks (Monday to Sunday) before the current one.

    Complete weeks, because the current week's figures are still moving: its conversations are
    still arriving and its reviews not yet written, so its coverage always looks low.
    """
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(weeks=DEFAULT_WEEKS), this_monday - timedelta(days=1)


def parse_query(params: Mapping[str, str], *, today: date | None = None) -> CoverageQuery:
    """The report's parameters from a query string; InvalidInput names the offending field.

    Reads start (or from), end (or to), team and period; empty fields take the defaults: the last
    four complete weeks, all teams, by week.
    """
    first, last = default_range(today or utcnow().date())
    start = _date(params, ("start", "from")) or first
    end = _date(params, ("end", "to")) or last
    period = (params.get("period") or "").strip() or DEFAULT_PERIOD
    if period not in PERIODS:
        raise InvalidInput(f"Unknown period {period[:40]!r}: choose week, month or all.", field="period")
    query = CoverageQuery(start=start, end=end, team_id=_team(params), period=period)
    check_query(query)
    return query


def check_query(query: CoverageQuery) -> None:
    """InvalidInput when the range is reversed or would make too many periods."""
    if query.start > query.end:
        raise InvalidInput(f"The start date ({query.start}) is after the end date ({query.end}).",
                           field="start")
    for day, name in ((query.start, "start"), (query.end, "end")):
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise InvalidInput(f"The {name} date must be between {MIN_YEAR} and {MAX_YEAR}.", field=name)
    if len(bucket_starts(query)) > MAX_BUCKETS:
        raise InvalidInput(f"That range makes more than {MAX_BUCKETS} {query.period}s: choose a shorter "
                           "range or a longer period.", field="period")


def _date(params: Mapping[str, str], names: tuple[str, ...]) -> date | None:
    for name in names:
        raw = (params.get(name) or "").strip()
        if not raw:
            continue
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            day = None
        if day is None or len(raw) != 10 or not MIN_YEAR <= day.year <= MAX_YEAR:
            raise InvalidInput(f"'{raw[:40]}' is not a date between {MIN_YEAR} and {MAX_YEAR} "
                               "(use YYYY-MM-DD).", field=names[0])
        return day
    return None


def _team(params: Mapping[str, str]) -> int | None:
    raw = (params.get("team") or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise NotFound(f"Team {raw[:40]!r} not found.")
    return int(raw)


# ---------------------------------------------------------------------------------------------
# Buckets
# ---------------------------------------------------------------------------------------------


def bucket_start(day: date, period: Period) -> date | None:
    """The first day of the bucket holding `day` (None: the single bucket of "all")."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return None


def _next_bucket(key: date, period: Period) -> date:
    if period == "week":
        return key + timedelta(weeks=1)
    return date(key.year + key.month // 12, key.month % 12 + 1, 1)


def bucket_starts(query: CoverageQuery) -> list[date | None]:
    """Every bucket of the range, oldest first."""
    first = bucket_start(query.start, query.period)
    if first is None:
        return [None]
    keys: list[date | None] = []
    key = first
    while key <= query.end and len(keys) <= MAX_BUCKETS:
        keys.append(key)
        key = _next_bucket(key, query.period)
    return keys


def _bucket_days(key: date | None, query: CoverageQuery) -> tuple[date, date]:
    if key is None:
        return query.start, query.end
    return max(key, query.start), min(_next_bucket(key, query.period) - timedelta(days=1), query.end)


def _bucket_sql(session: Session, period: Period) -> ColumnElement[date] | None:
    """The bucket's first day as a SQL date; each backend spells it differently."""
    created = col(Conversation.created_at)
    if period == "all":
        return None
    if session.get_bind().dialect.name == "sqlite":
        # Naive UTC text: 'weekday 0' moves to the coming Sunday (or stays), -6 days is its Monday.
        modifiers = ("weekday 0", "-6 days") if period == "week" else ("start of month",)
        return func.date(created, *modifiers, type_=Date)
    return sql_cast(func.date_trunc(period, created), Date)


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def coverage(
    session: Session,
    *,
    actor: User,
    start: date,
    end: date,
    team_id: int | None = None,
    period: Period = DEFAULT_PERIOD,
) -> CoverageReport:
    """Per agent and period: handled, reviewed, coverage, score, its margin of error, reviews needed."""
    if actor.role is Role.agent:
        raise Forbidden("Coverage reports are for reviewers, managers and admins; "
                        "your own figures are on My feedback.")
    query = CoverageQuery(start=start, end=end, team_id=team_id, period=period)
    if period not in PERIODS:
        raise InvalidInput(f"Unknown period {period!r}: choose week, month or all.", field="period")
    check_query(query)
    teams = team_choices(session, actor=actor)
    team_name = _team_name(teams, team_id)
    where = _conversation_clauses(session, actor, query)
    bucket = _bucket_sql(session, period)
    names, handled, without_agent = _handled(session, where, bucket)
    reviewed = _reviewed(session, where, bucket)
    periods = _periods(query, names, handled, reviewed)
    return CoverageReport(query=query, team_name=team_name, periods=periods, without_agent=without_agent,
                          teams=teams)


def team_choices(session: Session, *, actor: User) -> tuple[TeamChoice, ...]:
    """The teams the actor may report on, by name (one query, two for a scoped manager or reviewer)."""
    query = select(Team.id, Team.name).order_by(col(Team.name))
    if actor.role is not Role.admin and (allowed := scope.team_ids(session, actor)):
        query = query.where(col(Team.id).in_(allowed))
    return tuple(TeamChoice(id=ident or 0, name=name) for ident, name in session.exec(query))


def _team_name(teams: tuple[TeamChoice, ...], team_id: int | None) -> str | None:
    if team_id is None:
        return None
    for team in teams:
        if team.id == team_id:
            return team.name
    raise NotFound(f"Team {team_id} not found.")


def _conversation_clauses(session: Session, actor: User, query: CoverageQuery) -> list[ColumnElement[bool]]:
    created = col(Conversation.created_at)
    clauses = [scope.conversation_filter(session, actor),
               created >= datetime.combine(query.start, time.min, tzinfo=UTC),
               created < datetime.combine(query.end + timedelta(days=1), time.min, tzinfo=UTC)]
    if query.team_id is not None:
        clauses.append(col(Conversation.team_id) == query.team_id)
    return clauses


Key = tuple[date | None, int]  # (bucket's first day, agent id)


def _bucket_columns(bucket: ColumnElement[date] | None) -> list[Any]:
    return [] if bucket is None else [bucket.label("bucket")]


def _handled(
    session: Session, where: list[ColumnElement[bool]], bucket: ColumnElement[date] | None
) -> tuple[dict[int, str], dict[Key, int], int]:
    """Agent names, handled conversations per (bucket, agent), and how many had no agent."""
    agent = col(Conversation.agent_id)
    buckets = _bucket_columns(bucket)
    query = (select_rows(*buckets, agent.label("agent_id"), col(Agent.name).label("name"),
                    func.count().label("handled"))
             .select_from(Conversation).outerjoin(Agent, col(Agent.id) == agent).where(*where)
             .group_by(*buckets, agent, col(Agent.name)))
    names: dict[int, str] = {}
    handled: dict[Key, int] = {}
    without_agent = 0
    for row in session.execute(query).mappings():
        if row["agent_id"] is None:
            without_agent += int(row["handled"])
            continue
        names[row["agent_id"]] = row["name"] or f"Agent {row['agent_id']}"
        handled[(_as_day(row.get("bucket")), row["agent_id"])] = int(row["handled"])
    return names, handled, without_agent


def _reviewed(
    session: Session, where: list[ColumnElement[bool]], bucket: ColumnElement[date] | None
) -> dict[Key, Sums]:
    """Review statistics per (bucket, agent): each conversation first, then summed over them."""
    agent = col(Conversation.agent_id)
    buckets = _bucket_columns(bucket)
    inner = (
        select_rows(*buckets, agent.label("agent_id"), func.count(col(Review.id)).label("reviews"),
               func.avg(col(Review.score)).label("score"))
        .select_from(Review).join(Conversation, col(Conversation.id) == col(Review.conversation_id))
        .where(*where, agent.is_not(None), col(Review.kind) == ReviewKind.manual,
               col(Review.status) == ReviewStatus.submitted)
        .group_by(*buckets, agent, col(Review.conversation_id))
    ).subquery()
    keys = [inner.c.bucket] if bucket is not None else []
    score = inner.c.score
    query = (select_rows(*keys, inner.c.agent_id, func.count().label("reviewed"),
                    func.sum(inner.c.reviews).label("reviews"), func.count(score).label("scored"),
                    func.sum(score).label("total"), func.sum(score * score).label("squares"))
             .group_by(*keys, inner.c.agent_id))
    found: dict[Key, Sums] = {}
    for row in session.execute(query).mappings():
        found[(_as_day(row.get("bucket")), row["agent_id"])] = Sums(
            reviewed=int(row["reviewed"]), reviews=int(row["reviews"] or 0), scored=int(row["scored"] or 0),
            total=float(row["total"] or 0), total_squares=float(row["squares"] or 0))
    return found


def _as_day(value: Any) -> date | None:
    """A bucket key as a date: PostgreSQL hands back dates, SQLite's typed date() too; be lenient."""
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def _periods(query: CoverageQuery, names: dict[int, str], handled: dict[Key, int],
             reviewed: dict[Key, Sums]) -> list[CoveragePeriod]:
    sums: dict[Key, Sums] = {}
    for key in handled.keys() | reviewed.keys():
        found = reviewed.get(key, Sums())
        # Two statements can see different snapshots (PostgreSQL's READ COMMITTED): keep n ≤ N.
        sums[key] = replace(found, handled=max(handled.get(key, 0), found.reviewed))
    periods = []
    for bucket in reversed(bucket_starts(query)):
        members = sorted(((names.get(agent_id, f"Agent {agent_id}"), agent_id, s)
                          for (day, agent_id), s in sums.items() if day == bucket),
                         key=lambda item: (item[0].casefold(), item[1]))
        rows = [make_row(agent_id, name, s) for name, agent_id, s in members]
        total = make_row(None, "All agents", sum((s for _, _, s in members), Sums()))
        first, last = _bucket_days(bucket, query)
        periods.append(CoveragePeriod(kind=query.period, start=first, end=last, rows=rows, total=total))
    return periods


def make_row(agent_id: int | None, name: str, sums: Sums) -> CoverageRow:
    """The figures of one agent-period from its sums (mean, sd, margin, reviews needed)."""
    n = sums.scored
    sd = sample_sd(n, sums.total, sums.total_squares)
    population = sums.handled if sums.handled >= max(n, 1) else None
    return CoverageRow(
        agent_id=agent_id, name=name, handled=sums.handled, reviewed=sums.reviewed, reviews=sums.reviews,
        scored=n, score=sums.total / n if n else None, sd=sd,
        margin=margin_of_error(n, sd, population=population, confidence=CONFIDENCE),
        needed=reviews_needed(n, sd, population=population, target=TARGET, confidence=CONFIDENCE),
    )


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------

CSV_HEADER = ("period_start", "period_end", "agent_id", "agent", "handled", "reviewed", "coverage_pct",
              "reviews", "scored", "score", "sd", "margin", "low", "high", "more_reviews_for_target")


def report_csv(report: CoverageReport) -> str:
    """The report as CSV, one line per agent-period and one total line per period (agent_id empty).

    Agent names come from the helpdesk, so one that a spreadsheet would read as a formula is
    prefixed with an apostrophe (OWASP's advice on CSV injection, as in the import rejections).
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for period in reversed(report.periods):  # oldest first reads best in a spreadsheet
        writer.writerows(_csv_line(period, row) for row in [*period.rows, period.total])
    return out.getvalue()


def _csv_line(period: CoveragePeriod, row: CoverageRow) -> list[Any]:
    low, high = row.interval or (None, None)
    agent_id = "" if row.agent_id is None else row.agent_id
    return [period.start.isoformat(), period.end.isoformat(), agent_id, spreadsheet_safe(row.name),
            row.handled, row.reviewed, _num(row.coverage), row.reviews, row.scored, _num(row.score),
            _num(row.sd), _num(row.margin), _num(low), _num(high),
            "" if row.needed is None else row.needed]


def _num(value: float | None, places: int = 2) -> str:
    return "" if value is None else f"{value:.{places}f}"


def csv_filename(query: CoverageQuery) -> str:
    """A download name that says what is in the file."""
    return f"coverage-{query.start}-to-{query.end}-by-{query.period}.csv"
