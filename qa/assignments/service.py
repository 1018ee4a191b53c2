"""Sampling rules, runs and assignments: the app side of the sampling engine.

A run reads the matching conversations as columns (`candidates.py`), lets the pure `sampling` package pick
and allocate them, and writes the assignments and a record of the run in one transaction.

Decisions:
- Periods are UTC days and ISO weeks; a one-off rule has the single period "once", so running it again never
  hands out a conversation it already handed out.
- The seed of a run is derived from the rule's seed, the rule's id and the period: the same rule, data and
  seed give the same sample and the same assignment, and every period gets a fresh draw.
- A scheduled run claims its period with a unique (rule, schedule_key) row before working, so two app
  processes (or a restart) never run a period twice; a period missed while the app was down runs once when
  it starts, and older missed periods are not caught up (their conversations are in the window anyway).
- A run acts with the permissions of whoever runs it (a scheduled run: the rule's author), so a manager of
  one team can't sample another team's conversations.
- An open assignment expires when its due date has passed and the reviewer never started it; one with a
  draft stays open so no work is lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from qa.assignments import candidates as cand
from qa.audit import service as audit
from qa.auth import scope
from qa.errors import CaliperError, Conflict, Forbidden, InvalidInput, NotFound
from qa.models import (
    Agent,
    Assignment,
    AssignmentStatus,
    Conversation,
    Role,
    SamplingRule,
    SamplingRun,
    Scorecard,
    Team,
    User,
    UserTeam,
    utcnow,
)
from qa.reviews import service as review_service
from sampling.allocate import Reviewer, allocate
from sampling.keys import random_keys, seed_for
from sampling.rules import Filters, Rule, RuleError, parse_rule, rule_to_dict
from sampling.spotlight import prescreen, spotlight
from sampling.strategies import Pool, Quota, sample

RULE_ROLES = frozenset({Role.manager, Role.admin})
REVIEWER_ROLES = frozenset({Role.reviewer, Role.manager, Role.admin})
Trigger = Literal["page", "api", "cli", "schedule"]
TOPIC_POOL_FACTOR = 4
# Spotlight reads the transcripts of a prescreened pool: up to 4 candidates per pick, at most about this many
# in all (the text is the slow part: ~1 ms a conversation to read and vectorise).
SPOTLIGHT_POOL = 40_000
MAX_REASON = 500
NO_AGENT = -1


# ---------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------


def period_start(period: str, at: datetime) -> datetime:
    """The start of the period containing `at` (UTC midnight; Monday for weeks); `at` itself for once."""
    at = at.astimezone(UTC)
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        return midnight
    if period == "weekly":
        return midnight - timedelta(days=midnight.weekday())
    return at


def due_date(run_at: datetime, due_days: int) -> datetime:
    """Due at the end of the UTC day `due_days` after the run (0: the end of the run's day). Counted from
    the run, not the period's start, so a run late in its period never makes assignments already overdue."""
    day = (run_at.astimezone(UTC) + timedelta(days=due_days)).date()
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def period_key(period: str, at: datetime) -> str:
    """A period's name: 2026-11-23 for days, 2026-W48 for ISO weeks, "once" for one-off rules."""
    at = at.astimezone(UTC)
    if period == "daily":
        return at.date().isoformat()
    if period == "weekly":
        year, week, _ = at.isocalendar()
        return f"{year}-W{week:02d}"
    return "once"


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------


def _require_rule_role(actor: User) -> None:
    if actor.role not in RULE_ROLES:
        raise Forbidden("Only managers and admins can manage sampling rules.")


def parse(data: Any) -> Rule:
    """A Rule from its native dict; InvalidInput names the first bad field and lists all problems."""
    try:
        return parse_rule(data)
    except RuleError as error:
        raise InvalidInput(str(error), field=error.field) from None


def check_references(session: Session, actor: User, rule: Rule, *, running: bool = False) -> None:
    """The scorecard, teams, agents and reviewers a rule names exist and are the actor's to use.

    When a stored rule runs (`running`), reviewers who left or changed role since are skipped rather than
    fatal (the run reports who reviewed); only a pool with nobody left stops it."""
    scorecard = session.get(Scorecard, rule.scorecard_id)
    if scorecard is None or scorecard.archived:
        raise InvalidInput(f"No scorecard with id {rule.scorecard_id}.", field="scorecard_id")
    allowed_teams = scope.team_ids(session, actor) if actor.role is not Role.admin else []
    for filters, path in ((rule.filters, "filters"), (rule.backup_filters, "backup_filters")):
        if filters is None:
            continue
        if filters.teams:
            found = set(session.exec(select(Team.id).where(col(Team.id).in_(filters.teams))))
            for i, team in enumerate(filters.teams):
                if team not in found:
                    raise InvalidInput(f"No team with id {team}.", field=f"{path}.teams[{i}]")
                if allowed_teams and team not in allowed_teams:
                    raise Forbidden(f"Team {team} is not one of the teams you manage.")
        if filters.agents:
            found = set(session.exec(select(Agent.id).where(col(Agent.id).in_(filters.agents))))
            for i, agent in enumerate(filters.agents):
                if agent not in found:
                    raise InvalidInput(f"No agent with id {agent}.", field=f"{path}.agents[{i}]")
    ids = [r.id for r in rule.reviewers]
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids)))}
    if running:
        if not any(u.is_active and u.role in REVIEWER_ROLES for u in users.values()):
            raise InvalidInput("Nobody in this rule's reviewer pool can review any more; edit the rule.",
                               field="reviewers")
        return
    for i, spec in enumerate(rule.reviewers):
        user = users.get(spec.id)
        if user is None or not user.is_active:
            raise InvalidInput(f"No active user with id {spec.id}.", field=f"reviewers[{i}].id")
        if user.role not in REVIEWER_ROLES:
            raise InvalidInput(f"{user.name} is an agent, not a reviewer.", field=f"reviewers[{i}].id")


def create_rule(session: Session, *, actor: User, rule: Rule) -> SamplingRule:
    """Store a new rule (references checked) and audit it."""
    _require_rule_role(actor)
    check_references(session, actor, rule)
    row = SamplingRule(name=rule.name, scorecard_id=rule.scorecard_id, period=rule.period,
                       definition=rule_to_dict(rule), created_by_id=actor.id)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="sampling_rule.create", entity="sampling_rule",
                 entity_id=row.id, after=row.definition)
    return row


def update_rule(session: Session, *, actor: User, rule_id: Any, rule: Rule) -> SamplingRule:
    """Replace a rule's definition (runs already made keep the parameters they ran with)."""
    row = get_rule(session, actor=actor, rule_id=rule_id)
    check_references(session, actor, rule)
    before = row.definition
    row.definition, row.name, row.period = rule_to_dict(rule), rule.name, rule.period
    # whoever saves a rule owns it from then on: scheduled runs act with their permissions, never with
    # those of an earlier author who may see more teams
    row.scorecard_id, row.updated_at, row.created_by_id = rule.scorecard_id, utcnow(), actor.id
    session.add(row)
    audit.record(session, actor=actor, action="sampling_rule.update", entity="sampling_rule",
                 entity_id=row.id, before=before, after=row.definition)
    return row


def set_active(session: Session, *, actor: User, rule_id: Any, active: bool) -> SamplingRule:
    """Pause or resume a scheduled rule."""
    row = get_rule(session, actor=actor, rule_id=rule_id)
    if row.active != active:
        row.active, row.updated_at = active, utcnow()
        session.add(row)
        action = "sampling_rule.activate" if active else "sampling_rule.pause"
        audit.record(session, actor=actor, action=action,
                     entity="sampling_rule", entity_id=row.id, before={"active": not active},
                     after={"active": active})
    return row


def _rule_visible(actor: User, mine: Sequence[int], row: SamplingRule) -> bool:
    """Whether the actor (with teams `mine`, none meaning all) may manage the rule."""
    if actor.role is Role.admin or row.created_by_id == actor.id:
        return True
    if not mine:
        return True
    definition = row.definition
    for key in ("filters", "backup_filters"):  # both filter sets must stay inside the manager's teams
        filters = definition.get(key)
        if filters is None and key == "backup_filters":
            continue
        teams = (filters or {}).get("teams") or []
        if not teams or not set(teams) <= set(mine):
            return False
    return True


def get_rule(session: Session, *, actor: User, rule_id: Any) -> SamplingRule:
    """A rule the actor may manage (404 otherwise)."""
    _require_rule_role(actor)
    row = session.get(SamplingRule, scope.as_id(rule_id))
    if row is None or not _rule_visible(actor, scope.team_ids(session, actor), row):
        raise NotFound("No such sampling rule.")
    return row


def list_rules(session: Session, *, actor: User) -> list[SamplingRule]:
    """The rules the actor may manage, newest first."""
    _require_rule_role(actor)
    rows = session.exec(select(SamplingRule).order_by(col(SamplingRule.id).desc())).all()
    mine = scope.team_ids(session, actor)
    return [r for r in rows if _rule_visible(actor, mine, r)]


def rule_of(row: SamplingRule) -> Rule:
    """The stored definition as a Rule (it was validated when stored)."""
    return parse_rule(row.definition)


# ---------------------------------------------------------------------------------------------
# Running a rule
# ---------------------------------------------------------------------------------------------


@dataclass
class _Picked:
    """What a draw chose: conversation ids, their agents, reasons and strata, in pick order."""

    ids: np.ndarray
    agents: np.ndarray
    reasons: list[str]
    strata: list[str | None]


def _quota(rule: Rule) -> Quota:
    return Quota(kind=rule.quota.kind, value=rule.quota.value)


_RENAMED = {"handle_time": "handle_seconds", "first_response_time": "first_response_seconds"}


def _weights(rule: Rule, found: cand.Candidates) -> np.ndarray:
    by = rule.weight_by
    if by == "low_csat":  # 5 → 1, 1 → 5, no rating → the middle
        csat = found.extra["csat"]
        return np.where(np.isnan(csat), 3.0, 6.0 - csat)
    column = _RENAMED.get(by or "", by or "")
    values = np.nan_to_num(found.extra[column], nan=0.0)
    weights: np.ndarray = np.log1p(np.maximum(values, 0.0)) + 1.0  # everyone keeps a chance; big ones more
    return weights


def _weight_column(rule: Rule) -> list[str]:
    by = rule.weight_by
    if by == "low_csat":
        return ["csat"]
    return [_RENAMED.get(by or "", by or "")]


SPOTLIGHT_COLUMNS = ["messages", "agent_messages", "customer_messages", "first_response_seconds",
                     "handle_seconds", "csat", "reopens"]


def _team_names(session: Session) -> dict[str, str]:
    return {str(tid): name for tid, name in session.exec(select(Team.id, Team.name))}


def _draw(session: Session, rule: Rule, found: cand.Candidates, seed: int,
          wanted: Mapping[int, int] | None) -> tuple[_Picked, dict[str, Any]]:
    """Pick from the candidates by the rule's strategy; also the per-stratum counts of the draw."""
    quota = _quota(rule)
    strata_report: dict[str, Any] = {}
    if not len(found):
        return _Picked(np.empty(0, np.int64), np.empty(0, np.int64), [], []), strata_report
    groups = found.agents if quota.kind == "per_agent" else np.zeros(len(found), dtype=np.int64)
    strategy = rule.strategy
    if strategy == "random":
        result = sample(Pool(ids=found.ids, groups=found.agents), quota, "random", seed, wanted=wanted)
        pos = result.positions
        return _Picked(found.ids[pos], found.agents[pos], ["random pick"] * len(pos), [None] * len(pos)), {}
    if strategy == "weighted":
        weights = _weights(rule, found)
        result = sample(Pool(ids=found.ids, groups=found.agents, weights=weights), quota, "weighted", seed,
                        wanted=wanted)
        pos = result.positions
        label = (rule.weight_by or "").replace("_", " ")
        return _Picked(found.ids[pos], found.agents[pos],
                       [f"weighted by {label} (weight {weights[p]:.2g})" for p in pos], [None] * len(pos)), {}
    if strategy == "stratified" and rule.stratify_by != "topic":
        teams = _team_names(session) if rule.stratify_by == "team" else {}
        raw_labels = [_stratum_label(rule.stratify_by or "", v, teams) for v in found.stratum_values]
        values = np.array(sorted(set(raw_labels)), dtype=object)  # codes in label order
        recode = np.array([int(np.searchsorted(values, label)) for label in raw_labels], dtype=np.int64)
        codes = recode[found.extra["stratum"]] if len(recode) else np.zeros(0, np.int64)
        result = sample(Pool(ids=found.ids, groups=found.agents, strata=codes.astype(np.int64)), quota,
                        "stratified", seed, wanted=wanted)
        pos = result.positions
        strata_report = _strata_counts(values, codes, pos)
        return _Picked(found.ids[pos], found.agents[pos],
                       [f"stratified by {rule.stratify_by}: {values[codes[p]]}" for p in pos],
                       [str(values[codes[p]]) for p in pos]), strata_report
    # spotlight, or stratified by topic: both need the text, so narrow the pool first
    want = _wants(quota, groups, wanted)
    numeric = np.column_stack([found.extra[name] for name in SPOTLIGHT_COLUMNS])
    if strategy == "spotlight":
        factor = max(1, min(4, SPOTLIGHT_POOL // max(1, sum(want.values()))))
        keep = prescreen(numeric, groups, want, seed, ids=found.ids, pool_factor=factor,
                         minimum=min(20, factor * 5))
    else:  # topic strata: a seeded random share of each group, enough to stratify within
        keep = sample(Pool(ids=found.ids, groups=groups), Quota("per_agent", 1), "random", seed,
                      wanted={g: n * TOPIC_POOL_FACTOR for g, n in want.items()}).positions
    keep = np.sort(keep)
    pool = found.take(keep)
    agent_texts, customer_texts, agent_chars, customer_chars = cand.texts(session, pool.ids.tolist())
    features = np.column_stack([numeric[keep], agent_chars, customer_chars])
    names = [*SPOTLIGHT_COLUMNS, "agent_chars", "customer_chars"]
    lit = spotlight(features, names, agent_texts, customer_texts, seed)
    if strategy == "spotlight":
        result = sample(Pool(ids=pool.ids, groups=pool.agents, priority=lit.priority), quota, "spotlight",
                        seed, wanted=wanted)
        pos = result.positions
        strata = [lit.topic_labels[lit.topics[p]] if len(lit.topic_labels) else None for p in pos]
        return _Picked(pool.ids[pos], pool.agents[pos], [lit.reasons[p] for p in pos], strata), {}
    labels = np.array(lit.topic_labels or ["all"], dtype=object)
    result = sample(Pool(ids=pool.ids, groups=pool.agents, strata=lit.topics.astype(np.int64)), quota,
                    "stratified", seed, wanted=wanted)
    pos = result.positions
    strata_report = _strata_counts(labels, lit.topics, pos)
    return _Picked(pool.ids[pos], pool.agents[pos], [f"topic: {labels[lit.topics[p]]}" for p in pos],
                   [str(labels[lit.topics[p]]) for p in pos]), strata_report


def _stratum_label(field: str, value: Any, teams: Mapping[str, str]) -> str:
    if field == "team":
        return teams.get(str(value), "no team") if value is not None else "no team"
    if field == "csat":
        return f"CSAT {value}" if value is not None else "no rating"
    return str(value) if value not in (None, "") else f"no {field}"


def _wants(quota: Quota, groups: np.ndarray, wanted: Mapping[int, int] | None) -> dict[int, int]:
    if wanted is not None:
        return dict(wanted)
    if quota.kind == "per_agent":
        return {int(g): int(quota.value) for g in np.unique(groups)}
    if quota.kind == "total":
        return {0: int(quota.value)}
    return {0: quota.wants(len(groups))}  # exact (Fraction) percentage; 0 of an empty pool


def _strata_counts(values: np.ndarray, codes: np.ndarray, picked: np.ndarray) -> dict[str, Any]:
    matched = np.bincount(codes, minlength=len(values))
    chosen = np.bincount(codes[picked], minlength=len(values)) if len(picked) else np.zeros(len(values), int)
    return {str(values[i]): {"matched": int(matched[i]), "picked": int(chosen[i])}
            for i in range(len(values))}


def _reviewers(session: Session, rule: Rule, rule_id: int | None, key: str) -> list[Reviewer]:
    ids = [r.id for r in rule.reviewers]
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids), col(User.is_active)))}
    loads: Counter[int] = Counter()
    if rule_id is not None:
        held = (select(Assignment.reviewer_id, func.count())
                .where(col(Assignment.rule_id) == rule_id, col(Assignment.period_key) == key,
                       col(Assignment.status).in_((AssignmentStatus.open, AssignmentStatus.done)))
                .group_by(col(Assignment.reviewer_id)))
        loads.update(dict(session.exec(held).all()))
    teams: dict[int, set[int]] = {}
    for user_id, team_id in session.exec(select(UserTeam.user_id, UserTeam.team_id)
                                         .where(col(UserTeam.user_id).in_(ids))):
        teams.setdefault(user_id, set()).add(team_id)
    out = []
    for spec in rule.reviewers:
        user = users.get(spec.id)
        if user is None or user.role not in REVIEWER_ROLES:
            continue
        capacity = None if spec.capacity is None else max(0, spec.capacity - loads[spec.id])
        # A manager or reviewer linked to teams opens only those teams' conversations (qa.auth.scope);
        # admins open everything.
        scoped = user.role is not Role.admin and spec.id in teams
        out.append(Reviewer(id=spec.id, agent_id=user.agent_id, capacity=capacity, load=loads[spec.id],
                            teams=frozenset(teams[spec.id]) if scoped else None))
    return out


def _teams_of(session: Session, conversation_ids: list[int]) -> list[int | None]:
    """Each conversation's team id, in the given order (read in chunks: a run may pick many)."""
    found: dict[int, int | None] = {}
    for start in range(0, len(conversation_ids), 5000):
        chunk = conversation_ids[start:start + 5000]
        rows = session.exec(select(Conversation.id, Conversation.team_id)
                            .where(col(Conversation.id).in_(chunk)))
        found.update((int(cid or 0), team) for cid, team in rows)
    return [found.get(cid) for cid in conversation_ids]


def _scope_agents(session: Session, filters: Filters) -> list[int]:
    """The agents a per-agent quota is owed to even when none of their conversations match."""
    if filters.agents:
        return list(filters.agents)
    if filters.teams:
        found = session.exec(select(col(Agent.id)).where(col(Agent.team_id).in_(filters.teams)))
        return [int(agent) for agent in found if agent is not None]
    return []


def run_rule(
    session: Session,
    *,
    actor: User,
    rule: Rule,
    rule_id: int | None = None,
    trigger: Trigger = "page",
    now: datetime | None = None,
    schedule_key: str | None = None,
) -> SamplingRun:
    """Draw, allocate and write one run of `rule`; the stored run says what happened and why."""
    _require_rule_role(actor)
    check_references(session, actor, rule, running=rule_id is not None)
    now = now or utcnow()
    key = period_key(rule.period, now)
    anchor = period_start(rule.period, now) if rule.period != "once" else now
    due_at = due_date(now, rule.due_days)
    seed = seed_for(rule.seed, rule_id or 0, key)
    run = SamplingRun(rule_id=rule_id, schedule_key=schedule_key, period_key=key, trigger=trigger,
                      run_by_id=actor.id, started_at=now,
                      parameters={"rule": rule_to_dict(rule), "seed": seed, "anchor": anchor.isoformat()})
    session.add(run)
    session.flush()  # claims the period (unique rule_id + schedule_key) before any work
    assert run.id is not None

    base = [scope.conversation_filter(session, actor)]
    period_taken = cand.not_in_period(rule_id, key)
    numeric = _needed_columns(rule)
    stratum = rule.stratify_by if rule.strategy == "stratified" and rule.stratify_by != "topic" else None
    found = cand.read(session, [*base, *cand.filter_clauses(rule.filters, anchor=anchor)],
                      exclude=[*period_taken, *cand.exclusions(rule.filters)], numeric=numeric,
                      stratum=stratum)
    groups = found.agents if rule.quota.kind == "per_agent" else np.zeros(len(found), np.int64)
    wants = _wants(_quota(rule), groups, None)
    if rule.quota.kind == "per_agent":
        for agent in _scope_agents(session, rule.filters):
            wants.setdefault(agent, int(rule.quota.value))
    picked, strata = _draw(session, rule, found, seed, None)
    got = Counter((picked.agents if rule.quota.kind == "per_agent" else np.zeros(len(picked.ids), np.int64))
                  .tolist())
    shortfall = {g: n - got[g] for g, n in wants.items() if got[g] < n}
    backup_got: Counter[int] = Counter()
    if shortfall and rule.backup_filters is not None:
        taken = set(picked.ids.tolist())
        backup = cand.read(session, [*base, *cand.filter_clauses(rule.backup_filters, anchor=anchor)],
                           exclude=[*period_taken, *cand.exclusions(rule.backup_filters)], numeric=numeric,
                           stratum=stratum)
        backup = backup.take(np.flatnonzero(~np.isin(backup.ids, np.fromiter(taken, np.int64, len(taken)))))
        extra, _ = _draw(session, rule, backup, seed_for(seed, "backup"), shortfall)
        extra.reasons = [f"backup filter: {r}" for r in extra.reasons]
        backup_got = Counter((extra.agents if rule.quota.kind == "per_agent"
                              else np.zeros(len(extra.ids), np.int64)).tolist())
        picked = _Picked(np.concatenate([picked.ids, extra.ids]),
                         np.concatenate([picked.agents, extra.agents]), picked.reasons + extra.reasons,
                         picked.strata + extra.strata)
        shortfall = {g: n - got[g] - backup_got[g] for g, n in wants.items() if got[g] + backup_got[g] < n}

    reviewers = _reviewers(session, rule, rule_id, key)
    pick_agents = [None if a == NO_AGENT else int(a) for a in picked.agents.tolist()]
    pick_teams = (_teams_of(session, picked.ids.tolist()) if any(r.teams is not None for r in reviewers)
                  else None)
    owners = allocate(pick_agents, reviewers, seed_for(seed, "allocate"), pick_teams)
    rows = [
        {"conversation_id": int(cid), "reviewer_id": owner, "scorecard_id": rule.scorecard_id,
         "status": AssignmentStatus.open.value, "due_at": due_at, "created_at": now, "updated_at": now,
         "run_id": run.id, "rule_id": rule_id, "period_key": key, "reason": reason[:MAX_REASON],
         "stratum": None if stratum_label is None else stratum_label[:200]}
        for cid, owner, reason, stratum_label in zip(picked.ids.tolist(), owners, picked.reasons,
                                                     picked.strata, strict=True)
        if owner is not None
    ]
    if rows:
        cand.insert_assignments(session, rows)

    run.matched, run.picked = len(found), len(picked.ids)
    run.from_backup = sum(backup_got.values())
    run.assigned, run.unassigned = len(rows), len(picked.ids) - len(rows)
    run.shortfall = sum(shortfall.values())
    run.per_agent = _per_agent_report(session, rule, found, wants, got, backup_got)
    run.per_stratum = [{"stratum": k, **v} for k, v in sorted(strata.items())]
    per_reviewer = Counter(r["reviewer_id"] for r in rows)
    reviewer_ids = [r.id for r in reviewers]
    names = {u.id: u.name for u in session.exec(select(User).where(col(User.id).in_(reviewer_ids)))}
    run.per_reviewer = [{"reviewer_id": r.id, "name": names.get(r.id, ""), "assigned": per_reviewer[r.id],
                         "held_before": r.load, "capacity": next((s.capacity for s in rule.reviewers
                                                                  if s.id == r.id), None)}
                        for r in reviewers]
    run.message = _summary(run, rule)
    run.status, run.finished_at = "done", utcnow()
    session.add(run)
    audit.record(session, actor=actor if trigger != "schedule" else None, action="sampling_run.create",
                 entity="sampling_run", entity_id=run.id,
                 after={"rule_id": rule_id, "period": key, "trigger": trigger, "seed": seed,
                        "assigned": run.assigned, "shortfall": run.shortfall})
    return run


def _needed_columns(rule: Rule) -> list[str]:
    if rule.strategy == "weighted":
        return _weight_column(rule)
    if rule.strategy == "spotlight" or (rule.strategy == "stratified" and rule.stratify_by == "topic"):
        return SPOTLIGHT_COLUMNS
    return []


def _per_agent_report(session: Session, rule: Rule, found: cand.Candidates, wants: Mapping[int, int],
                      got: Counter[int], backup: Counter[int]) -> list[dict[str, Any]]:
    if rule.quota.kind != "per_agent":
        return [{"agent_id": None, "agent": "all", "matched": len(found), "wanted": wants.get(0, 0),
                 "got": got[0], "backup": backup[0]}]
    agents, counts = np.unique(found.agents, return_counts=True)
    matched = dict(zip(agents.tolist(), counts.tolist(), strict=True))
    ids = [g for g in wants if g != NO_AGENT]
    names: dict[int, str] = {}
    if ids:
        rows = session.exec(select(col(Agent.id), Agent.name).where(col(Agent.id).in_(ids))).all()
        names = {int(ident or 0): name for ident, name in rows}
    report = [{"agent_id": None if g == NO_AGENT else g,
               "agent": "No agent (bot or unassigned)" if g == NO_AGENT else names.get(g, f"agent {g}"),
               "matched": matched.get(g, 0), "wanted": n, "got": got[g], "backup": backup[g]}
              for g, n in wants.items()]
    return sorted(report, key=lambda r: (r["got"] + r["backup"] >= r["wanted"], str(r["agent"])))


def _summary(run: SamplingRun, rule: Rule) -> str:
    parts = [f"{run.matched:,} conversations matched; {run.picked:,} picked, {run.assigned:,} assigned"]
    if run.from_backup:
        parts.append(f"{run.from_backup:,} came from the backup filter")
    if run.shortfall:
        parts.append(f"the quota is {run.shortfall:,} short: not enough matching conversations")
    if run.unassigned:
        parts.append(f"{run.unassigned:,} could not be assigned: "
                     "reviewers at capacity, or only their own agent's reviewers left")
    return "; ".join(parts) + "."


def _claimed(session: Session, rule_id: int | None, key: str) -> bool:
    """Whether the period `key` of the rule already has its scheduled run."""
    return session.exec(select(SamplingRun.id).where(SamplingRun.rule_id == rule_id,
                                                     SamplingRun.schedule_key == key)).first() is not None


def run_stored_rule(session: Session, *, actor: User, rule_id: Any, trigger: Trigger = "page",
                    now: datetime | None = None) -> SamplingRun:
    """Run a stored rule now. The first run of a scheduled rule's period counts as that period's run."""
    row = get_rule(session, actor=actor, rule_id=rule_id)
    rule = rule_of(row)
    now = now or utcnow()
    schedule = None
    if rule.period != "once":
        key = period_key(rule.period, now)
        schedule = None if _claimed(session, row.id, key) else key
    if schedule is not None:
        try:  # the scheduler of another process may claim the period at the same moment
            with session.begin_nested():
                return run_rule(session, actor=actor, rule=rule, rule_id=row.id, trigger=trigger, now=now,
                                schedule_key=schedule)
        except IntegrityError:
            pass  # it did: this run is an extra run of the period
    return run_rule(session, actor=actor, rule=rule, rule_id=row.id, trigger=trigger, now=now)


def get_run(session: Session, *, actor: User, run_id: Any) -> SamplingRun:
    """A run the actor may read: its rule's managers, or whoever ran it."""
    _require_rule_role(actor)
    run = session.get(SamplingRun, scope.as_id(run_id))
    if run is None:
        raise NotFound("No such sampling run.")
    if actor.role is not Role.admin and run.run_by_id != actor.id:
        if run.rule_id is None:
            raise NotFound("No such sampling run.")
        get_rule(session, actor=actor, rule_id=run.rule_id)
    return run


def runs_of(session: Session, *, actor: User, rule_id: Any, limit: int = 20) -> list[SamplingRun]:
    """A rule's latest runs."""
    row = get_rule(session, actor=actor, rule_id=rule_id)
    query = (select(SamplingRun).where(SamplingRun.rule_id == row.id)
             .order_by(col(SamplingRun.started_at).desc(), col(SamplingRun.id).desc()).limit(limit))
    return list(session.exec(query))


# ---------------------------------------------------------------------------------------------
# The scheduler's work
# ---------------------------------------------------------------------------------------------


def due_rules(session: Session, now: datetime) -> list[tuple[int, str]]:
    """Active scheduled rules whose current period has no scheduled run yet: (rule id, period key)."""
    rows = session.exec(select(SamplingRule.id, SamplingRule.period).where(
        col(SamplingRule.active), col(SamplingRule.period).in_(("daily", "weekly")))).all()
    current = [(int(rule_id or 0), period_key(period, now)) for rule_id, period in rows]
    if not current:
        return []
    claimed = set(session.exec(select(SamplingRun.rule_id, SamplingRun.schedule_key).where(
        col(SamplingRun.rule_id).in_([r for r, _ in current]),
        col(SamplingRun.schedule_key).in_({key for _, key in current}))).all())
    return [(rule_id, key) for rule_id, key in current if (rule_id, key) not in claimed]


def run_scheduled(session: Session, *, rule_id: int, now: datetime) -> SamplingRun | None:
    """Run one scheduled rule for the period of `now`, as its author; None if the period was taken."""
    row = session.get(SamplingRule, rule_id)
    if row is None or not row.active:
        return None
    author = session.get(User, row.created_by_id) if row.created_by_id else None
    key = period_key(row.period, now)
    if author is None or not author.is_active or author.role not in RULE_ROLES:
        run = SamplingRun(rule_id=row.id, schedule_key=key, period_key=key, trigger="schedule",
                          status="failed", started_at=now, finished_at=now,
                          parameters={"rule": row.definition},
                          message="The rule's author can no longer run rules; "
                                  "a manager who saves the rule takes it over.")
        session.add(run)
        session.flush()
        return run
    try:
        with session.begin_nested():
            return run_rule(session, actor=author, rule=rule_of(row), rule_id=row.id, trigger="schedule",
                            now=now, schedule_key=key)
    except IntegrityError:
        return None  # another process claimed this period first
    except CaliperError as error:  # recorded on the rule's page, and the period is not retried every minute
        run = SamplingRun(rule_id=row.id, schedule_key=key, period_key=key, trigger="schedule",
                          run_by_id=author.id, status="failed", started_at=now, finished_at=now,
                          parameters={"rule": row.definition},
                          message=f"The scheduled run failed: {error.message}")
        session.add(run)
        session.flush()
        return run


def expire_overdue(session: Session, now: datetime) -> int:
    """Open assignments past their due date that nobody started become expired; how many."""
    result = session.execute(
        update(Assignment)
        .where(col(Assignment.status) == AssignmentStatus.open, col(Assignment.due_at) < now,
               col(Assignment.review_id).is_(None))
        .values(status=AssignmentStatus.expired, updated_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------------------------------------
# Assignments: the reviewer's list, skip, replace, reassign
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentRow:
    """One assignment as lists show it."""

    id: int
    conversation_id: int
    subject: str
    agent_name: str | None
    reviewer_id: int
    reviewer_name: str
    status: str
    due_at: datetime | None
    reason: str
    rule_id: int | None
    rule_name: str | None
    review_id: int | None
    skip_reason: str | None

    @property
    def overdue(self) -> bool:
        return self.status == AssignmentStatus.open and self.due_at is not None and self.due_at < utcnow()


def _assignment_rows(session: Session, where: Sequence[Any], limit: int) -> list[AssignmentRow]:
    reviewer = User
    columns: list[Any] = [Assignment.id, Assignment.conversation_id, Conversation.subject, Agent.name,
                          Assignment.reviewer_id, reviewer.name, Assignment.status, Assignment.due_at,
                          Assignment.reason, Assignment.rule_id, SamplingRule.name, Assignment.review_id,
                          Assignment.skip_reason]
    query = (select(*columns)
             .join(Conversation, col(Conversation.id) == col(Assignment.conversation_id))
             .join(reviewer, col(reviewer.id) == col(Assignment.reviewer_id))
             .outerjoin(Agent, col(Agent.id) == col(Conversation.agent_id))
             .outerjoin(SamplingRule, col(SamplingRule.id) == col(Assignment.rule_id))
             .where(*where)
             .order_by(col(Assignment.due_at).is_(None), col(Assignment.due_at), col(Assignment.id))
             .limit(limit))
    found = session.exec(query).all()
    openings = review_service.snippets(session, [r[1] for r in found if not (r[2] or "").strip()])
    return [AssignmentRow(id=r[0], conversation_id=r[1],
                          subject=(r[2] or "").strip() or openings.get(r[1]) or f"Conversation {r[1]}",
                          agent_name=r[3],
                          reviewer_id=r[4], reviewer_name=r[5], status=str(r[6]), due_at=r[7], reason=r[8],
                          rule_id=r[9], rule_name=r[10], review_id=r[11], skip_reason=r[12])
            for r in found]


def my_open_assignments(session: Session, *, actor: User, limit: int = 50) -> tuple[list[AssignmentRow], int]:
    """The actor's open assignments, soonest due first, and how many there are in all."""
    where = [col(Assignment.reviewer_id) == actor.id, col(Assignment.status) == AssignmentStatus.open]
    total = session.exec(select(func.count()).select_from(Assignment).where(*where)).one()
    return _assignment_rows(session, where, limit), int(total)


def run_assignments(session: Session, *, actor: User, run_id: Any, limit: int = 500) -> list[AssignmentRow]:
    """The assignments a run made (and what became of them)."""
    run = get_run(session, actor=actor, run_id=run_id)
    visible = scope.conversation_filter(session, actor)
    return _assignment_rows(session, [col(Assignment.run_id) == run.id, visible], limit)


def _visible_assignment(session: Session, actor: User, assignment_id: Any) -> Assignment:
    """An assignment the actor holds, or (managers, admins) one of a conversation in their teams."""
    assignment = session.get(Assignment, scope.as_id(assignment_id))
    if assignment is None:
        raise NotFound("No such assignment.")
    if assignment.reviewer_id != actor.id:
        if actor.role not in RULE_ROLES:
            raise NotFound("No such assignment.")
        scope.get_conversation(session, actor, assignment.conversation_id)  # 404 outside their teams
    return assignment


def _assignment_for_change(session: Session, actor: User, assignment_id: Any) -> Assignment:
    """An open assignment the actor may change (see _visible_assignment)."""
    assignment = _visible_assignment(session, actor, assignment_id)
    if assignment.status != AssignmentStatus.open:
        raise Conflict(f"This assignment is {assignment.status}, not open.")
    return assignment


def _snapshot(a: Assignment) -> dict[str, Any]:
    return {"status": a.status, "reviewer_id": a.reviewer_id, "conversation_id": a.conversation_id,
            "skip_reason": a.skip_reason, "replaced_by_id": a.replaced_by_id}


def skip_assignment(session: Session, *, actor: User, assignment_id: Any, reason: str) -> Assignment:
    """Skip an open assignment, saying why (e.g. "spam", "not in my language")."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why you skip this conversation.", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"The reason must be at most {MAX_REASON} characters.", field="reason")
    assignment = _assignment_for_change(session, actor, assignment_id)
    before = _snapshot(assignment)
    assignment.status, assignment.skip_reason = AssignmentStatus.skipped, reason
    assignment.updated_at = utcnow()
    session.add(assignment)
    audit.record(session, actor=actor, action="assignment.skip", entity="assignment", entity_id=assignment.id,
                 before=before, after=_snapshot(assignment))
    return assignment


def replace_assignment(session: Session, *, actor: User, assignment_id: Any, reason: str = "") -> Assignment:
    """Swap an open assignment for another conversation drawn by the same rule (same agent when the quota is
    per agent); the old one is kept as `replaced`. Returns the new assignment."""
    assignment = _assignment_for_change(session, actor, assignment_id)
    if assignment.rule_id is None or assignment.period_key is None:
        raise Conflict("This assignment was made by hand, so there is no rule to draw a replacement from.")
    row = session.get(SamplingRule, assignment.rule_id)
    if row is None:
        raise Conflict("The rule that made this assignment no longer exists.")
    rule = rule_of(row)
    reviewer = session.get(User, assignment.reviewer_id)
    conversation = session.get(Conversation, assignment.conversation_id)
    assert reviewer is not None and conversation is not None
    run = session.get(SamplingRun, assignment.run_id) if assignment.run_id else None
    anchor = utcnow()
    if run is not None and "anchor" in run.parameters:
        anchor = datetime.fromisoformat(run.parameters["anchor"])
    author = session.get(User, row.created_by_id) if row.created_by_id else None
    base = [scope.conversation_filter(session, author or actor)]
    period_taken = cand.not_in_period(row.id, assignment.period_key)
    if reviewer.agent_id is not None:  # never the reviewer's own conversation
        base.append(col(Conversation.agent_id).is_distinct_from(reviewer.agent_id))
    base.append(scope.conversation_filter(session, reviewer))  # one the reviewer can open
    same_agent = rule.quota.kind == "per_agent"
    if same_agent:
        agent = conversation.agent_id
        base.append(col(Conversation.agent_id) == agent if agent is not None else
                    col(Conversation.agent_id).is_(None))
    seed = seed_for(rule.seed, row.id or 0, assignment.period_key, "replace", assignment.id or 0)
    chosen: int | None = None
    why = ""
    for filters, label in ((rule.filters, ""), (rule.backup_filters, "backup filter: ")):
        if filters is None:
            continue
        found = cand.read(session, [*base, *cand.filter_clauses(filters, anchor=anchor)],
                          exclude=[*period_taken, *cand.exclusions(filters)])
        if len(found):
            keys = random_keys(found.ids, seed)
            chosen = int(found.ids[int(np.argmin(keys))])
            why = f"{label}replacement for conversation {conversation.id}"
            break
    if chosen is None:
        raise Conflict("No other conversation matches this rule" + (" for this agent" if same_agent else "")
                       + " in this period.")
    before = _snapshot(assignment)
    now = utcnow()
    new = Assignment(conversation_id=chosen, reviewer_id=assignment.reviewer_id,
                     scorecard_id=assignment.scorecard_id, due_at=assignment.due_at, run_id=assignment.run_id,
                     rule_id=assignment.rule_id, period_key=assignment.period_key, reason=why, created_at=now,
                     updated_at=now)
    session.add(new)
    session.flush()
    assignment.status, assignment.replaced_by_id = AssignmentStatus.replaced, new.id
    assignment.skip_reason, assignment.updated_at = (reason or "").strip()[:MAX_REASON] or None, now
    session.add(assignment)
    audit.record(session, actor=actor, action="assignment.replace", entity="assignment",
                 entity_id=assignment.id, before=before, after=_snapshot(assignment))
    return new


def reassign(session: Session, *, actor: User, assignment_id: Any, reviewer_id: Any) -> Assignment:
    """Give an open assignment to another reviewer (managers and admins)."""
    _require_rule_role(actor)
    assignment = _assignment_for_change(session, actor, assignment_id)
    try:
        target_id = int(reviewer_id)
    except (TypeError, ValueError):
        raise InvalidInput("Choose a reviewer.", field="reviewer_id") from None
    target = session.get(User, target_id)
    if target is None or not target.is_active or target.role not in REVIEWER_ROLES:
        raise InvalidInput("Choose an active reviewer, manager or admin.", field="reviewer_id")
    conversation = session.get(Conversation, assignment.conversation_id)
    if conversation is not None and target.agent_id is not None and target.agent_id == conversation.agent_id:
        raise InvalidInput(f"{target.name} handled this conversation and can't review it.",
                           field="reviewer_id")
    try:  # a reviewer linked to teams only opens those teams' conversations
        scope.get_conversation(session, target, assignment.conversation_id)
    except NotFound:
        raise InvalidInput(f"{target.name} reviews other teams and couldn't open this conversation.",
                           field="reviewer_id") from None
    if target.id == assignment.reviewer_id:
        return assignment
    before = _snapshot(assignment)
    assignment.reviewer_id, assignment.updated_at = target.id, utcnow()  # type: ignore[assignment]
    session.add(assignment)
    audit.record(session, actor=actor, action="assignment.reassign", entity="assignment",
                 entity_id=assignment.id, before=before, after=_snapshot(assignment))
    return assignment


def reviewer_choices(session: Session) -> list[User]:
    """Active users who can review, by name."""
    query = select(User).where(col(User.is_active), col(User.role).in_(tuple(REVIEWER_ROLES)))
    return list(session.exec(query.order_by(col(User.name))))


def assignments_of_run(session: Session, run_id: int, *, actor: User) -> list[Assignment]:
    """The assignments a run made of conversations the actor may see, in order (the caller has checked it
    may read the run)."""
    query = (select(Assignment).join(Conversation, col(Conversation.id) == col(Assignment.conversation_id))
             .where(Assignment.run_id == run_id, scope.conversation_filter(session, actor))
             .order_by(col(Assignment.id)))
    return list(session.exec(query))


def open_assignments_of(session: Session, user: User) -> list[Assignment]:
    """The user's open assignments, soonest due first."""
    query = (select(Assignment).where(Assignment.reviewer_id == user.id,
                                      Assignment.status == AssignmentStatus.open)
             .order_by(col(Assignment.due_at).is_(None), col(Assignment.due_at), col(Assignment.id)))
    return list(session.exec(query))


def last_runs(session: Session, *, rule_ids: Sequence[int]) -> dict[int, SamplingRun]:
    """The latest run of each rule, in one query (the caller has the rules from list_rules)."""
    if not rule_ids:
        return {}
    latest = (select(SamplingRun.rule_id, func.max(SamplingRun.id).label("last"))
              .where(col(SamplingRun.rule_id).in_(rule_ids)).group_by(col(SamplingRun.rule_id)).subquery())
    query = select(SamplingRun).join(latest, latest.c.last == col(SamplingRun.id))
    return {run.rule_id: run for run in session.exec(query) if run.rule_id is not None}


def user_names(session: Session, ids: Sequence[int | None]) -> dict[int, str]:
    """Names of these users, active or not (who ran a run, who reviews)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return {int(i or 0): name for i, name in session.exec(select(col(User.id), User.name)
                                                          .where(col(User.id).in_(wanted))).all()}


def assignment_row(session: Session, *, actor: User, assignment_id: Any) -> AssignmentRow:
    """One assignment as lists show it, if the actor manages it (managers, admins) or holds it."""
    assignment = _visible_assignment(session, actor, assignment_id)
    return _assignment_rows(session, [col(Assignment.id) == assignment.id], 1)[0]
