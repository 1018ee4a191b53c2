"""The definition diff and the what-if rescoring (pure), by hand-made examples and Hypothesis."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorecards import ScorecardDef, score_review, validate_definition
from scorecards.diff import apply_diff, diff_definitions
from scorecards.whatif import ReviewRatings, map_ratings, rescore
from tests.scorecards.test_definition import example
from tests.scorecards.test_scoring import cards, ratings_for

BASE: dict[str, Any] = example()  # the PRODUCT.md example; `card` and the tests copy it before changing it


def card(**changes: Any) -> ScorecardDef:
    return validate_definition(example() | changes)


# --- strategies: test_scoring's, with the criteria shuffled and cut so diffs see adds, removes and moves ---


@st.composite
def definitions(draw: st.DrawFn) -> ScorecardDef:
    defn = draw(cards())
    criteria = draw(st.permutations(defn.criteria))
    return dataclasses.replace(defn, criteria=tuple(criteria[: draw(st.integers(1, len(criteria)))]))


def rated(defn: ScorecardDef, labels: dict[str, str | None]) -> dict[str, tuple[str | None, float | None]]:
    """Ratings as a review stores them: each label with its option's score (None, None for N/A)."""
    return {
        key: (None, None) if label is None else (label, defn.criterion(key).option(label).score)
        for key, label in labels.items()
    }


# --- diff -------------------------------------------------------------------------------------------


class TestDiff:
    @given(definitions())
    def test_a_definition_has_no_difference_with_itself(self, defn: ScorecardDef) -> None:
        assert diff_definitions(defn, defn).empty

    @settings(max_examples=80, deadline=None)
    @given(definitions(), definitions())
    def test_applying_the_diff_rebuilds_the_newer_definition(
        self, older: ScorecardDef, newer: ScorecardDef
    ) -> None:
        diff = diff_definitions(older, newer)
        assert apply_diff(older, diff) == newer
        assert diff.empty == (older == newer)

    def test_hand_made_changes(self) -> None:
        older = card()
        criteria = copy.deepcopy(BASE["criteria"])
        criteria[1]["weight"] = 4  # changed
        criteria.pop(0)  # greeting removed
        criteria.append({"key": "close", "name": "Closing", "scale": "3"})  # added
        criteria[0], criteria[1] = criteria[1], criteria[0]  # tone before accuracy: moved
        newer = card(criteria=criteria, pass_threshold=75)

        diff = diff_definitions(older, newer)

        assert [(f.field, f.before, f.after) for f in diff.card] == [("pass_threshold", 80.0, 75.0)]
        kinds = {c.key: c.kind for c in diff.criteria}
        assert kinds == {"tone": "moved", "accuracy": "changed", "close": "added", "greeting": "removed"}
        accuracy = next(c for c in diff.criteria if c.key == "accuracy")
        assert [(f.field, f.before, f.after) for f in accuracy.fields] == [("weight", 3.0, 4.0)]
        assert diff.order == ("tone", "accuracy", "close")


# --- what-if ----------------------------------------------------------------------------------------


class TestWhatIf:
    @settings(max_examples=80, deadline=None)
    @given(st.data())
    def test_an_unchanged_definition_scores_every_review_the_same(self, data: st.DataObject) -> None:
        defn = data.draw(definitions())
        reviews = []
        for review_id in range(data.draw(st.integers(1, 5))):
            ratings = rated(defn, data.draw(ratings_for(defn)))
            result = score_review(defn, {k: label for k, (label, _) in ratings.items()})
            reviews.append(ReviewRatings(review_id, review_id % 2, result.score, result.passed, ratings))

        what = rescore(defn, reviews)

        assert [(r.score_draft, r.passed_draft) for r in what.reviews] == [
            (r.score, r.passed) for r in reviews
        ]
        assert what.mean_now == what.mean_draft and what.pass_rate_now == what.pass_rate_draft
        assert what.changed_outcome == 0 and what.remapped == 0 and what.dropped == 0

    def test_weights_threshold_remapping_na_and_new_criteria(self) -> None:
        criteria = copy.deepcopy(BASE["criteria"])
        criteria[1]["weight"] = 1  # accuracy 3 -> 1
        criteria[2]["allow_na"] = False  # tone N/A no longer allowed
        criteria[0]["scale"] = "3"  # greeting binary -> 1..3: labels No/Yes no longer exist
        criteria.append({"key": "close", "name": "Closing", "scale": "binary"})  # new, unrated
        draft = card(criteria=criteria, pass_threshold=70)
        # Review 1: greeting Yes (1), accuracy 4 (0.75), tone OK (0.6): (1 + 2.25 + 1.2) / 6 = 74.17, fail.
        # Draft: greeting -> "3" (score 1), accuracy w1: (1 + 0.75 + 1.2) / 4 = 73.75, passes at 70.
        r1 = ReviewRatings(
            1,
            10,
            74.16666666666667,
            False,
            {"greeting": ("Yes", 1.0), "accuracy": ("4", 0.75), "tone": ("OK", 0.6)},
        )
        # Review 2: greeting No (0), accuracy 5, tone N/A: now (0 + 3) / 4 = 75, fail at 80.
        # Draft: greeting -> "1" (0), accuracy 1, tone N/A dropped: (0 + 1) / 2 = 50, fail.
        r2 = ReviewRatings(
            2, 10, 75.0, False, {"greeting": ("No", 0.0), "accuracy": ("5", 1.0), "tone": (None, None)}
        )
        # Review 3: accuracy 2 (0.25) critical fail: 0 now and under the draft.
        r3 = ReviewRatings(3, 11, 0.0, False, {"greeting": ("Yes", 1.0), "accuracy": ("2", 0.25)})

        what = rescore(draft, [r1, r2, r3])

        assert [r.score_draft for r in what.reviews] == [pytest.approx(73.75), pytest.approx(50.0), 0.0]
        assert [r.passed_draft for r in what.reviews] == [True, False, False]
        assert what.became_pass == 1 and what.became_fail == 0 and what.changed_outcome == 1
        assert what.remapped == 3 and what.dropped == 1  # greeting (No/Yes gone) in each review; tone N/A
        assert what.mean_now == pytest.approx((74.16666666666667 + 75 + 0) / 3)
        assert what.mean_draft == pytest.approx((73.75 + 50 + 0) / 3)
        assert what.pass_rate_now == 0 and what.pass_rate_draft == pytest.approx(1 / 3)
        agents = {a.agent_id: a for a in what.agents}
        assert agents[10].mean_draft == pytest.approx((73.75 + 50) / 2)
        assert agents[10].change == pytest.approx((73.75 + 50) / 2 - (74.16666666666667 + 75) / 2)
        assert agents[11].n_reviews == 1 and agents[11].change == 0

    def test_a_missing_label_maps_to_the_nearest_score_ties_going_down(self) -> None:
        criteria = copy.deepcopy(BASE["criteria"])
        criteria[2]["options"] = [
            {"label": "Bad", "score": 0},
            {"label": "Good", "score": 0.8},
            {"label": "Top", "score": 1},
        ]
        draft = card(criteria=criteria)
        mapped, remapped, dropped = map_ratings(draft, {"tone": ("OK", 0.6), "accuracy": ("3", 0.5)})
        assert mapped == {"tone": "Good", "accuracy": "3"} and remapped == 1 and dropped == 0
        criteria[2]["options"] = [{"label": "Bad", "score": 0.4}, {"label": "Good", "score": 0.8}]
        assert map_ratings(card(criteria=criteria), {"tone": ("OK", 0.6)})[0] == {"tone": "Bad"}
