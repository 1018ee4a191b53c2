"""The margin of error of a mean review score and the reviews needed to bring it under a target."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from sampling.confidence import margin_of_error, reviews_needed, sample_sd, t_quantile

sizes = st.integers(min_value=2, max_value=400)
sds = st.floats(min_value=0.5, max_value=50, allow_nan=False)
confidences = st.sampled_from([0.8, 0.9, 0.95, 0.99])
targets = st.floats(min_value=1, max_value=20, allow_nan=False)


def brute_force_needed(n: int, sd: float, population: int | None, target: float, confidence: float) -> int:
    """An independent oracle: scipy.stats margins for every n' from n up, the first within target."""
    stop = population + 1 if population is not None else n + 10_000  # sd ≤ 40, target ≥ 1: n' < 6,200
    sizes = np.arange(n, stop, dtype=float)
    margins = stats.t.ppf(1 - (1 - confidence) / 2, sizes - 1) * sd / np.sqrt(sizes)
    if population is not None:
        margins = margins * np.sqrt((population - sizes) / (population - 1))
    within = np.flatnonzero(margins <= target)
    assert within.size, "oracle range too small"
    return int(within[0])


class TestHandComputed:
    def test_ten_reviews_with_sd_twelve(self) -> None:
        assert t_quantile(9) == pytest.approx(2.262157, abs=1e-6)
        # 2.262157 × 12 / √10 = 8.5843
        assert margin_of_error(10, 12.0) == pytest.approx(8.5843, abs=1e-4)

    def test_finite_population_shrinks_it(self) -> None:
        # 10 of 40 handled: × √(30/39) = 0.877058
        assert margin_of_error(10, 12.0, population=40) == pytest.approx(8.5843 * 0.877058, abs=1e-4)

    def test_reviews_needed_for_five_points(self) -> None:
        # n' = 24: t(23) = 2.068658, × 12/√24 = 5.0672 > 5; n' = 25: t(24) = 2.063899, × 12/5 = 4.9534.
        assert reviews_needed(10, 12.0) == 15
        assert margin_of_error(24, 12.0) == pytest.approx(5.0672, abs=1e-4)
        assert margin_of_error(25, 12.0) == pytest.approx(4.9534, abs=1e-4)

    def test_reviews_needed_with_a_small_population(self) -> None:
        # N = 40: n' = 16 gives 2.131450 × 12/√16 × √(24/39) = 5.0161; n' = 17 gives
        # 2.119905 × 12/√17 × √(23/39) = 4.7381.
        assert reviews_needed(10, 12.0, population=40) == 7
        assert margin_of_error(16, 12.0, population=40) == pytest.approx(5.0161, abs=1e-4)
        assert margin_of_error(17, 12.0, population=40) == pytest.approx(4.7381, abs=1e-4)

    def test_too_few_reviews_to_tell(self) -> None:
        assert margin_of_error(0, None) is None
        assert margin_of_error(1, 0.0) is None
        assert margin_of_error(5, None) is None
        assert reviews_needed(1, None) is None
        assert reviews_needed(1, 3.0, population=10) is None

    def test_already_within(self) -> None:
        assert reviews_needed(30, 4.0) == 0
        assert reviews_needed(2, 0.0) == 0  # identical scores: no spread, no margin

    def test_sample_sd_from_sums(self) -> None:
        values = [70.0, 80.0, 90.0, 100.0]
        assert sample_sd(4, sum(values), sum(v * v for v in values)) == pytest.approx(12.909944, abs=1e-6)
        assert sample_sd(1, 80.0, 6400.0) is None
        assert sample_sd(3, 3 * 74.1666, 3 * 74.1666**2) == 0.0  # rounding below zero is clamped


class TestAgainstScipy:
    @settings(max_examples=60, deadline=None)
    @given(n=sizes, sd=sds, confidence=confidences)
    def test_matches_t_interval(self, n: int, sd: float, confidence: float) -> None:
        low, high = stats.t.interval(confidence, n - 1, loc=0, scale=sd / math.sqrt(n))
        assert margin_of_error(n, sd, confidence=confidence) == pytest.approx(high, rel=1e-9)
        assert low == pytest.approx(-high, rel=1e-9)

    @settings(max_examples=60, deadline=None)
    @given(values=st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=2, max_size=60))
    def test_sample_sd_matches_numpy(self, values: list[float]) -> None:
        found = sample_sd(len(values), math.fsum(values), math.fsum(v * v for v in values))
        assert found == pytest.approx(float(np.std(values, ddof=1)), abs=1e-5)


class TestMarginProperties:
    @settings(max_examples=80, deadline=None)
    @given(n=sizes, sd=sds, extra=st.integers(min_value=1, max_value=500))
    def test_falls_as_reviews_grow(self, n: int, sd: float, extra: int) -> None:
        m_n, m_more = margin_of_error(n, sd), margin_of_error(n + 1, sd)
        assert m_n is not None and m_more is not None and m_more < m_n
        population = n + extra
        f_n = margin_of_error(n, sd, population=population)
        f_more = margin_of_error(n + 1, sd, population=population)
        assert f_n is not None and f_more is not None and f_more < f_n

    @settings(max_examples=80, deadline=None)
    @given(n=sizes, sd=sds)
    def test_zero_when_everything_is_reviewed(self, n: int, sd: float) -> None:
        assert margin_of_error(n, sd, population=n) == 0.0
        assert reviews_needed(n, sd, population=n) == 0

    @settings(max_examples=80, deadline=None)
    @given(n=sizes, sd=sds, factor=st.floats(min_value=0.1, max_value=10), population=st.integers(0, 1000))
    def test_scales_with_sd(self, n: int, sd: float, factor: float, population: int) -> None:
        pop = n + population
        base = margin_of_error(n, sd, population=pop)
        scaled = margin_of_error(n, sd * factor, population=pop)
        assert base is not None and scaled is not None
        assert scaled == pytest.approx(base * factor, rel=1e-12, abs=1e-12)

    @settings(max_examples=60, deadline=None)
    @given(n=sizes, sd=sds, extra=st.integers(min_value=0, max_value=5000))
    def test_finite_population_correction(self, n: int, sd: float, extra: int) -> None:
        population = n + extra
        unlimited = margin_of_error(n, sd)
        assert unlimited is not None
        expected = unlimited * math.sqrt((population - n) / (population - 1))
        assert margin_of_error(n, sd, population=population) == pytest.approx(expected, rel=1e-12, abs=1e-12)


class TestReviewsNeeded:
    @settings(max_examples=80, deadline=None)
    @given(n=sizes, sd=sds, target=targets, confidence=confidences,
           population=st.one_of(st.none(), st.integers(min_value=0, max_value=3000)))
    def test_smallest_sample_within_target(
        self, n: int, sd: float, target: float, confidence: float, population: int | None
    ) -> None:
        pop = None if population is None else n + population
        more = reviews_needed(n, sd, population=pop, target=target, confidence=confidence)
        assert more is not None and more >= 0
        if pop is not None:
            assert n + more <= pop
        reached = margin_of_error(n + more, sd, population=pop, confidence=confidence)
        assert reached is not None and reached <= target
        if more:  # minimal: one review fewer is not enough
            short = margin_of_error(n + more - 1, sd, population=pop, confidence=confidence)
            assert short is not None and short > target

    @settings(max_examples=40, deadline=None)
    @given(n=st.integers(min_value=2, max_value=60), sd=st.floats(min_value=1, max_value=40), target=targets,
           population=st.one_of(st.none(), st.integers(min_value=0, max_value=2000)))
    def test_matches_a_brute_force_search(
        self, n: int, sd: float, target: float, population: int | None
    ) -> None:
        pop = None if population is None else n + population
        expected = brute_force_needed(n, sd, pop, target, 0.95)
        # Skip values within float noise of the target, where the two implementations may round apart.
        edge = margin_of_error(n + expected, sd, population=pop)
        assume(edge is not None and abs(edge - target) > 1e-9)
        assert reviews_needed(n, sd, population=pop, target=target) == expected

    @settings(max_examples=40, deadline=None)
    @given(n=sizes, sd=sds, target=targets)
    def test_a_bigger_spread_never_needs_fewer(self, n: int, sd: float, target: float) -> None:
        fewer = reviews_needed(n, sd, target=target)
        more = reviews_needed(n, sd * 1.5, target=target)
        assert fewer is not None and more is not None and more >= fewer


class TestCoverageOfTheInterval:
    """The interval means what the page says: over many samples it holds the true mean ~95 % of the time."""

    REPS = 20_000

    def test_normal_scores_unlimited_population(self) -> None:
        rng = np.random.default_rng(20260301)
        n, mu, sigma = 8, 78.0, 12.0
        samples = rng.normal(mu, sigma, size=(self.REPS, n))
        hits = self._hits(samples, mu, None)
        # Exact for normal data: 95 %. 20,000 draws: standard error 0.15 points; allow 5 of them.
        assert abs(hits - 0.95) < 5 * math.sqrt(0.95 * 0.05 / self.REPS)

    def test_sampling_without_replacement_from_a_small_population(self) -> None:
        rng = np.random.default_rng(4)
        population = np.clip(rng.normal(80, 10, size=60), 0, 100)
        n = 20
        picks = rng.random((self.REPS, population.size)).argsort(axis=1)[:, :n]
        hits = self._hits(population[picks], float(population.mean()), population.size)
        # The FPC t-interval is approximate for a finite population; it stays close to 95 %.
        assert 0.935 < hits < 0.965
        # Without the correction the same intervals would be visibly too wide (over-cover).
        assert self._hits(population[picks], float(population.mean()), None) > 0.975

    @staticmethod
    def _hits(samples: np.ndarray, mean: float, population: int | None) -> float:
        n = samples.shape[1]
        sds = samples.std(axis=1, ddof=1)
        margins = np.array([margin_of_error(n, float(s), population=population) for s in sds])
        return float(np.mean(np.abs(samples.mean(axis=1) - mean) <= margins))


class TestBadInput:
    @pytest.mark.parametrize(("kwargs", "message"), [
        ({"n": -1, "sd": 1.0}, "negative"),
        ({"n": 5, "sd": -1.0}, "standard deviation"),
        ({"n": 5, "sd": math.nan}, "standard deviation"),
        ({"n": 5, "sd": 1.0, "population": 4}, "population"),
        ({"n": 5, "sd": 1.0, "confidence": 1.0}, "confidence"),
        ({"n": 5, "sd": 1.0, "confidence": 0.0}, "confidence"),
    ])
    def test_margin_refuses(self, kwargs: dict[str, float], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            margin_of_error(**kwargs)  # type: ignore[arg-type]

    @pytest.mark.parametrize("target", [0.0, -1.0, math.inf, math.nan])
    def test_reviews_needed_refuses_a_bad_target(self, target: float) -> None:
        with pytest.raises(ValueError, match="target"):
            reviews_needed(5, 10.0, target=target)

    def test_t_quantile_needs_a_degree_of_freedom(self) -> None:
        with pytest.raises(ValueError, match="degrees of freedom"):
            t_quantile(0)
