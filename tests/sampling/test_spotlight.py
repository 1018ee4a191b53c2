"""Spotlight: planted outliers surface with the right reasons, topics recover planted vocabularies,
results are deterministic, degenerate pools don't break it, and prescreen keeps its limits in any order."""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from sampling.spotlight import MIN_MODEL_ROWS, NO_TOPIC_LABEL, Spotlight, prescreen, spotlight

NAMES = ["messages", "agent_messages", "customer_messages", "first_response_seconds", "handle_seconds",
         "csat", "reopens", "agent_chars", "customer_chars"]
HANDLE, CSAT = NAMES.index("handle_seconds"), NAMES.index("csat")


def words(text: str) -> list[str]:
    return text.split()


VOCABULARIES = {
    "billing": words("refund charge card invoice payment charged twice bank statement subscription price"),
    "shipping": words("delivery package tracking courier parcel arrived late address shipped warehouse"),
    "login": words("password login account reset locked email verification code sign access"),
}
RARE = words("gdpr privacy erase personal data deletion request regulation consent lawyer")
FILLER = words("hello thanks order help please today hi need issue problem")
AGENT = words("sorry apologise understand happy assist checked resolved ticket confirm team update kindly")

@dataclass(frozen=True)
class Pool:
    numeric: NDArray[np.float64]
    agent: list[str]
    customer: list[str]
    topic: NDArray[np.int64]  # index into VOCABULARIES, or -1 for the rare topic
    long_low_csat: NDArray[np.int64]
    rare_topic: NDArray[np.int64]


def _text(rng: np.random.Generator, words: list[str], count: int) -> str:
    """`count` words, each three times likelier from `words` than from the shared filler."""
    pool = np.array(words + FILLER)
    weights = np.r_[np.full(len(words), 3.0), np.ones(len(FILLER))]
    return " ".join(rng.choice(pool, size=count, p=weights / weights.sum()))


def make_pool(n: int, seed: int, *, long_low_csat: int = 0, rare_topic: int = 0, words: int = 30) -> Pool:
    """Ordinary synthetic conversations, then the first rows replaced by planted outliers."""
    rng = np.random.default_rng(seed)
    agent_messages, customer_messages = rng.poisson(5, n) + 1, rng.poisson(5, n) + 1
    numeric = np.column_stack([
        agent_messages + customer_messages, agent_messages, customer_messages,
        rng.lognormal(np.log(60), 0.5, n), rng.lognormal(np.log(600), 0.4, n),
        rng.choice([1, 2, 3, 4, 5], size=n, p=[0.02, 0.03, 0.1, 0.3, 0.55]).astype(float),
        (rng.random(n) < 0.04).astype(float),
        agent_messages * rng.normal(120, 20, n), customer_messages * rng.normal(80, 15, n)])
    numeric[rng.random(n) < 0.3, CSAT] = np.nan
    names = list(VOCABULARIES)
    topic = rng.integers(0, len(names), n)
    customer = [_text(rng, VOCABULARIES[names[t]], words) for t in topic]
    agent = [_text(rng, AGENT, words) for _ in range(n)]
    planted_long = np.arange(long_low_csat)
    numeric[planted_long, HANDLE] = rng.uniform(3, 5, long_low_csat) * 3600
    numeric[planted_long, CSAT] = 1.0
    planted_rare = np.arange(long_low_csat, long_low_csat + rare_topic)
    for row in planted_rare:
        customer[row] = _text(rng, RARE, words)
        topic[row] = -1
    return Pool(numeric, agent, customer, topic, planted_long, planted_rare)


def positions_by_priority(result: Spotlight) -> NDArray[np.int64]:
    """Each row's place when sorted by priority, highest first (0 = top)."""
    places = np.empty(result.priority.size, dtype=np.int64)
    places[np.argsort(-result.priority, kind="stable")] = np.arange(result.priority.size)
    return places


def assert_well_formed(result: Spotlight, n: int) -> None:
    assert result.priority.shape == (n,) and np.all(np.isfinite(result.priority))
    assert result.topics.shape == (n,) and len(result.reasons) == n
    assert all(reason.strip() for reason in result.reasons)
    if n:
        assert set(result.topics.tolist()) == set(range(len(result.topic_labels)))


Planted = tuple[Pool, Spotlight]


@pytest.fixture(scope="module")
def planted() -> Planted:
    pool = make_pool(2000, seed=1, long_low_csat=5, rare_topic=8)
    return pool, spotlight(pool.numeric, NAMES, pool.agent, pool.customer, seed=7)


class TestPlantedOutliers:
    def test_long_handle_low_csat_rows_rank_in_the_top_one_percent(self, planted: Planted) -> None:
        pool, result = planted
        assert positions_by_priority(result)[pool.long_low_csat].max() < 20

    def test_their_reasons_say_long_handle_time_and_low_csat(self, planted: Planted) -> None:
        pool, result = planted
        for row in pool.long_low_csat:
            hours = pool.numeric[row, HANDLE] / 3600
            assert f"long handle time ({hours:.1f} h)" in result.reasons[row]
            assert "low CSAT (1)" in result.reasons[row]

    def test_rare_topic_rows_rank_in_the_top_two_percent(self, planted: Planted) -> None:
        pool, result = planted
        assert positions_by_priority(result)[pool.rare_topic].max() < 40

    def test_rare_topic_rows_are_explained_by_their_topic(self, planted: Planted) -> None:
        pool, result = planted
        for row in pool.rare_topic:
            assert "off-topic" in result.reasons[row] or "unusual topic" in result.reasons[row]

    def test_a_bigger_rare_topic_gets_its_own_label(self) -> None:
        pool = make_pool(2000, seed=2, rare_topic=30)
        result = spotlight(pool.numeric, NAMES, pool.agent, pool.customer, seed=3, n_topics=4)
        codes = set(result.topics[pool.rare_topic].tolist())
        assert len(codes) == 1
        label = result.topic_labels[codes.pop()]
        assert all(term in RARE for term in label.split(" · "))
        assert all(f"unusual topic: {label}" in result.reasons[row] for row in pool.rare_topic)
        assert np.median(positions_by_priority(result)[pool.rare_topic]) < 0.05 * 2000

    def test_ordinary_rows_are_not_dressed_up(self, planted: Planted) -> None:
        pool, result = planted
        quiet = [reason for reason in result.reasons if reason.startswith("nothing stands out")]
        assert len(quiet) > len(result.reasons) / 2  # most ordinary conversations say so
        bottom = np.argsort(result.priority)[:100]
        assert all("long handle time" not in result.reasons[row] for row in bottom)

    def test_reasons_are_never_empty_and_stay_short(self, planted: Planted) -> None:
        _, result = planted
        assert_well_formed(result, 2000)
        assert max(len(reason) for reason in result.reasons) < 200


@pytest.fixture(scope="module")
def three_topics() -> Planted:
    pool = make_pool(1200, seed=4)
    return pool, spotlight(pool.numeric, NAMES, pool.agent, pool.customer, seed=5, n_topics=3)


def majority(truth: NDArray[np.int64], result: Spotlight, code: int) -> tuple[int, int]:
    """The planted topic most common in topic `code`, and how many of its rows have it."""
    return Counter(truth[result.topics == code].tolist()).most_common(1)[0]


class TestTopics:
    def test_three_vocabularies_give_three_pure_topics(self, three_topics: Planted) -> None:
        pool, result = three_topics
        assert len(result.topic_labels) == 3
        for code in range(3):
            assert majority(pool.topic, result, code)[1] > 0.95 * np.sum(result.topics == code)
        assert {majority(pool.topic, result, code)[0] for code in range(3)} == {0, 1, 2}

    def test_labels_are_the_top_terms_of_their_vocabulary(self, three_topics: Planted) -> None:
        pool, result = three_topics
        for code, label in enumerate(result.topic_labels):
            vocabulary = list(VOCABULARIES.values())[majority(pool.topic, result, code)[0]]
            terms = label.split(" · ")
            assert len(terms) == 3 and all(term in vocabulary for term in terms)

    def test_default_topic_count_keeps_clusters_mostly_pure(self) -> None:
        pool = make_pool(1000, seed=6)
        result = spotlight(pool.numeric, NAMES, pool.agent, pool.customer, seed=7)
        codes = range(len(result.topic_labels))
        assert len(result.topic_labels) == 4  # round(sqrt(1000 / 50))
        assert sum(majority(pool.topic, result, code)[1] for code in codes) > 0.9 * 1000
        assert {majority(pool.topic, result, code)[0] for code in codes} == {0, 1, 2}

    def test_topic_codes_are_numbered_largest_first(self, planted: Planted) -> None:
        _, result = planted
        real = [c for c, label in enumerate(result.topic_labels) if not label.startswith("(")]
        sizes = np.bincount(result.topics)[real]
        assert list(sizes) == sorted(sizes, reverse=True)

    def test_rows_without_customer_text_get_their_own_topic(self) -> None:
        pool = make_pool(300, seed=8)
        customer = ["" if row % 10 == 0 else text for row, text in enumerate(pool.customer)]
        result = spotlight(pool.numeric, NAMES, pool.agent, customer, seed=1)
        empty_codes = {int(result.topics[row]) for row in range(0, 300, 10)}
        assert [result.topic_labels[code] for code in empty_codes] == ["(no customer text)"]
        assert_well_formed(result, 300)


class TestDeterminism:
    def test_same_inputs_and_seed_give_identical_output(self) -> None:
        pool = make_pool(600, seed=9, long_low_csat=3, rare_topic=4)
        first = spotlight(pool.numeric, NAMES, pool.agent, pool.customer, seed=11)
        again = spotlight(pool.numeric.copy(), list(NAMES), list(pool.agent), list(pool.customer), seed=11)
        assert np.array_equal(first.priority, again.priority)
        assert np.array_equal(first.topics, again.topics)
        assert first.topic_labels == again.topic_labels and first.reasons == again.reasons

    def test_large_pools_fit_on_a_sample_deterministically(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr("sampling.spotlight.MAX_FIT_ROWS", 200)
        pool = make_pool(500, seed=10, long_low_csat=3)
        first = spotlight(pool.numeric, NAMES, pool.agent, pool.customer, seed=2**63 - 1)
        again = spotlight(pool.numeric, NAMES, pool.agent, pool.customer, seed=2**63 - 1)
        assert np.array_equal(first.priority, again.priority) and first.reasons == again.reasons
        assert positions_by_priority(first)[pool.long_low_csat].max() < 10


class TestDegenerateInputs:
    @pytest.mark.parametrize("numeric", [np.zeros((0, 9)), np.zeros((0, 0)), []])
    def test_empty_pool(self, numeric: npt.ArrayLike) -> None:
        names = NAMES if np.shape(numeric) == (0, 9) else []
        result = spotlight(numeric, names, [], [], seed=1)
        assert result.priority.shape == (0,) and result.topics.shape == (0,)
        assert result.topic_labels == [] and result.reasons == []

    @pytest.mark.parametrize("n", [1, 2, 5, MIN_MODEL_ROWS - 1])
    def test_tiny_pools_fall_back_to_robust_z(self, n: int) -> None:
        pool = make_pool(n, seed=n)
        result = spotlight(pool.numeric, NAMES, pool.agent, pool.customer, seed=1)
        assert_well_formed(result, n)
        assert result.topic_labels == [NO_TOPIC_LABEL]

    def test_identical_tiny_pool_says_there_is_too_little_to_compare(self) -> None:
        numeric = np.tile([10, 5, 5, 60, 600, 5, 0, 500, 400], (5, 1)).astype(float)
        result = spotlight(numeric, NAMES, ["a"] * 5, ["b"] * 5, seed=1)
        assert result.reasons == ["only 5 conversations to compare: nothing stands out"] * 5

    def test_tiny_pool_still_names_a_clear_outlier(self) -> None:
        numeric = np.tile([10, 5, 5, 60, 600, 5, 0, 500, 400], (5, 1)).astype(float)
        numeric[:, HANDLE] = [580, 600, 610, 620, 36_000]
        result = spotlight(numeric, NAMES, [""] * 5, [""] * 5, seed=1)
        assert result.reasons[4] == "long handle time (10.0 h)"
        assert int(np.argmax(result.priority)) == 4

    @pytest.mark.parametrize("text", ["", "the and of it", "   "])
    def test_texts_without_vocabulary_skip_text_features(self, text: str) -> None:
        pool = make_pool(200, seed=12, long_low_csat=2)
        result = spotlight(pool.numeric, NAMES, [text] * 200, [text] * 200, seed=1)
        assert_well_formed(result, 200)
        assert result.topic_labels == [NO_TOPIC_LABEL]
        assert positions_by_priority(result)[pool.long_low_csat].max() < 4

    def test_unknown_and_constant_columns_are_never_named(self) -> None:
        pool = make_pool(300, seed=13, rare_topic=3)
        numeric = pool.numeric.copy()
        numeric[:, CSAT] = np.nan
        numeric[:, HANDLE] = 600.0
        numeric[5, 0] = np.inf  # non-finite counts as unknown
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = spotlight(numeric, NAMES, pool.agent, pool.customer, seed=1)
        assert_well_formed(result, 300)
        assert not any("CSAT" in reason or "handle time" in reason for reason in result.reasons)

    def test_no_numeric_columns(self) -> None:
        pool = make_pool(200, seed=14, rare_topic=3)
        result = spotlight(np.zeros((200, 0)), [], pool.agent, pool.customer, seed=1)
        assert_well_formed(result, 200)

    def test_unknown_feature_names_are_used_both_ways(self) -> None:
        pool = make_pool(200, seed=15)
        extra = np.column_stack([pool.numeric, np.r_[np.full(199, 1.0), 50.0] + np.arange(200) * 0.01])
        result = spotlight(extra, [*NAMES, "sentiment_shift"], pool.agent, pool.customer, seed=1)
        assert "high sentiment shift (52)" in result.reasons[199]

    def test_mismatched_inputs_are_refused(self) -> None:
        pool = make_pool(40, seed=16)
        with pytest.raises(ValueError, match="agent_texts"):
            spotlight(pool.numeric, NAMES, pool.agent[:-1], pool.customer, seed=1)
        with pytest.raises(ValueError, match="feature names"):
            spotlight(pool.numeric, NAMES[:-1], pool.agent, pool.customer, seed=1)
        with pytest.raises(ValueError, match="rows"):
            spotlight(pool.numeric[:-1], NAMES, pool.agent, pool.customer, seed=1)
        with pytest.raises(ValueError, match="n_topics"):
            spotlight(pool.numeric, NAMES, pool.agent, pool.customer, seed=1, n_topics=0)

    @settings(max_examples=15, deadline=None)
    @given(st.integers(0, 45), st.integers(0, 3), st.data())
    def test_any_small_pool_gives_a_well_formed_result(self, n: int, d: int, data: st.DataObject) -> None:
        values = st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")), st.just(float("inf")), st.just(3.0))
        rows = data.draw(st.lists(st.lists(values, min_size=d, max_size=d), min_size=n, max_size=n))
        numeric = np.array(rows, dtype=float).reshape(n, d)
        words = st.sampled_from(["", "refund card", "the", "parcel late", "login reset code", "refund"])
        texts = data.draw(st.lists(words, min_size=n, max_size=n))
        result = spotlight(numeric, NAMES[:d], texts[::-1], texts, seed=data.draw(st.integers(0, 2**63 - 1)))
        assert_well_formed(result, n)


class TestPrescreen:
    @staticmethod
    def per_group(positions: NDArray[np.intp], groups: NDArray[np.int64]) -> Counter[int]:
        return Counter(groups[positions].tolist())

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.integers(0, 6), min_size=0, max_size=300), st.integers(0, 6), st.integers(1, 5),
           st.integers(0, 30), st.booleans(), st.integers(0, 2**64))
    def test_each_group_keeps_exactly_its_limit_or_everything(
            self, group_list: list[int], wanted: int, pool_factor: int, minimum: int, as_mapping: bool,
            seed: int) -> None:
        groups = np.array(group_list, dtype=np.int64)
        rng = np.random.default_rng(len(group_list))
        numeric = rng.lognormal(size=(groups.size, 3))
        want = {g: wanted + g for g in range(0, 7, 2)} if as_mapping else wanted
        kept = prescreen(numeric, groups, want, seed, pool_factor, minimum, ids=np.arange(groups.size) * 7)
        assert np.all(np.diff(kept) > 0)
        counts, sizes = self.per_group(kept, groups), Counter(group_list)
        for group, size in sizes.items():
            group_want = (want.get(group, 0) if isinstance(want, dict) else want)
            limit = 0 if group_want <= 0 else max(pool_factor * group_want, minimum)
            assert counts[group] == min(size, limit)

    def test_planted_numeric_outliers_are_kept(self) -> None:
        rng = np.random.default_rng(17)
        groups = np.repeat(np.arange(100), 200)
        numeric = rng.lognormal(size=(groups.size, 4))
        numeric[rng.random(numeric.shape) < 0.1] = np.nan
        planted = np.arange(0, groups.size, 200) + rng.integers(0, 200, 100)
        numeric[planted, 2] = 1e4
        kept = prescreen(numeric, groups, 5, seed=3, ids=np.arange(groups.size))
        assert np.isin(planted, kept).all()
        assert set(self.per_group(kept, groups).values()) == {20}

    def test_order_independent_with_ids(self) -> None:
        rng = np.random.default_rng(18)
        n = 5_000
        groups = rng.integers(0, 40, n)
        numeric = np.round(rng.lognormal(size=(n, 3)), 1)  # plenty of ties in the score
        ids = rng.permutation(n) * 3 + 1
        kept = ids[prescreen(numeric, groups, 4, seed=9, ids=ids)]
        shuffle = rng.permutation(n)
        again = ids[shuffle][prescreen(numeric[shuffle], groups[shuffle], 4, seed=9, ids=ids[shuffle])]
        assert sorted(kept.tolist()) == sorted(again.tolist())

    def test_the_random_share_reaches_every_row_over_seeds(self) -> None:
        groups = np.zeros(100, dtype=np.int64)
        numeric = np.ones((100, 2))
        numeric[:10, 0] = 50.0  # the same ten are always the most unusual
        hits = np.zeros(100)
        for seed in range(200):
            kept = prescreen(numeric, groups, 5, seed, minimum=0, ids=np.arange(100))
            assert np.isin(np.arange(10), kept).all()
            hits[kept] += 1
        # The other 10 of each pool of 20 are uniform over the 90 ordinary rows: 200·10/90 ≈ 22 hits each.
        assert hits[10:].min() >= 5 and hits[10:].max() <= 50

    def test_groups_without_want_get_nothing(self) -> None:
        groups = np.repeat(np.array([-1, 3, 8]), 50)
        kept = prescreen(np.ones((150, 1)), groups, {3: 2, 8: 0}, seed=1, minimum=5)
        assert self.per_group(kept, groups) == Counter({3: 8})

    def test_degenerate_inputs(self) -> None:
        assert prescreen(np.zeros((0, 3)), np.zeros(0, dtype=np.int64), 5, seed=1).size == 0
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            kept = prescreen(np.full((30, 2), np.nan), np.zeros(30, dtype=np.int64), 2, seed=1)
        assert kept.size == 20
        assert prescreen(np.ones((30, 0)), np.zeros(30, dtype=np.int64), 2, seed=1, minimum=0).size == 8
        with pytest.raises(ValueError):
            prescreen(np.ones((3, 1)), np.zeros(4, dtype=np.int64), 2, seed=1)
        with pytest.raises(ValueError):
            prescreen(np.ones((3, 1)), np.zeros(3, dtype=np.int64), 2, seed=1, ids=[1, 2])
        with pytest.raises(ValueError):
            prescreen(np.ones((3, 1)), np.array([0.5, 1, 2]), 2, seed=1)
