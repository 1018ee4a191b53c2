"""Tests for the agreement maths (PRODUCT.md §6): Krippendorff's published values, hand-computed
figures on small tables, degenerate inputs, and properties checked with Hypothesis."""

from __future__ import annotations

import math
import random

import krippendorff
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qa.calibration.agreement import (
    FLAG_BELOW,
    RatingsTable,
    alpha_from_counts,
    alpha_from_reliability_data,
    measure,
)
from scorecards import BUILTIN_SCALES, CriterionDef, Option, ScorecardDef

FIVE = tuple(Option(str(v), (v - 1) / 4) for v in range(1, 6))  # custom scale: ranks and scores map 1..5


def crit(key: str, options: tuple[Option, ...] = FIVE, *, allow_na: bool = True) -> CriterionDef:
    return CriterionDef(key, key.title(), None, "", "custom", options, 1.0, False, 0.5, allow_na, ())


def card(*criteria: CriterionDef) -> ScorecardDef:
    return ScorecardDef("Calibration", "", 80.0, criteria)


# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: 4 observers x 12 units.
KRIPP = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


class TestKrippendorffPublishedValues:
    def test_low_level(self) -> None:
        assert round(alpha_from_reliability_data(KRIPP, "nominal") or 0, 3) == 0.743
        assert round(alpha_from_reliability_data(KRIPP, "ordinal") or 0, 3) == 0.815
        assert round(alpha_from_reliability_data(KRIPP, "interval") or 0, 3) == 0.849

    def test_through_measure(self) -> None:
        ratings = {
            (100 + r, 10 + u, "q"): str(v)
            for r, row in enumerate(KRIPP)
            for u, v in enumerate(row)
            if v is not None
        }
        result = measure(RatingsTable(card(crit("q")), ratings))
        (q,) = result.criteria
        assert (round(q.alpha_nominal or 0, 3), round(q.alpha_ordinal or 0, 3)) == (0.743, 0.815)
        assert round(q.alpha_interval or 0, 3) == 0.849
        assert q.n_units == 11  # unit 12 has one value: not pairable
        assert q.n_ratings == 41
        # one criterion: the overall figures are the criterion's
        assert result.overall.alpha_nominal == pytest.approx(q.alpha_nominal)
        assert result.overall.alpha_interval == pytest.approx(q.alpha_interval)

    def test_binary_two_coders(self) -> None:
        # Krippendorff (2011) example A: 2 observers, 10 units, binary data, alpha = 0.095
        data: list[list[float | None]] = [
            [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
            [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
        ]
        assert round(alpha_from_reliability_data(data, "nominal") or 0, 3) == 0.095
        yes_no = BUILTIN_SCALES["binary"]
        ratings = {(r, u, "b"): yes_no[int(v)].label for r, row in enumerate(data) for u, v in enumerate(row)}
        (b,) = measure(RatingsTable(card(crit("b", yes_no)), ratings)).criteria
        assert round(b.alpha_nominal or 0, 3) == 0.095
        # with two values, every level gives the same alpha
        assert b.alpha_ordinal == pytest.approx(b.alpha_nominal)
        assert b.alpha_interval == pytest.approx(b.alpha_nominal)
        assert b.percent_agreement == pytest.approx(6 / 10)


class TestNotApplicable:
    def test_na_is_a_nominal_category_and_missing_otherwise(self) -> None:
        yes_no = BUILTIN_SCALES["binary"]
        ratings: dict[tuple[int, int, str], str | None] = {
            (1, 1, "b"): "Yes",
            (2, 1, "b"): None,  # disagree on whether it applies
            (1, 2, "b"): "No",
            (2, 2, "b"): "No",
            (1, 3, "b"): "Yes",
            (2, 3, "b"): "Yes",
        }
        (b,) = measure(RatingsTable(card(crit("b", yes_no)), ratings)).criteria
        assert b.percent_agreement == pytest.approx(2 / 3)
        # nominal: values Yes, N/A, No, No, Yes, Yes -> o off-diagonal 2 of n = 6; e: (36 - 9 - 4 - 1) / 5
        assert b.alpha_nominal == pytest.approx(1 - 2 / (22 / 5))
        # ordinal/interval: N/A missing, unit 1 unpairable, the rest agree perfectly
        assert b.alpha_ordinal == pytest.approx(1.0)
        assert b.alpha_interval == pytest.approx(1.0)
        assert (b.n_units, b.n_ratings) == (3, 6)


class TestPercentAgreementByHand:
    def test_pairs_pooled_over_units(self) -> None:
        yes_no = BUILTIN_SCALES["binary"]
        ratings = {
            (1, 1, "b"): "Yes",
            (2, 1, "b"): "Yes",
            (3, 1, "b"): "No",  # 3 pairs, 1 agrees
            (1, 2, "b"): "Yes",
            (2, 2, "b"): "Yes",  # 1 pair, agrees
            (1, 3, "b"): "No",  # alone: no pair
        }
        result = measure(RatingsTable(card(crit("b", yes_no)), ratings))
        assert result.criteria[0].percent_agreement == pytest.approx(2 / 4)
        assert result.criteria[0].n_units == 2
        assert result.overall.percent_agreement == pytest.approx(2 / 4)


def _bench_table(**extra: object) -> RatingsTable:
    # benchmark 1; reviewer 2; reviewer 3 (N/A on unit 2); scale 1..5 -> 0, .25, .5, .75, 1
    ratings = {
        (1, 1, "q"): "5",
        (1, 2, "q"): "3",
        (2, 1, "q"): "4",
        (2, 2, "q"): "5",
        (3, 1, "q"): "3",
        (3, 2, "q"): None,
    }
    return RatingsTable(card(crit("q")), ratings, benchmark_id=1, **extra)  # type: ignore[arg-type]


class TestBenchmarkAndDeviations:
    def test_by_hand(self) -> None:
        result = measure(_bench_table(consensus={(1, "q"): "4", (2, "q"): "4"}))
        by_id = {r.reviewer_id: r for r in result.reviewers}
        assert sorted(by_id) == [1, 2, 3]
        # reviewer 2 - benchmark: -0.25 and +0.5 -> +12.5 points; alignment (0.75 + 0.5) / 2
        assert by_id[2].deviation_from_benchmark == pytest.approx(12.5)
        assert by_id[2].benchmark_alignment == pytest.approx(0.625)
        assert by_id[3].deviation_from_benchmark == pytest.approx(-50.0)
        assert by_id[3].benchmark_alignment == pytest.approx(0.5)
        assert by_id[1].deviation_from_benchmark is None and by_id[1].benchmark_alignment is None
        assert result.criteria[0].benchmark_alignment == pytest.approx((0.75 + 0.5 + 0.5) / 3)
        assert result.overall.benchmark_alignment == pytest.approx((0.75 + 0.5 + 0.5) / 3)
        # consensus 4 (0.75) on both units
        assert by_id[2].deviation_from_consensus == pytest.approx((0 + 25) / 2)
        assert by_id[2].consensus_alignment == pytest.approx((1 + 0.75) / 2)
        assert by_id[3].deviation_from_consensus == pytest.approx(-25.0)
        # from the others' mean: 2: u1 .75 - .75, u2 1 - .5 -> 25; 1: u1 1 - .625, u2 .5 - 1 -> -6.25
        assert by_id[2].deviation_from_others == pytest.approx(25.0)
        assert by_id[1].deviation_from_others == pytest.approx(-6.25)
        assert by_id[3].deviation_from_others == pytest.approx(-37.5)
        assert [r.n_ratings for r in result.reviewers] == [2, 2, 2]

    def test_without_benchmark_or_consensus(self) -> None:
        table = _bench_table()
        result = measure(RatingsTable(table.definition, table.ratings))
        assert all(r.deviation_from_benchmark is None for r in result.reviewers)
        assert all(r.deviation_from_consensus is None for r in result.reviewers)
        assert result.criteria[0].benchmark_alignment is None
        assert result.reviewers[1].deviation_from_others == pytest.approx(25.0)


class TestUnits:
    def test_spread_of_review_scores(self) -> None:
        scores = {(1, 1): 80.0, (2, 1): 90.0, (3, 1): 100.0, (1, 2): 50.0, (2, 2): None}
        result = measure(RatingsTable(card(crit("q")), {}, scores))
        u1, u2 = result.units
        assert (u1.unit_id, u1.n_reviews, u1.mean, u1.minimum, u1.maximum) == (1, 3, 90.0, 80.0, 100.0)
        assert u1.stdev == pytest.approx(10.0)
        assert (u2.n_reviews, u2.mean, u2.stdev) == (2, 50.0, None)
        # interval alpha on the review scores: only unit 1 is pairable, so the observed coincidences
        # are the expected ones: alpha = 1 - D_o / D_e = 0
        assert result.overall.review_score_alpha == pytest.approx(0.0)

    def test_review_score_alpha_matches_package(self) -> None:
        data = [[80.0, 60.0, 100.0, None], [70.0, 60.0, 90.0, 40.0], [80.0, 50.0, None, 40.0]]
        scores = {(r, u): v for r, row in enumerate(data) for u, v in enumerate(row) if v is not None}
        expected = krippendorff.alpha(
            [[math.nan if v is None else v for v in row] for row in data], level_of_measurement="interval"
        )
        got = measure(RatingsTable(card(crit("q")), {}, scores)).overall.review_score_alpha
        assert got == pytest.approx(expected)


class TestDegenerate:
    @pytest.mark.parametrize(
        "ratings",
        [
            {},
            {(1, 1, "q"): "3", (1, 2, "q"): "5"},  # one reviewer
            {(1, 1, "q"): "3", (2, 1, "q"): "4"},  # one unit, two values
            {(1, 1, "q"): "3", (2, 1, "q"): "3", (1, 2, "q"): "3", (2, 2, "q"): "3"},  # no variation
            {(1, 1, "q"): None, (2, 1, "q"): None},  # everything N/A
        ],
    )
    def test_never_nan_or_exception(self, ratings: dict[tuple[int, int, str], str | None]) -> None:
        result = measure(RatingsTable(card(crit("q"), crit("r")), ratings, {}, benchmark_id=99))
        for item in [*result.criteria]:
            for value in (
                item.alpha_nominal,
                item.alpha_ordinal,
                item.alpha_interval,
                item.percent_agreement,
            ):
                assert value is None or math.isfinite(value)
        assert result.criteria[1].alpha_nominal is None  # criterion r was never rated
        assert result.criteria[1].n_units == 0

    def test_one_reviewer_and_no_variation_are_undefined(self) -> None:
        one = measure(RatingsTable(card(crit("q")), {(1, 1, "q"): "3", (1, 2, "q"): "5"})).criteria[0]
        assert (one.alpha_nominal, one.percent_agreement, one.n_units) == (None, None, 0)
        same = {(r, u, "q"): "3" for r in (1, 2) for u in (1, 2)}
        flat = measure(RatingsTable(card(crit("q")), same)).criteria[0]
        assert (flat.alpha_nominal, flat.alpha_ordinal, flat.alpha_interval) == (None, None, None)
        assert flat.percent_agreement == 1.0
        assert flat.flagged is False

    def test_low_level_degenerate(self) -> None:
        assert alpha_from_counts(np.zeros((0, 2)), [0, 1], "nominal") is None
        assert alpha_from_counts([[2, 0], [2, 0]], [0, 1], "interval") is None
        assert alpha_from_reliability_data([[None, None]], "nominal") is None
        # equal scores on two labels: no variation for interval
        assert alpha_from_counts([[1, 1], [2, 0]], [0.5, 0.5], "interval") is None
        with pytest.raises(ValueError, match="one column per domain value"):
            alpha_from_counts([[1, 1]], [0], "nominal")

    def test_bad_labels_and_keys(self) -> None:
        with pytest.raises(ValueError, match="no option 'Maybe'"):
            measure(RatingsTable(card(crit("q")), {(1, 1, "q"): "Maybe"}))
        with pytest.raises(ValueError, match="unknown criterion 'zz'"):
            measure(RatingsTable(card(crit("q")), {(1, 1, "zz"): "1"}))


class TestRankingAndOverall:
    def test_worst_first_and_flagged(self) -> None:
        yes_no = BUILTIN_SCALES["binary"]
        ratings: dict[tuple[int, int, str], str | None] = {}
        for u in range(1, 5):  # "good": everyone agrees, with variation between units
            for r in (1, 2, 3):
                ratings[(r, u, "good")] = "Yes" if u % 2 else "No"
                ratings[(r, u, "bad")] = "Yes" if (u + r) % 2 else "No"
        definition = card(crit("bad", yes_no), crit("good", yes_no))
        result = measure(RatingsTable(definition, ratings))
        bad, good = result.criteria
        assert [c.key for c in result.ranked] == ["bad", "good"]
        assert good.alpha_ordinal == pytest.approx(1.0) and not good.flagged
        assert bad.alpha_ordinal is not None and bad.alpha_ordinal < FLAG_BELOW and bad.flagged

    def test_overall_equals_package_on_stacked_items(self) -> None:
        yes_no = BUILTIN_SCALES["binary"]
        rng = random.Random(7)
        definition = card(crit("a"), crit("b", yes_no))
        ratings: dict[tuple[int, int, str], str | None] = {}
        for r in range(3):
            for u in range(6):
                ratings[(r, u, "a")] = rng.choice(["1", "2", "3", "4", "5", None])
                ratings[(r, u, "b")] = rng.choice(["Yes", "No", None])
        result = measure(RatingsTable(definition, ratings)).overall
        keys = [(u, k) for k in ("a", "b") for u in range(6)]
        nominal = [[f"{k}:{ratings[(r, u, k)]}" for u, k in keys] for r in range(3)]
        domain = sorted({v for row in nominal for v in row})
        coded = [[float(domain.index(v)) for v in row] for row in nominal]
        assert result.alpha_nominal == pytest.approx(
            krippendorff.alpha(coded, level_of_measurement="nominal")
        )
        score = {"a": {o.label: o.score for o in FIVE}, "b": {"No": 0.0, "Yes": 1.0}}
        scored = [
            [math.nan if ratings[(r, u, k)] is None else score[k][str(ratings[(r, u, k)])] for u, k in keys]
            for r in range(3)
        ]
        assert result.alpha_interval == pytest.approx(
            krippendorff.alpha(scored, level_of_measurement="interval")
        )
        assert result.alpha_ordinal == pytest.approx(
            krippendorff.alpha(scored, level_of_measurement="ordinal")
        )
        assert (result.n_units, result.n_items) == (6, 12)


# --- properties --------------------------------------------------------------------------------------

LABELS = [o.label for o in FIVE] + [None]


@st.composite
def tables(draw: st.DrawFn, *, min_reviewers: int = 2) -> RatingsTable:
    n_reviewers = draw(st.integers(min_reviewers, 5))
    n_units = draw(st.integers(1, 6))
    keys = ["p", "q"]
    ratings: dict[tuple[int, int, str], str | None] = {}
    for r in range(n_reviewers):
        for u in range(n_units):
            for k in keys:
                if draw(st.booleans()) or draw(st.booleans()):
                    ratings[(r * 7 + 3, u * 5 + 1, k)] = draw(st.sampled_from(LABELS))
    scores = {(r, u): s for (r, u, _) in ratings for s in [draw(st.none() | st.integers(0, 100).map(float))]}
    return RatingsTable(card(crit("p"), crit("q")), ratings, scores)


def _figures(table: RatingsTable) -> list[tuple[float | None, ...]]:
    result = measure(table)
    rows: list[tuple[float | None, ...]] = [
        (c.alpha_nominal, c.alpha_ordinal, c.alpha_interval, c.percent_agreement, c.n_units, c.n_ratings)
        for c in result.criteria
    ]
    o = result.overall
    rows.append(
        (o.alpha_nominal, o.alpha_ordinal, o.alpha_interval, o.percent_agreement, o.review_score_alpha)
    )
    return rows


def _close(a: list[tuple[float | None, ...]], b: list[tuple[float | None, ...]]) -> bool:
    return all(
        (x is None and y is None) or (x is not None and y is not None and math.isclose(x, y, abs_tol=1e-9))
        for ra, rb in zip(a, b, strict=True)
        for x, y in zip(ra, rb, strict=True)
    )


@given(st.integers(2, 5), st.lists(st.sampled_from(["1", "2", "3", "4", "5"]), min_size=2, max_size=8))
def test_alpha_is_one_when_everyone_agrees(n_reviewers: int, truth: list[str]) -> None:
    assume(len(set(truth)) >= 2)
    ratings = {(r, u, "q"): label for r in range(n_reviewers) for u, label in enumerate(truth)}
    (q,) = measure(RatingsTable(card(crit("q")), ratings)).criteria
    assert q.alpha_nominal == pytest.approx(1.0)
    assert q.alpha_ordinal == pytest.approx(1.0)
    assert q.alpha_interval == pytest.approx(1.0)
    assert q.percent_agreement == 1.0


@given(tables(), st.randoms(use_true_random=False))
def test_invariant_to_relabelling_and_order(table: RatingsTable, rnd: random.Random) -> None:
    reviewers = sorted({r for r, _, _ in table.ratings} | {r for r, _ in table.review_scores})
    units = sorted({u for _, u, _ in table.ratings} | {u for _, u in table.review_scores})
    new_r = dict(zip(reviewers, rnd.sample(range(1000, 2000), len(reviewers)), strict=True))
    new_u = dict(zip(units, rnd.sample(range(5000, 6000), len(units)), strict=True))
    items = list(table.ratings.items())
    rnd.shuffle(items)
    relabelled = RatingsTable(
        table.definition,
        {(new_r[r], new_u[u], k): v for (r, u, k), v in items},
        {(new_r[r], new_u[u]): v for (r, u), v in table.review_scores.items()},
    )
    assert _close(_figures(table), _figures(relabelled))
    before = {new_r[r.reviewer_id]: r.deviation_from_others for r in measure(table).reviewers}
    after = {r.reviewer_id: r.deviation_from_others for r in measure(relabelled).reviewers}
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert (value is None and after[key] is None) or after[key] == pytest.approx(value)


@given(tables(min_reviewers=1))
def test_bounds(table: RatingsTable) -> None:
    result = measure(table)
    for c in [*result.criteria, result.overall]:
        for alpha in (c.alpha_nominal, c.alpha_ordinal, c.alpha_interval):
            assert alpha is None or (math.isfinite(alpha) and alpha <= 1 + 1e-9)
        assert c.percent_agreement is None or 0 <= c.percent_agreement <= 1
    for r in result.reviewers:
        assert r.deviation_from_others is None or -100 <= r.deviation_from_others <= 100


@given(tables())
def test_deviations_are_antisymmetric(table: RatingsTable) -> None:
    reviewers = sorted({r for r, _, _ in table.ratings})
    assume(len(reviewers) >= 2)
    a, b = reviewers[:2]
    a_vs_b = next(
        r
        for r in measure(RatingsTable(table.definition, table.ratings, benchmark_id=b)).reviewers
        if r.reviewer_id == a
    )
    b_vs_a = next(
        r
        for r in measure(RatingsTable(table.definition, table.ratings, benchmark_id=a)).reviewers
        if r.reviewer_id == b
    )
    if a_vs_b.deviation_from_benchmark is None:
        assert b_vs_a.deviation_from_benchmark is None
    else:
        assert a_vs_b.deviation_from_benchmark == pytest.approx(-(b_vs_a.deviation_from_benchmark or 0.0))
        assert a_vs_b.benchmark_alignment == pytest.approx(b_vs_a.benchmark_alignment)


@settings(max_examples=200)
@given(
    st.integers(1, 8).flatmap(
        lambda n_values: st.tuples(
            st.lists(
                st.lists(st.integers(0, 3), min_size=n_values, max_size=n_values), min_size=1, max_size=8
            ),
            st.lists(st.integers(-50, 50), min_size=n_values, max_size=n_values, unique=True).map(sorted),
        )
    ),
    st.sampled_from(["nominal", "ordinal", "interval"]),
)
def test_equals_the_krippendorff_package(case: tuple[list[list[int]], list[int]], level: str) -> None:
    counts, domain = case
    ours = alpha_from_counts(counts, domain, level)  # type: ignore[arg-type]
    array = np.array(counts, dtype=float)
    pairable = array[array.sum(axis=1) >= 2]
    used = pairable.sum(axis=0) > 0
    if used.sum() < 2:
        assert ours is None
        return
    theirs = krippendorff.alpha(
        value_counts=pairable[:, used], value_domain=np.array(domain)[used], level_of_measurement=level
    )
    if math.isnan(theirs):
        assert ours is None
    else:
        assert ours == pytest.approx(theirs, abs=1e-9)
