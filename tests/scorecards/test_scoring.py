"""Tests for review scoring (PRODUCT.md §3): worked examples, and properties checked exactly."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from scorecards.definition import CriterionDef, ScorecardDef, validate_definition
from scorecards.scales import BUILTIN_SCALES, Option
from scorecards.scoring import ScoreResult, ScoringError, format_score, missing_ratings, score_review

EXAMPLE = validate_definition(
    {
        "name": "Support QA",
        "pass_threshold": 80,
        "criteria": [
            {"key": "greeting", "name": "Greeting", "section": "Opening", "scale": "binary", "weight": 1},
            {
                "key": "accuracy",
                "name": "Correct solution",
                "section": "Resolution",
                "scale": "5",
                "weight": 3,
                "critical": True,
            },
            {
                "key": "tone",
                "name": "Tone",
                "scale": "custom",
                "weight": 2,
                "allow_na": True,
                "options": [
                    {"label": "Poor", "score": 0},
                    {"label": "OK", "score": 0.6},
                    {"label": "Great", "score": 1},
                ],
                "root_causes": ["Robotic", "Rude", "Too casual"],
            },
        ],
    }
)


def card(*criteria: Mapping[str, object], pass_threshold: float = 80) -> ScorecardDef:
    return validate_definition({"name": "Card", "pass_threshold": pass_threshold, "criteria": list(criteria)})


def test_product_example() -> None:
    result = score_review(EXAMPLE, {"greeting": "Yes", "accuracy": "4", "tone": "OK"})
    expected = (1 * 1 + 3 * 0.75 + 2 * 0.6) / 6 * 100
    assert result.score == pytest.approx(74.16666666666667, abs=1e-12)
    assert result.score == pytest.approx(expected, abs=1e-12)
    assert result.failed_critical is False
    assert result.passed is False
    assert result.section_scores == {"Opening": 100.0, "Resolution": 75.0, None: pytest.approx(60.0)}
    assert result.criterion_scores == {"greeting": 100.0, "accuracy": 75.0, "tone": pytest.approx(60.0)}
    assert format_score(result.score) == "74.2"


def test_critical_below_fail_below_zeroes_and_fails_the_review() -> None:
    result = score_review(EXAMPLE, {"greeting": "Yes", "accuracy": "2", "tone": "Great"})
    assert result.score == 0.0
    assert result.failed_critical is True
    assert result.passed is False
    # Section and criterion scores keep their own merit despite the critical failure.
    assert result.section_scores == {"Opening": 100.0, "Resolution": 25.0, None: 100.0}
    assert result.criterion_scores["accuracy"] == 25.0


def test_critical_at_fail_below_does_not_fail() -> None:
    result = score_review(EXAMPLE, {"greeting": "Yes", "accuracy": "3", "tone": "Great"})
    assert result.failed_critical is False
    assert result.score == pytest.approx((1 + 3 * 0.5 + 2) / 6 * 100)


def test_passing_review() -> None:
    result = score_review(EXAMPLE, {"greeting": "Yes", "accuracy": "5", "tone": "OK"})
    assert result.score == pytest.approx((1 + 3 + 1.2) / 6 * 100)  # 86.67
    assert result.passed is True


def test_custom_fail_below() -> None:
    defn = card(
        {"key": "a", "name": "A", "scale": "5", "critical": True, "fail_below": 0.75},
        {"key": "b", "name": "B", "scale": "binary"},
    )
    assert score_review(defn, {"a": "4", "b": "Yes"}).failed_critical is False
    failed = score_review(defn, {"a": "3", "b": "Yes"})
    assert (failed.score, failed.failed_critical, failed.passed) == (0.0, True, False)


def test_critical_rated_na_does_not_fail() -> None:
    defn = card(
        {"key": "a", "name": "A", "scale": "binary", "critical": True, "allow_na": True},
        {"key": "b", "name": "B", "scale": "3", "weight": 2},
    )
    result = score_review(defn, {"a": None, "b": "2"})
    assert (result.score, result.failed_critical, result.passed) == (50.0, False, False)
    assert result.criterion_scores == {"a": None, "b": 50.0}


def test_na_is_left_out_of_both_sums() -> None:
    result = score_review(EXAMPLE, {"greeting": "No", "accuracy": "5", "tone": None})
    assert result.score == 75.0  # (1*0 + 3*1) / 4
    assert result.section_scores[None] is None
    assert result.criterion_scores["tone"] is None


def test_nothing_rated_gives_an_empty_score_not_zero() -> None:
    for ratings in ({}, {"tone": None}):
        result = score_review(EXAMPLE, ratings)
        assert result.score is None
        assert result.passed is None
        assert result.failed_critical is False
        assert result.section_scores == {"Opening": None, "Resolution": None, None: None}
        assert set(result.criterion_scores.values()) == {None}


def test_unrated_criteria_are_left_out_like_na_for_drafts() -> None:
    result = score_review(EXAMPLE, {"accuracy": "4"})
    assert result.score == 75.0
    assert result.section_scores == {"Opening": None, "Resolution": 75.0, None: None}


def test_score_exactly_at_threshold_passes() -> None:
    defn = card(*({"key": f"c{i}", "name": "C", "scale": "binary"} for i in range(5)))
    result = score_review(defn, {"c0": "No", "c1": "Yes", "c2": "Yes", "c3": "Yes", "c4": "Yes"})
    assert result.score == pytest.approx(80.0)
    assert result.passed is True


def test_threshold_met_exactly_despite_thirds_passes() -> None:
    # 100 × (2/3 + 2/3 + 2/3) / 3 is exactly 200/3 although float thirds need not sum exactly.
    defn = card(*({"key": f"c{i}", "name": "C", "scale": "4"} for i in range(3)), pass_threshold=200 / 3)
    assert score_review(defn, {"c0": "3", "c1": "3", "c2": "3"}).passed is True


def test_zero_threshold_still_fails_on_critical() -> None:
    defn = card({"key": "a", "name": "A", "scale": "binary", "critical": True}, pass_threshold=0)
    assert score_review(defn, {"a": "No"}).passed is False


def test_full_precision_is_kept() -> None:
    defn = card(*({"key": f"c{i}", "name": "C", "scale": "binary"} for i in range(3)))
    assert score_review(defn, {"c0": "Yes", "c1": "No", "c2": "No"}).score == pytest.approx(
        100 / 3, abs=1e-12
    )


@pytest.mark.parametrize(
    ("ratings", "field", "fragment"),
    [
        ({"nope": "Yes"}, "nope", "unknown criterion"),
        ({"greeting": "Maybe"}, "greeting", "unknown option 'Maybe'"),
        ({"accuracy": "6"}, "accuracy", "unknown option"),
        ({"tone": "ok"}, "tone", "unknown option"),
        ({"greeting": None}, "greeting", "N/A is not allowed"),
    ],
)
def test_invalid_ratings_raise_scoring_error(
    ratings: dict[str, str | None], field: str, fragment: str
) -> None:
    with pytest.raises(ScoringError) as info:
        score_review(EXAMPLE, ratings)
    assert isinstance(info.value, ValueError)
    assert info.value.field == field
    assert fragment in str(info.value)


def test_missing_ratings_lists_unanswered_criteria_in_order() -> None:
    assert missing_ratings(EXAMPLE, {}) == ["greeting", "accuracy", "tone"]
    assert missing_ratings(EXAMPLE, {"tone": None, "greeting": "No"}) == ["accuracy"]
    assert missing_ratings(EXAMPLE, {"tone": None, "greeting": "No", "accuracy": "1"}) == []


@pytest.mark.parametrize(
    ("score", "shown"),
    [
        (87.5, "87.5"),
        (74.16666666666667, "74.2"),
        (100.0, "100.0"),
        (0.0, "0.0"),
        (87.25, "87.3"),
        (80.05, "80.1"),
        (99.96, "100.0"),
        (100 / 3, "33.3"),
        (None, "—"),
    ],
)
def test_format_score(score: float | None, shown: str) -> None:
    assert format_score(score) == shown


def test_format_score_refuses_non_finite() -> None:
    with pytest.raises(ValueError):
        format_score(float("nan"))


def test_score_result_is_frozen() -> None:
    result = score_review(EXAMPLE, {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.score = 1.0  # type: ignore[misc]


# --- property tests ---------------------------------------------------------------------------

_SECTIONS = (None, "Opening", "Resolution")


@st.composite
def options(draw: st.DrawFn) -> tuple[str, tuple[Option, ...]]:
    scale = draw(st.sampled_from(["binary", "3", "4", "5", "custom"]))
    if scale != "custom":
        return scale, BUILTIN_SCALES[scale]
    scores = sorted(draw(st.lists(st.floats(0, 1), min_size=2, max_size=5, unique=True)))
    return scale, tuple(Option(f"o{i}", s) for i, s in enumerate(scores))


@st.composite
def criteria(draw: st.DrawFn, key: str, section: str | None = None) -> CriterionDef:
    scale, opts = draw(options())
    return CriterionDef(
        key=key,
        name=key.upper(),
        section=draw(st.sampled_from(_SECTIONS)) if section is None else section,
        guidance="",
        scale=scale,
        options=opts,
        weight=draw(st.integers(1, 10).map(float) | st.floats(0.001, 1000)),
        critical=draw(st.booleans()),
        fail_below=draw(st.floats(0, 1, exclude_min=True)),
        allow_na=draw(st.booleans()),
        root_causes=(),
    )


@st.composite
def cards(draw: st.DrawFn, section: str | None = None) -> ScorecardDef:
    count = draw(st.integers(1, 8))
    return ScorecardDef(
        name="Card",
        description="",
        pass_threshold=draw(st.floats(0, 100)),
        criteria=tuple(draw(criteria(f"c{i}", section)) for i in range(count)),
    )


@st.composite
def ratings_for(draw: st.DrawFn, defn: ScorecardDef) -> dict[str, str | None]:
    """Each criterion is unrated, N/A (where allowed) or rated with one of its options."""
    ratings: dict[str, str | None] = {}
    for criterion in defn.criteria:
        choices: list[str | None] = [option.label for option in criterion.options]
        if criterion.allow_na:
            choices.append(None)
        if draw(st.booleans()) or not ratings:
            ratings[criterion.key] = draw(st.sampled_from(choices))
    return ratings


@st.composite
def reviews(draw: st.DrawFn, section: str | None = None) -> tuple[ScorecardDef, dict[str, str | None]]:
    defn = draw(cards(section))
    return defn, draw(ratings_for(defn))


def reference(defn: ScorecardDef, ratings: dict[str, str | None]) -> Fraction | None:
    """PRODUCT.md §3 computed exactly with fractions."""
    weighted, total = Fraction(0), Fraction(0)
    for criterion in defn.criteria:
        label = ratings.get(criterion.key)
        if label is None:
            continue
        score = Fraction(criterion.option(label).score)
        if criterion.critical and score < Fraction(criterion.fail_below):
            return Fraction(0)
        weighted += Fraction(criterion.weight) * score
        total += Fraction(criterion.weight)
    return None if total == 0 else 100 * weighted / total


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= 1e-9)


@given(reviews())
def test_score_matches_exact_reference(review: tuple[ScorecardDef, dict[str, str | None]]) -> None:
    defn, ratings = review
    result = score_review(defn, ratings)
    expected = reference(defn, ratings)
    assert _same(result.score, None if expected is None else float(expected))


@given(reviews())
def test_score_is_within_0_and_100_and_pass_is_consistent(
    review: tuple[ScorecardDef, dict[str, str | None]],
) -> None:
    defn, ratings = review
    result = score_review(defn, ratings)
    if result.score is None:
        assert result.passed is None and not result.failed_critical
        return
    assert 0.0 <= result.score <= 100.0
    assert isinstance(result.passed, bool)
    if result.failed_critical:
        assert result.score == 0.0 and result.passed is False
    elif abs(result.score - defn.pass_threshold) > 1e-6:
        assert result.passed is (result.score > defn.pass_threshold)


@given(reviews(), st.randoms(use_true_random=False))
def test_order_of_criteria_does_not_matter(
    review: tuple[ScorecardDef, dict[str, str | None]], rnd: random.Random
) -> None:
    defn, ratings = review
    shuffled = list(defn.criteria)
    rnd.shuffle(shuffled)
    other = dataclasses.replace(defn, criteria=tuple(shuffled))
    reordered_ratings = dict(reversed(list(ratings.items())))
    a, b = score_review(defn, ratings), score_review(other, reordered_ratings)
    assert _same(a.score, b.score)
    assert a.failed_critical == b.failed_critical and a.passed == b.passed


@given(reviews(), st.floats(0.01, 100))
def test_scaling_all_weights_leaves_the_score_unchanged(
    review: tuple[ScorecardDef, dict[str, str | None]], factor: float
) -> None:
    defn, ratings = review
    scaled = dataclasses.replace(
        defn, criteria=tuple(dataclasses.replace(c, weight=c.weight * factor) for c in defn.criteria)
    )
    assert _same(score_review(defn, ratings).score, score_review(scaled, ratings).score)


@given(reviews(), st.integers(1, 3))
def test_adding_na_ratings_leaves_the_score_unchanged(
    review: tuple[ScorecardDef, dict[str, str | None]], extra: int
) -> None:
    defn, ratings = review
    na_criteria = tuple(
        dataclasses.replace(defn.criteria[0], key=f"na{i}", allow_na=True, critical=True, section="Opening")
        for i in range(extra)
    )
    bigger = dataclasses.replace(defn, criteria=defn.criteria + na_criteria)
    with_na = {**ratings, **{c.key: None for c in na_criteria}}
    before, after = score_review(defn, ratings), score_review(bigger, with_na)
    assert before.score == after.score
    assert before.passed == after.passed


@given(reviews())
def test_na_instead_of_unrated_changes_nothing(review: tuple[ScorecardDef, dict[str, str | None]]) -> None:
    defn, ratings = review
    with_na = {**{c.key: None for c in defn.criteria if c.allow_na and c.key not in ratings}, **ratings}
    assert score_review(defn, ratings) == score_review(defn, with_na)


@given(cards())
def test_all_top_options_score_100(defn: ScorecardDef) -> None:
    ratings = {c.key: c.options[-1].label for c in defn.criteria if c.options[-1].score == 1.0}
    assume(ratings)
    result = score_review(defn, ratings)
    assert result.score == 100.0
    assert result.failed_critical is False
    assert result.passed is True


@given(reviews(), st.data())
def test_any_critical_below_fail_below_fails_with_zero(
    review: tuple[ScorecardDef, dict[str, str | None]], data: st.DataObject
) -> None:
    defn, ratings = review
    index = data.draw(st.integers(0, len(defn.criteria) - 1))
    target = defn.criteria[index]
    lowest = target.options[0]
    fail_below = data.draw(st.floats(lowest.score, 1, exclude_min=True))
    criteria = list(defn.criteria)
    criteria[index] = dataclasses.replace(target, critical=True, fail_below=fail_below)
    failing = dataclasses.replace(defn, criteria=tuple(criteria))
    result = score_review(failing, {**ratings, target.key: lowest.label})
    assert (result.score, result.failed_critical, result.passed) == (0.0, True, False)


@given(reviews(section="Only"))
def test_single_section_score_equals_review_score(review: tuple[ScorecardDef, dict[str, str | None]]) -> None:
    defn, ratings = review
    result = score_review(defn, ratings)
    assume(not result.failed_critical)
    assert list(result.section_scores) == ["Only"]
    assert _same(result.section_scores["Only"], result.score)


@given(reviews())
def test_criterion_scores_are_option_scores_times_100(
    review: tuple[ScorecardDef, dict[str, str | None]],
) -> None:
    defn, ratings = review
    result = score_review(defn, ratings)
    assert list(result.criterion_scores) == [c.key for c in defn.criteria]
    for criterion in defn.criteria:
        label = ratings.get(criterion.key)
        expected = None if label is None else criterion.option(label).score * 100
        assert result.criterion_scores[criterion.key] == expected


def test_score_result_fields() -> None:
    assert [f.name for f in dataclasses.fields(ScoreResult)] == [
        "score",
        "failed_critical",
        "passed",
        "section_scores",
        "criterion_scores",
    ]
