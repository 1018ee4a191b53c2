"""Spotlight: which conversations stand out, and why, found with scikit-learn (pure: plain arrays in and out).

A rule can ask for "the conversations most worth a human's time" out of up to a million matches, in under
30 s on two cores including the app's SQL. Reading a million texts doesn't fit in that time, so there are
two stages:

1. `prescreen` works on numbers only (message counts, times, CSAT ...) for every matching conversation. Per
   quota group it keeps at most ``max(pool_factor * want, minimum)`` candidates (none where want <= 0):
   half (rounded up) the most unusual by a robust z-score, the rest a seeded random share, so that
   conversations unusual only in their text still get a chance. It is vectorised (1M rows in well under a
   second) and depends only on (ids, values, groups, seed), never on row order.
2. `spotlight` reads the text of that reduced pool (tens of thousands of rows) and returns, per row, a
   priority (higher = stands out more), a topic code usable as a stratum, and a short human reason.

Decisions written down here because nobody is there to ask:
- Robust z: median and 1.4826·MAD, falling back to IQR/1.349 and then 1.2533·mean absolute deviation when
  most values are equal (CSAT is mostly 5, reopens mostly 0); a constant or all-unknown column scores 0.
  NaN and ±inf mean unknown and count as typical (z = 0, i.e. median imputation).
- Prescreen scores a row by Σ ln(1 + |z|) over the raw columns (one column can't swamp the rest, yet
  nothing saturates), with medians and spreads from at most 100,000 rows chosen by key. Its random keys are
  `keys.hash64(ids, seed_for(seed, "prescreen"))`, so ties and the random share depend on ids, not order.
  Scores are bucketed into 65,536 levels so the stable sorts are radix sorts (1M rows in ~0.4 s).
- Spotlight numbers: the heavy-tailed counts, times and lengths get ``log1p`` (negatives clipped to 0)
  before the robust z; a partly known column also gives the outlier model a missing-indicator column.
- Reasons name a feature only when its robust z passes ±3 in the direction that matters (LOW CSAT, LONG
  handle time, SLOW first response, MANY messages, FEW agent replies, reopened ...), strongest first, at
  most three, plus the topic when it is rare or the customer text fits no topic. When nothing passes, the
  reason says so honestly: "unusual combination of ..." when the outlier model flags the row (anomaly score
  above IsolationForest's own 0.5 threshold), else "nothing stands out ...", naming the two features (or
  the agent/customer wording) furthest from typical. Pools of fewer than `MIN_MODEL_ROWS` fit no model:
  priority is the prescreen distance and the reason names clear features or says there were too few.
- Text: each side is cut to its first `MAX_TEXT_CHARS` characters (the customer's problem is stated early,
  and the cap keeps the cost linear in rows), then TF-IDF (sublinear tf, English stop words, min_df 2-10 by
  pool size, max_df 0.8, at most 20,000 terms). The vocabulary is fitted on every row: fitting on a sample
  and transforming all tokenises the sample twice and is slower. An empty vocabulary skips that side.
- Topics: NMF on the customer side (the customer's problem is the topic), ``clamp(round(sqrt(n/50)), 3,
  12)`` components by default, fitted on at most `MAX_FIT_ROWS` rows drawn with the seed and applied to
  all. Each row's topic is its strongest component; topics are renumbered largest first, empty ones
  dropped, and two extra codes may follow: "(fits no topic)" (text whose terms no topic uses) and "(no
  customer text)". A label is the topic's top three terms ("refund · charge · card"). A topic is unusual
  below `RARE_TOPIC_SHARE` of the pool. A row is off-topic when the topics explain little of its customer
  text: relative reconstruction error ≥ 0.8 and a robust z ≥ 3 against the pool.
- Outliers: IsolationForest (100 trees, 256 samples per tree, n_jobs=1) on the numeric z-scores, the
  missing indicators, three TruncatedSVD components per text side and the reconstruction error; fitted
  on at most `MAX_FIT_ROWS` sampled rows, scoring all.
- Priority is a sum of surprises, each -ln(share of the pool at least as extreme), so they add like
  independent evidence: max(forest, named features) + rare topic + off-topic. The forest and the named
  features look at the same numbers, so only the larger counts. Named features count once per family
  (message counts and text lengths are one "volume" family: a long chat is long in all of them).
  A topic's surprise is -ln(its share) when rare; off-topic rows add the tail share of their error.
- Known bias: half the pool prescreen hands over is unusual rows, which widens the medians/MADs spotlight
  sees, so its reasons are if anything conservative (a feature must be further out to be named).
- Determinism: the same inputs and seed give the same output. Every estimator gets its own random_state
  derived with `keys.seed_for(seed, purpose)` (scikit-learn wants < 2**32; rule seeds go up to 2**63 - 1),
  the fit sample is drawn with numpy's PCG64, and the forest runs single-threaded. NMF's
  ConvergenceWarning is silenced: topics rank and stratify, and an NMF stopped at 200 iterations is still
  deterministic. For the same reason NMF stops at tol 1e-3 rather than 1e-4, which halves its fit time
  with no visible change in topics or reconstruction error. Priorities compare within one call only.
"""
# mypy: disable-error-code="import-untyped"
# (scikit-learn ships no type information; a per-file switch, unlike `type: ignore`, can't go stale.)
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray
from sklearn.decomposition import NMF, TruncatedSVD
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer

from sampling.keys import hash64, seed_for

__all__ = ["FITS_NO_TOPIC_LABEL", "MAX_FIT_ROWS", "MAX_TEXT_CHARS", "MIN_MODEL_ROWS", "NO_TEXT_LABEL",
           "NO_TOPIC_LABEL", "RARE_TOPIC_SHARE", "Spotlight", "prescreen", "spotlight"]

MIN_MODEL_ROWS = 30
MAX_FIT_ROWS = 20_000
MAX_TEXT_CHARS = 2_000
RARE_TOPIC_SHARE = 0.02
REASON_Z = 3.0
OFF_TOPIC_ERROR = 0.8
MAX_REASONS = 3
NO_TOPIC_LABEL = "(all conversations)"
FITS_NO_TOPIC_LABEL = "(fits no topic)"
NO_TEXT_LABEL = "(no customer text)"
_OFF_TOPIC_REASON = "off-topic (customer text fits no common topic)"
_Z_CLIP = 10.0
_LOG_Z_CAP = 50.0  # ln(1 + |z|) for absurd values (|z| ~ 1e21) that would otherwise be inf
_PRESCREEN_REFERENCE_ROWS = 100_000
_SVD_COMPONENTS = 3
_MAX_TERMS = 20_000
_Sparse = Any  # a scipy.sparse CSR matrix (scipy ships no type information)


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _times(value: float) -> str:
    return "once" if round(value) == 1 else f"{value:,.0f} times"


def _chars(value: float) -> str:
    return f"{value:,.0f} chars"


def _number(value: float) -> str:
    return f"{value:.3g}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@dataclass(frozen=True)
class _Feature:
    """How one numeric column is transformed and talked about (`high`/`low`: None where that side is dull).

    `family` groups columns that move together, so the priority counts them once.
    """

    noun: str
    high: str | None
    low: str | None
    fmt: Callable[[float], str]
    log: bool
    family: str


_FEATURES: dict[str, _Feature] = {
    "messages": _Feature("messages", "many messages", None, _count, True, "volume"),
    "agent_messages": _Feature("agent replies", "many agent replies", "few agent replies", _count, True,
                               "volume"),
    "customer_messages": _Feature("customer messages", "many customer messages", None, _count, True,
                                  "volume"),
    "first_response_seconds": _Feature("first response", "slow first response", None, _duration, True,
                                       "first response"),
    "handle_seconds": _Feature("handle time", "long handle time", "short handle time", _duration, True,
                               "handle time"),
    "csat": _Feature("CSAT", None, "low CSAT", _number, False, "csat"),
    "reopens": _Feature("reopens", "reopened", None, _times, True, "reopens"),
    "agent_chars": _Feature("agent text length", "long agent replies", "short agent replies", _chars, True,
                            "volume"),
    "customer_chars": _Feature("customer text length", "long customer messages", None, _chars, True,
                               "volume"),
}


def _feature(name: str) -> _Feature:
    """The known description of `name`, or a neutral one (both directions, no transform) for other columns."""
    if name in _FEATURES:
        return _FEATURES[name]
    noun = name.replace("_", " ")
    return _Feature(noun, f"high {noun}", f"low {noun}", _number, False, name)


@dataclass(frozen=True, eq=False)
class Spotlight:
    """Per row of the pool: how much it stands out, its topic (a stratum code) and why, in words.

    ``eq=False``: numpy arrays have no single truth value, so compare fields with ``np.array_equal``.
    """

    priority: NDArray[np.float64]
    topics: NDArray[np.int64]
    topic_labels: list[str]
    reasons: list[str]


# ---------------------------------------------------------------------------------------------------------
# Shared numeric helpers


def _as_matrix(numeric: npt.ArrayLike, n_rows: int | None = None) -> NDArray[np.float64]:
    """`numeric` as a float (n, d) matrix with every non-finite value turned into NaN (unknown)."""
    matrix = np.array(numeric, dtype=np.float64)
    if matrix.ndim == 1 and matrix.size == 0:
        matrix = matrix.reshape(0, 0)
    if matrix.ndim != 2:
        raise ValueError(f"numeric must be a 2-D array (rows x features), got {matrix.ndim}-D")
    if n_rows is not None and matrix.shape[0] != n_rows:
        raise ValueError(f"numeric has {matrix.shape[0]} rows, expected {n_rows}")
    matrix[~np.isfinite(matrix)] = np.nan
    return matrix


def _center_scale(values: NDArray[np.float64]) -> tuple[float, float]:
    """Median and a robust spread of the known values; spread 0 means constant or unknown (z = 0)."""
    known = values[~np.isnan(values)]
    if known.size == 0:
        return 0.0, 0.0
    center = float(np.median(known))
    deviation = np.abs(known - center)
    scale = 1.4826 * float(np.median(deviation))
    if scale == 0.0:
        q1, q3 = np.percentile(known, [25, 75])
        scale = float(q3 - q1) / 1.349
    if scale == 0.0:
        scale = 1.2533 * float(deviation.mean())
    return center, scale


def _robust_z(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Robust z-score of `values`; NaN stays NaN, and a column without spread scores 0."""
    center, scale = _center_scale(values)
    if scale == 0.0:
        return np.where(np.isnan(values), np.nan, 0.0)
    with np.errstate(over="ignore"):  # a tiny spread can overflow to ±inf; callers clip
        return (values - center) / scale


def _derived_seed(seed: int, purpose: str) -> int:
    """A 32-bit seed for one use (scikit-learn wants < 2**32), derived from a rule seed of any size."""
    return seed_for(seed, purpose) % (1 << 32)


# ---------------------------------------------------------------------------------------------------------
# Stage 1: prescreen


def _random_keys(ids: npt.ArrayLike | None, n: int, seed: int) -> NDArray[np.uint64]:
    """One seeded 64-bit key per row, a function of (id, seed) only, so row order doesn't matter."""
    if ids is None:
        return hash64(np.arange(n), seed_for(seed, "prescreen"))
    raw = np.asarray(ids)
    if raw.shape != (n,):
        raise ValueError(f"ids must have one entry per row ({n}), got shape {raw.shape}")
    if n and not np.issubdtype(raw.dtype, np.integer):
        raise ValueError("ids must be integers")
    return hash64(raw, seed_for(seed, "prescreen"))


def _unusualness(matrix: NDArray[np.float64], keys: NDArray[np.uint64]) -> NDArray[np.float64]:
    """Distance from typical: Σ over columns of ln(1 + |robust z|), so no one column swamps the rest yet
    a value a thousand spreads out still beats one ten spreads out (a cap would tie them).

    Medians and spreads come from the rows with the smallest keys (a seeded, order-independent sample of
    at most 100,000), which keeps 1M rows fast; unknown values count as typical.
    """
    n, d = matrix.shape
    reference = None
    if n > _PRESCREEN_REFERENCE_ROWS:
        reference = np.argpartition(keys, _PRESCREEN_REFERENCE_ROWS)[:_PRESCREEN_REFERENCE_ROWS]
    if np.isinf(matrix).any():
        matrix = np.where(np.isinf(matrix), np.nan, matrix)
    total = np.zeros(n, dtype=np.float32)
    for column in range(d):
        center, scale = _center_scale(matrix[:, column] if reference is None else matrix[reference, column])
        if scale == 0.0:
            continue
        # float32 halves the memory traffic and ranks need no more. Values beyond its range become inf
        # (capped below), and 0·inf becomes NaN (counted as typical below), hence the errstate.
        with np.errstate(over="ignore", invalid="ignore"):
            z = matrix[:, column].astype(np.float32)
            z -= np.float32(center)
            np.abs(z, out=z)
            z *= np.float32(1.0 / scale)
        np.log1p(z, out=z)
        np.fmax(z, 0.0, out=z)  # unknown (NaN) -> 0
        np.minimum(z, _LOG_Z_CAP, out=z)
        total += z
    return total.astype(np.float64)


def _group_codes(groups: NDArray[np.int64]) -> tuple[NDArray[np.integer[Any]], NDArray[np.int64]]:
    """A code per row and the group each code stands for. Codes are uint16 when they fit, as numpy sorts
    those stably with a radix sort (several times faster than the merge sort it uses for wider integers);
    small non-negative groups (agent ids) are their own codes, which saves sorting them to find them."""
    if groups.size and groups.min() >= 0 and groups.max() < 1 << 16:
        return groups.astype(np.uint16), np.arange(int(groups.max()) + 1, dtype=np.int64)
    distinct, codes = np.unique(groups, return_inverse=True)
    distinct = np.asarray(distinct, dtype=np.int64)
    return codes.astype(np.uint16 if distinct.size <= 1 << 16 else np.int64), distinct


def _code_limits(distinct: NDArray[np.int64], want: Mapping[int, int] | int, pool_factor: int,
                 minimum: int) -> NDArray[np.int64]:
    """Per group code, how many candidates it keeps: max(pool_factor·want, minimum), or 0 when want ≤ 0."""
    def limit(wanted: int) -> int:
        return 0 if wanted <= 0 else max(pool_factor * wanted, minimum)

    if not isinstance(want, Mapping):
        return np.full(distinct.size, limit(int(want)), dtype=np.int64)
    return np.array([limit(int(want.get(int(group), 0))) for group in distinct], dtype=np.int64)


def _rank_within(sorted_codes: NDArray[np.integer[Any]]) -> NDArray[np.int64]:
    """Position of each element inside its run of equal values (the input is sorted by group)."""
    n = sorted_codes.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    return np.asarray(np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n])), dtype=np.int64)


def _first_per_group(rows: NDArray[np.intp], codes: NDArray[np.integer[Any]],
                     quota: NDArray[np.int64]) -> NDArray[np.intp]:
    """The first `quota[group]` of `rows` in each group, keeping the given order within a group."""
    grouped = rows[np.argsort(codes[rows], kind="stable")]
    group = codes[grouped]
    return np.asarray(grouped[_rank_within(group) < quota[group]], dtype=np.intp)


def _descending_levels(score: NDArray[np.float64]) -> NDArray[np.uint16]:
    """Scores as 65,536 levels, highest first, so the stable sort by them is a radix sort; scores closer
    than 1/65,535 of the top one share a level and fall back to the random key (harmless for a pool)."""
    top = float(score.max()) if score.size else 0.0
    if top <= 0.0:
        return np.zeros(score.shape, dtype=np.uint16)
    return np.asarray(65535 - np.rint(score * (65535 / top)), dtype=np.uint16)


def prescreen(numeric: npt.ArrayLike, groups: npt.ArrayLike, want: Mapping[int, int] | int, seed: int,
              pool_factor: int = 4, minimum: int = 20, *,
              ids: npt.ArrayLike | None = None) -> NDArray[np.intp]:
    """Positions (ascending) of a reduced candidate pool: per group half most unusual, half seeded random.

    `groups` holds an integer group per row (e.g. agent id); `want` is how many the strategy will pick per
    group (a mapping; groups missing from it want 0) or the same number for every group. Pass the rows'
    integer `ids` to make the result independent of row order; without them, positions stand in for ids.
    """
    group_of = _check_groups(groups)
    n = group_of.size
    if pool_factor < 1 or minimum < 0:
        raise ValueError("pool_factor must be >= 1 and minimum >= 0")
    matrix = np.asarray(numeric, dtype=np.float64) if n else np.zeros((0, 0))
    if matrix.ndim != 2 or matrix.shape[0] != n:
        raise ValueError(f"numeric must be a 2-D array with one row per group entry ({n})")
    keys = _random_keys(ids, n, seed)
    codes, distinct = _group_codes(group_of)
    limits = _code_limits(distinct, want, pool_factor, minimum)
    unusual_quota = (limits + 1) // 2
    # Every order starts from the random key, so ties fall back to it and row order never matters.
    by_key = np.argsort(keys).astype(np.intp)
    by_score = by_key[np.argsort(_descending_levels(_unusualness(matrix, keys))[by_key], kind="stable")]
    unusual = _first_per_group(by_score, codes, unusual_quota)
    rest = np.ones(n, dtype=bool)
    rest[unusual] = False
    random_share = _first_per_group(by_key[rest[by_key]], codes, limits - unusual_quota)
    return np.sort(np.concatenate([unusual, random_share])).astype(np.intp)


def _check_groups(groups: npt.ArrayLike) -> NDArray[np.int64]:
    group_of = np.asarray(groups)
    if group_of.ndim != 1:
        raise ValueError("groups must be a 1-D array with one entry per row")
    if group_of.size and not np.issubdtype(group_of.dtype, np.integer):
        raise ValueError("groups must be integers")
    return group_of.astype(np.int64)


# ---------------------------------------------------------------------------------------------------------
# Stage 2: spotlight — numeric features


@dataclass(frozen=True)
class _Numeric:
    """The pool's numbers: raw values, robust z (0 where unknown or constant), missing indicators."""

    raw: NDArray[np.float64]
    z: NDArray[np.float64]
    features: list[_Feature]
    informative: NDArray[np.bool_]
    missing: NDArray[np.float64]


def _prepare_numeric(matrix: NDArray[np.float64], names: Sequence[str]) -> _Numeric:
    """Transform (log1p where heavy-tailed), robust-scale and impute each column; flag partly-known ones."""
    n, d = matrix.shape
    features = [_feature(name) for name in names]
    z = np.zeros((n, d))
    informative = np.zeros(d, dtype=bool)
    indicators = []
    for column, feature in enumerate(features):
        values = matrix[:, column]
        transformed = np.log1p(np.clip(values, 0.0, None)) if feature.log else values
        scores = _robust_z(transformed)
        known = ~np.isnan(values)
        informative[column] = bool(np.any(scores[known] != 0.0))
        z[:, column] = np.clip(np.nan_to_num(scores, nan=0.0), -_Z_CLIP, _Z_CLIP)
        if 0 < known.sum() < n:
            indicators.append((~known).astype(np.float64))
    missing = np.column_stack(indicators) if indicators else np.zeros((n, 0))
    return _Numeric(matrix, z, features, informative, missing)


def _named_strength(numeric: _Numeric) -> NDArray[np.float64]:
    """|z| where a column passes the reason threshold in a direction worth naming, else 0."""
    high = np.array([f.high is not None for f in numeric.features], dtype=bool)
    low = np.array([f.low is not None for f in numeric.features], dtype=bool)
    z = numeric.z
    named = ((z >= REASON_Z) & high) | ((z <= -REASON_Z) & low)
    return np.where(named, np.abs(z), 0.0)


def _tail_surprise(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """-ln of the share of rows with a value at least as high: 0 for the lowest, ln(n) for a unique top."""
    ordered = np.sort(values)
    at_least = values.size - np.searchsorted(ordered, values, side="left")
    return np.asarray(-np.log(at_least / max(values.size, 1)), dtype=np.float64)


def _numeric_surprise(numeric: _Numeric, strength: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per row, Σ over feature families of the largest -ln(share of rows at least as extreme) among its
    named features; a family counts once because its members move together (a long chat is long in
    messages, replies and characters at once)."""
    n = numeric.z.shape[0]
    by_family: dict[str, NDArray[np.float64]] = {}
    for column in np.flatnonzero(strength.any(axis=0)) if n else []:
        z = numeric.z[:, column]
        named = strength[:, column] > 0
        surprise = np.where(named & (z > 0), _tail_surprise(z), 0.0)
        surprise += np.where(named & (z < 0), _tail_surprise(-z), 0.0)
        family = numeric.features[column].family
        by_family[family] = np.maximum(by_family.get(family, np.zeros(n)), surprise)
    return np.asarray(sum(by_family.values(), np.zeros(n)), dtype=np.float64)


# ---------------------------------------------------------------------------------------------------------
# Stage 2: spotlight — text features and topics


@dataclass(frozen=True)
class _Text:
    """What the texts contribute: topic codes/labels, per-code rarity reasons, off-topic scores, SVD parts."""

    topics: NDArray[np.int64]
    labels: list[str]
    topic_share: NDArray[np.float64]
    topic_reasons: list[str | None]
    misfit: NDArray[np.float64]
    off_topic: NDArray[np.bool_]
    agent_svd: NDArray[np.float64]
    customer_svd: NDArray[np.float64]


def _tfidf(texts: Sequence[str]) -> tuple[_Sparse, NDArray[np.str_]] | None:
    """TF-IDF of the texts (each cut to MAX_TEXT_CHARS), or None when no usable vocabulary remains."""
    n = len(texts)
    # r"\w\w+" finds the same tokens as the default r"(?u)\b\w\w+\b" (greedy runs end at word boundaries)
    # and is about a third faster, which is most of spotlight's time.
    vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", token_pattern=r"\w\w+",
                                 min_df=max(2, min(10, n // 10_000)), max_df=0.8, max_features=_MAX_TERMS,
                                 dtype=np.float64)
    try:
        matrix = vectorizer.fit_transform([(text or "")[:MAX_TEXT_CHARS] for text in texts])
    except ValueError:  # empty vocabulary, or nothing left after min_df/max_df pruning
        return None
    return matrix, np.asarray(vectorizer.get_feature_names_out())


def _fit_rows(candidates: NDArray[np.int64], seed: int) -> NDArray[np.int64]:
    """At most MAX_FIT_ROWS of `candidates`, drawn with the seed, in ascending order."""
    if candidates.size <= MAX_FIT_ROWS:
        return candidates
    rng = np.random.Generator(np.random.PCG64(seed_for(seed, "fit rows")))
    return np.sort(rng.choice(candidates, size=MAX_FIT_ROWS, replace=False))


def _svd(matrix: _Sparse | None, n: int, seed: int) -> NDArray[np.float64]:
    """A few TruncatedSVD components of a TF-IDF matrix (fitted on a sample), or no columns without text."""
    if matrix is None or matrix.shape[1] < 2:
        return np.zeros((n, 0))
    components = min(_SVD_COMPONENTS, matrix.shape[1] - 1)
    fit = _fit_rows(np.arange(matrix.shape[0], dtype=np.int64), seed)
    model = TruncatedSVD(n_components=components, random_state=_derived_seed(seed, "svd")).fit(matrix[fit])
    return np.asarray(model.transform(matrix), dtype=np.float64)


def _default_topics(n: int) -> int:
    return min(12, max(3, round(math.sqrt(n / 50))))


def _nmf(matrix: _Sparse, k: int, seed: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """NMF of the customer TF-IDF: weights W for every row and components H, fitted on a seeded sample."""
    nonempty = np.flatnonzero(matrix.getnnz(axis=1) > 0).astype(np.int64)
    fit = _fit_rows(nonempty, seed)
    model = NMF(n_components=k, init="nndsvda", tol=1e-3, max_iter=200,
                random_state=_derived_seed(seed, "nmf"))
    # np.errstate: on a near-perfect fit NMF's (unused) reconstruction_err_ is the sqrt of a rounding error
    # that can be a hair below 0.
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(matrix[fit])
        weights = model.transform(matrix)
    return np.asarray(weights, dtype=np.float64), np.asarray(model.components_, dtype=np.float64)


def _misfit(matrix: _Sparse, weights: NDArray[np.float64],
            components: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per row, the share of its (unit-length) TF-IDF vector the topics leave unexplained; 0 for empty rows.

    ‖x - wH‖² = ‖x‖² - 2·w·(Hx) + w·(HHᵀ)w, computed without densifying the reconstruction.
    """
    norms = np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()
    cross = np.einsum("ij,ij->i", weights, np.asarray(matrix @ components.T))
    recon = np.einsum("ij,ij->i", weights @ (components @ components.T), weights)
    error = np.clip(norms - 2 * cross + recon, 0.0, None)
    return np.asarray(np.divide(error, norms, out=np.zeros_like(norms), where=norms > 0), dtype=np.float64)


def _label(components: NDArray[np.float64], topic: int, terms: NDArray[np.str_]) -> str:
    """A topic's three heaviest terms, "refund · charge · card"."""
    top = np.argsort(-components[topic], kind="stable")[:3]
    return " · ".join(str(terms[i]) for i in top if components[topic, i] > 0) or FITS_NO_TOPIC_LABEL


def _assign_topics(weights: NDArray[np.float64], components: NDArray[np.float64], terms: NDArray[np.str_],
                   empty: NDArray[np.bool_]) -> tuple[NDArray[np.int64], list[str]]:
    """Topic code per row, largest topic first, then "(fits no topic)" and "(no customer text)" if used."""
    k = components.shape[0]
    raw = np.where(weights.max(axis=1) > 0, weights.argmax(axis=1), k)
    raw = np.where(empty, k + 1, raw)
    sizes = np.bincount(raw, minlength=k + 2)
    real = sorted((t for t in range(k) if sizes[t] > 0), key=lambda t: (-sizes[t], t))
    order = real + [t for t in (k, k + 1) if sizes[t] > 0]
    labels = [_label(components, t, terms) for t in real]
    labels += [FITS_NO_TOPIC_LABEL if t == k else NO_TEXT_LABEL for t in order[len(real):]]
    recode = np.zeros(k + 2, dtype=np.int64)
    recode[order] = np.arange(len(order))
    return recode[raw], labels


def _topic_reason(label: str, share: float) -> str | None:
    """What to say about a row for being in a topic with this share of the pool (None when it is common)."""
    if share >= RARE_TOPIC_SHARE:
        return None
    if label == FITS_NO_TOPIC_LABEL:
        return _OFF_TOPIC_REASON
    if label == NO_TEXT_LABEL:
        return "no customer text"
    return f"unusual topic: {label}"


def _topic_model(customer: tuple[_Sparse, NDArray[np.str_]] | None, n: int, seed: int,
                 n_topics: int | None) -> tuple[NDArray[np.int64], list[str], NDArray[np.float64]]:
    """Topic codes, labels and misfit for every row; a single "(all conversations)" topic without text."""
    single = (np.zeros(n, dtype=np.int64), [NO_TOPIC_LABEL], np.zeros(n))
    if customer is None:
        return single
    matrix, terms = customer
    empty = matrix.getnnz(axis=1) == 0
    k = min(n_topics or _default_topics(n), matrix.shape[1], int((~empty).sum()))
    if k < 1:
        return single
    weights, components = _nmf(matrix, k, seed)
    topics, labels = _assign_topics(weights, components, terms, empty)
    return topics, labels, _misfit(matrix, weights, components)


def _analyse_text(agent_texts: Sequence[str], customer_texts: Sequence[str], seed: int,
                  n_topics: int | None) -> _Text:
    """TF-IDF both sides, topics on the customer side, off-topic flags, SVD parts for the outlier model."""
    n = len(customer_texts)
    customer = _tfidf(customer_texts)
    agent = _tfidf(agent_texts)
    topics, labels, misfit = _topic_model(customer, n, seed, n_topics)
    sizes = np.bincount(topics, minlength=len(labels))
    shares = sizes / max(n, 1)
    reasons = [_topic_reason(label, float(share)) for label, share in zip(labels, shares, strict=True)]
    has_text = misfit > 0  # 0 only without customer text (or for a perfect fit, never off-topic anyway)
    misfit_z = np.zeros(n)
    if has_text.any():
        misfit_z[has_text] = _robust_z(misfit[has_text])
    off_topic = has_text & (misfit >= OFF_TOPIC_ERROR) & (misfit_z >= REASON_Z)
    return _Text(topics, labels, shares[topics], reasons, misfit, off_topic,
                 _svd(None if agent is None else agent[0], n, seed),
                 _svd(None if customer is None else customer[0], n, seed))


# ---------------------------------------------------------------------------------------------------------
# Stage 2: spotlight — outliers, priority and reasons


def _outlier_scores(features: NDArray[np.float64], seed: int) -> NDArray[np.float64]:
    """IsolationForest anomaly score in (0, 1) per row (0.5+ reads as an outlier); fitted on ≤20k rows."""
    n = features.shape[0]
    keep = features.max(axis=0) > features.min(axis=0) if n else np.zeros(features.shape[1], dtype=bool)
    if not keep.any():
        return np.full(n, 0.5)
    usable = features[:, keep]
    fit = _fit_rows(np.arange(n, dtype=np.int64), seed)
    forest = IsolationForest(n_estimators=100, max_samples=min(256, fit.size), n_jobs=1,
                             random_state=_derived_seed(seed, "forest")).fit(usable[fit])
    return -np.asarray(forest.score_samples(usable), dtype=np.float64)


def _wording_z(parts: NDArray[np.float64]) -> NDArray[np.float64]:
    """How far a row's wording sits from typical: the largest robust |z| over its SVD components."""
    if parts.shape[1] == 0:
        return np.zeros(parts.shape[0])
    columns = [np.abs(np.nan_to_num(_robust_z(parts[:, c]), nan=0.0)) for c in range(parts.shape[1])]
    return np.asarray(np.clip(np.max(columns, axis=0), 0.0, _Z_CLIP), dtype=np.float64)


def _contributions(numeric: _Numeric, text: _Text | None) -> tuple[NDArray[np.float64], list[str | None]]:
    """Per row and candidate (numeric columns, then agent/customer wording): |z|, with each candidate's name.

    Names are None for numeric columns (their phrase carries the row's value) and fixed for wording.
    """
    columns = [np.abs(numeric.z)]
    names: list[str | None] = [None] * numeric.z.shape[1]
    if text is not None:
        columns += [_wording_z(text.agent_svd)[:, None], _wording_z(text.customer_svd)[:, None]]
        names += ["agent wording", "customer wording"]
    return np.hstack(columns), names


@dataclass(frozen=True)
class _Phrasing:
    """Everything the per-row reason loop reads, precomputed as plain lists (numpy scalars are slow)."""

    raw: list[list[float]]
    z: list[list[float]]
    strength: list[list[float]]
    named_order: list[list[int]]
    contributions: list[list[float]]
    contribution_order: list[list[int]]
    names: list[str | None]


def _phrasing(numeric: _Numeric, text: _Text | None) -> _Phrasing:
    strength = _named_strength(numeric)
    contributions, names = _contributions(numeric, text)
    return _Phrasing(
        numeric.raw.tolist(), numeric.z.tolist(), strength.tolist(),
        np.argsort(-strength, axis=1, kind="stable")[:, :MAX_REASONS].tolist(), contributions.tolist(),
        np.argsort(-contributions, axis=1, kind="stable")[:, :2].tolist(), names)


def _value(feature: _Feature, value: float) -> str:
    return "unknown" if math.isnan(value) else feature.fmt(value)


def _describe(feature: _Feature, value: float) -> str:
    return f"{feature.noun} ({_value(feature, value)})"


def _named_reasons(features: list[_Feature], phrasing: _Phrasing, row: int) -> list[str]:
    """Up to MAX_REASONS feature phrases for one row, strongest first: "long handle time (3.2 h)"."""
    phrases = []
    for column in phrasing.named_order[row]:
        if phrasing.strength[row][column] <= 0:
            break
        feature = features[column]
        phrase = feature.high if phrasing.z[row][column] > 0 else feature.low
        phrases.append(f"{phrase} ({_value(feature, phrasing.raw[row][column])})")
    return phrases


def _quiet_reason(features: list[_Feature], phrasing: _Phrasing, row: int, anomalous: bool) -> str:
    """The honest reason when no single feature stands out: name the two furthest from typical."""
    parts = [phrasing.names[column] or _describe(features[column], phrasing.raw[row][column])
             for column in phrasing.contribution_order[row] if phrasing.contributions[row][column] > 0]
    if not parts:
        return "nothing stands out: a typical conversation"
    joined = " and ".join(parts)
    return f"unusual combination of {joined}" if anomalous else f"nothing stands out (closest: {joined})"


def _text_reason(text: _Text, row: int) -> str | None:
    reason = text.topic_reasons[int(text.topics[row])]
    return _OFF_TOPIC_REASON if reason is None and text.off_topic[row] else reason


def _reasons(numeric: _Numeric, text: _Text, anomalous: NDArray[np.bool_]) -> list[str]:
    """One short, never empty, human reason per row."""
    phrasing = _phrasing(numeric, text)
    flags = anomalous.tolist()
    reasons = []
    for row in range(numeric.z.shape[0]):
        phrases = _named_reasons(numeric.features, phrasing, row)
        text_reason = _text_reason(text, row)
        if text_reason is not None:
            phrases.append(text_reason)
        if not phrases:
            phrases.append(_quiet_reason(numeric.features, phrasing, row, flags[row]))
        reasons.append(", ".join(phrases))
    return reasons


def _priority(numeric: _Numeric, text: _Text, anomaly: NDArray[np.float64]) -> NDArray[np.float64]:
    """Σ of surprises (-ln of how rare): outlier score, named features, rare topic, off-topic text."""
    # The forest sees the same numbers the named features come from: count the larger, not both.
    surprise = np.maximum(_tail_surprise(anomaly), _numeric_surprise(numeric, _named_strength(numeric)))
    rare = text.topic_share < RARE_TOPIC_SHARE
    surprise += np.where(rare, -np.log(np.where(rare, text.topic_share, 1.0)), 0.0)
    return surprise + np.where(text.off_topic, _tail_surprise(text.misfit), 0.0)


def _tiny_pool(numeric: _Numeric) -> Spotlight:
    """Too few rows to fit models: rank by robust-z distance and name only features that clearly stand out."""
    n = numeric.z.shape[0]
    distance = np.log1p(np.abs(numeric.z)).sum(axis=1)
    phrasing = _phrasing(numeric, None)
    count = f"only {n} conversation{'s' if n != 1 else ''} to compare"
    reasons = [", ".join(_named_reasons(numeric.features, phrasing, row)) or f"{count}: nothing stands out"
               for row in range(n)]
    return Spotlight(distance, np.zeros(n, dtype=np.int64), [NO_TOPIC_LABEL], reasons)


def _check_inputs(matrix: NDArray[np.float64], feature_names: Sequence[str], agent_texts: Sequence[str],
                  customer_texts: Sequence[str], n_topics: int | None) -> None:
    n = len(customer_texts)
    if len(agent_texts) != n:
        raise ValueError(f"agent_texts has {len(agent_texts)} rows, customer_texts {n}")
    if matrix.shape[1] != len(feature_names):
        raise ValueError(f"numeric has {matrix.shape[1]} columns but {len(feature_names)} feature names")
    if n_topics is not None and n_topics < 1:
        raise ValueError("n_topics must be at least 1")


def spotlight(numeric: npt.ArrayLike, feature_names: Sequence[str], agent_texts: Sequence[str],
              customer_texts: Sequence[str], seed: int, *, n_topics: int | None = None) -> Spotlight:
    """Score how much each conversation of the pool stands out, find its topic and say why, in words.

    `numeric` is (rows x features) with columns named by `feature_names` (messages, agent_messages,
    customer_messages, first_response_seconds, handle_seconds, csat, reopens, agent_chars, customer_chars;
    others are used neutrally); NaN means unknown. Texts are one string per row and side.
    """
    n = len(customer_texts)
    matrix = _as_matrix(numeric, n) if n or np.size(numeric) else np.zeros((0, len(feature_names)))
    _check_inputs(matrix, feature_names, agent_texts, customer_texts, n_topics)
    prepared = _prepare_numeric(matrix, feature_names)
    if n == 0:
        return Spotlight(np.zeros(0), np.zeros(0, dtype=np.int64), [], [])
    if n < MIN_MODEL_ROWS:
        return _tiny_pool(prepared)
    text = _analyse_text(agent_texts, customer_texts, seed, n_topics)
    features = np.hstack([prepared.z[:, prepared.informative], prepared.missing, text.agent_svd,
                          text.customer_svd, text.misfit[:, None]])
    anomaly = _outlier_scores(features, seed)
    reasons = _reasons(prepared, text, anomaly > 0.5)
    return Spotlight(_priority(prepared, text, anomaly), text.topics, text.labels, reasons)
