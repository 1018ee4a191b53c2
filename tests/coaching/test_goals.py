"""Coaching goals: progress against hand-computed figures (tests/coaching/session_helpers.py), met/missed
after the due date, cancelling, bad input, "goal due" notices and the scheduler's tick."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, select

from qa.assignments import scheduler
from qa.coaching import goals as goal_service
from qa.coaching import sessions as session_service
from qa.db import make_engine, session_scope
from qa.errors import Conflict, Forbidden, InvalidInput, NotFound
from qa.models import CoachingGoal, GoalStatus
from qa.reporting import stats
from tests.coaching.session_helpers import GOAL_DUE, GOAL_START, World, at, audit_actions, build, notices
from tests.factories import make_agent, make_team, make_user


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


def goal(
    session: Session,
    world: World,
    criterion: str | None,
    target: float,
    *,
    start: date = GOAL_START,
    due: date = GOAL_DUE,
    today: date = GOAL_START,
) -> CoachingGoal:
    return goal_service.create_goal(
        session,
        actor=world.mona,
        agent_id=world.dana.id,
        criterion_key=criterion,
        target_score=target,
        start_date=start,
        due_date=due,
        today=today,
    )


def view(session: Session, world: World, g: CoachingGoal, today: date) -> goal_service.GoalView:
    return goal_service.goal_view(session, actor=world.mona, goal_id=g.id, today=today)


class TestProgress:
    def test_while_running_counts_reviews_from_the_start_to_today(
        self, session: Session, world: World
    ) -> None:
        tone, overall = goal(session, world, "tone", 50), goal(session, world, None, 60)
        today = date(2026, 11, 9)
        t, o = view(session, world, tone, today), view(session, world, overall, today)
        # tone: G1 0 and G3 60 (G2 is N/A; P0 on 1 Nov is before the start) → 30 over 2
        assert (t.progress.n, t.progress.reviews) == (2, 3)
        assert t.progress.average == pytest.approx(30.0)
        assert t.gap == pytest.approx(-20.0) and not t.on_track
        # overall: 37.5, 62.5, 86.667 → 62.222 over 3
        assert (o.progress.n, o.progress.reviews) == (3, 3)
        assert o.progress.average == pytest.approx((37.5 + 62.5 + 520 / 6) / 3)
        assert o.on_track and o.status is GoalStatus.open and o.days_left == 6
        assert t.label == "Tone of voice" and o.label == goal_service.OVERALL_LABEL

    def test_after_the_due_date_only_reviews_up_to_it_count(self, session: Session, world: World) -> None:
        tone, overall = goal(session, world, "tone", 50), goal(session, world, None, 60)
        today = date(2026, 11, 20)  # A1 on 16 Nov is after the due date
        t, o = view(session, world, tone, today), view(session, world, overall, today)
        assert t.progress.n == 3 and t.progress.average == pytest.approx(160 / 3)  # 53.333: met
        assert o.progress.n == 4 and o.progress.average == pytest.approx((37.5 + 62.5 + 520 / 6 + 0) / 4)
        assert t.status is GoalStatus.met and o.status is GoalStatus.missed
        stored = session.exec(
            select(CoachingGoal.status).where(col(CoachingGoal.id).in_([tone.id, overall.id]))
        )
        assert set(stored) == {GoalStatus.open}, "reads compute the verdict; the tick persists it"

    def test_on_the_due_date_the_goal_is_still_open(self, session: Session, world: World) -> None:
        g = goal(session, world, "tone", 99)
        assert view(session, world, g, GOAL_DUE).status is GoalStatus.open

    def test_matches_the_reporting_module(self, session: Session, world: World) -> None:
        tone, overall = goal(session, world, "tone", 50), goal(session, world, None, 60)
        piece = stats.Slice(start=GOAL_START, end=GOAL_DUE, agent_id=world.dana.id)
        criteria = stats.criteria(session, world.admin, piece)[None]["tone"]
        quality = stats.quality(session, world.admin, piece)[None]
        today = date(2026, 12, 1)
        assert view(session, world, tone, today).progress.average == pytest.approx(criteria.mean)
        assert view(session, world, tone, today).progress.n == criteria.n
        assert view(session, world, overall, today).progress.average == pytest.approx(quality.iqs)
        assert view(session, world, overall, today).progress.n == quality.scored

    def test_no_reviews_in_the_window(self, session: Session, world: World) -> None:
        g = goal(
            session,
            world,
            "greeting",
            10,
            start=date(2026, 11, 17),
            due=date(2026, 11, 18),
            today=date(2026, 11, 17),
        )
        running = view(session, world, g, date(2026, 11, 17))
        assert running.progress == goal_service.Progress(0, 0, None) and running.bar_value == 0
        assert view(session, world, g, date(2026, 11, 19)).status is GoalStatus.missed

    def test_a_goal_that_has_not_started_has_no_progress(self, session: Session, world: World) -> None:
        g = goal(
            session,
            world,
            None,
            50,
            start=date(2026, 11, 12),
            due=date(2026, 11, 30),
            today=date(2026, 11, 5),
        )
        assert view(session, world, g, date(2026, 11, 5)).progress.n == 0

    def test_many_goals_in_one_list(self, session: Session, world: World) -> None:
        made = [goal(session, world, key, 50) for key in ("tone", None, "accuracy", "greeting")]
        listed = goal_service.list_goals(
            session, actor=world.mona, agent_id=world.dana.id, today=date(2026, 11, 9)
        )
        assert {g.id for g in listed} == {g.id for g in made}
        by_key = {g.criterion_key: g.progress for g in listed}
        # accuracy as of 9 Nov: G1 .75, G2 .5, G3 1 → 75; greeting 0, 1, 1 → 66.667
        assert by_key["accuracy"].average == pytest.approx(75.0)
        assert by_key["greeting"].average == pytest.approx(200 / 3)


class TestSettling:
    def test_settle_persists_met_and_missed_once(self, session: Session, world: World) -> None:
        tone, overall = goal(session, world, "tone", 50), goal(session, world, None, 60)
        running = goal(session, world, None, 60, due=date(2026, 11, 30))
        assert goal_service.settle_due_goals(session, date(2026, 11, 16)) == 2
        session.refresh(tone)
        session.refresh(overall)
        session.refresh(running)
        assert (tone.status, overall.status, running.status) == (
            GoalStatus.met,
            GoalStatus.missed,
            GoalStatus.open,
        )
        assert tone.closed_at is not None
        entry = audit_actions(session, "coaching_goal", tone.id)[-1]
        assert entry.action == "coaching_goal.settle" and entry.actor_id is None
        assert entry.after is not None and entry.after["status"] == "met"
        assert entry.after["average"] == pytest.approx(160 / 3)
        assert goal_service.settle_due_goals(session, date(2026, 11, 16)) == 0

    def test_a_settled_goal_keeps_its_verdict(self, session: Session, world: World) -> None:
        tone = goal(session, world, "tone", 50)
        goal_service.settle_due_goals(session, date(2026, 11, 16))
        assert view(session, world, tone, date(2027, 1, 1)).status is GoalStatus.met


class TestCancel:
    def test_cancel_is_audited_and_final(self, session: Session, world: World) -> None:
        g = goal(session, world, "tone", 50)
        goal_service.cancel_goal(session, actor=world.mona, goal_id=g.id, today=date(2026, 11, 9))
        assert g.status is GoalStatus.cancelled
        actions = [e.action for e in audit_actions(session, "coaching_goal", g.id)]
        assert actions == ["coaching_goal.create", "coaching_goal.update"]
        with pytest.raises(Conflict):
            goal_service.cancel_goal(session, actor=world.mona, goal_id=g.id, today=date(2026, 11, 9))

    def test_a_goal_past_its_due_date_cannot_be_cancelled(self, session: Session, world: World) -> None:
        g = goal(session, world, "tone", 50)
        with pytest.raises(Conflict, match="met"):
            goal_service.cancel_goal(session, actor=world.mona, goal_id=g.id, today=date(2026, 11, 16))

    def test_only_coaches_in_scope_cancel(self, session: Session, world: World) -> None:
        g = goal(session, world, "tone", 50)
        with pytest.raises(NotFound):
            goal_service.cancel_goal(session, actor=world.tom, goal_id=g.id)
        for user in (world.rita, world.dana_user):
            with pytest.raises(Forbidden):
                goal_service.cancel_goal(session, actor=user, goal_id=g.id)


class TestCreate:
    def test_goal_on_a_session_starts_on_its_day_and_is_audited(self, session: Session, world: World) -> None:
        coaching = session_service.create_session(
            session, actor=world.mona, agent_id=world.dana.id, scheduled_at=at(4, 15)
        )
        g = goal_service.create_goal(
            session,
            actor=world.mona,
            session_id=coaching.id,
            criterion_key="tone",
            target_score="72.5",
            due_date=date(2026, 11, 30),
            today=date(2026, 11, 4),
        )
        assert (g.start_date, g.agent_id, g.session_id, g.target_score) == (
            date(2026, 11, 4),
            world.dana.id,
            coaching.id,
            72.5,
        )
        assert g.criterion_name == "Tone of voice" and g.coach_id == world.mona.id
        entry = audit_actions(session, "coaching_goal", g.id)[0]
        assert entry.action == "coaching_goal.create" and entry.after is not None
        assert entry.after["criterion_key"] == "tone"

    def test_bad_targets_and_dates(self, session: Session, world: World) -> None:
        for target in (-1, 100.01, "abc", "nan", "", True, None):
            with pytest.raises(InvalidInput) as caught:
                goal(session, world, "tone", target)  # type: ignore[arg-type]
            assert caught.value.field == "target", target
        today = date(2026, 11, 2)
        for start, due in (
            (date(2026, 11, 10), date(2026, 11, 9)),  # due before start
            (date(2026, 10, 1), date(2026, 11, 1)),  # due date already passed
            (date(2020, 1, 1), date(2026, 11, 30)),
        ):  # longer than a report may span
            with pytest.raises(InvalidInput) as caught:
                goal(session, world, "tone", 50, start=start, due=due, today=today)
            assert caught.value.field == "due_date", (start, due)
        assert goal_service.list_goals(session, actor=world.admin) == []
        assert goal(session, world, "tone", 0).target_score == 0  # the ends of the range are fine
        assert goal(session, world, "tone", 100).target_score == 100

    def test_unknown_criterion(self, session: Session, world: World) -> None:
        with pytest.raises(InvalidInput, match="Unknown criterion"):
            goal(session, world, "speed", 50)

    def test_unknown_or_foreign_agent_and_session(self, session: Session, world: World) -> None:
        for agent_id in (999_999, "x", 2**40, world.fay.id):
            with pytest.raises(NotFound):
                goal_service.create_goal(
                    session, actor=world.mona, agent_id=agent_id, target_score=50, due_date=date(2030, 1, 1)
                )
        fay_session = session_service.create_session(
            session, actor=world.tom, agent_id=world.fay.id, scheduled_at=at(4)
        )
        with pytest.raises(NotFound):
            goal_service.create_goal(
                session,
                actor=world.mona,
                session_id=fay_session.id,
                target_score=50,
                due_date=date(2030, 1, 1),
            )
        with pytest.raises(InvalidInput, match="another agent"):
            goal_service.create_goal(
                session,
                actor=world.tom,
                session_id=fay_session.id,
                agent_id=world.dana.id,
                target_score=50,
                due_date=date(2030, 1, 1),
            )

    def test_no_goal_on_a_cancelled_session(self, session: Session, world: World) -> None:
        coaching = session_service.create_session(
            session, actor=world.mona, agent_id=world.dana.id, scheduled_at=at(4)
        )
        session_service.update_session(
            session,
            actor=world.mona,
            session_id=coaching.id,
            changes=session_service.SessionChanges(status="cancelled"),
        )
        with pytest.raises(Conflict):
            goal_service.create_goal(
                session, actor=world.mona, session_id=coaching.id, target_score=50, due_date=date(2030, 1, 1)
            )

    def test_only_coaches_set_goals(self, session: Session, world: World) -> None:
        for user in (world.rita, world.sam, world.dana_user):
            with pytest.raises(Forbidden):
                goal_service.create_goal(
                    session, actor=user, agent_id=world.dana.id, target_score=50, due_date=date(2030, 1, 1)
                )


class TestVisibility:
    def test_lists_respect_who_may_see_the_agent(self, session: Session, world: World) -> None:
        dana_goal = goal(session, world, "tone", 50)
        fay_goal = goal_service.create_goal(
            session,
            actor=world.tom,
            agent_id=world.fay.id,
            target_score=50,
            due_date=date(2026, 12, 1),
            today=GOAL_START,
        )
        seen = {
            user.name: {g.id for g in goal_service.list_goals(session, actor=user)}
            for user in (
                world.admin,
                world.mona,
                world.tom,
                world.rita,
                world.sam,
                world.dana_user,
                world.fay_user,
            )
        }
        assert seen == {
            "Ada Admin": {dana_goal.id, fay_goal.id},
            "Mona Billing": {dana_goal.id},
            "Tom Tech": {fay_goal.id},
            "Rita Reed": {dana_goal.id},
            "Sam Stone": {dana_goal.id, fay_goal.id},
            "Dana Ruiz": {dana_goal.id},
            "Fay Lim": {fay_goal.id},
        }
        with pytest.raises(NotFound):
            goal_service.goal_view(session, actor=world.fay_user, goal_id=dana_goal.id)

    def test_open_and_closed_states(self, session: Session, world: World) -> None:
        done, running = (
            goal(session, world, "tone", 50),
            goal(session, world, None, 60, due=date(2026, 12, 1)),
        )
        today = date(2026, 11, 20)
        open_ids = [
            g.id for g in goal_service.list_goals(session, actor=world.mona, state="open", today=today)
        ]
        closed = [
            g.id for g in goal_service.list_goals(session, actor=world.mona, state="closed", today=today)
        ]
        assert (open_ids, closed) == ([running.id], [done.id])
        with pytest.raises(InvalidInput):
            goal_service.list_goals(session, actor=world.mona, state="soon")


class TestDueNotices:
    def test_agent_and_coach_are_told_once(self, session: Session, world: World) -> None:
        g = goal(session, world, "tone", 50)  # due 15 Nov
        assert goal_service.due_goal_notices(session, date(2026, 11, 12)) == 0  # 3 days ahead: not yet
        assert goal_service.due_goal_notices(session, date(2026, 11, 13)) == 2
        assert goal_service.due_goal_notices(session, date(2026, 11, 14)) == 0
        [to_agent] = notices(session, world.dana_user, "goal_due")
        [to_coach] = notices(session, world.mona, "goal_due")
        assert to_agent.dedupe_key == to_coach.dedupe_key == f"goal:{g.id}:due"
        assert to_agent.title == "Your goal is due on Sun 15 Nov: Tone of voice at 50 or above"
        assert to_coach.title.startswith("Dana Ruiz's goal is due on Sun 15 Nov")
        assert to_agent.body == "Average so far 53.3 over 3 reviews."  # G1, G3, G4 up to 13 Nov
        assert to_agent.link == f"/coaching/agents/{world.dana.id}"

    def test_for_one_user(self, session: Session, world: World) -> None:
        goal(session, world, None, 60)
        assert goal_service.due_goal_notices(session, date(2026, 11, 15), user=world.fay_user) == 0
        assert goal_service.due_goal_notices(session, date(2026, 11, 15), user=world.dana_user) == 1
        assert notices(session, world.mona, "goal_due") == []
        assert goal_service.due_goal_notices(session, date(2026, 11, 15)) == 1  # now the coach
        [notice] = notices(session, world.dana_user, "goal_due")
        assert notice.title.startswith("Your goal is due today")

    def test_closed_goals_are_not_announced(self, session: Session, world: World) -> None:
        g = goal(session, world, "tone", 50)
        goal_service.cancel_goal(session, actor=world.mona, goal_id=g.id, today=date(2026, 11, 9))
        assert goal_service.due_goal_notices(session, date(2026, 11, 14)) == 0
        goal(session, world, None, 60)
        assert goal_service.due_goal_notices(session, date(2026, 11, 16)) == 0  # past due: settled, not due


def test_the_scheduler_tick_settles_and_announces(committed_db: str) -> None:
    """The tick (qa.assignments.scheduler) runs the goals' part in its own transaction."""
    engine = make_engine(committed_db)
    try:
        with session_scope(engine) as session:
            team = make_team(session)
            agent = make_agent(session, team=team)
            coach = make_user(session, role="manager")
            agent_user = make_user(session, role="agent", agent=agent)
            today = date(2026, 11, 23)
            past = CoachingGoal(
                agent_id=agent.id,
                coach_id=coach.id,
                target_score=50,
                start_date=today - timedelta(9),
                due_date=today - timedelta(1),
            )
            soon = CoachingGoal(
                agent_id=agent.id,
                coach_id=coach.id,
                target_score=50,
                start_date=today,
                due_date=today + timedelta(1),
            )
            session.add_all([past, soon])
        result = scheduler.tick(engine, now=at(23, 6))
        assert result.failed == []
        with session_scope(engine) as session:
            assert session.get(CoachingGoal, past.id).status is GoalStatus.missed  # type: ignore[union-attr]
            assert session.get(CoachingGoal, soon.id).status is GoalStatus.open  # type: ignore[union-attr]
            assert len(notices(session, agent_user, "goal_due")) == 1
            assert len(notices(session, coach, "goal_due")) == 1
        scheduler.tick(engine, now=at(23, 7))
        with session_scope(engine) as session:
            assert len(notices(session, agent_user, "goal_due")) == 1
    finally:
        engine.dispose()
