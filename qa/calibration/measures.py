"""A session's agreement: the database read (one query) -> agreement.RatingsTable -> agreement.measure.

Decisions:
- Only submitted reviews of the session count; drafts left at the reveal are "not submitted".
- Before the reveal the agreement is blind like the reviews it is made of: 409 for everyone.
- The per-criterion prompt "clarify the guidance of X" names the criteria agreement.measure flags.
- Plain-words reading of an alpha follows Krippendorff (2004): >= .800 reliable, >= .667 tentative
  conclusions only, below that not reliable; undefined alphas (no variation, too few pairs) say so.
- The CSV holds one line per criterion, then the overall line, then one line per reviewer and per
  conversation, each cell through qa.spreadsheet's formula guard.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from qa.calibration import agreement
from qa.calibration import service as calibration_service
from qa.errors import Conflict
from qa.models import CalibrationSession, CalibrationStatus, Rating, Review, ReviewStatus, User
from qa.scorecard_admin import service as scorecard_service
from qa.spreadsheet import spreadsheet_safe

RELIABLE, TENTATIVE = 0.800, 0.667


@dataclass(frozen=True)
class SessionAgreement:
    """The measures of one session with the names the pages and the API show."""

    cal: CalibrationSession
    result: agreement.Agreement
    reviewer_names: dict[int, str]
    subjects: dict[int, str]
    conversation_ids: list[int]

    def as_dict(self) -> dict[str, Any]:
        """The API shape (PRODUCT.md §5)."""
        r = self.result
        return {
            "session_id": self.cal.id,
            "benchmark_id": self.cal.benchmark_id,
            "criteria": [_criterion(c, rank) for rank, c in _ranked(r)],
            "overall": {
                "alpha_nominal": r.overall.alpha_nominal,
                "alpha_ordinal": r.overall.alpha_ordinal,
                "alpha_interval": r.overall.alpha_interval,
                "percent_agreement": r.overall.percent_agreement,
                "n_units": r.overall.n_units,
                "n_items": r.overall.n_items,
                "review_score_alpha": r.overall.review_score_alpha,
                "benchmark_alignment": r.overall.benchmark_alignment,
            },
            "reviewers": [
                {
                    "reviewer_id": x.reviewer_id,
                    "name": self.reviewer_names.get(x.reviewer_id, ""),
                    "is_benchmark": x.reviewer_id == self.cal.benchmark_id,
                    "n_ratings": x.n_ratings,
                    "deviation_from_benchmark": x.deviation_from_benchmark,
                    "deviation_from_consensus": x.deviation_from_consensus,
                    "deviation_from_others": x.deviation_from_others,
                    "benchmark_alignment": x.benchmark_alignment,
                    "consensus_alignment": x.consensus_alignment,
                }
                for x in r.reviewers
            ],
            "conversations": [
                {
                    "conversation_id": u.unit_id,
                    "subject": self.subjects.get(u.unit_id, ""),
                    "n_reviews": u.n_reviews,
                    "mean": u.mean,
                    "min": u.minimum,
                    "max": u.maximum,
                    "stdev": u.stdev,
                }
                for u in self.units
            ],
        }

    @property
    def units(self) -> list[agreement.UnitSpread]:
        """Spread per conversation in session order, conversations nobody scored included."""
        found = {u.unit_id: u for u in self.result.units}
        empty = agreement.UnitSpread
        return [
            found.get(i) or empty(unit_id=i, n_reviews=0, mean=None, minimum=None, maximum=None, stdev=None)
            for i in self.conversation_ids
        ]


def _ranked(result: agreement.Agreement) -> list[tuple[int, agreement.CriterionAgreement]]:
    """Criteria in scorecard order, each with its rank by disagreement (1 = least agreement)."""
    rank = {c.key: i + 1 for i, c in enumerate(result.ranked)}
    return [(rank[c.key], c) for c in result.criteria]


def _criterion(c: agreement.CriterionAgreement, rank: int) -> dict[str, Any]:
    return {
        "criterion": c.key,
        "name": c.name,
        "alpha_nominal": c.alpha_nominal,
        "alpha_ordinal": c.alpha_ordinal,
        "alpha_interval": c.alpha_interval,
        "percent_agreement": c.percent_agreement,
        "n_units": c.n_units,
        "n_ratings": c.n_ratings,
        "benchmark_alignment": c.benchmark_alignment,
        "flagged": c.flagged,
        "disagreement_rank": rank,
        "reading": reading(c.alpha_ordinal if c.alpha_ordinal is not None else c.alpha_nominal),
    }


def reading(alpha: float | None) -> str:
    """Krippendorff's plain-words reading of an alpha."""
    if alpha is None:
        return "undefined"
    if alpha >= RELIABLE:
        return "reliable"
    if alpha >= TENTATIVE:
        return "tentative"
    return "not reliable"


def ratings_query(session_id: int) -> Any:
    """The session's submitted reviews with their ratings, one row per rating (one statement)."""
    columns = (
        Review.reviewer_id,
        Review.conversation_id,
        Review.score,
        Rating.criterion_key,
        Rating.option_label,
    )
    return (
        Select(*(col(c) for c in columns))
        .outerjoin(Rating, col(Rating.review_id) == col(Review.id))
        .where(col(Review.calibration_id) == session_id, col(Review.status) == ReviewStatus.submitted)
    )


def build_table(session: Session, cal: CalibrationSession) -> agreement.RatingsTable:
    """The RatingsTable of a session: submitted reviews and ratings in one query, plus the consensus."""
    ratings: dict[tuple[int, int, str], str | None] = {}
    scores: dict[tuple[int, int], float | None] = {}
    for reviewer_id, conversation_id, score, key, label in _raw_rows(session, ratings_query(cal.id or 0)):
        scores[(reviewer_id, conversation_id)] = score
        if key is not None:
            ratings[(reviewer_id, conversation_id, key)] = label
    consensus = {k: row.option_label for k, row in calibration_service.consensus_map(session, cal).items()}
    return agreement.RatingsTable(
        definition=scorecard_service.definition_for(session, cal.version_id),
        ratings=ratings,
        review_scores=scores,
        benchmark_id=cal.benchmark_id,
        consensus=consensus,
    )


def _raw_rows(session: Session, query: Any) -> list[tuple[Any, ...]]:
    """The driver's own tuples: these columns need no result processing, and building a Row per rating
    cost about as much as the query itself (15,000 ratings: ~50 ms)."""
    result = session.connection().execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def session_agreement(session: Session, *, actor: User, session_id: Any) -> SessionAgreement:
    """The measures of a revealed session the actor may see (409 before the reveal)."""
    cal = calibration_service.get_session(session, actor=actor, session_id=session_id)
    if cal.status != CalibrationStatus.revealed:
        raise Conflict(
            f"Calibration session '{cal.name}' is not revealed yet: its agreement stays blind until then."
        )
    result = agreement.measure(build_table(session, cal))
    ids = [r.reviewer_id for r in result.reviewers]
    names: dict[int, str] = {
        i or 0: n for i, n in session.exec(select(User.id, User.name).where(col(User.id).in_(ids)))
    }
    conversation_ids = calibration_service.session_conversation_ids(session, cal)
    subjects = _subjects(session, conversation_ids)
    return SessionAgreement(
        cal=cal, result=result, reviewer_names=names, subjects=subjects, conversation_ids=conversation_ids
    )


def _subjects(session: Session, ids: list[int]) -> dict[int, str]:
    from qa.models import Conversation
    from qa.reviews import service as review_service

    rows = list(
        session.exec(select(Conversation.id, Conversation.subject).where(col(Conversation.id).in_(ids)))
    )
    openings = review_service.snippets(
        session, [i for i, s in rows if not (s or "").strip() and i is not None]
    )
    return {i or 0: (s or "").strip() or openings.get(i or 0, f"Conversation {i}") for i, s in rows}


def agreement_csv(found: SessionAgreement) -> str:
    """The agreement as CSV: criteria, overall, reviewers, conversations (formula-guarded)."""
    data = found.as_dict()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "section",
            "id",
            "name",
            "alpha_nominal",
            "alpha_ordinal",
            "alpha_interval",
            "percent_agreement",
            "n_units",
            "benchmark_alignment",
            "flagged_or_benchmark",
            "deviation_from_benchmark",
            "deviation_from_consensus",
            "deviation_from_others",
            "n_reviews",
            "mean",
            "min",
            "max",
            "stdev",
        ]
    )
    for c in data["criteria"]:
        writer.writerow(
            _safe(
                [
                    "criterion",
                    c["criterion"],
                    c["name"],
                    c["alpha_nominal"],
                    c["alpha_ordinal"],
                    c["alpha_interval"],
                    c["percent_agreement"],
                    c["n_units"],
                    c["benchmark_alignment"],
                    c["flagged"],
                ]
                + [""] * 8
            )
        )
    o = data["overall"]
    writer.writerow(
        _safe(
            [
                "overall",
                "",
                "All criteria",
                o["alpha_nominal"],
                o["alpha_ordinal"],
                o["alpha_interval"],
                o["percent_agreement"],
                o["n_units"],
                o["benchmark_alignment"],
                "",
            ]
            + [""] * 8
        )
    )
    for x in data["reviewers"]:
        writer.writerow(
            _safe(
                [
                    "reviewer",
                    x["reviewer_id"],
                    x["name"],
                    "",
                    "",
                    "",
                    "",
                    "",
                    x["benchmark_alignment"],
                    x["is_benchmark"],
                    x["deviation_from_benchmark"],
                    x["deviation_from_consensus"],
                    x["deviation_from_others"],
                ]
                + [""] * 5
            )
        )
    for u in data["conversations"]:
        writer.writerow(
            _safe(
                ["conversation", u["conversation_id"], u["subject"]]
                + [""] * 10
                + [u["n_reviews"], u["mean"], u["min"], u["max"], u["stdev"]]
            )
        )
    return out.getvalue()


def _safe(cells: list[Any]) -> list[str]:
    """Text (names, subjects) through the formula guard; the numbers we format ourselves as they are."""
    return [spreadsheet_safe(c) if isinstance(c, str) else _cell(c) for c in cells]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
