"""Sampling strategies: which candidates a quota picks, per quota group, from columnar numpy data.

The app hands over every candidate that matched a rule's filters as one `Pool` (up to ~1,000,000 rows),
and `sample` returns the positions picked. Everything is vectorised; the only Python loops run over
quota groups (stratified allocation) or over a `wanted` mapping, never over candidates.

Quotas (`Quota.kind`):
- ``per_agent`` N: every group present in the pool (`Pool.groups`, the agent id) wants N. A group is
  an ordinary integer, so candidates without an agent (-1) form a group of their own; the app drops
  them from the pool when it does not want them sampled. Agents with no matching candidate are not
  in the pool at all: the app reports them.
- ``total`` N: one group, key 0, wants N (`Pool.groups` is ignored for the quota).
- ``percent`` p (0 < p <= 100): one group, key 0, wants ceil(p/100 * len(pool)), so at least 1 when
  the pool is not empty. The product is computed exactly from p's decimal form (10% of 30 is 3, not
  ceil(3.0000000000000004) = 4).
- ``wanted`` (keyword) replaces the quota's wants entirely: groups missing from it want 0 and groups
  in it that the pool lacks are reported short. The app uses it to top a run up from a backup filter
  by passing the shortfall. For total/percent quotas its only key is 0.
- Every strategy picks exactly ``got = min(wanted, available)`` per group; ``weighted`` treats a weight
  of 0 or NaN as unavailable.

Strategies, within each quota group, from `keys.hash64(ids, seed)` (h) and its uniform `u`:
- ``random``: the candidates with the smallest keys (a uniform sample without replacement).
- ``stratified``: `stratum_allocation` splits the group's want over `Pool.strata` (Hamilton's
  largest remainder method, at least one per non-empty stratum when the want allows), then each
  stratum takes its smallest keys. Any integer code is a stratum (the app maps "no value" to one).
- ``weighted``: Efraimidis–Spirakis A-Res, written with exponential keys E = -log(1-u)/w and taking the
  smallest E, which orders candidates exactly as the largest log(u)/w does (1-u is uniform too) but
  never takes log(0). This is successive sampling: each next pick is drawn proportionally to weight.
- ``spotlight``: the highest `Pool.priority` first; NaN counts as lowest.
All ties end on h, a bijection of the ids, so the order is total and the result does not depend on
the order of the pool's rows.

Output order: positions are grouped by quota group (ascending key), then in pick rank (smallest key,
smallest E, highest priority; stratified picks are ranked by key, whatever their stratum).

Speed: ranking sorts one uint64 per candidate that packs (group code, the strategy's order key);
if packing truncated two keys into a tie it falls back to an exact `np.lexsort`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil, isfinite
from numbers import Real
from typing import Any, Literal, TypeVar, cast, get_args

import numpy as np
import numpy.typing as npt

from sampling.keys import hash64

Strategy = Literal["random", "stratified", "weighted", "spotlight"]
QuotaKind = Literal["per_agent", "percent", "total"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)
QUOTA_KINDS: tuple[str, ...] = get_args(QuotaKind)
SINGLE_GROUP = 0  # the one group of total and percent quotas

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
U64Array = npt.NDArray[np.uint64]
ArrayT = TypeVar("ArrayT", bound=np.ndarray[Any, Any])
_SIGN = np.uint64(1 << 63)


@dataclass(frozen=True, eq=False)
class Pool:
    """The candidates of one sampling run, one row per conversation, as parallel numpy columns."""

    ids: IntArray
    groups: IntArray
    strata: IntArray | None = None
    weights: FloatArray | None = None
    priority: FloatArray | None = None

    def __post_init__(self) -> None:
        ids = _int_column(self.ids, "ids")
        size = ids.shape[0]
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "groups", _int_column(self.groups, "groups", size))
        if self.strata is not None:
            object.__setattr__(self, "strata", _int_column(self.strata, "strata", size))
        if self.weights is not None:
            weights = _float_column(self.weights, "weights", size)
            if np.any(weights < 0) or np.any(np.isposinf(weights)):
                raise ValueError("weights must be finite and >= 0 (0 or NaN: never picked)")
            object.__setattr__(self, "weights", weights)
        if self.priority is not None:
            object.__setattr__(self, "priority", _float_column(self.priority, "priority", size))
        sorted_ids = np.sort(ids)
        if size > 1 and np.any(sorted_ids[1:] == sorted_ids[:-1]):
            raise ValueError("ids must be unique")

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True)
class Quota:
    """How many to pick: N per agent, p percent of the pool, or N in total."""

    kind: QuotaKind
    value: float

    def __post_init__(self) -> None:
        if self.kind not in QUOTA_KINDS:
            raise ValueError(f"quota kind must be one of {', '.join(QUOTA_KINDS)}, not {self.kind!r}")
        value = self.value
        if isinstance(value, bool) or not isinstance(value, Real) or not isfinite(value):
            raise ValueError(f"quota value must be a finite number, not {value!r}")
        if self.kind == "percent":
            if not 0 < value <= 100:
                raise ValueError(f"a percent quota must be in (0, 100], not {value}")
        elif value < 1 or value != int(value):
            raise ValueError(f"a {self.kind} quota must be a whole number >= 1, not {value}")

    def wants(self, pool_size: int) -> int:
        """What the quota asks of one group (per agent) or of the single group (total, percent)."""
        if self.kind == "percent":
            return ceil(Fraction(repr(float(self.value))) * pool_size / 100)
        return int(self.value)


@dataclass(frozen=True, eq=False)
class Sample:
    """The picks of one run: pool positions in pick order, and per quota group what was asked and got."""

    positions: IntArray
    wanted: dict[int, int] = field(default_factory=dict)
    got: dict[int, int] = field(default_factory=dict)

    @property
    def shortfall(self) -> dict[int, int]:
        """Per group, how many the quota asked for but the pool could not give (only groups short)."""
        return {g: w - self.got.get(g, 0) for g, w in self.wanted.items() if w > self.got.get(g, 0)}

    @property
    def total(self) -> int:
        return int(self.positions.shape[0])

    @property
    def total_wanted(self) -> int:
        return sum(self.wanted.values())

    def counts_by(self, codes: npt.ArrayLike) -> dict[int, int]:
        """How many picks carry each value of a pool column (e.g. the strata, for the run's record)."""
        values, counts = np.unique(np.asarray(codes)[self.positions], return_counts=True)
        return {int(v): int(c) for v, c in zip(values.tolist(), counts.tolist(), strict=True)}


def sample(pool: Pool, quota: Quota, strategy: Strategy, seed: int, *,
           wanted: Mapping[int, int] | None = None) -> Sample:
    """Pick from `pool` what `quota` (or `wanted`) asks, per group, with `strategy`; same seed, same picks."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    _require_columns(pool, strategy)
    if quota.kind == "per_agent":
        uniques, all_codes = _dense_codes(pool.groups)
    else:
        uniques, all_codes = np.array([SINGLE_GROUP], dtype=np.int64), np.zeros(len(pool), dtype=np.intp)
    wants = _wants(quota, uniques, len(pool), wanted)
    available = _available(pool, strategy)
    rows = None if available is None else np.flatnonzero(available)
    codes = _take(all_codes, rows)
    want_per_code = _lookup(wants, uniques)
    have = dict(zip(uniques.tolist(), np.bincount(codes, minlength=uniques.shape[0]).tolist(), strict=True))
    got = {group: min(want, have.get(group, 0)) for group, want in wants.items()}
    h = hash64(_take(pool.ids, rows), seed)
    picked = _pick(pool, strategy, rows, codes, uniques.shape[0], want_per_code, h)
    positions = picked if rows is None else rows[picked]
    return Sample(positions=positions.astype(np.int64), wanted=wants, got=got)


def stratum_allocation(sizes: Sequence[int], want: int) -> list[int]:
    """Split `want` picks over strata of `sizes` in proportion (Hamilton), at least one per non-empty one.

    Exact integer arithmetic: stratum s's share is q_s = n_s * want / N. Each gets floor(q_s); the seats
    left go to the largest remainders, ties to the lower stratum index. When want >= the number of
    non-empty strata, every empty-handed non-empty stratum then takes one seat from the stratum holding
    the most (ties: the smaller share, which was rounded up most generously, then the higher index).
    Caps: with want <= N no share exceeds its stratum (q_s <= n_s) and only a fractional share is
    rounded up, so no stratum is given more than it holds and nothing needs redistributing; a want
    above N takes every candidate.
    """
    if want < 0 or any(size < 0 for size in sizes):
        raise ValueError("stratum sizes and the want must be >= 0")
    total = sum(sizes)
    want = min(want, total)
    if want == total:
        return list(sizes)
    alloc = [size * want // total for size in sizes]
    remainders = [size * want % total for size in sizes]
    by_remainder = sorted(range(len(sizes)), key=lambda s: (-remainders[s], s))
    for s in by_remainder[: want - sum(alloc)]:
        alloc[s] += 1
    non_empty = [s for s, size in enumerate(sizes) if size > 0]
    if want >= len(non_empty):
        for s in non_empty:
            if alloc[s] == 0:
                donor = max(range(len(sizes)), key=lambda d: (alloc[d], -sizes[d], d))
                alloc[donor] -= 1
                alloc[s] = 1
    return alloc


def _int_column(values: npt.ArrayLike, name: str, size: int | None = None) -> IntArray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, not {array.dtype}")
    if size is not None and array.shape[0] != size:
        raise ValueError(f"{name} has {array.shape[0]} rows but ids has {size}")
    return np.ascontiguousarray(array, dtype=np.int64)


def _float_column(values: npt.ArrayLike, name: str, size: int) -> FloatArray:
    array = np.asarray(values)
    if array.ndim != 1 or array.shape[0] != size:
        raise ValueError(f"{name} must be one-dimensional with {size} rows, like ids")
    if array.size and not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{name} must hold numbers, not {array.dtype}")
    return np.ascontiguousarray(array, dtype=np.float64)


def _require_columns(pool: Pool, strategy: Strategy) -> None:
    needed = {"stratified": "strata", "weighted": "weights", "spotlight": "priority"}.get(strategy)
    if needed is not None and getattr(pool, needed) is None:
        raise ValueError(f"the {strategy} strategy needs pool.{needed}")


def _wants(quota: Quota, uniques: IntArray, pool_size: int, wanted: Mapping[int, int] | None
           ) -> dict[int, int]:
    """Per quota group, how many the run asks for (`uniques`: the groups present in the pool)."""
    if wanted is not None:
        wants: dict[int, int] = {}
        for group, want in wanted.items():
            if isinstance(want, bool) or not isinstance(want, int | np.integer) or want < 0:
                raise ValueError(f"wanted[{group}] must be a whole number >= 0, not {want!r}")
            wants[int(group)] = int(want)
        if quota.kind != "per_agent" and set(wants) - {SINGLE_GROUP}:
            raise ValueError(f"a {quota.kind} quota has one group, {SINGLE_GROUP}; wanted names others")
        return wants
    if quota.kind == "per_agent":
        return dict.fromkeys(uniques.tolist(), quota.wants(pool_size))
    return {SINGLE_GROUP: quota.wants(pool_size)}


def _available(pool: Pool, strategy: Strategy) -> npt.NDArray[np.bool_] | None:
    """Rows that may be picked, or None for all: only weighted sampling excludes (weight 0 or NaN)."""
    if strategy != "weighted" or pool.weights is None:
        return None
    return pool.weights > 0  # NaN compares False


def _dense_codes(values: IntArray) -> tuple[IntArray, npt.NDArray[np.intp]]:
    """The sorted distinct values and, per row, the index of its value (like np.unique, but O(n) for ids)."""
    if values.shape[0] == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.intp)
    low, high = int(values.min()), int(values.max())
    span = high - low + 1
    if span > 4 * values.shape[0] + 1024:
        uniques, codes = np.unique(values, return_inverse=True)
        return uniques.astype(np.int64), codes.reshape(-1).astype(np.intp)
    shifted = values - low
    present = np.zeros(span, dtype=bool)
    present[shifted] = True
    lookup = np.cumsum(present) - 1
    return (np.flatnonzero(present) + low).astype(np.int64), lookup[shifted].astype(np.intp)


def _lookup(wants: Mapping[int, int], uniques: IntArray) -> IntArray:
    """Per dense group code, its want (0 for groups the mapping does not name)."""
    per_code = np.zeros(uniques.shape[0], dtype=np.int64)
    if wants and uniques.shape[0]:
        keys = np.fromiter(wants.keys(), dtype=np.int64, count=len(wants))
        values = np.fromiter(wants.values(), dtype=np.int64, count=len(wants))
        at = np.minimum(np.searchsorted(uniques, keys), uniques.shape[0] - 1)
        hit = uniques[at] == keys
        per_code[at[hit]] = values[hit]
    return per_code


def _take(column: ArrayT, rows: npt.NDArray[np.intp] | None) -> ArrayT:
    """`column[rows]`, or `column` itself (no copy) when every row is kept."""
    return column if rows is None else cast(ArrayT, column[rows])


def _pick(pool: Pool, strategy: Strategy, rows: npt.NDArray[np.intp] | None, codes: npt.NDArray[np.intp],
          n_codes: int, want_per_code: IntArray, h: U64Array) -> npt.NDArray[np.intp]:
    """Indices into `rows` (or the pool when None) of the picks, grouped by code then rank."""
    if strategy == "stratified":
        assert pool.strata is not None
        return _pick_stratified(_take(pool.strata, rows), codes, n_codes, want_per_code, h)
    if strategy == "weighted":
        assert pool.weights is not None
        u = (h >> np.uint64(11)).astype(np.float64) * 2.0**-53
        primary = _float_order(-np.log1p(-u) / _take(pool.weights, rows))
    elif strategy == "spotlight":
        assert pool.priority is not None
        priority = _take(pool.priority, rows)
        primary = _float_order(-np.where(np.isnan(priority), -np.inf, priority))
    else:
        primary = h
    order = _order(codes, n_codes, primary, h)
    return order[_first_per_code(codes[order], n_codes, want_per_code)]


def _pick_stratified(strata: IntArray, codes: npt.NDArray[np.intp], n_codes: int, want_per_code: IntArray,
                     h: U64Array) -> npt.NDArray[np.intp]:
    """Allocate each group's want over its strata, take each stratum's smallest keys, rank by key."""
    if strata.shape[0] == 0:
        return np.empty(0, dtype=np.intp)
    strata_uniques, strata_codes = _dense_codes(strata)
    n_strata = max(1, strata_uniques.shape[0])
    cell_values, cells = _dense_codes(codes.astype(np.int64) * n_strata + strata_codes)
    sizes = np.bincount(cells, minlength=cell_values.shape[0])
    cell_groups = cell_values // n_strata
    alloc = np.zeros(cell_values.shape[0], dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, cell_groups[1:] != cell_groups[:-1]])
    for start, end in zip(starts.tolist(), np.r_[starts[1:], cell_groups.shape[0]].tolist(), strict=True):
        want = int(want_per_code[cell_groups[start]])
        if want:
            alloc[start:end] = stratum_allocation(sizes[start:end].tolist(), want)
    order = _order(cells, cell_values.shape[0], h, h)
    picked = order[_first_per_code(cells[order], cell_values.shape[0], alloc)]
    return picked[np.lexsort((h[picked], codes[picked]))]


def _float_order(values: FloatArray) -> U64Array:
    """uint64 keys that sort like the floats (NaN-free): flip negatives, set the sign bit of the rest."""
    bits = (values + 0.0).view(np.uint64)  # + 0.0 turns -0.0 into 0.0
    return np.where(bits >= _SIGN, ~bits, bits | _SIGN)


def _order(codes: npt.NDArray[np.intp], n_codes: int, primary: U64Array, h: U64Array) -> npt.NDArray[np.intp]:
    """The permutation sorting rows by (code, primary, h), via one packed uint64 sort when that is exact."""
    shift = (n_codes - 1).bit_length()
    packed = primary.copy()
    if shift:
        packed >>= np.uint64(shift)
        packed |= codes.astype(np.uint64) << np.uint64(64 - shift)
    order = np.argsort(packed)
    ranked = packed[order]
    if ranked.shape[0] > 1 and np.any(ranked[1:] == ranked[:-1]):
        # Packing dropped low bits (or primary keys tie): sort on the full keys instead.
        order = np.lexsort((h, primary, codes))
    return order


def _first_per_code(sorted_codes: npt.NDArray[np.intp], n_codes: int, want_per_code: IntArray
                    ) -> npt.NDArray[np.bool_]:
    """For rows sorted by code then rank: True for the first want_per_code[code] rows of each code."""
    counts = np.bincount(sorted_codes, minlength=n_codes)
    starts = np.cumsum(counts) - counts
    rank = np.arange(sorted_codes.shape[0]) - starts[sorted_codes]
    return rank < want_per_code[sorted_codes]
