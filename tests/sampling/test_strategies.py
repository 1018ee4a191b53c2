"""Tests for the sampling strategies and quotas (sampling/strategies.py)."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from decimal import Decimal
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sampling.keys import hash64, random_keys, seed_for
from sampling.strategies import STRATEGIES, Pool, Quota, Sample, Strategy, _order, sample, stratum_allocation

T = TypeVar("T")
# A 5-sigma band is the usual; 5.5 keeps each check's chance of a false alarm under 4e-8.
Z = 5.5


@st.composite
def pools(draw: st.DrawFn, max_size: int = 40) -> Pool:
    """Small pools: unique ids, a few groups (small or huge ids), strata, odd weights, tied priorities."""
    n = draw(st.integers(0, max_size))
    ids = draw(st.lists(st.integers(-(10**12), 10**12), min_size=n, max_size=n, unique=True))
    group_values = draw(st.lists(st.integers(-(10**15), 10**15), min_size=1, max_size=5, unique=True)
                        | st.lists(st.integers(-1, 6), min_size=1, max_size=5, unique=True))

    def column(values: st.SearchStrategy[T]) -> st.SearchStrategy[list[T]]:
        return st.lists(values, min_size=n, max_size=n)

    groups = draw(column(st.sampled_from(group_values)))
    strata = draw(column(st.integers(-2, 3)))
    weights = draw(column(st.sampled_from([0.0, math.nan, 0.5, 1.0, 3.0]) | st.floats(1e-3, 1e3)))
    priority = draw(column(st.sampled_from([math.nan, 0.0, -0.0, 1.0, math.inf, -math.inf])
                           | st.floats(-1e6, 1e6, allow_nan=False)))
    return Pool(ids=np.array(ids, dtype=np.int64), groups=np.array(groups, dtype=np.int64),
                strata=np.array(strata, dtype=np.int64), weights=np.array(weights, dtype=np.float64),
                priority=np.array(priority, dtype=np.float64))


quotas = st.one_of(
    st.builds(Quota, st.just("per_agent"), st.integers(1, 8)),
    st.builds(Quota, st.just("total"), st.integers(1, 30)),
    st.builds(Quota, st.just("percent"), st.sampled_from([0.1, 1, 10, 12.5, 33.3, 50, 99.9, 100])
              | st.floats(0.01, 100)),
)
strategies = st.sampled_from(STRATEGIES)
seeds = st.integers(0, 2**63 - 1)


def quota_groups(pool: Pool, quota: Quota) -> npt.NDArray[np.int64]:
    return pool.groups if quota.kind == "per_agent" else np.zeros(len(pool), dtype=np.int64)


def reference_wants(pool: Pool, quota: Quota) -> dict[int, int]:
    """The quota's wants, written independently of the module (Decimal instead of Fraction)."""
    if quota.kind == "per_agent":
        return {int(g): int(quota.value) for g in set(pool.groups.tolist())}
    if quota.kind == "total":
        return {0: int(quota.value)}
    return {0: math.ceil(Decimal(repr(float(quota.value))) * len(pool) / 100)}


def available(pool: Pool, strategy: Strategy) -> npt.NDArray[np.bool_]:
    if strategy == "weighted":
        assert pool.weights is not None
        return np.nan_to_num(pool.weights, nan=0.0) > 0
    return np.ones(len(pool), dtype=bool)


def reference_sample(pool: Pool, quota: Quota, strategy: Strategy, seed: int,
                     wanted: dict[int, int] | None = None) -> list[int]:
    """The expected positions, in order, computed row by row in plain Python."""
    h = [int(v) for v in hash64(pool.ids, seed)]
    u = random_keys(pool.ids, seed)
    groups = quota_groups(pool, quota).tolist()
    wants = reference_wants(pool, quota) if wanted is None else wanted
    ok = available(pool, strategy)
    expected: list[int] = []
    for group in sorted(set(groups)):
        rows = [i for i in range(len(pool)) if groups[i] == group and ok[i]]
        want = wants.get(group, 0)
        if strategy == "random":
            ranked = sorted(rows, key=lambda i: h[i])
        elif strategy == "spotlight":
            assert pool.priority is not None
            p = pool.priority
            ranked = sorted(rows, key=lambda i: (-(-math.inf if math.isnan(p[i]) else p[i]), h[i]))
        elif strategy == "weighted":
            assert pool.weights is not None
            e = -np.log1p(-u) / np.where(ok, pool.weights, 1.0)
            ranked = sorted(rows, key=lambda i: (float(e[i]), h[i]))
        else:
            assert pool.strata is not None
            strata = pool.strata.tolist()
            by_stratum = {s: sorted((i for i in rows if strata[i] == s), key=lambda i: h[i])
                          for s in sorted({strata[i] for i in rows})}
            alloc = stratum_allocation([len(v) for v in by_stratum.values()], want)
            chosen = [i for a, members in zip(alloc, by_stratum.values(), strict=True) for i in members[:a]]
            ranked = sorted(chosen, key=lambda i: h[i])
        expected.extend(ranked[:want])
    return expected


def shuffled(pool: Pool, order: npt.NDArray[np.intp]) -> Pool:
    assert pool.strata is not None and pool.weights is not None and pool.priority is not None
    return Pool(pool.ids[order], pool.groups[order], pool.strata[order], pool.weights[order],
                pool.priority[order])


class TestSampleProperties:
    @settings(max_examples=100)
    @given(pool=pools(), quota=quotas, strategy=strategies, seed=seeds)
    def test_matches_a_row_by_row_reference(self, pool: Pool, quota: Quota, strategy: Strategy,
                                            seed: int) -> None:
        result = sample(pool, quota, strategy, seed)
        assert result.positions.dtype == np.int64
        assert result.positions.tolist() == reference_sample(pool, quota, strategy, seed)

    @settings(max_examples=60)
    @given(pool=pools(), quota=quotas, strategy=strategies, seed=seeds)
    def test_quota_is_met_exactly_where_the_pool_allows(self, pool: Pool, quota: Quota, strategy: Strategy,
                                                        seed: int) -> None:
        result = sample(pool, quota, strategy, seed)
        positions = result.positions.tolist()
        assert len(set(positions)) == len(positions)
        assert all(0 <= p < len(pool) for p in positions)
        assert result.wanted == reference_wants(pool, quota)
        groups = quota_groups(pool, quota)
        ok = available(pool, strategy)
        picked = Counter(groups[result.positions].tolist())
        for group, want in result.wanted.items():
            have = int(np.sum(ok & (groups == group)))
            assert result.got[group] == min(want, have) == picked[group]
            assert (result.shortfall.get(group, 0) > 0) == (have < want)
        assert set(picked) <= set(result.wanted)
        assert ok[result.positions].all()
        assert list(groups[result.positions]) == sorted(groups[result.positions])

    @settings(max_examples=50)
    @given(pool=pools(), quota=quotas, strategy=strategies, seed=seeds, data=st.data())
    def test_same_seed_same_sample_whatever_the_row_order(self, pool: Pool, quota: Quota, strategy: Strategy,
                                                          seed: int, data: st.DataObject) -> None:
        first = sample(pool, quota, strategy, seed)
        again = sample(pool, quota, strategy, seed)
        assert first.positions.tolist() == again.positions.tolist()
        assert (first.wanted, first.got) == (again.wanted, again.got)
        order = np.array(data.draw(st.permutations(range(len(pool)))), dtype=np.intp)
        other = sample(shuffled(pool, order), quota, strategy, seed)
        assert pool.ids[first.positions].tolist() == pool.ids[order][other.positions].tolist()
        assert (first.wanted, first.got) == (other.wanted, other.got)

    @settings(max_examples=40)
    @given(pool=pools(), n=st.integers(1, 5), strategy=strategies, seed=seeds, extra=pools(max_size=20))
    def test_other_agents_candidates_change_nothing(self, pool: Pool, n: int, strategy: Strategy, seed: int,
                                                    extra: Pool) -> None:
        """Adding another agent's conversations keeps every other agent's picks."""
        assert pool.strata is not None and pool.weights is not None and pool.priority is not None
        assert extra.strata is not None and extra.weights is not None and extra.priority is not None
        new_group = int(pool.groups.max(initial=0)) + 1
        new_ids = np.arange(len(extra)) + int(pool.ids.max(initial=0)) + 1
        both = Pool(np.r_[pool.ids, new_ids], np.r_[pool.groups, np.full(len(extra), new_group)],
                    np.r_[pool.strata, extra.strata], np.r_[pool.weights, extra.weights],
                    np.r_[pool.priority, extra.priority])
        alone = sample(pool, Quota("per_agent", n), strategy, seed)
        together = sample(both, Quota("per_agent", n), strategy, seed)
        kept = together.positions[together.positions < len(pool)]
        assert kept.tolist() == alone.positions.tolist()

    @settings(max_examples=40)
    @given(pool=pools(), strategy=strategies, seed=seeds, data=st.data())
    def test_wanted_replaces_the_quota_wants(self, pool: Pool, strategy: Strategy, seed: int,
                                             data: st.DataObject) -> None:
        names = sorted(set(pool.groups.tolist())) + [10**16]  # 10**16: a group the pool lacks
        wanted = data.draw(st.dictionaries(st.sampled_from(names), st.integers(0, 6), max_size=4))
        result = sample(pool, Quota("per_agent", 3), strategy, seed, wanted=wanted)
        assert result.wanted == wanted
        assert result.positions.tolist() == reference_sample(pool, Quota("per_agent", 3), strategy, seed,
                                                             wanted)
        assert set(pool.groups[result.positions].tolist()) <= {g for g, w in wanted.items() if w}
        if wanted.get(10**16):
            assert result.shortfall[10**16] == wanted[10**16]

    @settings(max_examples=50)
    @given(pool=pools(max_size=60), n=st.integers(1, 12), seed=seeds)
    def test_stratified_spreads_over_strata(self, pool: Pool, n: int, seed: int) -> None:
        assert pool.strata is not None
        result = sample(pool, Quota("per_agent", n), "stratified", seed)
        for group in set(pool.groups.tolist()):
            members = pool.groups == group
            sizes = Counter(pool.strata[members].tolist())
            got = Counter(pool.strata[result.positions][pool.groups[result.positions] == group].tolist())
            want = min(n, int(members.sum()))
            assert sum(got.values()) == want
            if want >= len(sizes):
                assert set(got) == set(sizes)  # at least one per non-empty stratum
            shares = {s: size * want / members.sum() for s, size in sizes.items()}
            for s, share in shares.items():
                assert got[s] <= math.ceil(share)
                if want < len(sizes) or min(shares.values()) >= 1:
                    assert abs(got[s] - share) < 1


class TestStratumAllocation:
    @pytest.mark.parametrize(("sizes", "want", "expected"), [
        ([50, 30, 20], 10, [5, 3, 2]),
        ([1000, 1, 1, 1, 1, 1], 6, [1, 1, 1, 1, 1, 1]),  # one each beats proportion
        ([1000, 1, 1, 1, 1, 1], 3, [3, 0, 0, 0, 0, 0]),  # fewer seats than strata: proportion
        ([1, 1, 1], 2, [1, 1, 0]),  # equal remainders: lower index first
        ([5, 5], 3, [2, 1]),
        ([0, 4, 0, 2], 3, [0, 2, 0, 1]),  # empty strata get nothing
        ([3, 2], 9, [3, 2]),  # a want above the pool takes everything
        ([7, 7, 1], 0, [0, 0, 0]),
        ([10, 10, 1, 1], 4, [1, 1, 1, 1]),  # two seats taken, one from each of the equally large
        ([12, 10, 1], 5, [2, 2, 1]),  # 2.61, 2.17, 0.22: the seat comes from the largest allocation
        ([10, 11, 1], 4, [1, 2, 1]),  # 1.82, 2.0, 0.18: allocations tie, the smaller share gives
        ([], 5, []),
    ])
    def test_examples(self, sizes: list[int], want: int, expected: list[int]) -> None:
        assert stratum_allocation(sizes, want) == expected

    @settings(max_examples=250)
    @given(sizes=st.lists(st.integers(0, 50), max_size=8), want=st.integers(0, 120))
    def test_properties(self, sizes: list[int], want: int) -> None:
        alloc = stratum_allocation(sizes, want)
        total = sum(sizes)
        take = min(want, total)
        assert sum(alloc) == take
        assert all(0 <= a <= size for a, size in zip(alloc, sizes, strict=True))
        non_empty = [s for s, size in enumerate(sizes) if size]
        if take >= len(non_empty):
            assert all(alloc[s] >= 1 for s in non_empty)
        shares = [size * take / total if total else 0 for size in sizes]
        assert all(a <= math.ceil(share - 1e-9) for a, share in zip(alloc, shares, strict=True))
        if take < len(non_empty) or all(shares[s] >= 1 for s in non_empty):
            assert all(abs(a - share) < 1 for a, share in zip(alloc, shares, strict=True))

    def test_refuses_negative_input(self) -> None:
        with pytest.raises(ValueError, match=">= 0"):
            stratum_allocation([1, -1], 1)
        with pytest.raises(ValueError, match=">= 0"):
            stratum_allocation([1, 1], -1)


class TestQuota:
    @pytest.mark.parametrize(("percent", "size", "expected"), [
        (10, 30, 3), (0.1, 1000, 1), (33.3, 3, 1), (100, 7, 7), (50, 1, 1), (12.5, 8, 1), (12.5, 9, 2),
        (1, 0, 0), (99.9, 1000, 999), (0.01, 1, 1),
    ])
    def test_percent_is_exact(self, percent: float, size: int, expected: int) -> None:
        assert Quota("percent", percent).wants(size) == expected

    @pytest.mark.parametrize(("kind", "value", "message"), [
        ("weekly", 5, "quota kind"), ("per_agent", 0, "whole number"), ("total", 2.5, "whole number"),
        ("per_agent", -3, "whole number"), ("percent", 0, r"\(0, 100\]"), ("percent", 100.5, r"\(0, 100\]"),
        ("percent", math.nan, "finite"), ("total", math.inf, "finite"), ("total", True, "finite"),
        ("total", "5", "finite"),
    ])
    def test_bad_quotas_are_refused(self, kind: str, value: object, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            Quota(kind, value)  # type: ignore[arg-type]

    def test_whole_floats_and_numpy_numbers_are_counts(self) -> None:
        assert Quota("per_agent", 5.0).wants(100) == 5
        assert Quota("total", np.int64(7)).wants(100) == 7  # type: ignore[arg-type]
        assert Quota("percent", np.float64(10)).wants(30) == 3


class TestExamples:
    def test_per_agent_falls_short_only_where_candidates_run_out(self) -> None:
        groups = np.repeat([7, 8, 9], [12, 3, 5])
        pool = Pool(np.arange(100, 120), groups)
        result = sample(pool, Quota("per_agent", 5), "random", 1)
        assert result.wanted == {7: 5, 8: 5, 9: 5}
        assert result.got == {7: 5, 8: 3, 9: 5}
        assert result.shortfall == {8: 2}
        assert (result.total, result.total_wanted) == (13, 15)
        assert result.counts_by(groups) == {7: 5, 8: 3, 9: 5}

    def test_total_ignores_agents_and_percent_counts_the_pool(self) -> None:
        pool = Pool(np.arange(40), np.repeat([1, 2], 20))
        total = sample(pool, Quota("total", 7), "random", 3)
        assert (total.wanted, total.got) == ({0: 7}, {0: 7})
        assert total.positions.tolist() == np.argsort(hash64(pool.ids, 3))[:7].tolist()
        percent = sample(pool, Quota("percent", 10), "random", 3)
        assert percent.positions.tolist() == total.positions[:4].tolist()

    def test_empty_pool(self) -> None:
        pool = Pool(np.array([], dtype=np.int64), np.array([], dtype=np.int64), strata=np.array([], np.int64))
        names: tuple[Strategy, ...] = ("random", "stratified")
        for strategy in names:
            result = sample(pool, Quota("per_agent", 3), strategy, 0)
            assert (result.positions.tolist(), result.wanted, result.got) == ([], {}, {})
        assert sample(pool, Quota("percent", 50), "random", 0).wanted == {0: 0}
        assert sample(pool, Quota("total", 2), "random", 0).shortfall == {0: 2}

    def test_weighted_skips_zero_and_nan_weights(self) -> None:
        pool = Pool(np.arange(6), np.zeros(6, dtype=np.int64),
                    weights=np.array([0.0, np.nan, 1.0, 2.0, 0.0, 1e-300]))
        result = sample(pool, Quota("total", 5), "weighted", 4)
        assert sorted(result.positions.tolist()) == [2, 3, 5]
        assert result.got == {0: 3} and result.shortfall == {0: 2}

    def test_spotlight_takes_the_highest_priority_and_nan_last(self) -> None:
        pool = Pool(np.arange(5), np.zeros(5, dtype=np.int64),
                    priority=np.array([0.5, np.nan, 3.0, -np.inf, 2.0]))
        assert sample(pool, Quota("total", 3), "spotlight", 0).positions.tolist() == [2, 4, 0]
        assert sample(pool, Quota("total", 5), "spotlight", 0).positions.tolist()[:3] == [2, 4, 0]

    def test_spotlight_treats_zero_and_minus_zero_as_a_tie(self) -> None:
        pool = Pool(np.arange(2), np.zeros(2, dtype=np.int64), priority=np.array([0.0, -0.0]))
        firsts = {int(sample(pool, Quota("total", 1), "spotlight", seed).positions[0]) for seed in range(40)}
        assert firsts == {0, 1}

    def test_stratified_picks_one_per_stratum_first(self) -> None:
        strata = np.array([0] * 90 + [1] * 8 + [2] * 2)
        pool = Pool(np.arange(100), np.zeros(100, dtype=np.int64), strata=strata)
        result = sample(pool, Quota("total", 3), "stratified", 9)
        assert sorted(strata[result.positions].tolist()) == [0, 1, 2]
        result = sample(pool, Quota("total", 2), "stratified", 9)
        assert result.counts_by(strata) == {0: 2}  # 1.8, 0.16, 0.04: the remainder seat to stratum 0
        result = sample(pool, Quota("total", 20), "stratified", 9)
        assert result.counts_by(strata) == {0: 17, 1: 2, 2: 1}  # 18, 1.6, 0.4, then one for stratum 2

    def test_pool_columns_are_normalised(self) -> None:
        pool = Pool([3, 1, 2], [1, 1, 1], weights=[1, 2, 3])  # type: ignore[arg-type]
        assert pool.ids.dtype == np.int64 and pool.weights is not None and pool.weights.dtype == np.float64
        assert len(pool) == 3


class TestValidation:
    @pytest.mark.parametrize(("kwargs", "message"), [
        ({"ids": [1, 2, 2], "groups": [0, 0, 0]}, "unique"),
        ({"ids": [1, 2], "groups": [0]}, "groups has 1 rows"),
        ({"ids": [1, 2], "groups": [0, 0], "strata": [1]}, "strata has 1 rows"),
        ({"ids": [1.5, 2], "groups": [0, 0]}, "integers"),
        ({"ids": [[1, 2]], "groups": [0, 0]}, "one-dimensional"),
        ({"ids": [1, 2], "groups": [0, 0], "weights": [1.0, -1.0]}, "weights must be finite"),
        ({"ids": [1, 2], "groups": [0, 0], "weights": [1.0, np.inf]}, "weights must be finite"),
        ({"ids": [1, 2], "groups": [0, 0], "weights": [1.0]}, "weights must be one-dimensional with 2"),
        ({"ids": [1, 2], "groups": [0, 0], "priority": ["a", "b"]}, "numbers"),
    ])
    def test_inconsistent_pools_are_refused(self, kwargs: dict[str, object], message: str) -> None:
        columns = {k: np.asarray(v) for k, v in kwargs.items()}
        with pytest.raises(ValueError, match=message):
            Pool(**columns)

    @pytest.mark.parametrize(("strategy", "column"), [
        ("stratified", "strata"), ("weighted", "weights"), ("spotlight", "priority")])
    def test_a_strategy_needs_its_column(self, strategy: Strategy, column: str) -> None:
        pool = Pool(np.arange(3), np.zeros(3, dtype=np.int64))
        with pytest.raises(ValueError, match=f"needs pool.{column}"):
            sample(pool, Quota("total", 1), strategy, 0)

    def test_unknown_strategy_and_bad_wanted(self) -> None:
        pool = Pool(np.arange(3), np.zeros(3, dtype=np.int64))
        with pytest.raises(ValueError, match="strategy must be one of"):
            sample(pool, Quota("total", 1), "newest", 0)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="whole number >= 0"):
            sample(pool, Quota("per_agent", 1), "random", 0, wanted={0: -1})
        with pytest.raises(ValueError, match="whole number >= 0"):
            sample(pool, Quota("per_agent", 1), "random", 0, wanted={0: 1.5})  # type: ignore[dict-item]
        with pytest.raises(ValueError, match="one group, 0"):
            sample(pool, Quota("total", 1), "random", 0, wanted={3: 1})
        assert sample(pool, Quota("total", 1), "random", 0, wanted={0: 2}).got == {0: 2}


class TestOrdering:
    def test_truncated_packed_keys_fall_back_to_an_exact_sort(self) -> None:
        codes = np.array([0, 0, 1, 1], dtype=np.intp)
        primary = np.array([7, 4, 1, 0], dtype=np.uint64)  # equal once shifted right by 2 bits
        h = np.array([0, 1, 2, 3], dtype=np.uint64)
        assert _order(codes, 4, primary, h).tolist() == [1, 0, 3, 2]

    def test_ties_in_primary_end_on_h(self) -> None:
        codes = np.zeros(4, dtype=np.intp)
        primary = np.array([5, 5, 1, 5], dtype=np.uint64)
        h = np.array([9, 3, 0, 4], dtype=np.uint64)
        assert _order(codes, 1, primary, h).tolist() == [2, 1, 3, 0]

    def test_packed_sort_agrees_with_lexsort(self) -> None:
        rng = np.random.default_rng(5)
        codes = rng.integers(0, 300, 50_000).astype(np.intp)
        primary = rng.integers(0, 2**64, 50_000, dtype=np.uint64)
        primary[::7] = primary[1::7][: primary[::7].shape[0]] ^ np.uint64(3)  # near-ties in the low bits
        h = hash64(np.arange(50_000), 1)
        assert np.array_equal(_order(codes, 300, primary, h), np.lexsort((h, primary, codes)))


def successive_sampling_inclusion(weights: list[float], k: int) -> list[float]:
    """Exact inclusion probabilities of drawing k without replacement, each draw ∝ weight (enumeration)."""
    total = sum(weights)
    inclusion = [0.0] * len(weights)
    for sequence in itertools.permutations(range(len(weights)), k):
        probability, left = 1.0, total
        for item in sequence:
            probability *= weights[item] / left
            left -= weights[item]
        for item in sequence:
            inclusion[item] += probability
    return inclusion


def assert_frequencies(counts: npt.NDArray[np.int64], trials: int, expected: list[float]) -> None:
    for count, p in zip(counts.tolist(), expected, strict=True):
        assert abs(count / trials - p) < Z * math.sqrt(p * (1 - p) / trials), (count / trials, p)


class TestStatistics:
    WEIGHTS = [1.0, 2.0, 3.0, 4.0, 5.0, 10.0]

    def test_weighted_single_draw_follows_the_weights_over_10000_seeds(self) -> None:
        pool = Pool(np.arange(6) + 1000, np.zeros(6, dtype=np.int64), weights=np.array(self.WEIGHTS))
        counts = np.zeros(6, dtype=np.int64)
        for seed in range(10_000):
            counts[sample(pool, Quota("total", 1), "weighted", seed).positions] += 1
        assert_frequencies(counts, 10_000, [w / sum(self.WEIGHTS) for w in self.WEIGHTS])

    def test_weighted_two_draws_match_successive_sampling(self) -> None:
        """200,000 independent replicates as groups of one pool (each group its own ids, so its own keys)."""
        replicates = 200_000
        pool = Pool(np.arange(6 * replicates), np.repeat(np.arange(replicates), 6),
                    weights=np.tile(self.WEIGHTS, replicates))
        result = sample(pool, Quota("per_agent", 2), "weighted", seed_for("inclusion", 2))
        counts = np.bincount(result.positions % 6, minlength=6)
        expected = successive_sampling_inclusion(self.WEIGHTS, 2)
        assert math.isclose(sum(expected), 2)
        assert_frequencies(counts, replicates, expected)
        # Not merely proportional to the weights (which would exceed 1 for the heaviest item at k=3+).
        assert abs(counts[5] / replicates - 2 * 10 / 25) > 0.05

    def test_weighted_three_draws_over_seeds(self) -> None:
        weights = [0.5, 1.0, 1.0, 2.0, 8.0]
        pool = Pool(np.arange(5), np.zeros(5, dtype=np.int64), weights=np.array(weights))
        counts = np.zeros(5, dtype=np.int64)
        for seed in range(3_000):
            counts[sample(pool, Quota("total", 3), "weighted", seed_for(seed)).positions] += 1
        assert_frequencies(counts, 3_000, successive_sampling_inclusion(weights, 3))

    def test_random_includes_each_candidate_with_probability_k_over_n(self) -> None:
        pool = Pool(np.arange(10) * 7919, np.zeros(10, dtype=np.int64))
        counts = np.zeros(10, dtype=np.int64)
        for seed in range(5_000):
            counts[sample(pool, Quota("total", 3), "random", seed).positions] += 1
        assert_frequencies(counts, 5_000, [0.3] * 10)

    def test_random_pairs_are_uniform(self) -> None:
        """Every 2-subset of 5 equally likely (a sample without replacement, not just fair margins)."""
        replicates = 100_000
        pool = Pool(np.arange(5 * replicates), np.repeat(np.arange(replicates), 5))
        result = sample(pool, Quota("per_agent", 2), "random", 77)
        pair = (result.positions % 5).reshape(-1, 2)
        codes = np.minimum(pair[:, 0], pair[:, 1]) * 5 + np.maximum(pair[:, 0], pair[:, 1])
        counts = np.bincount(codes, minlength=25)[[a * 5 + b for a, b in itertools.combinations(range(5), 2)]]
        assert_frequencies(counts, replicates, [0.1] * 10)


@pytest.mark.parametrize("strategy", ["random", "stratified"])
def test_a_million_candidates_over_2000_agents(strategy: Strategy) -> None:
    """Sanity at the benchmark's size (no timing assert: bench/ times it)."""
    rng = np.random.default_rng(0)
    n = 1_000_000
    pool = Pool(rng.permutation(n).astype(np.int64) + 1, rng.integers(1, 2001, n),
                strata=rng.integers(0, 6, n))
    result = sample(pool, Quota("per_agent", 10), strategy, seed_for("bench"))
    assert result.total == 20_000 and not result.shortfall
    assert np.all(np.bincount(pool.groups[result.positions], minlength=2001)[1:] == 10)


def test_sample_is_frozen() -> None:
    result = Sample(positions=np.array([], dtype=np.int64))
    with pytest.raises(AttributeError):
        result.got = {}  # type: ignore[misc]
