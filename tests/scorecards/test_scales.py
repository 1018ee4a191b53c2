"""Tests for the rating scales: the built-in tables of PRODUCT.md §3 and custom option checks."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecards.scales import (
    BUILTIN_SCALES,
    SCALE_NAMES,
    Option,
    custom_option_problems,
    is_number,
    options_for,
)


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        ("binary", [("No", 0.0), ("Yes", 1.0)]),
        ("3", [("1", 0.0), ("2", 0.5), ("3", 1.0)]),
        ("4", [("1", 0.0), ("2", 1 / 3), ("3", 2 / 3), ("4", 1.0)]),
        ("5", [("1", 0.0), ("2", 0.25), ("3", 0.5), ("4", 0.75), ("5", 1.0)]),
    ],
)
def test_builtin_scales_match_the_contract(scale: str, expected: list[tuple[str, float]]) -> None:
    assert [(o.label, o.score) for o in BUILTIN_SCALES[scale]] == expected
    assert options_for(scale, None) == BUILTIN_SCALES[scale]


def test_scale_names_are_builtins_plus_custom() -> None:
    assert SCALE_NAMES == ("binary", "3", "4", "5", "custom")


def test_option_is_frozen() -> None:
    option = Option("Yes", 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        option.score = 0.5  # type: ignore[misc]


def test_custom_options_are_built_in_order_with_labels_stripped() -> None:
    options = options_for("custom", [{"label": " Poor ", "score": 0}, {"label": "OK", "score": 0.6}])
    assert options == (Option("Poor", 0.0), Option("OK", 0.6))
    assert all(isinstance(o.score, float) for o in options)


def test_builtin_scale_refuses_options() -> None:
    with pytest.raises(ValueError, match="only allowed"):
        options_for("5", [{"label": "a", "score": 0}, {"label": "b", "score": 1}])


def test_custom_scale_needs_options() -> None:
    with pytest.raises(ValueError, match="needs options"):
        options_for("custom", None)


def test_unknown_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown scale"):
        options_for("7", None)


def test_invalid_custom_options_raise_value_error_naming_the_path() -> None:
    with pytest.raises(ValueError, match=r"options\[1\]\.score"):
        options_for("custom", [{"label": "a", "score": 0}, {"label": "b", "score": 2}])


@pytest.mark.parametrize(
    ("raw", "path", "fragment"),
    [
        ("Poor, OK", "", "list of options"),
        ({"label": "a", "score": 0}, "", "list of options"),
        ([{"label": "only", "score": 1}], "", "at least two"),
        ([{"label": "a", "score": 0.5 * i / 101} for i in range(101)], "", "at most 100"),
        ([{"label": "a", "score": 0}, "b"], "[1]", "must be an object"),
        ([{"label": "a", "score": 0}, {"label": "b", "score": 1.5}], "[1].score", "between 0 and 1"),
        ([{"label": "a", "score": -0.1}, {"label": "b", "score": 1}], "[0].score", "between 0 and 1"),
        ([{"label": "a", "score": 0}, {"label": "b", "score": True}], "[1].score", "must be a number"),
        ([{"label": "a", "score": 0}, {"label": "b", "score": "1"}], "[1].score", "must be a number"),
        ([{"label": "a", "score": 0}, {"label": "b", "score": math.nan}], "[1].score", "must be a number"),
        ([{"label": "a", "score": 0}, {"label": "b"}], "[1].score", "is required"),
        ([{"score": 0}, {"label": "b", "score": 1}], "[0].label", "is required"),
        ([{"label": " ", "score": 0}, {"label": "b", "score": 1}], "[0].label", "must not be empty"),
        ([{"label": "x" * 201, "score": 0}, {"label": "b", "score": 1}], "[0].label", "at most 200"),
        ([{"label": ["a"], "score": 0}, {"label": "b", "score": 1}], "[0].label", "must be a string"),
        ([{"label": True, "score": 0}, {"label": "b", "score": 1}], "[0].label", "quote it in YAML"),
        ([{"label": "a", "score": 0, "colour": "red"}, {"label": "b", "score": 1}], "[0].colour", "unknown"),
        ([{"label": "a", "score": 0}, {"label": "a ", "score": 1}], "[1].label", "duplicate label 'a'"),
        ([{"label": "a", "score": 0.6}, {"label": "b", "score": 0.2}], "[1].score", "ascending"),
        ([{"label": "a", "score": 0.5}, {"label": "b", "score": 0.5}], "[1].score", "ascending"),
    ],
)
def test_custom_option_problems_name_the_path(raw: object, path: str, fragment: str) -> None:
    problems = custom_option_problems(raw)
    assert any(p == path and fragment in message for p, message in problems), problems


def test_custom_option_problems_collects_all() -> None:
    raw = [{"label": "", "score": 0}, {"label": "b", "score": 3}, {"label": "c"}]
    assert [path for path, _ in custom_option_problems(raw)] == ["[0].label", "[1].score", "[2].score"]


def test_valid_custom_options_have_no_problems() -> None:
    raw = [{"label": "Poor", "score": 0}, {"label": "OK", "score": 0.6}, {"label": "Great", "score": 1}]
    assert custom_option_problems(raw) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, True),
        (0.5, True),
        (True, False),
        (math.inf, False),
        (math.nan, False),
        ("1", False),
        (None, False),
    ],
)
def test_is_number(value: object, expected: bool) -> None:
    assert is_number(value) is expected


_scores = st.lists(st.floats(0, 1), min_size=2, max_size=12, unique=True)


@given(_scores)
def test_any_ascending_unique_scores_in_range_are_accepted(scores: list[float]) -> None:
    raw = [{"label": f"o{i}", "score": s} for i, s in enumerate(sorted(scores))]
    options = options_for("custom", raw)
    assert [o.score for o in options] == sorted(scores)


@given(_scores.filter(lambda s: s != sorted(s)))
def test_unsorted_scores_are_rejected(scores: list[float]) -> None:
    raw = [{"label": f"o{i}", "score": s} for i, s in enumerate(scores)]
    assert any("ascending" in message for _, message in custom_option_problems(raw))
