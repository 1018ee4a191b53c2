"""How much reviewers agree: Krippendorff's alpha, percent agreement, benchmark alignment (PRODUCT.md §6).

Pure: plain typed data in, plain typed data out; no web or database imports, so calibration sessions,
grader QA and the agreement trends all measure the same way and Hypothesis can test it directly.

Decisions (nobody answers questions, so they are written here):
- Alpha is computed here from value counts (units x values) with Krippendorff's formulas (2011):
  nominal and interval in closed form (sums per unit), ordinal through the coincidence matrix (a matrix
  product; scales have few options). The pinned ``krippendorff`` package is the reference: tests check
  this code equals ``krippendorff.alpha`` on random data and on his published examples. Why not call the
  package at run time: it builds a units x values x values array, which took 2.6 s for the review-score
  alpha of a 20 x 50 session (every score its own value) and 0.27 s for the overall nominal alpha of 15
  criteria, against the < 100 ms budget of a session page.
- Per criterion: **nominal** on the option label with N/A its own category (disagreeing on whether
  a criterion applies is a disagreement), **ordinal** on the option's rank in the criterion's scale
  and **interval** on the option score (N/A missing for both).
- Overall: every (conversation, criterion) is a unit; nominal on (criterion, label) with N/A a category
  per criterion, ordinal on the rank of the option score among all scores used in the scorecard,
  interval on the option score.
- Alpha is ``None`` (undefined), never NaN or an exception, when fewer than two pairable values exist
  or every pairable value is the same (no variation: expected disagreement is zero).
- Percent agreement: the share of agreeing pairs of ratings inside units with at least two ratings
  (N/A a category), pooled over units (units with more ratings weigh more, as they hold more pairs).
- Benchmark alignment: 1 - |reviewer's option score - benchmark's option score| over the pairs where
  both chose an option (N/A on either side is left out), averaged over the pooled pairs.
- Signed deviations are in points (option score x 100): + lenient, - strict. ``deviation_from_others``
  compares a rating with the mean of the OTHER reviewers' option scores on the same unit and criterion.
- ``n_units`` of a criterion counts conversations with >= 2 ratings (N/A included); the overall
  ``n_units`` counts conversations at least two reviewers rated, ``n_items`` the (conversation,
  criterion) units with >= 2 ratings.
- A criterion is ``flagged`` as a candidate for clearer guidance when its agreement is below 0.667
  (Krippendorff's lowest acceptable alpha for tentative conclusions): alpha_ordinal, falling back to
  alpha_nominal, falling back to percent agreement when both alphas are undefined. ``ranked`` sorts by
  that same figure, then percent agreement, worst first; undefined sorts last.
- Per-conversation spread uses the sample standard deviation (reviewers are a sample of possible ones).
- Unknown criterion keys or option labels raise ``ValueError``: the caller built the table wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from scorecards import CriterionDef, ScorecardDef

__all__ = [
    "FLAG_BELOW",
    "Agreement",
    "CriterionAgreement",
    "Key",
    "Level",
    "OverallAgreement",
    "RatingsTable",
    "ReviewerAgreement",
    "UnitSpread",
    "alpha_from_counts",
    "alpha_from_reliability_data",
    "measure",
]

Key = int  # reviewer id / unit (conversation) id
Level = Literal["nominal", "ordinal", "interval"]
FLAG_BELOW = 0.667

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RatingsTable:
    """Who chose which option for which criterion of which conversation, plus the review scores."""

    definition: ScorecardDef
    # (reviewer_id, unit_id, criterion_key) -> option label, None = N/A; absent = not rated
    ratings: Mapping[tuple[Key, Key, str], str | None]
    # (reviewer_id, unit_id) -> review score 0..100 (None: empty score)
    review_scores: Mapping[tuple[Key, Key], float | None] = field(default_factory=dict)
    benchmark_id: Key | None = None
    # (unit_id, criterion_key) -> label / None (N/A)
    consensus: Mapping[tuple[Key, str], str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class CriterionAgreement:
    """Agreement on one criterion."""

    key: str
    name: str
    alpha_nominal: float | None
    alpha_ordinal: float | None
    alpha_interval: float | None
    percent_agreement: float | None
    n_units: int
    n_ratings: int
    benchmark_alignment: float | None
    flagged: bool


@dataclass(frozen=True)
class OverallAgreement:
    """Agreement over every criterion at once, plus alpha on the review scores."""

    alpha_nominal: float | None
    alpha_ordinal: float | None
    alpha_interval: float | None
    percent_agreement: float | None
    n_units: int
    n_items: int
    review_score_alpha: float | None
    benchmark_alignment: float | None


@dataclass(frozen=True)
class ReviewerAgreement:
    """How one reviewer's ratings compare with the benchmark, the consensus and the others."""

    reviewer_id: Key
    n_ratings: int
    deviation_from_benchmark: float | None
    deviation_from_consensus: float | None
    benchmark_alignment: float | None
    consensus_alignment: float | None
    deviation_from_others: float | None


@dataclass(frozen=True)
class UnitSpread:
    """The spread of review scores on one conversation."""

    unit_id: Key
    n_reviews: int
    mean: float | None
    minimum: float | None
    maximum: float | None
    stdev: float | None


@dataclass(frozen=True)
class Agreement:
    """Everything ``measure`` finds about one table of ratings."""

    criteria: list[CriterionAgreement]
    ranked: list[CriterionAgreement]
    overall: OverallAgreement
    reviewers: list[ReviewerAgreement]
    units: list[UnitSpread]


# --- low level: alpha from counts -------------------------------------------------------------------


def alpha_from_counts(counts: npt.ArrayLike, domain: Sequence[float], level: Level) -> float | None:
    """Krippendorff's alpha from value counts (units x values; for ordinal, columns in rank order).

    Returns None where alpha is undefined (no pairable values or no variation) instead of raising.
    """
    matrix = np.asarray(counts, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != len(domain):
        raise ValueError("counts must be units x values, one column per domain value")
    matrix = matrix[matrix.sum(axis=1) >= 2]  # units with one value hold no pairs
    used = matrix.sum(axis=0) > 0
    if int(used.sum()) < 2:
        return None
    matrix = matrix[:, used]
    values = np.asarray(domain, dtype=np.float64)[used]
    if level == "ordinal":
        observed, expected = _ordinal_sums(matrix)
    else:
        observed, expected = _metric_sums(matrix, values if level == "interval" else None)
    if expected <= 1e-12:  # no variation (equal scores on different labels): alpha is undefined
        return None
    return 1 - observed / expected


def _metric_sums(matrix: FloatArray, values: FloatArray | None) -> tuple[float, float]:
    """Sums of o x d and e x d for the nominal (values None) or interval metric, without a V x V matrix.

    Interval: sum_gh c_g c_h (v_g - v_h)^2 = 2 (m sum c v^2 - (sum c v)^2), per unit over m_u - 1.
    Nominal: the off-diagonal mass, sum_gh c_g c_h - sum_g c_g^2.
    """
    per_unit = matrix.sum(axis=1)
    n_v = matrix.sum(axis=0)
    n = float(n_v.sum())
    if values is None:
        unit_terms = per_unit**2 - (matrix**2).sum(axis=1)
        total = n**2 - float((n_v**2).sum())
    else:
        s1, s2 = matrix @ values, matrix @ values**2
        unit_terms = 2 * (per_unit * s2 - s1**2)
        total = 2 * (n * float(n_v @ values**2) - float(n_v @ values) ** 2)
    # clip float noise: both sums are sums of squares, never negative
    return float((np.maximum(unit_terms, 0) / (per_unit - 1)).sum()), max(total, 0.0) / (n - 1)


def _ordinal_sums(matrix: FloatArray) -> tuple[float, float]:
    """Sums of o x d and e x d for the ordinal metric (columns in rank order; few values per scale)."""
    weights = matrix / (matrix.sum(axis=1) - 1)[:, np.newaxis]
    coincidences = weights.T @ matrix - np.diag(weights.sum(axis=0))
    n_v = coincidences.sum(axis=0)
    expected = (np.outer(n_v, n_v) - np.diag(n_v)) / (n_v.sum() - 1)
    # distance between ranks g and h: (n_g + ... + n_h - (n_g + n_h) / 2)^2
    cumulative = np.concatenate(([0.0], np.cumsum(n_v)))
    low = np.minimum.outer(np.arange(len(n_v)), np.arange(len(n_v)))
    high = np.maximum.outer(np.arange(len(n_v)), np.arange(len(n_v)))
    distances = (cumulative[high + 1] - cumulative[low] - (n_v[low] + n_v[high]) / 2) ** 2
    return float((coincidences * distances).sum()), float((expected * distances).sum())


def alpha_from_reliability_data(data: Sequence[Sequence[float | None]], level: Level) -> float | None:
    """Krippendorff's alpha from coders x units values (None = missing), e.g. his published examples."""
    present = sorted({v for row in data for v in row if v is not None})
    if not present:
        return None
    index = {v: i for i, v in enumerate(present)}
    n_units = max((len(row) for row in data), default=0)
    counts = np.zeros((n_units, len(present)))
    for row in data:
        for unit, value in enumerate(row):
            if value is not None:
                counts[unit, index[value]] += 1
    return alpha_from_counts(counts, present, level)


# --- building the arrays ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Arrays:
    """The table as dense arrays: [reviewer, unit, criterion] -> option index / score."""

    reviewers: list[Key]
    units: list[Key]
    option: npt.NDArray[np.int64]  # -1 missing, len(options) = N/A
    score: FloatArray  # NaN for missing or N/A
    consensus: FloatArray  # [unit, criterion] consensus option score, NaN if none or N/A


def _option_index(criterion: CriterionDef) -> dict[str | None, int]:
    index: dict[str | None, int] = {opt.label: i for i, opt in enumerate(criterion.options)}
    index[None] = len(criterion.options)
    return index


def _lookup(indexes: list[dict[str | None, int]], c: int, key: str, label: str | None) -> int:
    try:
        return indexes[c][label]
    except KeyError:
        raise ValueError(f"criterion {key!r} has no option {label!r}") from None


def _criterion_pos(crit_pos: Mapping[str, int], key: str) -> int:
    try:
        return crit_pos[key]
    except KeyError:
        raise ValueError(f"unknown criterion {key!r}") from None


def _build(table: RatingsTable) -> _Arrays:
    criteria = table.definition.criteria
    crit_pos = {c.key: i for i, c in enumerate(criteria)}
    indexes = [_option_index(c) for c in criteria]
    scores = [np.array([o.score for o in c.options] + [math.nan]) for c in criteria]
    reviewers = sorted({r for r, _, _ in table.ratings} | {r for r, _ in table.review_scores})
    units = sorted({u for _, u, _ in table.ratings} | {u for _, u in table.review_scores})
    r_pos = {r: i for i, r in enumerate(reviewers)}
    u_pos = {u: i for i, u in enumerate(units)}
    option = np.full((len(reviewers), len(units), len(criteria)), -1, dtype=np.int64)
    cells = [(r_pos[r], u_pos[u], _criterion_pos(crit_pos, key)) for r, u, key in table.ratings]
    if cells:
        where = tuple(np.array(cells, dtype=np.int64).T)
        picked = [
            _lookup(indexes, c, key, label)
            for (_, _, c), ((_, _, key), label) in zip(cells, table.ratings.items(), strict=True)
        ]
        option[where] = picked
    score = np.full(option.shape, math.nan)
    for c, values in enumerate(scores):
        rated = option[:, :, c] >= 0
        score[:, :, c][rated] = values[option[:, :, c][rated]]
    consensus = np.full((len(units), len(criteria)), math.nan)
    for (unit, key), label in table.consensus.items():
        c = _criterion_pos(crit_pos, key)
        idx = _lookup(indexes, c, key, label)
        if unit in u_pos:
            consensus[u_pos[unit], c] = scores[c][idx]
    return _Arrays(reviewers, units, option, score, consensus)


def _counts(option_c: npt.NDArray[np.int64], n_values: int) -> FloatArray:
    """Value counts (units x values) of one criterion's [reviewer, unit] option indexes."""
    counts = np.zeros((option_c.shape[1], n_values))
    for value in range(n_values):
        counts[:, value] = (option_c == value).sum(axis=0)
    return counts


# --- measures ---------------------------------------------------------------------------------------


def _percent_agreement(counts: FloatArray) -> float | None:
    totals = counts.sum(axis=1)
    pairs = float((totals * (totals - 1)).sum()) / 2
    if pairs == 0:
        return None
    return float((counts * (counts - 1)).sum()) / 2 / pairs


def _mean(values: FloatArray) -> float | None:
    return float(values.mean()) if values.size else None


def _pairs(score: FloatArray, reference: FloatArray) -> FloatArray:
    """Signed differences score - reference where both are option scores."""
    both = ~np.isnan(score) & ~np.isnan(reference)
    return np.asarray(score[both] - reference[both], dtype=np.float64)


def _alignment(diffs: FloatArray) -> float | None:
    return _mean(1 - np.abs(diffs))


def _points(diffs: FloatArray) -> float | None:
    mean = _mean(diffs)
    return None if mean is None else mean * 100


def _agreement_key(
    alpha_ordinal: float | None, alpha_nominal: float | None, percent: float | None
) -> float | None:
    if alpha_ordinal is not None:
        return alpha_ordinal
    return alpha_nominal if alpha_nominal is not None else percent


def _criterion(arr: _Arrays, c: int, criterion: CriterionDef, bench: int | None) -> CriterionAgreement:
    k = len(criterion.options)
    counts = _counts(arr.option[:, :, c], k + 1)
    ranks = list(range(k))
    nominal = alpha_from_counts(counts, list(range(k + 1)), "nominal")
    ordinal = alpha_from_counts(counts[:, :k], ranks, "ordinal")
    interval = alpha_from_counts(counts[:, :k], [o.score for o in criterion.options], "interval")
    percent = _percent_agreement(counts)
    alignment = None
    if bench is not None:
        others = np.delete(arr.score[:, :, c], bench, axis=0)
        alignment = _alignment(_pairs(others, np.broadcast_to(arr.score[bench, :, c], others.shape)))
    agreement = _agreement_key(ordinal, nominal, percent)
    return CriterionAgreement(
        key=criterion.key,
        name=criterion.name,
        alpha_nominal=nominal,
        alpha_ordinal=ordinal,
        alpha_interval=interval,
        percent_agreement=percent,
        n_units=int((counts.sum(axis=1) >= 2).sum()),
        n_ratings=int(counts.sum()),
        benchmark_alignment=alignment,
        flagged=agreement is not None and agreement < FLAG_BELOW,
    )


def _overall_counts(arr: _Arrays, definition: ScorecardDef) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Items x values counts for the overall nominal, and for the overall score-based alphas."""
    blocks = []
    all_scores = sorted({o.score for c in definition.criteria for o in c.options})
    score_pos = {s: i for i, s in enumerate(all_scores)}
    by_score = []
    for c, criterion in enumerate(definition.criteria):
        k = len(criterion.options)
        counts = _counts(arr.option[:, :, c], k + 1)
        blocks.append(counts)
        mapped = np.zeros((counts.shape[0], len(all_scores)))
        for i, opt in enumerate(criterion.options):
            mapped[:, score_pos[opt.score]] += counts[:, i]
        by_score.append(mapped)
    n_values = sum(b.shape[1] for b in blocks)
    nominal = np.zeros((sum(b.shape[0] for b in blocks), n_values))
    row = col = 0
    for block in blocks:  # block-diagonal: an item only holds values of its own criterion
        nominal[row : row + block.shape[0], col : col + block.shape[1]] = block
        row += block.shape[0]
        col += block.shape[1]
    scores = np.vstack(by_score) if by_score else np.zeros((0, len(all_scores)))
    return nominal, scores, np.array(all_scores, dtype=np.float64)


def _review_score_alpha(table: RatingsTable, arr: _Arrays) -> float | None:
    values = sorted({s for s in table.review_scores.values() if s is not None})
    if not values:
        return None
    pos = {v: i for i, v in enumerate(values)}
    u_pos = {u: i for i, u in enumerate(arr.units)}
    counts = np.zeros((len(arr.units), len(values)))
    for (_, unit), score in table.review_scores.items():
        if score is not None:
            counts[u_pos[unit], pos[score]] += 1
    return alpha_from_counts(counts, values, "interval")


def _overall(table: RatingsTable, arr: _Arrays, bench: int | None) -> OverallAgreement:
    nominal_counts, score_counts, domain = _overall_counts(arr, table.definition)
    rated_by = (arr.option >= 0).any(axis=2).sum(axis=0)  # reviewers per conversation
    alignment = None
    if bench is not None:
        others = np.delete(arr.score, bench, axis=0)
        alignment = _alignment(_pairs(others, np.broadcast_to(arr.score[bench], others.shape)))
    return OverallAgreement(
        alpha_nominal=alpha_from_counts(nominal_counts, list(range(nominal_counts.shape[1])), "nominal"),
        alpha_ordinal=alpha_from_counts(score_counts, list(range(len(domain))), "ordinal"),
        alpha_interval=alpha_from_counts(score_counts, list(domain), "interval"),
        percent_agreement=_percent_agreement(nominal_counts),
        n_units=int((rated_by >= 2).sum()),
        n_items=int((nominal_counts.sum(axis=1) >= 2).sum()),
        review_score_alpha=_review_score_alpha(table, arr),
        benchmark_alignment=alignment,
    )


def _from_others(arr: _Arrays, r: int) -> float | None:
    present = ~np.isnan(arr.score)
    totals = np.where(present, arr.score, 0.0).sum(axis=0) - np.where(present[r], arr.score[r], 0.0)
    others = present.sum(axis=0) - present[r]
    usable = present[r] & (others > 0)
    diffs = arr.score[r][usable] - totals[usable] / others[usable]
    return _points(np.asarray(diffs, dtype=np.float64))


def _reviewer(arr: _Arrays, r: int, bench: int | None) -> ReviewerAgreement:
    mine = arr.score[r]
    to_bench = _pairs(mine, arr.score[bench]) if bench is not None and bench != r else None
    to_consensus = _pairs(mine, arr.consensus)
    return ReviewerAgreement(
        reviewer_id=arr.reviewers[r],
        n_ratings=int((arr.option[r] >= 0).sum()),
        deviation_from_benchmark=None if to_bench is None else _points(to_bench),
        deviation_from_consensus=_points(to_consensus),
        benchmark_alignment=None if to_bench is None else _alignment(to_bench),
        consensus_alignment=_alignment(to_consensus),
        deviation_from_others=_from_others(arr, r),
    )


def _stdev(values: list[float]) -> float | None:
    """Sample standard deviation in plain floats (statistics.stdev works in Fractions: 100x slower)."""
    if len(values) < 2:
        return None
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _unit_spread(table: RatingsTable, units: list[Key]) -> list[UnitSpread]:
    by_unit: dict[Key, list[float | None]] = {u: [] for u in units}
    for (_, unit), score in table.review_scores.items():
        by_unit[unit].append(score)
    spreads = []
    for unit in units:
        values = [s for s in by_unit[unit] if s is not None]
        spreads.append(
            UnitSpread(
                unit_id=unit,
                n_reviews=len(by_unit[unit]),
                mean=math.fsum(values) / len(values) if values else None,
                minimum=min(values) if values else None,
                maximum=max(values) if values else None,
                stdev=_stdev(values),
            )
        )
    return spreads


def _rank_key(item: CriterionAgreement) -> tuple[bool, float, bool, float]:
    agreement = _agreement_key(item.alpha_ordinal, item.alpha_nominal, item.percent_agreement)
    percent = item.percent_agreement
    return (agreement is None, agreement or 0.0, percent is None, percent or 0.0)


def measure(table: RatingsTable) -> Agreement:
    """Measure agreement per criterion, overall, per reviewer and per conversation."""
    arr = _build(table)
    bench = arr.reviewers.index(table.benchmark_id) if table.benchmark_id in arr.reviewers else None
    criteria = [_criterion(arr, c, crit, bench) for c, crit in enumerate(table.definition.criteria)]
    return Agreement(
        criteria=criteria,
        ranked=sorted(criteria, key=_rank_key),
        overall=_overall(table, arr, bench),
        reviewers=[_reviewer(arr, r, bench) for r in range(len(arr.reviewers))],
        units=_unit_spread(table, arr.units),
    )
