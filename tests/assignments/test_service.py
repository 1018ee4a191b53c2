"""Sampling runs through the service, on SQLite and PostgreSQL: filters, quotas, strategies, allocation,
determinism, periods, backup filters, and the assignment actions (skip, replace, reassign, expire)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from qa.assignments import service
from qa.errors import CaliperError, Conflict, Forbidden, InvalidInput, NotFound
from qa.models import Assignment, AssignmentStatus, AuditLog, Conversation, SamplingRun
from qa.reviews import service as review_service
from tests.assignments.conftest import NOW, Org
from tests.factories import make_conversation


def run(session: Session, org: Org, actor: Any = None, **overrides: Any) -> SamplingRun:
    rule = service.parse(org.rule(**overrides))
    return service.run_rule(session, actor=actor or org.manager, rule=rule, now=NOW)


def made(session: Session, run_: SamplingRun) -> list[Assignment]:
    return list(
        session.exec(select(Assignment).where(Assignment.run_id == run_.id).order_by(col(Assignment.id)))
    )


def conversations(session: Session, assignments: list[Assignment]) -> list[Conversation]:
    ids = [a.conversation_id for a in assignments]
    return list(session.exec(select(Conversation).where(col(Conversation.id).in_(ids))))


def test_per_agent_quota_balanced_and_never_self_review(session: Session, org: Org) -> None:
    result = run(session, org)
    rows = made(session, result)
    per_agent = Counter(c.agent_id for c in conversations(session, rows))
    assert per_agent == {org.agents[0].id: 3, org.agents[1].id: 3, org.agents[2].id: 2, org.agents[3].id: 3}
    loads = Counter(a.reviewer_id for a in rows)
    assert max(loads.values()) - min(loads.values()) <= 1 and sum(loads.values()) == 11
    by_id = {c.id: c for c in conversations(session, rows)}
    assert all(
        by_id[a.conversation_id].agent_id != org.agents[0].id for a in rows if a.reviewer_id == org.peer.id
    )
    assert all(
        a.status == "open" and a.period_key == "once" and a.due_at == datetime(2026, 12, 3, tzinfo=UTC)
        for a in rows
    )
    assert all(a.reason == "random pick" and a.scorecard_id == org.version.scorecard_id for a in rows)
    # the idle agent has nothing to sample: the run says so
    assert result.matched == 21 and result.picked == 11 and result.assigned == 11
    assert result.shortfall == 1 + 3  # agents[2] has 2 of 3, the idle agent 0 of 3
    short = {r["agent_id"]: r for r in result.per_agent if r["got"] < r["wanted"]}
    assert set(short) == {org.agents[2].id, org.idle_agent.id}
    assert "short" in result.message
    entry = session.exec(
        select(AuditLog).where(AuditLog.entity == "sampling_run", AuditLog.entity_id == result.id)
    ).one()
    assert entry.actor_id == org.manager.id and entry.after and entry.after["assigned"] == 11


def test_same_rule_data_and_seed_give_the_same_sample(session: Session, org: Org) -> None:
    picks = []
    for _ in range(2):
        nested = session.begin_nested()
        result = run(session, org)
        picks.append([(a.conversation_id, a.reviewer_id) for a in made(session, result)])
        nested.rollback()
    assert picks[0] == picks[1]
    nested = session.begin_nested()
    other = [(a.conversation_id, a.reviewer_id) for a in made(session, run(session, org, seed=8))]
    nested.rollback()
    assert other != picks[0]


def test_a_stored_rule_never_hands_out_a_conversation_twice_in_its_period(session: Session, org: Org) -> None:
    row = service.create_rule(
        session, actor=org.manager, rule=service.parse(org.rule(quota={"per_agent": 4}))
    )
    first = made(session, service.run_stored_rule(session, actor=org.manager, rule_id=row.id, now=NOW))
    second = made(session, service.run_stored_rule(session, actor=org.manager, rule_id=row.id, now=NOW))
    assert first and second
    assert not {a.conversation_id for a in first} & {a.conversation_id for a in second}


@pytest.mark.parametrize(
    ("filters", "check"),
    [
        ({"channels": ["email"]}, lambda c: c.channel == "email"),
        ({"tags_any": ["vip"]}, lambda c: "vip" in c.tags),
        ({"tags_all": ["refund", "vip"]}, lambda c: {"refund", "vip"} <= set(c.tags)),
        ({"tags_none": ["vip"]}, lambda c: "vip" not in c.tags),
        ({"csat": ["none"]}, lambda c: c.csat is None),
        ({"csat": [1, 2]}, lambda c: c.csat in (1, 2)),
        ({"min_agent_messages": 3}, lambda c: c.agent_message_count >= 3),
        ({"max_messages": 2}, lambda c: c.message_count <= 2),
        (
            {"min_handle_seconds": 1800, "max_handle_seconds": 3000},
            lambda c: 1800 <= c.handle_seconds <= 3000,
        ),
        ({"max_first_response_seconds": 120}, lambda c: c.first_response_seconds <= 120),
        ({"languages": ["de"]}, lambda c: c.language == "de"),
        ({"sources": ["elsewhere"]}, lambda c: False),
        ({"date_field": "closed", "last_days": 3}, lambda c: c.closed_at >= NOW - timedelta(days=3)),
        (
            {"date_from": "2026-11-20", "date_to": "2026-11-22"},
            lambda c: "2026-11-20" <= c.created_at.date().isoformat() <= "2026-11-22",
        ),
        ({"handled_by": "human"}, lambda c: c.agent_message_count > 0),
    ],
)
def test_a_sample_never_violates_its_filters(
    session: Session, org: Org, filters: dict[str, Any], check: Any
) -> None:
    result = run(session, org, quota={"total": 100}, filters={"teams": [org.team.id], **filters})
    rows = made(session, result)
    chosen = conversations(session, rows)
    assert all(check(c) for c in chosen)
    assert all(c.team_id == org.team.id for c in chosen)
    # and every matching conversation was taken (the quota is larger than the team)
    everything = session.exec(select(Conversation).where(Conversation.team_id == org.team.id)).all()
    assert len(chosen) == sum(1 for c in everything if check(c)) == result.matched


def test_bot_conversations_can_be_targeted(session: Session, org: Org) -> None:
    bot = make_conversation(
        session,
        agent=None,
        team=org.team,
        agent_id=None,
        agent_message_count=0,
        messages=[{"author": "customer", "body": "hi"}, {"author": "bot", "body": "Hello!"}],
    )
    result = run(session, org, quota={"per_agent": 5}, filters={"teams": [org.team.id], "handled_by": "bot"})
    assert [a.conversation_id for a in made(session, result)] == [bot.id]
    assert any(r["agent"].startswith("No agent") for r in result.per_agent)


def test_not_reviewed_and_not_assigned_filters(session: Session, org: Org) -> None:
    target = org.conversations[org.agents[1].id][0]
    review = review_service.start_review(session, actor=org.admin, conversation_id=target.id)
    for key, label in {"greeting": "Yes", "accuracy": "4", "tone": "OK"}.items():
        review_service.rate(
            session, actor=org.admin, review_id=review.id, criterion_key=key, option_label=label
        )
    review_service.submit_review(session, actor=org.admin, review_id=review.id)
    assigned = org.conversations[org.agents[1].id][1]
    session.add(
        Assignment(
            conversation_id=assigned.id,
            reviewer_id=org.reviewers[0].id,  # type: ignore[arg-type]
            scorecard_id=org.version.scorecard_id,
        )
    )
    session.flush()
    rows = made(
        session,
        run(
            session,
            org,
            quota={"total": 100},
            filters={"teams": [org.team.id], "not_reviewed": True, "not_assigned": True},
        ),
    )
    taken = {a.conversation_id for a in rows}
    assert target.id not in taken and assigned.id not in taken and len(taken) == 19


def test_backup_filter_tops_up_the_quota_and_the_run_says_so(session: Session, org: Org) -> None:
    result = run(
        session,
        org,
        quota={"per_agent": 3},
        filters={"teams": [org.team.id], "channels": ["social"]},
        backup_filters={"teams": [org.team.id]},
    )
    rows = made(session, result)
    per_agent = Counter(c.agent_id for c in conversations(session, rows))
    assert per_agent[org.agents[0].id] == 3 and per_agent[org.agents[2].id] == 2
    backups = [a for a in rows if a.reason.startswith("backup filter")]
    assert result.from_backup == len(backups) > 0
    assert "backup filter" in result.message


def test_stratified_by_channel_reports_strata(session: Session, org: Org) -> None:
    result = run(session, org, strategy="stratified", stratify_by="channel", quota={"total": 8})
    rows = made(session, result)
    assert len(rows) == 8
    assert {r["stratum"] for r in result.per_stratum} == {"chat", "email", "social"}
    assert all(r["picked"] >= 1 for r in result.per_stratum)
    assert sum(r["picked"] for r in result.per_stratum) == 8
    assert all(a.reason.startswith("stratified by channel: ") and a.stratum for a in rows)


def test_weighted_and_percent(session: Session, org: Org) -> None:
    result = run(session, org, strategy="weighted", weight_by="handle_time", quota={"percent": 50})
    rows = made(session, result)
    assert len(rows) == 11  # ceil(21 / 2)
    assert all(a.reason.startswith("weighted by handle time") for a in rows)


def test_spotlight_picks_the_standout_and_says_why(session: Session, org: Org) -> None:
    agent = org.agents[3]
    standout = make_conversation(
        session,
        agent=agent,
        team=org.team,
        csat=1,
        handle_seconds=40 * 3600,
        first_response_seconds=9 * 3600,
        agent_message_count=12,
        customer_message_count=12,
        message_count=24,
        created_at=NOW - timedelta(hours=5),
        messages=_long_thread(agent.external_id),
    )
    result = run(session, org, strategy="spotlight", quota={"per_agent": 1}, filters={"agents": [agent.id]})
    rows = made(session, result)
    assert [a.conversation_id for a in rows] == [standout.id]
    assert "long handle time" in rows[0].reason.lower()


def _long_thread(author_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(12):
        out.append({"author": "customer", "body": f"The parcel never arrived, tracking says lost ({i})"})
        out.append({"author": "agent", "author_id": author_id, "body": "I am escalating to the courier."})
    return out


def test_topic_strata(session: Session, org: Org) -> None:
    result = run(session, org, strategy="stratified", stratify_by="topic", quota={"total": 6})
    rows = made(session, result)
    assert len(rows) == 6
    assert all(a.reason.startswith("topic: ") for a in rows)
    assert sum(r["picked"] for r in result.per_stratum) == 6


def test_capacity_is_respected_and_the_rest_left_unassigned(session: Session, org: Org) -> None:
    reviewers = [{"id": org.reviewers[0].id, "capacity": 2}, {"id": org.reviewers[1].id, "capacity": 3}]
    result = run(session, org, reviewers=reviewers)
    loads = Counter(a.reviewer_id for a in made(session, result))
    assert loads == {org.reviewers[0].id: 2, org.reviewers[1].id: 3}
    assert result.unassigned == 11 - 5 and "could not be assigned" in result.message


def test_a_team_manager_samples_only_their_teams(session: Session, org: Org) -> None:
    with pytest.raises(Forbidden):
        run(session, org, actor=org.manager, filters={"teams": [org.other_team.id]})
    rows = made(
        session,
        run(
            session,
            org,
            actor=org.other_manager,
            quota={"total": 100},
            filters={},
            reviewers=[{"id": org.reviewers[0].id}],
        ),
    )
    assert {c.team_id for c in conversations(session, rows)} == {org.other_team.id}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"scorecard_id": 999_999}, "scorecard_id"),
        ({"reviewers": [{"id": 999_999}]}, "reviewers[0].id"),
        ({"filters": {"agents": [999_999]}}, "filters.agents[0]"),
        ({"filters": {"teams": [999_999]}}, "filters.teams[0]"),
    ],
)
def test_references_must_exist(session: Session, org: Org, overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        run(session, org, **overrides)
    assert caught.value.field == field


def test_agents_and_reviewers_cannot_manage_rules(session: Session, org: Org) -> None:
    for actor in (org.reviewers[0], org.agent_user):
        with pytest.raises(Forbidden):
            run(session, org, actor=actor)
    with pytest.raises(InvalidInput):
        run(session, org, reviewers=[{"id": org.agent_user.id}])


def _open_for(session: Session, org: Org, reviewer: Any) -> Assignment:
    result = run(session, org)
    return next(a for a in made(session, result) if a.reviewer_id == reviewer.id)


def test_skip_needs_a_reason_and_is_audited(session: Session, org: Org) -> None:
    assignment = _open_for(session, org, org.reviewers[0])
    with pytest.raises(InvalidInput):
        service.skip_assignment(session, actor=org.reviewers[0], assignment_id=assignment.id, reason="  ")
    with pytest.raises(NotFound):
        service.skip_assignment(session, actor=org.reviewers[1], assignment_id=assignment.id, reason="x")
    skipped = service.skip_assignment(
        session, actor=org.reviewers[0], assignment_id=assignment.id, reason="Spam"
    )
    assert skipped.status == AssignmentStatus.skipped and skipped.skip_reason == "Spam"
    with pytest.raises(Conflict):
        service.skip_assignment(session, actor=org.reviewers[0], assignment_id=assignment.id, reason="again")
    assert session.exec(select(AuditLog).where(AuditLog.action == "assignment.skip")).one()


def test_replace_draws_another_conversation_of_the_same_agent(session: Session, org: Org) -> None:
    row = service.create_rule(session, actor=org.manager, rule=service.parse(org.rule()))
    result = service.run_stored_rule(session, actor=org.manager, rule_id=row.id, now=NOW)
    old = next(a for a in made(session, result) if a.reviewer_id == org.reviewers[0].id)
    old_agent = session.get(Conversation, old.conversation_id).agent_id  # type: ignore[union-attr]
    new = service.replace_assignment(
        session, actor=org.reviewers[0], assignment_id=old.id, reason="Off-topic"
    )
    assert new.conversation_id != old.conversation_id and new.reviewer_id == old.reviewer_id
    assert session.get(Conversation, new.conversation_id).agent_id == old_agent  # type: ignore[union-attr]
    assert old.status == AssignmentStatus.replaced and old.replaced_by_id == new.id
    assert new.due_at == old.due_at and new.rule_id == row.id and "replacement" in new.reason
    taken = {a.conversation_id for a in session.exec(select(Assignment).where(Assignment.rule_id == row.id))}
    assert len(taken) == len(made(session, result))  # the new one was not handed out already


def test_replace_without_a_candidate_or_a_rule_is_a_conflict(session: Session, org: Org) -> None:
    row = service.create_rule(
        session, actor=org.manager, rule=service.parse(org.rule(filters={"agents": [org.agents[2].id]}))
    )
    result = service.run_stored_rule(session, actor=org.manager, rule_id=row.id, now=NOW)
    first = made(session, result)[0]
    with pytest.raises(Conflict):  # agents[2] has only two conversations, both handed out
        service.replace_assignment(session, actor=org.manager, assignment_id=first.id)
    by_hand = Assignment(
        conversation_id=org.conversations[org.agents[1].id][0].id,  # type: ignore[arg-type]
        reviewer_id=org.reviewers[0].id,
        scorecard_id=org.version.scorecard_id,
    )
    session.add(by_hand)
    session.flush()
    with pytest.raises(Conflict):
        service.replace_assignment(session, actor=org.reviewers[0], assignment_id=by_hand.id)


def test_reassign(session: Session, org: Org) -> None:
    assignment = _open_for(session, org, org.reviewers[0])
    conversation = session.get(Conversation, assignment.conversation_id)
    assert conversation is not None
    with pytest.raises(Forbidden):
        service.reassign(
            session, actor=org.reviewers[0], assignment_id=assignment.id, reviewer_id=org.reviewers[1].id
        )
    with pytest.raises(NotFound):
        service.reassign(
            session, actor=org.other_manager, assignment_id=assignment.id, reviewer_id=org.reviewers[1].id
        )
    with pytest.raises(InvalidInput):
        service.reassign(
            session, actor=org.manager, assignment_id=assignment.id, reviewer_id=org.agent_user.id
        )
    if conversation.agent_id == org.agents[0].id:
        with pytest.raises(InvalidInput):
            service.reassign(session, actor=org.manager, assignment_id=assignment.id, reviewer_id=org.peer.id)
    moved = service.reassign(
        session, actor=org.manager, assignment_id=assignment.id, reviewer_id=org.reviewers[1].id
    )
    assert moved.reviewer_id == org.reviewers[1].id
    assert session.exec(select(AuditLog).where(AuditLog.action == "assignment.reassign")).one()


def test_expiry_spares_started_work(session: Session, org: Org) -> None:
    rows = made(session, run(session, org))
    started = rows[0]
    reviewer = session.get(type(org.admin), started.reviewer_id)
    review_service.start_review(session, actor=reviewer, conversation_id=started.conversation_id)  # type: ignore[arg-type]
    session.flush()
    expired = service.expire_overdue(session, NOW + timedelta(days=8))
    assert expired == len(rows) - 1
    session.expire_all()
    states = Counter(a.status for a in made(session, run_any(session)))
    assert states == {"expired": len(rows) - 1, "open": 1}


def run_any(session: Session) -> SamplingRun:
    return session.exec(select(SamplingRun).order_by(col(SamplingRun.id).desc())).first()  # type: ignore[return-value]


def test_periods() -> None:
    wednesday = NOW
    assert service.period_key("weekly", wednesday) == "2026-W48"
    assert service.period_start("weekly", wednesday).isoformat() == "2026-11-23T00:00:00+00:00"
    assert service.period_key("daily", wednesday) == "2026-11-25"
    assert service.period_key("once", wednesday) == "once"


def test_scheduled_period_runs_once(session: Session, org: Org) -> None:
    row = service.create_rule(session, actor=org.manager, rule=service.parse(org.rule(period="weekly")))
    assert (row.id, "2026-W48") in service.due_rules(session, NOW)
    first = service.run_scheduled(session, rule_id=row.id, now=NOW)  # type: ignore[arg-type]
    assert first is not None and first.schedule_key == "2026-W48" and first.trigger == "schedule"
    assert (row.id, "2026-W48") not in service.due_rules(session, NOW + timedelta(days=2))
    assert service.run_scheduled(session, rule_id=row.id, now=NOW + timedelta(days=1)) is None  # type: ignore[arg-type]
    # a manual run in the same period is an extra run, not the period's
    extra = service.run_stored_rule(session, actor=org.manager, rule_id=row.id, now=NOW + timedelta(days=1))
    assert extra.schedule_key is None
    assert (row.id, "2026-W49") in service.due_rules(session, NOW + timedelta(days=7))
    # the relative window and due date follow the period start
    later = service.run_scheduled(session, rule_id=row.id, now=NOW + timedelta(days=7))  # type: ignore[arg-type]
    assert later is not None and later.parameters["anchor"].startswith("2026-11-30")
    service.set_active(session, actor=org.manager, rule_id=row.id, active=False)
    assert (row.id, "2026-W50") not in service.due_rules(session, NOW + timedelta(days=14))


def test_rules_are_visible_to_their_teams_managers_only(session: Session, org: Org) -> None:
    row = service.create_rule(session, actor=org.manager, rule=service.parse(org.rule()))
    assert service.get_rule(session, actor=org.admin, rule_id=row.id).id == row.id
    with pytest.raises(NotFound):
        service.get_rule(session, actor=org.other_manager, rule_id=row.id)
    assert row.id not in [r.id for r in service.list_rules(session, actor=org.other_manager)]
    with pytest.raises(NotFound):
        service.get_rule(session, actor=org.admin, rule_id="nope")
    with pytest.raises(CaliperError):
        service.update_rule(
            session,
            actor=org.manager,
            rule_id=row.id,
            rule=service.parse(org.rule(filters={"teams": [org.other_team.id]})),
        )


def test_a_run_late_in_its_period_is_not_born_overdue(session: Session, org: Org) -> None:
    row = service.create_rule(
        session, actor=org.manager, rule=service.parse(org.rule(period="weekly", due_days=1))
    )
    result = service.run_scheduled(session, rule_id=row.id, now=NOW)  # type: ignore[arg-type]
    assert result is not None
    rows = made(session, result)
    assert rows and all(a.due_at == datetime(2026, 11, 27, tzinfo=UTC) for a in rows)  # end of Thursday
    assert service.expire_overdue(session, NOW) == 0
    assert service.due_date(NOW, 0) == datetime(2026, 11, 26, tzinfo=UTC)  # 0 days: the end of the run's day


def test_a_reviewer_who_left_is_skipped_and_a_failing_schedule_is_recorded(
    session: Session, org: Org
) -> None:
    row = service.create_rule(session, actor=org.manager, rule=service.parse(org.rule(period="daily")))
    org.reviewers[0].is_active = False
    session.flush()
    result = service.run_stored_rule(session, actor=org.manager, rule_id=row.id, now=NOW)
    assert result.assigned == 11
    assert {a.reviewer_id for a in made(session, result)} == {org.reviewers[1].id, org.peer.id}
    for reviewer in org.reviewers:
        reviewer.is_active = False
    session.flush()
    later = NOW + timedelta(days=1)
    failed = service.run_scheduled(session, rule_id=row.id, now=later)  # type: ignore[arg-type]
    assert failed is not None and failed.status == "failed" and "reviewer pool" in failed.message
    assert (row.id, "2026-11-26") not in service.due_rules(session, later)  # not retried every minute


def test_percent_quota_is_exact_and_never_falsely_short(session: Session, org: Org) -> None:
    for _ in range(4):  # 25 conversations: 28 % of 25 is exactly 7 (in floating point 7.000000000000001)
        make_conversation(session, agent=org.agents[3], team=org.team)
    result = run(session, org, quota={"percent": 28}, backup_filters={"teams": [org.team.id]})
    assert result.matched == 25 and result.picked == 7
    assert result.shortfall == 0 and result.from_backup == 0


def test_backup_filters_and_editing_keep_team_managers_in_their_teams(session: Session, org: Org) -> None:
    wide = service.create_rule(session, actor=org.admin, rule=service.parse(org.rule(backup_filters={})))
    with pytest.raises(NotFound):  # its backup filter reaches every team
        service.get_rule(session, actor=org.manager, rule_id=wide.id)
    own = service.create_rule(session, actor=org.admin, rule=service.parse(org.rule()))
    assert service.get_rule(session, actor=org.manager, rule_id=own.id).id == own.id
    edited = service.update_rule(
        session, actor=org.manager, rule_id=own.id, rule=service.parse(org.rule(name="Mine now"))
    )
    assert edited.created_by_id == org.manager.id  # scheduled runs now act with the editor's permissions
    result = run(
        session,
        org,
        actor=org.admin,
        quota={"total": 100},
        filters={"teams": [org.team.id]},
        backup_filters={},
    )
    assert {
        a.conversation_id for a in service.assignments_of_run(session, result.id or 0, actor=org.manager)
    } <= {c.id for c in session.exec(select(Conversation).where(Conversation.team_id == org.team.id))}


def test_reassign_refuses_a_reviewer_of_other_teams(session: Session, org: Org) -> None:
    from tests.factories import make_user

    assignment = _open_for(session, org, org.reviewers[0])
    elsewhere = make_user(session, role="reviewer", teams=[org.other_team])
    with pytest.raises(InvalidInput):
        service.reassign(session, actor=org.manager, assignment_id=assignment.id, reviewer_id=elsewhere.id)


def test_run_now_racing_the_scheduler_becomes_an_extra_run(
    session: Session, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = service.create_rule(session, actor=org.manager, rule=service.parse(org.rule(period="weekly")))
    # another process's scheduler claims the period after this run checked that it was free
    session.add(
        SamplingRun(
            rule_id=row.id, schedule_key="2026-W48", period_key="2026-W48", trigger="schedule", status="done"
        )
    )
    session.flush()
    monkeypatch.setattr(service, "_claimed", lambda *args: False)
    result = service.run_stored_rule(session, actor=org.manager, rule_id=row.id, now=NOW)
    assert result.schedule_key is None and result.status == "done" and result.assigned == 11


def test_reviewers_linked_to_teams_get_only_conversations_they_can_open(session: Session, org: Org) -> None:
    from tests.factories import make_user

    scoped = make_user(session, role="reviewer", teams=[org.other_team])
    free = make_user(session, role="reviewer")
    rule = org.rule(filters={"teams": [org.team.id, org.other_team.id]}, quota={"total": 12},
                    reviewers=[{"id": scoped.id}, {"id": free.id}])
    result = run(session, org, actor=org.admin, **{k: v for k, v in rule.items() if k != "name"})
    rows = made(session, result)
    teams = {c.id: c.team_id for c in conversations(session, rows)}
    mine = [a for a in rows if a.reviewer_id == scoped.id]
    assert mine and all(teams[a.conversation_id] == org.other_team.id for a in mine)
    assert result.assigned == len(rows) == 12  # the free reviewer takes the rest
    # a replacement is drawn from what the reviewer can open, too
    row = service.create_rule(session, actor=org.admin, rule=service.parse(rule | {"name": "Scoped"}))
    stored = service.run_stored_rule(session, actor=org.admin, rule_id=row.id, now=NOW)
    held = next(a for a in made(session, stored) if a.reviewer_id == scoped.id)
    new = service.replace_assignment(session, actor=scoped, assignment_id=held.id, reason="Duplicate")
    assert session.get(Conversation, new.conversation_id).team_id == org.other_team.id  # type: ignore[union-attr]
