"""Hand a run's picks to reviewers: never their own conversations, loads as even as capacities allow.

The problem is a small flow network: picks fall into a few *classes* (the picks of an agent who is
also a reviewer exclude that reviewer; when some reviewers only review certain teams, picks are also
told apart by team, and a team-scoped reviewer takes only its teams' picks; every other pick is
unconstrained), classes feed the reviewers they are allowed to, and each reviewer takes at most its
remaining capacity. So the work is done on
class-by-reviewer counts (about 10 x 10), and only the final hand-out touches individual picks.

Decisions:
1. Warm start: classes with the fewest eligible reviewers go first, each pick to the eligible
   reviewer with room and the least load (`load` included), ties broken by a seeded order of the
   reviewers (`keys.hash64` of their ids), so the same reviewer is not always first.
2. Most picks placed: augmenting paths (a reviewer passes one of its picks of another class on to
   make room) until no left-over pick can be placed. A pick stays None only when no assignment of
   all the picks could give it a reviewer, i.e. the number assigned is a maximum flow.
3. Balance: while a reviewer u holding new picks can pass one along a chain of moves to a reviewer
   v with room and load(v) <= load(u) - 2, move as many as keep that order. Each move lowers the sum
   of squared loads, so this ends, and it ends at the minimum of that sum over all maximum
   assignments: a convex-cost flow is optimal when no such move exists (a cycle through the
   left-over picks would end at a reviewer with room reachable from them, which step 2 rules out).
   Consequences: with no constraints and no capacities the loads (initial loads included) differ by
   at most one wherever a reviewer got anything; a reviewer at capacity, or one that cannot take a
   class, is simply left out of that comparison.
4. Hand-out: within a class, picks are served in rounds: every agent's first pick (in the given
   order), then every agent's second (agents in a seeded order), so when capacity runs short each
   agent keeps its top picks. The served picks, agent by agent, then meet the class's reviewers in a
   seeded round-robin, so an agent's picks go to different reviewers where possible.
Replacements are not this module's concern: the app draws one and calls `allocate` for it.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sampling.keys import hash64

_SOURCE = -1


@dataclass(frozen=True)
class Reviewer:
    """Someone who can take assignments; `agent_id` links a peer reviewer to their own agent record;
    `teams` are the only teams whose conversations they may review (None: every team)."""

    id: int
    agent_id: int | None = None
    capacity: int | None = None
    load: int = 0
    teams: frozenset[int] | None = None

    def __post_init__(self) -> None:
        if self.capacity is not None and self.capacity < 0:
            raise ValueError(f"reviewer {self.id}: capacity must be >= 0 or None")
        if self.load < 0:
            raise ValueError(f"reviewer {self.id}: load must be >= 0")


def allocate(pick_agents: Sequence[int | None] | npt.NDArray[np.integer], reviewers: Sequence[Reviewer],
             seed: int, pick_teams: Sequence[int | None] | None = None) -> list[int | None]:
    """Per pick (same order), the reviewer id it goes to, or None when no reviewer can take it.

    `pick_agents` holds each pick's agent id, None for none; an integer array may use -1 for none, as
    `Pool.groups` does (it matches no reviewer's agent id). `pick_teams` holds each pick's team id
    (None: no team, which no team-scoped reviewer takes); without it team scopes are not checked.
    """
    ids = [r.id for r in reviewers]
    if len(set(ids)) != len(ids):
        raise ValueError("reviewer ids must be unique")
    agents, known = _agent_column(pick_agents)
    if not reviewers or agents.shape[0] == 0:
        return [None] * agents.shape[0]
    if pick_teams is not None and len(pick_teams) != agents.shape[0]:
        raise ValueError("pick_teams must have one entry per pick")
    classes, eligible = _classes(agents, known, reviewers, pick_teams)
    flow = _Flow(np.bincount(classes, minlength=eligible.shape[0]).tolist(), eligible.tolist(), reviewers,
                 _seeded_rank(ids, seed))
    flow.warm_start()
    flow.maximise()
    flow.balance()
    chosen = _hand_out(classes, agents, known, flow.x, flow.rank, seed)
    return [None if r < 0 else ids[r] for r in chosen.tolist()]


def _agent_column(pick_agents: Sequence[int | None] | npt.NDArray[np.integer]
                  ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Agent ids as int64 and a mask of the picks that have an agent at all."""
    if isinstance(pick_agents, np.ndarray) and np.issubdtype(pick_agents.dtype, np.integer):
        agents = pick_agents.astype(np.int64).reshape(-1)
        return agents, np.ones(agents.shape[0], dtype=bool)
    known = np.array([a is not None for a in pick_agents], dtype=bool)
    agents = np.array([0 if a is None else int(a) for a in pick_agents], dtype=np.int64)
    return agents, known


def _classes(agents: npt.NDArray[np.int64], known: npt.NDArray[np.bool_], reviewers: Sequence[Reviewer],
             pick_teams: Sequence[int | None] | None = None
             ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Per pick its class, and per class which reviewers may take it. A class is a pair (i, team):
    i > 0 for the picks of the i-th reviewing agent (0 for the others), team the pick's team when any
    reviewer is limited to teams (-1: no team), otherwise 0 for every pick."""
    reviewing = np.array(sorted({r.agent_id for r in reviewers if r.agent_id is not None}), dtype=np.int64)
    at = np.searchsorted(reviewing, agents) if reviewing.shape[0] else np.zeros(agents.shape[0], np.intp)
    hit = known & (at < reviewing.shape[0])
    hit[hit] = reviewing[at[hit]] == agents[hit]
    agent_class = np.where(hit, at + 1, 0).astype(np.int64)
    scoped = pick_teams is not None and any(r.teams is not None for r in reviewers)
    if scoped:
        teams = np.array([-1 if t is None else int(t) for t in pick_teams or ()], dtype=np.int64)
    else:
        teams = np.zeros(agents.shape[0], dtype=np.int64)
    keys, inverse = np.unique(np.stack([agent_class, teams], axis=1), axis=0, return_inverse=True)
    eligible = np.ones((keys.shape[0], len(reviewers)), dtype=bool)
    for i, (excluded, team) in enumerate(keys.tolist()):
        for j, reviewer in enumerate(reviewers):
            own = bool(excluded) and reviewer.agent_id == int(reviewing[excluded - 1])
            other_team = scoped and reviewer.teams is not None and team not in reviewer.teams
            eligible[i, j] = not (own or other_team)
    return inverse.reshape(-1).astype(np.intp), eligible


def _seeded_rank(ids: Sequence[int], seed: int) -> list[int]:
    """Each reviewer's place in a seeded shuffle: the tie-break between equal loads."""
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(hash64(np.array(ids, dtype=np.int64), seed))] = np.arange(len(ids))
    return rank.tolist()


Node = tuple[str, int]  # ("r", reviewer), ("c", class) or ("s", _SOURCE): the pool of left-over picks


class _Flow:
    """Counts x[class][reviewer] of new picks, with the moves that place more and balance loads.

    A path is a list of nodes; each step is one move: s -> c places a left-over pick of class c,
    c -> r gives reviewer r a pick of class c, r -> c takes a pick of class c back from r (to pass on).
    """

    def __init__(self, counts: list[int], eligible: list[list[bool]], reviewers: Sequence[Reviewer],
                 rank: list[int]) -> None:
        unlimited = sum(counts) + max(r.load for r in reviewers) + 1
        self.eligible = eligible
        self.rank = rank
        self.left = list(counts)  # picks of each class not placed yet
        self.x = [[0] * len(reviewers) for _ in counts]
        self.load = [r.load for r in reviewers]
        self.capacity = [unlimited if r.capacity is None else r.capacity for r in reviewers]
        self.classes = range(len(counts))
        self.reviewers = range(len(reviewers))

    def room(self, r: int) -> int:
        return max(0, self.capacity[r] - self.load[r])

    def warm_start(self) -> None:
        """Greedy: most constrained class first, each pick to the least loaded eligible reviewer."""
        for k in sorted(self.classes, key=lambda k: (sum(self.eligible[k]), k)):
            heap = [(self.load[r], self.rank[r], r) for r in self.reviewers
                    if self.eligible[k][r] and self.room(r)]
            heapq.heapify(heap)
            while self.left[k] and heap:
                _, rank, r = heapq.heappop(heap)
                self._move([("s", _SOURCE), ("c", k), ("r", r)], 1)
                if self.room(r):
                    heapq.heappush(heap, (self.load[r], rank, r))

    def maximise(self) -> None:
        """Place left-over picks along augmenting paths until none can be placed (a maximum flow)."""
        while any(self.left):
            path = self._path(("s", _SOURCE), None)
            if path is None:
                return
            self._move(path, self._bottleneck(path, self.room(path[-1][1])))

    def balance(self) -> None:
        """Move picks from more to less loaded reviewers until no move lowers the sum of squared loads."""
        moved = True
        while moved:
            moved = False
            for u in sorted(self.reviewers, key=lambda r: (-self.load[r], self.rank[r])):
                top = self.load[u]
                path = self._path(("r", u), top - 2)
                if path is not None:
                    v = path[-1][1]
                    self._move(path, self._bottleneck(path, min((top - self.load[v]) // 2, self.room(v))))
                    moved = True
                    break

    def _path(self, origin: Node, ceiling: int | None) -> list[Node] | None:
        """Shortest chain of moves from `origin` to the least loaded other reviewer with room and a load
        of at most `ceiling` (breadth-first over about twenty nodes)."""
        parent: dict[Node, Node] = {origin: origin}
        queue = deque([origin])
        reached: list[int] = []
        while queue:
            node = queue.popleft()
            for nxt in self._next(node):
                if nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
                    if nxt[0] == "r" and self._takes(nxt[1], ceiling):
                        reached.append(nxt[1])
        if not reached:
            return None
        path: list[Node] = [("r", min(reached, key=lambda r: (self.load[r], self.rank[r])))]
        while path[-1] != origin:
            path.append(parent[path[-1]])
        return path[::-1]

    def _takes(self, r: int, ceiling: int | None) -> bool:
        return self.room(r) > 0 and (ceiling is None or self.load[r] <= ceiling)

    def _next(self, node: Node) -> list[Node]:
        kind, i = node
        if kind == "s":
            return [("c", k) for k in self.classes if self.left[k]]
        if kind == "r":
            return [("c", k) for k in self.classes if self.x[k][i]]
        return [("r", r) for r in self.reviewers if self.eligible[i][r]]

    def _bottleneck(self, path: list[Node], limit: int) -> int:
        """How many picks can follow `path` at once: left-overs placed and picks taken back are finite."""
        amount = limit
        for (kind, i), (_, j) in zip(path, path[1:], strict=False):
            if kind == "s":
                amount = min(amount, self.left[j])
            elif kind == "r":
                amount = min(amount, self.x[j][i])
        return amount

    def _move(self, path: list[Node], amount: int) -> None:
        for (kind, i), (_, j) in zip(path, path[1:], strict=False):
            if kind == "s":
                self.left[j] -= amount
            elif kind == "r":
                self.x[j][i] -= amount
                self.load[i] -= amount
            else:
                self.x[i][j] += amount
                self.load[j] += amount


def _hand_out(classes: npt.NDArray[np.intp], agents: npt.NDArray[np.int64], known: npt.NDArray[np.bool_],
              x: list[list[int]], rank: list[int], seed: int) -> npt.NDArray[np.int64]:
    """Per pick the reviewer index (-1: none): which picks are served goes by rounds over agents, and the
    served picks, taken agent by agent, meet each class's reviewers in round-robin order."""
    n = classes.shape[0]
    agent_key = hash64(np.where(known, agents, np.iinfo(np.int64).min), seed)  # no agent: one "agent"
    by_agent = np.lexsort((np.arange(n), agent_key))
    sorted_keys = agent_key[by_agent]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    occurrence = np.empty(n, dtype=np.int64)
    occurrence[by_agent] = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    rounds = np.lexsort((np.arange(n), agent_key, occurrence, classes))
    class_starts = np.searchsorted(classes[rounds], np.arange(len(x) + 1))
    rank_array = np.array(rank, dtype=np.int64)
    chosen = np.full(n, -1, dtype=np.int64)
    for k, counts in enumerate(x):
        slots = _round_robin_slots(np.array(counts, dtype=np.int64), rank_array)
        served = rounds[class_starts[k]: class_starts[k + 1]][: slots.shape[0]]
        served = served[np.lexsort((occurrence[served], agent_key[served]))]  # agent by agent
        chosen[served] = slots
    return chosen


def _round_robin_slots(counts: npt.NDArray[np.int64], rank: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Reviewer indices, each repeated counts[r] times, round-robin in seeded order (r2 r1 r3 r2 r1 r3 r2)."""
    slots = np.repeat(np.arange(counts.shape[0]), counts)
    round_of = np.arange(slots.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
    return slots[np.lexsort((rank[slots], round_of))]
