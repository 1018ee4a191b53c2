"""Tests for handing picks to reviewers (sampling/allocate.py)."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from sampling.allocate import Reviewer, allocate

Agents = list[int | None]
seeds = st.integers(0, 2**63 - 1)


@st.composite
def instances(draw: st.DrawFn, max_picks: int = 30, max_reviewers: int = 6) -> tuple[Agents, list[Reviewer]]:
    """Picks from a few agents (some without one) and reviewers, some of them those agents, some capped."""
    agents = draw(st.lists(st.none() | st.integers(1, 5), max_size=max_picks))
    ids = draw(st.lists(st.integers(1, 10**9), max_size=max_reviewers, unique=True))
    reviewers = [Reviewer(id=i, agent_id=draw(st.none() | st.integers(1, 6)),
                          capacity=draw(st.none() | st.integers(0, 8)), load=draw(st.integers(0, 4)))
                 for i in ids]
    return agents, reviewers


def eligible(reviewer: Reviewer, agent: int | None) -> bool:
    return agent is None or reviewer.agent_id != agent


def final_loads(agents: Agents, reviewers: Sequence[Reviewer], result: list[int | None]) -> dict[int, int]:
    given_out = Counter(r for r in result if r is not None)
    return {r.id: r.load + given_out[r.id] for r in reviewers}


def room(reviewer: Reviewer, load: int) -> bool:
    return reviewer.capacity is None or load < reviewer.capacity


def max_assignable(agents: Agents, reviewers: Sequence[Reviewer]) -> int:
    """The most picks any assignment can place: a maximum flow, computed by scipy."""
    kinds = sorted(set(agents), key=lambda a: (a is not None, a or 0))
    n = 2 + len(kinds) + len(reviewers)
    capacity = np.zeros((n, n), dtype=np.int32)
    for k, agent in enumerate(kinds):
        capacity[0, 2 + k] = agents.count(agent)
        for r, reviewer in enumerate(reviewers):
            if eligible(reviewer, agent):
                capacity[2 + k, 2 + len(kinds) + r] = len(agents)
    for r, reviewer in enumerate(reviewers):
        left = len(agents) if reviewer.capacity is None else max(0, reviewer.capacity - reviewer.load)
        capacity[2 + len(kinds) + r, 1] = left
    return int(maximum_flow(csr_matrix(capacity), 0, 1).flow_value)


def check_valid(agents: Agents, reviewers: Sequence[Reviewer], result: list[int | None]) -> None:
    by_id = {r.id: r for r in reviewers}
    assert len(result) == len(agents)
    for agent, chosen in zip(agents, result, strict=True):
        if chosen is not None:
            assert eligible(by_id[chosen], agent), "self-review"
    given_out = Counter(r for r in result if r is not None)
    for reviewer in reviewers:
        if reviewer.capacity is not None:
            assert given_out[reviewer.id] <= max(0, reviewer.capacity - reviewer.load)


class TestProperties:
    @settings(max_examples=100)
    @given(instance=instances(), seed=seeds)
    def test_no_self_review_capacity_kept_and_as_many_placed_as_possible(
            self, instance: tuple[Agents, list[Reviewer]], seed: int) -> None:
        agents, reviewers = instance
        result = allocate(agents, reviewers, seed)
        check_valid(agents, reviewers, result)
        assert sum(r is not None for r in result) == max_assignable(agents, reviewers)
        loads = final_loads(agents, reviewers, result)
        for agent, chosen in zip(agents, result, strict=True):
            if chosen is None:  # only when every reviewer who may take it is full
                assert not any(eligible(r, agent) and room(r, loads[r.id]) for r in reviewers)

    @settings(max_examples=100)
    @given(instance=instances(), seed=seeds)
    def test_no_pick_could_move_to_a_reviewer_two_lighter(self, instance: tuple[Agents, list[Reviewer]],
                                                          seed: int) -> None:
        """Balance within one: a reviewer given a pick carries at most one more than any other reviewer who
        could have taken that pick and has room."""
        agents, reviewers = instance
        result = allocate(agents, reviewers, seed)
        loads = final_loads(agents, reviewers, result)
        for agent, chosen in zip(agents, result, strict=True):
            if chosen is not None:
                for other in reviewers:
                    if eligible(other, agent) and room(other, loads[other.id]):
                        assert loads[chosen] <= loads[other.id] + 1

    @settings(max_examples=120)
    @given(instance=instances(max_picks=5, max_reviewers=3), seed=seeds)
    def test_optimal_against_every_possible_assignment(self, instance: tuple[Agents, list[Reviewer]],
                                                       seed: int) -> None:
        """Most picks placed, then the smallest sum of squared loads: checked by brute force."""
        agents, reviewers = instance
        result = allocate(agents, reviewers, seed)
        options = [None, *(r.id for r in reviewers)]
        best: tuple[int, int] | None = None
        for candidate in itertools.product(options, repeat=len(agents)):
            try:
                check_valid(agents, reviewers, list(candidate))
            except AssertionError:
                continue
            loads = final_loads(agents, reviewers, list(candidate))
            score = (-sum(c is not None for c in candidate), sum(v * v for v in loads.values()))
            best = score if best is None else min(best, score)
        loads = final_loads(agents, reviewers, result)
        assert (-sum(c is not None for c in result), sum(v * v for v in loads.values())) == best

    @settings(max_examples=100)
    @given(picks=st.lists(st.none() | st.integers(1, 50), max_size=80),
           ids=st.lists(st.integers(1, 10**6), min_size=1, max_size=8, unique=True),
           start=st.integers(0, 5), seed=seeds)
    def test_unconstrained_loads_differ_by_at_most_one(self, picks: Agents, ids: list[int], start: int,
                                                       seed: int) -> None:
        reviewers = [Reviewer(i, load=start) for i in ids]
        result = allocate(picks, reviewers, seed)
        assert None not in result
        loads = final_loads(picks, reviewers, result).values()
        assert max(loads) - min(loads) <= 1

    @settings(max_examples=100)
    @given(picks=st.lists(st.integers(1, 50), max_size=80),
           start=st.lists(st.integers(0, 30), min_size=1, max_size=8), seed=seeds)
    def test_unequal_initial_loads_are_levelled(self, picks: Agents, start: list[int], seed: int) -> None:
        reviewers = [Reviewer(i + 1, load=load) for i, load in enumerate(start)]
        result = allocate(picks, reviewers, seed)
        loads = final_loads(picks, reviewers, result)
        lowest = min(loads.values())
        assert all(loads[r] <= lowest + 1 for r in set(result) if r is not None)

    @settings(max_examples=100)
    @given(instance=instances(), seed=seeds)
    def test_same_seed_same_allocation_and_arrays_work(self, instance: tuple[Agents, list[Reviewer]],
                                                       seed: int) -> None:
        agents, reviewers = instance
        result = allocate(agents, reviewers, seed)
        assert allocate(list(agents), list(reviewers), seed) == result
        if None not in agents:
            assert allocate(np.array(agents, dtype=np.int64), reviewers, seed) == result


class TestExamples:
    def test_peer_reviewers_never_get_their_own_and_stay_balanced(self) -> None:
        reviewers = [Reviewer(10, agent_id=1), Reviewer(20, agent_id=2), Reviewer(30)]
        for seed in range(50):
            result = allocate([1, 1, 1, 2, 2, 2], reviewers, seed)
            assert 10 not in result[:3] and 20 not in result[3:]
            assert sorted(Counter(result).values()) == [2, 2, 2]

    def test_the_only_reviewer_is_the_agent(self) -> None:
        assert allocate([5, 6, None], [Reviewer(1, agent_id=5)], 0) == [None, 1, 1]

    def test_no_reviewers_or_no_picks(self) -> None:
        assert allocate([1, 2], [], 0) == [None, None]
        assert allocate([], [Reviewer(1)], 0) == []

    def test_capacity_and_existing_load_limit_a_reviewer(self) -> None:
        reviewers = [Reviewer(1, capacity=5, load=4), Reviewer(2, capacity=2, load=3), Reviewer(3)]
        result = allocate(list(range(10)), reviewers, 3)
        assert Counter(result) == {1: 1, 3: 9}

    def test_a_constrained_pick_is_not_crowded_out(self) -> None:
        """Greedy in the given order would give reviewer 2's only slot to the unconstrained pick."""
        reviewers = [Reviewer(1, agent_id=7, capacity=1), Reviewer(2, capacity=1)]
        for seed in range(20):
            assert allocate([None, 7], reviewers, seed) == [1, 2]

    def test_the_tie_break_depends_on_the_seed(self) -> None:
        reviewers = [Reviewer(i) for i in (4, 8, 15, 16)]
        firsts = Counter(allocate([1], reviewers, seed)[0] for seed in range(200))
        assert set(firsts) == {4, 8, 15, 16}

    def test_an_agents_picks_go_to_different_reviewers(self) -> None:
        reviewers = [Reviewer(i) for i in range(1, 5)]
        agents = [a for a in range(1, 13) for _ in range(4)]  # 12 agents x 4 picks, 4 reviewers
        for seed in range(20):
            result = allocate(agents, reviewers, seed)
            assert all(len(set(result[i: i + 4])) == 4 for i in range(0, len(agents), 4))

    def test_short_capacity_leaves_each_agent_its_first_picks(self) -> None:
        agents = [1, 1, 1, 2, 2, 2, 3, 3, 3]
        result = allocate(agents, [Reviewer(1, capacity=3), Reviewer(2, capacity=3)], 11)
        assert [result[i] is not None for i in range(9)] == [True, True, False] * 3

    def test_twenty_thousand_picks_over_ten_reviewers(self) -> None:
        agents = np.repeat(np.arange(2000), 10)
        reviewers = [Reviewer(100 + i, agent_id=i * 200, capacity=None if i % 2 else 3000, load=i)
                     for i in range(10)]
        result = allocate(agents, reviewers, 2026)
        check_valid([int(a) for a in agents], reviewers, result)
        loads = final_loads([int(a) for a in agents], reviewers, result)
        assert None not in result
        assert max(loads.values()) - min(loads.values()) <= 1


@pytest.mark.parametrize(("reviewers", "message"), [
    ([Reviewer(1), Reviewer(1)], "unique"),
])
def test_bad_reviewer_lists_are_refused(reviewers: list[Reviewer], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        allocate([1], reviewers, 0)


@pytest.mark.parametrize(("kwargs", "message"), [({"capacity": -1}, "capacity"), ({"load": -2}, "load")])
def test_bad_reviewers_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Reviewer(1, **kwargs)


Teams = list[int | None]


@st.composite
def scoped_instances(draw: st.DrawFn) -> tuple[Agents, Teams, list[Reviewer]]:
    """Picks with an agent and a team (some none), reviewers of whom some review only certain teams."""
    n = draw(st.integers(0, 25))
    agents = draw(st.lists(st.none() | st.integers(1, 4), min_size=n, max_size=n))
    teams = draw(st.lists(st.none() | st.integers(1, 3), min_size=n, max_size=n))
    ids = draw(st.lists(st.integers(1, 10**9), max_size=5, unique=True))
    reviewers = [Reviewer(id=i, agent_id=draw(st.none() | st.integers(1, 5)),
                          capacity=draw(st.none() | st.integers(0, 8)), load=draw(st.integers(0, 3)),
                          teams=draw(st.none() | st.frozensets(st.integers(1, 3), max_size=3)))
                 for i in ids]
    return agents, teams, reviewers


def may_take(reviewer: Reviewer, agent: int | None, team: int | None) -> bool:
    in_scope = reviewer.teams is None or (team is not None and team in reviewer.teams)
    return eligible(reviewer, agent) and in_scope


def max_assignable_scoped(agents: Agents, teams: Teams, reviewers: Sequence[Reviewer]) -> int:
    kinds = sorted(set(zip(agents, teams, strict=True)), key=repr)
    n = 2 + len(kinds) + len(reviewers)
    capacity = np.zeros((n, n), dtype=np.int32)
    pairs = list(zip(agents, teams, strict=True))
    for k, (agent, team) in enumerate(kinds):
        capacity[0, 2 + k] = pairs.count((agent, team))
        for r, reviewer in enumerate(reviewers):
            if may_take(reviewer, agent, team):
                capacity[2 + k, 2 + len(kinds) + r] = len(agents)
    for r, reviewer in enumerate(reviewers):
        left = len(agents) if reviewer.capacity is None else max(0, reviewer.capacity - reviewer.load)
        capacity[2 + len(kinds) + r, 1] = left
    return int(maximum_flow(csr_matrix(capacity), 0, 1).flow_value)


class TestTeamScopes:
    @settings(max_examples=150)
    @given(instance=scoped_instances(), seed=seeds)
    def test_scoped_reviewers_get_only_their_teams_most_placed_and_balanced(
            self, instance: tuple[Agents, Teams, list[Reviewer]], seed: int) -> None:
        agents, teams, reviewers = instance
        result = allocate(agents, reviewers, seed, teams)
        by_id = {r.id: r for r in reviewers}
        for agent, team, chosen in zip(agents, teams, result, strict=True):
            if chosen is not None:
                assert may_take(by_id[chosen], agent, team)
        check_valid(agents, reviewers, result)
        assert sum(r is not None for r in result) == max_assignable_scoped(agents, teams, reviewers)
        loads = final_loads(agents, reviewers, result)
        for agent, team, chosen in zip(agents, teams, result, strict=True):
            for other in reviewers:
                if may_take(other, agent, team) and room(other, loads[other.id]):
                    assert chosen is not None and loads[chosen] <= loads[other.id] + 1

    def test_each_team_goes_to_its_reviewers(self) -> None:
        reviewers = [Reviewer(id=1, teams=frozenset({10})), Reviewer(id=2, teams=frozenset({20})),
                     Reviewer(id=3)]
        teams: Teams = [10] * 4 + [20] * 4 + [None] * 2
        result = allocate([None] * len(teams), reviewers, 7, teams)
        assert {r for r, t in zip(result, teams, strict=True) if t is None} == {3}
        assert all(r in (1, 3) for r, t in zip(result, teams, strict=True) if t == 10)
        assert all(r in (2, 3) for r, t in zip(result, teams, strict=True) if t == 20)
        assert sorted(Counter(result).values()) == [3, 3, 4]

    def test_without_pick_teams_scopes_are_not_checked(self) -> None:
        assert allocate([None, None], [Reviewer(id=1, teams=frozenset({5}))], 1) == [1, 1]

    def test_pick_teams_must_match_the_picks(self) -> None:
        with pytest.raises(ValueError, match="one entry per pick"):
            allocate([None, None], [Reviewer(id=1)], 1, [5])
