"""The manager dashboard: quality over time, agents, a per-criterion heat map and reviewer statistics.

Every figure comes from grouped SQL queries over the filtered reviews (qa.reporting.stats), a fixed
number per panel whatever the number of agents or reviewers. Decisions (the page's help box says the
same in plain words):

- **Filters** apply to every panel: a date range (presets: the last 7, 30 or 90 days ending today,
  this month or quarter so far, or custom days; default the last 30 days, UTC), a team (the
  conversation's team), a channel and a scorecard (any of its versions). A review belongs to the UTC
  day it was submitted (stats' rule), so a week's number never moves because a conversation is old.
- **Who sees what**: managers and reviewers the teams they are linked to (all when linked to none),
  admins everything, agents nothing (their figures are on their own report). A team outside the
  actor's and an unknown one are both NotFound; so is an unknown scorecard.
- **Quality over time**: IQS per week (Monday to Sunday, the first and last week clipped to the range)
  for the organisation and each team, from one query grouped by (team, week); the organisation's and
  each team's totals are those groups recombined exactly (sums and counts, AVG = sum / count).
- **Change** is the IQS in the range minus the IQS in the period of equal length just before it, in
  points; empty when either has no scored review.
- **Coverage** of an agent = the agent's conversations created in the range that have at least one
  counted review (at any time, within the scorecard filter when one is set), divided by all the
  agent's conversations created in the range — qa/coverage's definition, whose unit is the
  conversation. So coverage's period is the conversation's day while the scores' is the review's:
  an old conversation reviewed this month counts in this month's IQS, not in its coverage.
- **Agents table**: every agent with a counted review or a conversation in the range. It is sorted,
  filtered (name, minimum reviews, IQS below a mark) and paged in Python over those rows: they are
  one row per agent (2,000 at most in practice) built from four grouped queries, never per agent;
  only the page shown is rendered.
- **Heat map**: criteria matched by key across versions and scorecards, ordered as the newest
  version lists them; a cell is the mean option score × 100 over ratings with an option (N/A left
  out) with its count. Rows are teams, or the agents of the chosen team.
- **Leniency** of a reviewer = Σₐ nₐ·(their mean score for agent a − the mean of the other reviewers'
  scores for a) / Σₐ nₐ, over the agents a that at least one other reviewer scored in the same
  slice, nₐ = their scored reviews of a. Positive: they score higher than colleagues scoring the
  same agents. Computed in one statement: per (reviewer, agent) sums and counts, each agent's
  totals beside them (a window function), then "others" = agent total − own. Empty ("not enough
  overlap") when no agent of theirs was scored by someone else.
- **Disputes** of a reviewer: disputes raised against their reviews in the slice (any status), lost
  = accepted ones; dispute rate = their reviews with at least one dispute / their reviews.
- **Cost**: 13 queries for the whole page (4 read the period's reviews: by team and week, by
  agent, by agent in the previous period — which also gives the previous overall figures —, and
  by (agent, reviewer) for the reviewer panel; 1 reads the period's conversations; the heat map
  reads qa.reporting.rollup's daily sums). HTMX requests for the agents table or the heat map
  compute only that panel.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, NamedTuple

from sqlalchemy import Float, Select, func
from sqlalchemy import case as sql_case
from sqlalchemy import cast as sql_cast
from sqlalchemy import select as select_rows
from sqlmodel import Session, col

from qa.auth import scope
from qa.errors import Forbidden, InvalidInput, NotFound
from qa.models import (
    Agent,
    Channel,
    Conversation,
    Dispute,
    DisputeStatus,
    Review,
    Role,
    Scorecard,
    Team,
    User,
    utcnow,
)
from qa.reporting import stats
from qa.reporting.stats import EMPTY, CriterionMean, Quality, Slice
from qa.spreadsheet import spreadsheet_safe

PRESETS: dict[str, str] = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "month": "This month",
    "quarter": "This quarter",
    "custom": "Custom",
}
DEFAULT_PRESET = "30d"
MIN_YEAR, MAX_YEAR = 1900, 9000
CHART_TEAMS = 5  # the chart draws the organisation and the five teams with most reviews; the table all
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
UNPAGED = 2**31

SortKey = Literal["agent", "team", "iqs", "reviews", "change", "pass_rate", "critical_fails", "coverage"]
SORTS: tuple[SortKey, ...] = (
    "agent",
    "team",
    "iqs",
    "reviews",
    "change",
    "pass_rate",
    "critical_fails",
    "coverage",
)
HeatRows = Literal["teams", "agents"]
HEAT_ROWS: tuple[HeatRows, ...] = ("teams", "agents")
PANELS = ("trend", "agents", "criteria", "reviewers")


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------


class Choice(NamedTuple):
    """A team or scorecard the filter bar offers."""

    id: int
    name: str


@dataclass(frozen=True)
class Filters:
    """What every panel is about: days start..end (inclusive, UTC) and optional team/channel/scorecard."""

    start: date
    end: date
    preset: str = DEFAULT_PRESET
    team_id: int | None = None
    channel: str | None = None
    scorecard_id: int | None = None

    def slice(self) -> Slice:
        """The stats slice of these filters."""
        return Slice(
            start=self.start,
            end=self.end,
            team_id=self.team_id,
            channel=self.channel,
            scorecard_id=self.scorecard_id,
        )

    def previous(self) -> Filters:
        """The period of equal length just before, same filters."""
        prev = self.slice().previous()
        return replace(self, start=prev.start, end=prev.end, preset="custom")

    def params(self) -> dict[str, str]:
        """The query string that reproduces these filters (a shareable URL)."""
        out = {"range": self.preset}
        if self.preset == "custom":
            out |= {"start": self.start.isoformat(), "end": self.end.isoformat()}
        return out | self.narrowing()

    def narrowing(self) -> dict[str, str]:
        """The team/channel/scorecard filters that are set, as query parameters."""
        out: dict[str, str] = {}
        if self.team_id is not None:
            out["team"] = str(self.team_id)
        if self.channel:
            out["channel"] = self.channel
        if self.scorecard_id is not None:
            out["scorecard"] = str(self.scorecard_id)
        return out

    def drill(self) -> dict[str, str]:
        """The drill-down parameters of reports:reviews (explicit days, whatever the preset)."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()} | self.narrowing()


@dataclass(frozen=True)
class AgentQuery:
    """How the agents table is sorted, narrowed and paged."""

    sort: SortKey = "iqs"
    descending: bool = False
    search: str = ""
    min_reviews: int = 0
    below: float | None = None  # only agents whose IQS is below this mark
    page: int = 1
    size: int = PAGE_SIZE

    def unpaged(self) -> AgentQuery:
        """The same sort and narrowing, every matching agent on one page (CSV, API)."""
        return replace(self, page=1, size=UNPAGED)

    def params(self, **changes: Any) -> dict[str, str]:
        """Query parameters of this state (with `changes`), defaults left out."""
        query = replace(self, **changes)
        out: dict[str, str] = {}
        if (query.sort, query.descending) != ("iqs", False):
            out |= {"sort": query.sort, "dir": "desc" if query.descending else "asc"}
        if query.search:
            out["q"] = query.search
        if query.min_reviews:
            out["min_reviews"] = str(query.min_reviews)
        if query.below is not None:
            out["below"] = f"{query.below:g}"
        if query.page > 1:
            out["page"] = str(query.page)
        if query.size != PAGE_SIZE:
            out["size"] = str(query.size)
        return out


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """The days a preset covers, ending today (UTC)."""
    if preset in ("7d", "30d", "90d"):
        return today - timedelta(days=int(preset[:-1]) - 1), today
    if preset == "month":
        return today.replace(day=1), today
    if preset == "quarter":
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1), today
    raise InvalidInput(f"Unknown range {preset[:40]!r}: choose one of {', '.join(PRESETS)}.", field="range")


def parse_filters(params: Mapping[str, str], *, today: date | None = None) -> Filters:
    """The dashboard's filters from a query string; InvalidInput (422) names the offending field.

    `range` is a preset (the URL stays right as days pass); start/end (YYYY-MM-DD) without a range,
    or with range=custom, give custom days (a missing end is today, a missing start 29 days before
    the end). The filter form sends both the range and the dates it shows, plus `shown` (the dates
    it showed): dates that differ from `shown` were edited, so they win over the preset. That keeps
    the form working without scripts: changing either control is enough.
    """
    today = today or utcnow().date()
    preset = _text(params, "range")
    start, end = _date(params, "start"), _date(params, "end")
    if preset and preset != "custom" and (start or end):
        shown = _text(params, "shown")
        edited = bool(shown) and shown != f"{start}..{end}"
        preset = "custom" if edited else preset
    if not preset:
        preset = "custom" if start or end else DEFAULT_PRESET
    if preset == "custom":
        end = end or today
        start = start or end - timedelta(days=29)
    else:
        start, end = preset_range(preset, today)
    channel = _text(params, "channel") or None
    if channel is not None and channel not in {c.value for c in Channel}:
        raise InvalidInput(
            f"Unknown channel {channel[:40]!r}: choose one of {', '.join(c.value for c in Channel)}.",
            field="channel",
        )
    filters = Filters(
        start=start,
        end=end,
        preset=preset,
        team_id=_id(params, "team"),
        channel=channel,
        scorecard_id=_id(params, "scorecard"),
    )
    filters.slice()  # checks the range's order and length
    return filters


def parse_agent_query(params: Mapping[str, str]) -> AgentQuery:
    """The agents table's sort, search, narrowing and page from a query string."""
    sort = _text(params, "sort") or "iqs"
    if sort not in SORTS:
        raise InvalidInput(f"Can't sort by {sort[:40]!r}: choose one of {', '.join(SORTS)}.", field="sort")
    direction = _text(params, "dir") or "asc"
    if direction not in ("asc", "desc"):
        raise InvalidInput("The sort direction is asc or desc.", field="dir")
    below = _number(params, "below", 0, 100)
    return AgentQuery(
        sort=sort,
        descending=direction == "desc",
        search=_text(params, "q")[:100],
        min_reviews=int(_number(params, "min_reviews", 0, 10**9) or 0),
        below=below,
        page=int(_number(params, "page", 1, 10**9) or 1),
        size=int(_number(params, "size", 1, MAX_PAGE_SIZE) or PAGE_SIZE),
    )


def parse_heat_rows(params: Mapping[str, str]) -> HeatRows:
    """What the heat map's rows are: teams (default) or the agents of the chosen team."""
    rows = _text(params, "heat") or "teams"
    if rows not in HEAT_ROWS:
        raise InvalidInput("The heat map shows teams or agents.", field="heat")
    return rows


def _text(params: Mapping[str, str], name: str) -> str:
    return (params.get(name) or "").strip()


def _date(params: Mapping[str, str], name: str) -> date | None:
    raw = _text(params, name)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None or not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InvalidInput(
            f"{raw[:40]!r} is not a date between {MIN_YEAR} and {MAX_YEAR} (use YYYY-MM-DD).", field=name
        )
    return day


def _id(params: Mapping[str, str], name: str) -> int | None:
    raw = _text(params, name)
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidInput(f"The {name} filter takes a {name} id, not {raw[:40]!r}.", field=name)
    return scope.as_id(raw)  # NotFound past 32 bits: such an id can't exist


def _number(params: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    raw = _text(params, name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high:  # NaN fails both
        raise InvalidInput(
            f"{name.replace('_', ' ').capitalize()} takes a number from {low:g} to {high:g}, "
            f"not {raw[:40]!r}.",
            field=name,
        )
    return value


# ---------------------------------------------------------------------------------------------
# Choices and checks
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What every panel needs besides the filters: the teams the actor sees and every team's name."""

    actor: User
    filters: Filters
    teams: tuple[Choice, ...]  # the actor's, by name
    team_names: dict[int, str]
    scorecards: tuple[Choice, ...]


def check_actor(actor: User) -> None:
    """Agents may not see the dashboard."""
    if actor.role is Role.agent:
        raise Forbidden(
            "The dashboard is for managers, reviewers and admins; your own figures are on "
            "your feedback report."
        )


Choices = tuple[dict[int, str], tuple[Choice, ...], tuple[Choice, ...]]


def choices(session: Session, *, actor: User) -> Choices:
    """Every team's name, the teams the actor may pick (by name) and the scorecards (two or three queries)."""
    names = {int(i): n for i, n in session.execute(select_rows(col(Team.id), col(Team.name)))}
    allowed = scope.team_ids(session, actor) if actor.role is not Role.admin else []
    teams = tuple(
        sorted(
            (Choice(i, n) for i, n in names.items() if not allowed or i in allowed),
            key=lambda c: (c.name.casefold(), c.id),
        )
    )
    query = select_rows(col(Scorecard.id), col(Scorecard.name)).order_by(
        col(Scorecard.name), col(Scorecard.id)
    )
    return names, teams, tuple(Choice(int(i), n) for i, n in session.execute(query))


def context(session: Session, *, actor: User, filters: Filters) -> Context:
    """The actor's team and scorecard choices; NotFound for a team or scorecard they can't pick."""
    check_actor(actor)
    names, teams, scorecards = choices(session, actor=actor)
    if filters.team_id is not None and filters.team_id not in {t.id for t in teams}:
        raise NotFound(f"Team {filters.team_id} not found.")
    if filters.scorecard_id is not None and filters.scorecard_id not in {s.id for s in scorecards}:
        raise NotFound(f"Scorecard {filters.scorecard_id} not found.")
    return Context(actor=actor, filters=filters, teams=teams, team_names=names, scorecards=scorecards)


def _team_name(ctx: Context, team_id: int | None) -> str:
    return "No team" if team_id is None else ctx.team_names.get(team_id, f"Team {team_id}")


# ---------------------------------------------------------------------------------------------
# Quality over time
# ---------------------------------------------------------------------------------------------


def combine(parts: Iterable[Quality]) -> Quality:
    """Several groups' figures as one group's: sums add up, means are re-weighted by their counts."""
    reviews = scored = passed = judged = fails = 0
    score_sum = seconds_sum = 0.0
    for part in parts:
        reviews += part.reviews
        scored += part.scored
        passed += part.passed
        judged += part.judged
        fails += part.critical_fails
        score_sum += (part.iqs or 0.0) * part.scored
        seconds_sum += (part.avg_seconds or 0.0) * part.reviews
    if not reviews:
        return EMPTY
    return Quality(
        reviews=reviews,
        scored=scored,
        iqs=score_sum / scored if scored else None,
        passed=passed,
        judged=judged,
        critical_fails=fails,
        avg_seconds=seconds_sum / reviews,
    )


@dataclass(frozen=True)
class Week:
    """A week of the trend: its Monday and the days of it inside the range."""

    monday: date
    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start.day} {self.start:%b}"


@dataclass(frozen=True)
class TeamLine:
    """A team (or the whole organisation, team_id None and is_org) over the range and per week."""

    team_id: int | None
    name: str
    total: Quality
    weeks: list[Quality | None]
    is_org: bool = False


@dataclass(frozen=True)
class Overview:
    """Panel 1: the headline figures, the weekly trend for the organisation and each team."""

    overall: Quality
    previous: Quality
    weeks: list[Week]
    org: TeamLine
    teams: list[TeamLine]  # most reviews first

    @property
    def change(self) -> float | None:
        if self.overall.iqs is None or self.previous.iqs is None:
            return None
        return self.overall.iqs - self.previous.iqs

    def lines(self, *, one_team: bool = False) -> list[TeamLine]:
        """The organisation's line, then each team's; with one team chosen, that team's alone (the
        organisation's would be the same line)."""
        return self.teams if one_team else [self.org, *self.teams]

    def chart_series(self, *, one_team: bool = False) -> list[dict[str, Any]]:
        """The trend_chart series: the organisation, then the CHART_TEAMS teams with most reviews."""
        lines = self.lines(one_team=one_team)[: CHART_TEAMS + 1]
        return [
            {
                "name": line.name,
                "class": f"series-{i}",
                "values": [q.iqs if q is not None else None for q in line.weeks],
            }
            for i, line in enumerate(lines)
        ]


def overview(session: Session, ctx: Context, previous: Quality | None = None) -> Overview:
    """Headline figures and weekly IQS for the organisation and per team (two grouped queries; one
    when the previous period's figures are given)."""
    piece = ctx.filters.slice()
    grouped = stats.quality(session, ctx.actor, piece, by=("team", "week"))
    if previous is None:
        previous = stats.quality(session, ctx.actor, piece.previous()).get(None, EMPTY)
    weeks = [
        Week(monday, max(monday, piece.start), min(monday + timedelta(days=6), piece.end))
        for monday in stats.weeks(piece)
    ]
    index = {week.monday: i for i, week in enumerate(weeks)}
    per_team: dict[int | None, list[Quality | None]] = {}
    per_week: list[list[Quality]] = [[] for _ in weeks]
    for (team_id, monday), figures in grouped.items():
        slot = index.get(_as_day(monday))
        if slot is None:
            continue
        per_team.setdefault(team_id, [None] * len(weeks))[slot] = figures
        per_week[slot].append(figures)
    teams = [
        TeamLine(team_id, _team_name(ctx, team_id), combine(q for q in line if q is not None), line)
        for team_id, line in per_team.items()
    ]
    teams.sort(key=lambda t: (-t.total.reviews, t.name.casefold()))
    org_weeks: list[Quality | None] = [combine(found) if found else None for found in per_week]
    org = TeamLine(None, "All teams", combine(t.total for t in teams), org_weeks, is_org=True)
    return Overview(overall=org.total, previous=previous, weeks=weeks, org=org, teams=teams)


def _as_day(value: Any) -> date:
    """A SQL date as a date (SQLite's typed date() and PostgreSQL both give dates; be lenient)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# ---------------------------------------------------------------------------------------------
# Agents
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentRow:
    """One agent's figures in the range."""

    agent_id: int
    name: str
    team_id: int | None
    team: str
    quality: Quality
    previous_iqs: float | None
    handled: int  # conversations created in the range
    reviewed: int  # of those, with a counted review

    @property
    def iqs(self) -> float | None:
        return self.quality.iqs

    @property
    def reviews(self) -> int:
        return self.quality.reviews

    @property
    def pass_rate(self) -> float | None:
        return self.quality.pass_rate

    @property
    def critical_fails(self) -> int:
        return self.quality.critical_fails

    @property
    def change(self) -> float | None:
        if self.quality.iqs is None or self.previous_iqs is None:
            return None
        return self.quality.iqs - self.previous_iqs

    @property
    def coverage(self) -> float | None:
        return 100.0 * self.reviewed / self.handled if self.handled else None


@dataclass(frozen=True)
class AgentsTable:
    """Panel 2: one page of the sorted, narrowed agents (and how many there are in all)."""

    query: AgentQuery
    rows: list[AgentRow]
    matching: int  # agents after the search and narrowing
    total: int  # agents in the range before them

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.matching / self.query.size))


def previous_by_agent(session: Session, ctx: Context) -> dict[int | None, Quality]:
    """The previous period's figures per agent (None: reviews without an agent); combined, they are
    the previous period's overall figures too."""
    return stats.quality(session, ctx.actor, ctx.filters.previous().slice(), by=("agent",))


def agent_rows(
    session: Session, ctx: Context, previous: dict[int | None, Quality] | None = None
) -> list[AgentRow]:
    """Every agent with a counted review or a conversation in the range (four grouped queries)."""
    piece = ctx.filters.slice()
    current = stats.quality(session, ctx.actor, piece, by=("agent",))
    if previous is None:
        previous = previous_by_agent(session, ctx)
    handled = _handled(session, ctx)
    ids = sorted({a for a in current if a is not None} | set(handled))
    if not ids:
        return []
    people = session.execute(
        select_rows(col(Agent.id), col(Agent.name), col(Agent.team_id)).where(col(Agent.id).in_(ids))
    )
    rows = []
    for agent_id, name, team_id in people:
        prev = previous.get(agent_id)
        done, reviewed = handled.get(agent_id, (0, 0))
        rows.append(
            AgentRow(
                agent_id=agent_id,
                name=name,
                team_id=team_id,
                team=_team_name(ctx, team_id),
                quality=current.get(agent_id, EMPTY),
                previous_iqs=prev.iqs if prev else None,
                handled=done,
                reviewed=reviewed,
            )
        )
    return rows


def _handled(session: Session, ctx: Context) -> dict[int, tuple[int, int]]:
    """Per agent: conversations created in the range, and how many of them have a counted review."""
    filters = ctx.filters
    piece = filters.slice()
    review = select_rows(col(Review.id)).where(
        col(Review.conversation_id) == col(Conversation.id), stats.counted()
    )
    if filters.scorecard_id is not None:
        review = review.where(col(Review.scorecard_id) == filters.scorecard_id)
    reviewed = func.sum(sql_case((review.exists(), 1), else_=0))
    created = col(Conversation.created_at)
    query = (
        select_rows(col(Conversation.agent_id), func.count(), reviewed)
        .where(
            scope.conversation_filter(session, ctx.actor),
            col(Conversation.agent_id).is_not(None),
            created >= piece.starts_at(),
            created < piece.ends_before(),
        )
        .group_by(col(Conversation.agent_id))
    )
    if filters.team_id is not None:
        query = query.where(col(Conversation.team_id) == filters.team_id)
    if filters.channel:
        query = query.where(col(Conversation.channel) == filters.channel)
    return {int(agent): (int(n), int(done or 0)) for agent, n, done in session.execute(query)}


def _sort_value(row: AgentRow, key: SortKey) -> Any:
    value: Any = getattr(row, "name" if key == "agent" else key)
    return value.casefold() if isinstance(value, str) else value


def agents_table(rows: Sequence[AgentRow], query: AgentQuery) -> AgentsTable:
    """The rows narrowed by the query, sorted (empty values last either way, then by name) and paged."""
    needle = query.search.casefold()
    chosen = [
        r
        for r in rows
        if (not needle or needle in r.name.casefold())
        and r.reviews >= query.min_reviews
        and (query.below is None or (r.iqs is not None and r.iqs < query.below))
    ]
    chosen.sort(key=lambda r: (r.name.casefold(), r.agent_id))
    present = [r for r in chosen if _sort_value(r, query.sort) is not None]
    missing = [r for r in chosen if _sort_value(r, query.sort) is None]
    present.sort(key=lambda r: _sort_value(r, query.sort), reverse=query.descending)  # stable: ties by name
    ordered = present + missing
    pages = max(1, math.ceil(len(ordered) / query.size))
    query = replace(query, page=min(query.page, pages))
    first = (query.page - 1) * query.size
    return AgentsTable(
        query=query, rows=ordered[first : first + query.size], matching=len(ordered), total=len(rows)
    )


# ---------------------------------------------------------------------------------------------
# Heat map
# ---------------------------------------------------------------------------------------------


class Column(NamedTuple):
    """A criterion column: its key and its name in the newest version that has it."""

    key: str
    name: str


@dataclass(frozen=True)
class HeatRow:
    """A team's or agent's criterion means (the organisation's: key None)."""

    key: int | None
    name: str
    cells: dict[str, CriterionMean]


@dataclass(frozen=True)
class HeatMap:
    """Panel 3: criteria × teams (or × the agents of the chosen team)."""

    by: HeatRows
    columns: list[Column]
    rows: list[HeatRow]
    overall: HeatRow


BANDS: tuple[tuple[float, str, str], ...] = (
    (90.0, "heat-4", "90 and above"),
    (80.0, "heat-3", "80 to 89.9"),
    (70.0, "heat-2", "70 to 79.9"),
    (50.0, "heat-1", "50 to 69.9"),
    (0.0, "heat-0", "below 50"),
)


def band(mean: float | None) -> str:
    """The colour band (CSS class) of a cell's mean; `heat-empty` without ratings."""
    if mean is None:
        return "heat-empty"
    return next(cls for low, cls, _ in BANDS if mean >= low)


def heat_map(session: Session, ctx: Context, rows: HeatRows = "teams") -> HeatMap:
    """Mean score per criterion key for each team (or agent of the chosen team) and for all of them."""
    if rows == "agents" and ctx.filters.team_id is None:
        raise InvalidInput("Choose a team to see its agents in the heat map.", field="heat")
    piece = ctx.filters.slice()
    grouped = stats.criteria(session, ctx.actor, piece, by=("agent" if rows == "agents" else "team",))
    overall = combine_means(grouped.values())
    keys = stats.criterion_order(session, list(overall))
    names = stats.criterion_names(session, keys)
    columns = [Column(key, names.get(key, key)) for key in keys]
    if rows == "agents":
        labels = _agent_names(session, [k for k in grouped if k is not None])
    else:
        labels = {k: _team_name(ctx, k) for k in grouped}
    heat_rows = [HeatRow(key, labels.get(key, f"Agent {key}"), cells) for key, cells in grouped.items()]
    heat_rows.sort(key=lambda r: (r.name.casefold(), r.key or 0))
    return HeatMap(by=rows, columns=columns, rows=heat_rows, overall=HeatRow(None, "All", overall))


def combine_means(groups: Iterable[Mapping[str, CriterionMean]]) -> dict[str, CriterionMean]:
    """Several groups' criterion means as one group's (re-weighted by their counts): the "All" row
    without a second pass over the ratings."""
    sums: dict[str, tuple[int, float]] = {}
    for cells in groups:
        for key, cell in cells.items():
            n, total = sums.get(key, (0, 0.0))
            sums[key] = (n + cell.n, total + (cell.mean or 0.0) * cell.n)
    return {key: CriterionMean(n, total / n if n else None) for key, (n, total) in sums.items()}


def _agent_names(session: Session, ids: list[int]) -> dict[int | None, str]:
    if not ids:
        return {}
    return {
        int(i): n
        for i, n in session.execute(select_rows(col(Agent.id), col(Agent.name)).where(col(Agent.id).in_(ids)))
    }


# ---------------------------------------------------------------------------------------------
# Reviewers
# ---------------------------------------------------------------------------------------------


class Leniency(NamedTuple):
    """A reviewer's leniency and the overlap it rests on."""

    points: float
    agents: int  # agents they share with another reviewer
    reviews: int  # their scored reviews of those agents


class DisputeCounts(NamedTuple):
    """Disputes against one reviewer's reviews in the slice."""

    raised: int
    accepted: int
    rejected: int
    open: int
    disputed_reviews: int


NO_DISPUTES = DisputeCounts(0, 0, 0, 0, 0)


@dataclass(frozen=True)
class ReviewerRow:
    """Panel 4: one reviewer's reviews, the average score they gave, leniency, time and disputes."""

    reviewer_id: int
    name: str
    quality: Quality
    leniency: Leniency | None
    disputes: DisputeCounts = field(default=NO_DISPUTES)

    @property
    def dispute_rate(self) -> float | None:
        reviews = self.quality.reviews
        return 100.0 * self.disputes.disputed_reviews / reviews if reviews else None


def reviewer_rows(session: Session, ctx: Context) -> list[ReviewerRow]:
    """Every reviewer with a counted review in the slice, most reviews first (three queries)."""
    piece = ctx.filters.slice()
    figures = _reviewer_figures(session, ctx.actor, piece)
    if not figures:
        return []
    disputes = _disputes(session, ctx.actor, piece)
    query = select_rows(col(User.id), col(User.name)).where(col(User.id).in_(list(figures)))
    names = {int(i): n for i, n in session.execute(query)}
    rows = [
        ReviewerRow(
            reviewer_id=rid,
            name=names.get(rid, f"User {rid}"),
            quality=quality,
            leniency=leniency,
            disputes=disputes.get(rid, NO_DISPUTES),
        )
        for rid, (quality, leniency) in figures.items()
    ]
    rows.sort(key=lambda r: (-r.quality.reviews, r.name.casefold(), r.reviewer_id))
    return rows


def _reviews(session: Session, actor: User, piece: Slice, *columns: Any) -> Select[Any]:
    """SELECT `columns` FROM the slice's counted reviews (Review's own columns: no join)."""
    return select_rows(*columns).select_from(Review).where(*stats.slice_where(session, actor, piece))


def _count_if(condition: Any) -> Any:
    return func.sum(sql_case((condition, 1), else_=0))


def _reviewer_figures(
    session: Session, actor: User, piece: Slice
) -> dict[int, tuple[Quality, Leniency | None]]:
    """Each reviewer's review figures and leniency, in one statement (one pass over the reviews).

    Per (agent, reviewer): the review counts and sums stats.quality reads, with each agent's score
    total and count beside them (window functions); then per reviewer the sums, and over the agents
    someone else scored too, Σ (own total − own count × others' mean) = Σ nₐ·(own mean − others'
    mean), which divided by Σ nₐ is the leniency of the module docstring. (A second aggregate
    joined to the pairs made SQLite recompute it for every pair; a separate query per reviewer
    figure read the reviews twice.)
    """
    pair = (
        _reviews(
            session,
            actor,
            piece,
            col(Review.agent_id).label("agent_id"),
            col(Review.reviewer_id).label("reviewer_id"),
            func.count().label("reviews"),
            func.count(col(Review.score)).label("n"),
            func.sum(sql_cast(col(Review.score), Float)).label("total"),
            _count_if(col(Review.passed).is_(True)).label("passed"),
            func.count(col(Review.passed)).label("judged"),
            _count_if(col(Review.failed_critical).is_(True)).label("fails"),
            func.sum(col(Review.time_spent_seconds)).label("seconds"),
        )
        .group_by(col(Review.agent_id), col(Review.reviewer_id))
        .subquery("pair")
    )
    p = pair.c
    shared = select_rows(
        *pair.c,
        func.sum(p.total).over(partition_by=p.agent_id).label("agent_total"),
        func.sum(p.n).over(partition_by=p.agent_id).label("agent_n"),
    ).subquery("shared")
    s = shared.c
    overlap = s.agent_id.is_not(None) & (s.n > 0) & (s.agent_n > s.n)
    gap = s.total - s.n * ((s.agent_total - s.total) / sql_cast(s.agent_n - s.n, Float))
    sums = [func.sum(s[name]) for name in ("reviews", "n", "total", "passed", "judged", "fails", "seconds")]
    query = select_rows(
        s.reviewer_id,
        *sums,
        func.sum(sql_case((overlap, gap), else_=0.0)),
        _count_if(overlap),
        func.sum(sql_case((overlap, s.n), else_=0)),
    ).group_by(s.reviewer_id)
    found: dict[int, tuple[Quality, Leniency | None]] = {}
    for rid, reviews, n, total, passed, judged, fails, seconds, weighted, agents, shared_n in session.execute(
        query
    ):
        quality = Quality(
            reviews=int(reviews),
            scored=int(n or 0),
            iqs=float(total) / int(n) if n else None,
            passed=int(passed or 0),
            judged=int(judged or 0),
            critical_fails=int(fails or 0),
            avg_seconds=float(seconds or 0) / int(reviews) if reviews else None,
        )
        overlap_n = int(shared_n or 0)
        leniency = Leniency(float(weighted) / overlap_n, int(agents), overlap_n) if overlap_n else None
        found[int(rid)] = (quality, leniency)
    return found


def _disputes(session: Session, actor: User, piece: Slice) -> dict[int, DisputeCounts]:
    """Per reviewer: disputes of their reviews in the slice, by status, and how many reviews had one."""

    def status_count(status: DisputeStatus) -> Any:
        return func.sum(sql_case((col(Dispute.status) == status, 1), else_=0))

    query = (
        select_rows(
            col(Review.reviewer_id),
            func.count(col(Dispute.id)),
            status_count(DisputeStatus.accepted),
            status_count(DisputeStatus.rejected),
            status_count(DisputeStatus.open),
            func.count(func.distinct(col(Review.id))),
        )
        .select_from(Dispute)  # disputes are few: start from them
        .join(Review, col(Review.id) == col(Dispute.review_id))
        .where(*stats.slice_where(session, actor, piece))
        .group_by(col(Review.reviewer_id))
    )
    return {
        int(rid): DisputeCounts(
            int(raised), int(accepted or 0), int(rejected or 0), int(still or 0), int(reviews)
        )
        for rid, raised, accepted, rejected, still, reviews in session.execute(query)
    }


# ---------------------------------------------------------------------------------------------
# The whole dashboard
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    """Every panel for one set of filters."""

    ctx: Context
    overview: Overview
    agents: AgentsTable
    all_agents: list[AgentRow]
    heat: HeatMap
    reviewers: list[ReviewerRow]

    @property
    def filters(self) -> Filters:
        return self.ctx.filters


def dashboard(
    session: Session,
    *,
    actor: User,
    filters: Filters,
    agent_query: AgentQuery | None = None,
    heat_rows: HeatRows = "teams",
) -> Dashboard:
    """All four panels (a fixed number of grouped queries, whatever the number of agents or reviewers)."""
    return panels(session, context(session, actor=actor, filters=filters), agent_query, heat_rows)


def panels(
    session: Session, ctx: Context, agent_query: AgentQuery | None = None, heat_rows: HeatRows = "teams"
) -> Dashboard:
    """All four panels for an already checked context."""
    previous = previous_by_agent(session, ctx)
    rows = agent_rows(session, ctx, previous)
    return Dashboard(
        ctx=ctx,
        overview=overview(session, ctx, combine(previous.values())),
        all_agents=rows,
        agents=agents_table(rows, agent_query or AgentQuery()),
        heat=heat_map(session, ctx, heat_rows),
        reviewers=reviewer_rows(session, ctx),
    )


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------


def _num(value: float | None, places: int = 2) -> str:
    """A figure for the CSV: rounded half up as people round ("65.625" → "65.63"), empty when None."""
    if value is None:
        return ""
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _csv(header: Sequence[str], lines: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(lines)
    return out.getvalue()


def trend_csv(ctx: Context, view: Overview) -> str:
    """One line per week and team (the organisation first, team_id empty), then each line's total."""
    header = (
        "week_start",
        "week_end",
        "team_id",
        "team",
        "reviews",
        "scored",
        "iqs",
        "pass_rate_pct",
        "critical_fails",
    )

    def line(start: str, end: str, team: TeamLine, q: Quality | None) -> list[Any]:
        q = q or EMPTY
        return [
            start,
            end,
            "" if team.team_id is None else team.team_id,
            spreadsheet_safe(team.name),
            q.reviews,
            q.scored,
            _num(q.iqs),
            _num(q.pass_rate),
            q.critical_fails,
        ]

    lines = []
    for team in [view.org, *view.teams]:
        weekly = zip(view.weeks, team.weeks, strict=True)
        lines += [line(w.start.isoformat(), w.end.isoformat(), team, q) for w, q in weekly]
        lines.append(line(ctx.filters.start.isoformat(), ctx.filters.end.isoformat(), team, team.total))
    return _csv(header, lines)


def agents_csv(table: AgentsTable) -> str:
    """Every agent matching the table's search and narrowing (all pages), in the table's order."""
    header = (
        "agent_id",
        "agent",
        "team",
        "reviews",
        "iqs",
        "previous_iqs",
        "change",
        "pass_rate_pct",
        "critical_fails",
        "conversations",
        "reviewed_conversations",
        "coverage_pct",
    )
    return _csv(
        header,
        (
            [
                r.agent_id,
                spreadsheet_safe(r.name),
                spreadsheet_safe(r.team),
                r.reviews,
                _num(r.iqs),
                _num(r.previous_iqs),
                _num(r.change),
                _num(r.pass_rate),
                r.critical_fails,
                r.handled,
                r.reviewed,
                _num(r.coverage),
            ]
            for r in table.rows
        ),
    )


def criteria_csv(heat: HeatMap) -> str:
    """One line per row and criterion (long format, for pivot tables); the "All" row has no id."""
    kind = "agent" if heat.by == "agents" else "team"
    header = ("row", f"{kind}_id", "name", "criterion_key", "criterion", "ratings", "mean")
    lines = []
    for row in [heat.overall, *heat.rows]:
        for column in heat.columns:
            cell = row.cells.get(column.key, CriterionMean(0, None))
            lines.append(
                [
                    "all" if row.key is None and row is heat.overall else kind,
                    "" if row.key is None else row.key,
                    spreadsheet_safe(row.name),
                    spreadsheet_safe(column.key),
                    spreadsheet_safe(column.name),
                    cell.n,
                    _num(cell.mean),
                ]
            )
    return _csv(header, lines)


def reviewers_csv(rows: Sequence[ReviewerRow]) -> str:
    """One line per reviewer."""
    header = (
        "reviewer_id",
        "reviewer",
        "reviews",
        "average_score",
        "leniency",
        "overlap_agents",
        "average_seconds",
        "disputes_raised",
        "disputes_lost",
        "disputes_rejected",
        "disputes_open",
        "dispute_rate_pct",
    )
    return _csv(
        header,
        (
            [
                r.reviewer_id,
                spreadsheet_safe(r.name),
                r.quality.reviews,
                _num(r.quality.iqs),
                _num(r.leniency.points if r.leniency else None),
                r.leniency.agents if r.leniency else 0,
                _num(r.quality.avg_seconds, 0),
                r.disputes.raised,
                r.disputes.accepted,
                r.disputes.rejected,
                r.disputes.open,
                _num(r.dispute_rate),
            ]
            for r in rows
        ),
    )


def panel_csv(
    session: Session,
    *,
    actor: User,
    panel: str,
    filters: Filters,
    agent_query: AgentQuery | None = None,
    heat_rows: HeatRows = "teams",
) -> str:
    """One panel as CSV, computed alone (only that panel's queries)."""
    builders: dict[str, Callable[[Context], str]] = {
        "trend": lambda ctx: trend_csv(ctx, overview(session, ctx)),
        "agents": lambda ctx: agents_csv(
            agents_table(agent_rows(session, ctx), (agent_query or AgentQuery()).unpaged())
        ),
        "criteria": lambda ctx: criteria_csv(heat_map(session, ctx, heat_rows)),
        "reviewers": lambda ctx: reviewers_csv(reviewer_rows(session, ctx)),
    }
    if panel not in builders:
        raise NotFound(f"No dashboard panel {panel[:40]!r}: choose one of {', '.join(PANELS)}.")
    return builders[panel](context(session, actor=actor, filters=filters))


def csv_filename(panel: str, filters: Filters) -> str:
    """A download name that says what is in the file."""
    return f"dashboard-{panel}-{filters.start}-to-{filters.end}.csv"
