"""Tests for the leniency model: a synthetic world with known reviewer bias and agent quality."""

from __future__ import annotations

import random

import pytest

from qa.calibration.leniency import fit_effects

TRUE_QUALITY = {1: 60.0, 2: 70.0, 3: 80.0, 4: 90.0}
BIAS = {10: +10.0, 11: -5.0, 12: -5.0}  # reviewer 10 is lenient; equal review counts -> mean bias 0


def synthetic(seed: int = 3) -> list[tuple[int, int, float]]:
    rng = random.Random(seed)
    rows = []
    for agent, quality in TRUE_QUALITY.items():
        for reviewer, bias in BIAS.items():
            for _ in range(20):
                rows.append((agent, reviewer, quality + bias + rng.gauss(0, 2)))
    return rows


class TestRecoversTheTruth:
    def test_agents_and_reviewers(self) -> None:
        effects = fit_effects(synthetic())
        for agent, quality in TRUE_QUALITY.items():
            assert effects.agents[agent].adjusted == pytest.approx(quality, abs=1.0)
            assert effects.agents[agent].n == 60
        for reviewer, bias in BIAS.items():
            assert effects.reviewers[reviewer].effect == pytest.approx(bias, abs=1.0)
            assert effects.reviewers[reviewer].n == 80
        # review-weighted centring: the effects sum to zero over the reviews
        assert sum(r.n * r.effect for r in effects.reviewers.values()) == pytest.approx(0.0, abs=1e-6)

    def test_agent_seen_only_by_the_lenient_reviewer_is_adjusted_down(self) -> None:
        rows = synthetic() + [(5, 10, 75.0 + 10.0), (5, 10, 75.0 + 10.0), (5, 10, 75.0 + 10.0)]
        effects = fit_effects(rows)
        five = effects.agents[5]
        assert five.raw_mean == pytest.approx(85.0)
        assert five.adjusted < five.raw_mean - 5  # most of the +10 removed; ridge keeps a little
        assert five.adjusted == pytest.approx(75.0, abs=3.0)

    def test_raw_means_are_plain_means(self) -> None:
        effects = fit_effects([(1, 10, 50.0), (1, 11, 70.0), (2, 10, 90.0)])
        assert effects.agents[1].raw_mean == 60.0 and effects.agents[2].raw_mean == 90.0
        assert (effects.agents[1].n, effects.reviewers[10].n) == (2, 2)


class TestEdges:
    def test_empty(self) -> None:
        effects = fit_effects([])
        assert (effects.intercept, effects.agents, effects.reviewers) == (None, {}, {})

    def test_one_reviewer_has_no_effect(self) -> None:
        effects = fit_effects([(1, 10, 50.0), (2, 10, 90.0)])
        assert effects.reviewers[10].effect == pytest.approx(0.0, abs=1e-9)
        # two agents, one review each: shrunk half-way towards the mean (alpha = 1, n = 1)
        assert effects.agents[1].adjusted < 70.0 < effects.agents[2].adjusted
        assert effects.agents[1].adjusted + effects.agents[2].adjusted == pytest.approx(140.0)

    def test_bad_alpha(self) -> None:
        with pytest.raises(ValueError, match="alpha"):
            fit_effects([(1, 1, 1.0)], alpha=0)
