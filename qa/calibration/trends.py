"""Agreement over time for one scorecard: per revealed calibration session, and from ordinary reviews
that two or more reviewers wrote of the same conversation, by month.

Decisions:
- **Sessions**: revealed sessions of the scorecard the actor may see (qa.calibration.service
  session_filter), in order of reveal; only submitted reviews; each session measured with its own
  scorecard version, benchmark and no consensus, exactly as the session's agreement page (so the
  figures match). Reading: one query for the sessions, one for all their reviews and ratings
  (grouped in Python), one definition read per distinct version.
- **Ordinary reviews**: counted reviews (submitted, manual; the actor's report scope) of the
  scorecard, submitted in the period, of conversations with >= 2 distinct reviewers among them.
  A conversation belongs to the month (UTC) of its first such review. Criteria are matched by key
  across versions, and an answer is its option score (the label of a score may change between
  versions): nominal alpha then compares scores, ordinal ranks the distinct scores seen for the
  key, interval uses the scores. There is no benchmark, so reviewers are compared with the others.
  Reading: one grouped query for the conversations and their month, one for the ratings.
- Only the overall measures are charted (alpha ordinal, alpha interval, percent agreement); the
  session's own page has the per-criterion detail.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func
from sqlmodel import Session, col, select

from qa.calibration import agreement, grader
from qa.calibration import service as calibration_service
from qa.errors import NotFound
from qa.models import CalibrationSession, CalibrationStatus, Rating, Review, ReviewStatus, Scorecard, User
from qa.reporting import stats
from qa.scorecard_admin import service as scorecard_service
from scorecards import CriterionDef, Option, ScorecardDef

DEFAULT_DAYS = 365


@dataclass(frozen=True)
class Point:
    """Overall agreement of one session or month, and each reviewer's deviations there."""

    label: str
    when: datetime | date | None
    session_id: int | None
    alpha_ordinal: float | None
    alpha_interval: float | None
    percent_agreement: float | None
    n_units: int
    reviewers: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)
    # reviewer -> (deviation from benchmark, deviation from others), points


@dataclass(frozen=True)
class Trends:
    """Agreement over time for one scorecard."""

    scorecard_id: int
    scorecard_name: str
    start: date
    end: date
    sessions: list[Point]
    months: list[Point]
    names: dict[int, str]


def _rows(*columns: Any) -> Select[Any]:
    return Select(*columns)


def parse_scorecard(session: Session, params: Mapping[str, str]) -> int:
    """The scorecard parameter (default: the first by name); NotFound when unknown."""
    raw = (params.get("scorecard_id") or params.get("scorecard") or "").strip()
    if not raw:
        first = session.exec(select(Scorecard.id).order_by(col(Scorecard.name), col(Scorecard.id))).first()
        if first is None:
            raise NotFound("There is no scorecard yet.")
        return int(first)
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or session.get(Scorecard, int(raw)) is None:
        raise NotFound(f"Scorecard {raw[:40]!r} not found.")
    return int(raw)


def trends(session: Session, *, actor: User, scorecard_id: int, start: date, end: date) -> Trends:
    """Per revealed session and per month of ordinary double reviews, the overall agreement."""
    card = session.get(Scorecard, scorecard_id)
    if card is None:
        raise NotFound(f"Scorecard {scorecard_id} not found.")
    sessions = _session_points(session, actor, scorecard_id)
    months = _month_points(session, actor, scorecard_id, start, end)
    ids = sorted({r for p in [*sessions, *months] for r in p.reviewers})
    names = {
        int(i or 0): str(n) for i, n in session.exec(select(User.id, User.name).where(col(User.id).in_(ids)))
    }
    return Trends(scorecard_id, card.name, start, end, sessions, months, names)


# --- sessions ----------------------------------------------------------------------------------------


def _session_points(session: Session, actor: User, scorecard_id: int) -> list[Point]:
    query = (
        select(CalibrationSession)
        .where(
            CalibrationSession.scorecard_id == scorecard_id,
            CalibrationSession.status == CalibrationStatus.revealed,
            calibration_service.session_filter(session, actor),
        )
        .order_by(col(CalibrationSession.revealed_at), col(CalibrationSession.id))
    )
    found = list(session.exec(query))
    if not found:
        return []
    ratings, scores = _session_ratings(session, [s.id or 0 for s in found])
    definitions = {v: scorecard_service.definition_for(session, v) for v in {s.version_id for s in found}}
    points = []
    for cal in found:
        sid = cal.id or 0
        table = agreement.RatingsTable(
            definitions[cal.version_id], ratings[sid], scores[sid], benchmark_id=cal.benchmark_id
        )
        points.append(_point(cal.name, cal.revealed_at, sid, agreement.measure(table)))
    return points


def _session_ratings(
    session: Session, ids: list[int]
) -> tuple[dict[int, dict[tuple[int, int, str], str | None]], dict[int, dict[tuple[int, int], float | None]]]:
    query = (
        _rows(
            col(Review.calibration_id),
            col(Review.reviewer_id),
            col(Review.conversation_id),
            col(Review.score),
            col(Rating.criterion_key),
            col(Rating.option_label),
        )
        .select_from(Review)
        .outerjoin(Rating, col(Rating.review_id) == col(Review.id))
        .where(col(Review.calibration_id).in_(ids), col(Review.status) == ReviewStatus.submitted)
    )
    ratings: dict[int, dict[tuple[int, int, str], str | None]] = defaultdict(dict)
    scores: dict[int, dict[tuple[int, int], float | None]] = defaultdict(dict)
    for sid, reviewer, unit, score, key, label in session.execute(query):
        scores[sid][(reviewer, unit)] = score
        if key is not None:
            ratings[sid][(reviewer, unit, key)] = label
    return ratings, scores


def _point(label: str, when: Any, session_id: int | None, result: agreement.Agreement) -> Point:
    o = result.overall
    return Point(
        label=label,
        when=when,
        session_id=session_id,
        alpha_ordinal=o.alpha_ordinal,
        alpha_interval=o.alpha_interval,
        percent_agreement=o.percent_agreement,
        n_units=o.n_units,
        reviewers={
            r.reviewer_id: (r.deviation_from_benchmark, r.deviation_from_others) for r in result.reviewers
        },
    )


# --- ordinary reviews --------------------------------------------------------------------------------


def _counted(
    session: Session, actor: User, scorecard_id: int, start: date, end: date
) -> list[ColumnElement[bool]]:
    piece = stats.Slice(start=start, end=end, scorecard_id=scorecard_id)
    return stats.slice_where(session, actor, piece)


def _month_points(session: Session, actor: User, scorecard_id: int, start: date, end: date) -> list[Point]:
    where = _counted(session, actor, scorecard_id, start, end)
    units = (
        _rows(col(Review.conversation_id), func.min(col(Review.submitted_at)).label("first"))
        .select_from(Review)
        .where(*where)
        .group_by(col(Review.conversation_id))
        .having(func.count(func.distinct(col(Review.reviewer_id))) >= 2)
        .subquery()
    )
    query = (
        _rows(
            units.c.first,
            col(Review.reviewer_id),
            col(Review.conversation_id),
            col(Review.score),
            col(Rating.criterion_key),
            col(Rating.option_score),
            col(Rating.option_label),
        )
        .select_from(Review)
        .join(units, units.c.conversation_id == col(Review.conversation_id))
        .outerjoin(Rating, col(Rating.review_id) == col(Review.id))
        .where(*where)
    )
    by_month: dict[str, dict[tuple[int, int, str], float | None]] = defaultdict(dict)
    scores: dict[str, dict[tuple[int, int], float | None]] = defaultdict(dict)
    seen: dict[str, set[float]] = defaultdict(set)
    for first, reviewer, unit, score, key, option_score, label in session.execute(query):
        month = _month_key(first)
        scores[month][(reviewer, unit)] = score
        if key is None:
            continue
        value = None if label is None else float(option_score)
        by_month[month][(reviewer, unit, key)] = value
        if value is not None:
            seen[key].add(value)
        else:
            seen.setdefault(key, set())
    definition = _score_definition(seen)
    points = []
    for month in sorted(scores):
        ratings = {k: (None if v is None else _label(v)) for k, v in by_month[month].items()}
        result = agreement.measure(agreement.RatingsTable(definition, ratings, scores[month]))
        points.append(_point(month, date.fromisoformat(month + "-01"), None, result))
    return points


def _month_key(value: Any) -> str:
    if isinstance(value, str):  # SQLite may hand back the aggregate as text
        return value[:7]
    return f"{value.year:04d}-{value.month:02d}"


def _label(score: float) -> str:
    return f"{score:.6g}"


def _score_definition(seen: Mapping[str, set[float]]) -> ScorecardDef:
    """A scorecard whose options are the option scores seen for each key (criteria matched by key)."""
    criteria = tuple(
        CriterionDef(
            key,
            key,
            None,
            "",
            "custom",
            tuple(Option(_label(s), s) for s in sorted(values)),
            1.0,
            False,
            0.5,
            True,
            (),
        )
        for key, values in sorted(seen.items())
    )
    return ScorecardDef("by key", "", 80.0, criteria)


def default_range(today: date) -> tuple[date, date]:
    """The last year, ending today."""
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def parse_range(params: Mapping[str, str], *, today: date) -> tuple[date, date]:
    """start..end from the query string (default: the last year)."""
    return grader.parse_range(params, today=today, days=DEFAULT_DAYS)


def as_dict(found: Trends) -> dict[str, Any]:
    """The API shape."""

    def point(p: Point) -> dict[str, Any]:
        return {
            "label": p.label,
            "date": p.when.isoformat() if p.when else None,
            "session_id": p.session_id,
            "alpha_ordinal": p.alpha_ordinal,
            "alpha_interval": p.alpha_interval,
            "percent_agreement": p.percent_agreement,
            "n_units": p.n_units,
            "reviewers": [
                {
                    "reviewer_id": r,
                    "name": found.names.get(r, f"User {r}"),
                    "deviation_from_benchmark": b,
                    "deviation_from_others": o,
                }
                for r, (b, o) in sorted(p.reviewers.items())
            ],
        }

    return {
        "scorecard_id": found.scorecard_id,
        "scorecard": found.scorecard_name,
        "start": found.start.isoformat(),
        "end": found.end.isoformat(),
        "sessions": [point(p) for p in found.sessions],
        "months": [point(p) for p in found.months],
    }
