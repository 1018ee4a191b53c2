"""Coaching sessions through the service: scheduling, editing, status, links, focus, notices, readers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from qa.coaching import pins as pin_service
from qa.coaching import sessions as session_service
from qa.coaching.sessions import SessionChanges, SessionFilters
from qa.errors import Conflict, Forbidden, InvalidInput, NotFound
from qa.models import CoachingSessionReview, CoachingStatus, Pin, User
from tests.coaching.session_helpers import World, at, audit_actions, build, notices


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


def schedule(session: Session, world: World, **overrides: object) -> int:
    values: dict[str, object] = {
        "agent_id": world.dana.id,
        "scheduled_at": at(20, 9),
        "duration_minutes": 45,
        "title": "Weekly 1:1",
        "review_ids": [world.reviews["G1"].id, world.reviews["G3"].id],
        "focus_criteria": ["tone", "accuracy"],
        "notes": "Shared words",
        "private_notes": "Coach only",
    }
    values.update(overrides)
    actor = values.pop("actor", world.mona)
    row = session_service.create_session(session, actor=actor, **values)  # type: ignore[arg-type]
    return row.id or 0


class TestCreate:
    def test_stores_links_focus_and_notes(self, session: Session, world: World) -> None:
        sid = schedule(session, world)
        view = session_service.session_view(session, actor=world.mona, session_id=sid)
        assert (view.title, view.duration_minutes, view.status) == (
            "Weekly 1:1",
            45,
            CoachingStatus.scheduled,
        )
        assert view.scheduled_at == at(20, 9) and view.coach_name == "Mona Billing"
        assert [(c.id, c.name) for c in view.focus] == [
            ("accuracy", "Correct solution"),
            ("tone", "Tone of voice"),
        ]
        assert [r.id for r in view.reviews] == [
            world.reviews["G3"].id,
            world.reviews["G1"].id,
        ]  # newest first
        assert [r.score for r in view.reviews] == [pytest.approx(520 / 6), 37.5]
        assert (view.notes, view.private_notes) == ("Shared words", "Coach only")

    def test_is_audited_and_the_agent_is_notified(self, session: Session, world: World) -> None:
        sid = schedule(session, world)
        [entry] = audit_actions(session, "coaching_session", sid)
        assert entry.action == "coaching_session.create" and entry.actor_id == world.mona.id
        assert entry.after is not None and entry.after["title"] == "Weekly 1:1"
        assert sorted(entry.after["review_ids"]) == sorted([world.reviews["G1"].id, world.reviews["G3"].id])
        [notice] = notices(session, world.dana_user, "session")
        assert notice.title == "Coaching session scheduled: Weekly 1:1, Fri 20 Nov 2026, 09:00 UTC"
        assert notice.link == f"/coaching/sessions/{sid}"
        assert notices(session, world.mona, "session") == []

    def test_defaults(self, session: Session, world: World) -> None:
        row = session_service.create_session(
            session, actor=world.admin, agent_id=world.fay.id, scheduled_at=datetime(2026, 11, 20, 9, 0)
        )  # naive: UTC
        assert (row.title, row.duration_minutes, row.scheduled_at) == ("Coaching session", 30, at(20, 9))
        assert row.focus_criteria == [] and row.coach_id == world.admin.id

    def test_bad_input(self, session: Session, world: World) -> None:
        cases: list[tuple[dict[str, object], str]] = [
            ({"duration_minutes": 0}, "duration_minutes"),
            ({"duration_minutes": 481}, "duration_minutes"),
            ({"duration_minutes": "half an hour"}, "duration_minutes"),
            ({"scheduled_at": datetime(1900, 1, 1, tzinfo=UTC)}, "scheduled_at"),
            ({"title": "x" * 201}, "title"),
            ({"notes": "x" * 10_001}, "notes"),
            ({"private_notes": "x" * 10_001}, "private_notes"),
            ({"focus_criteria": ["tone", "speed"]}, "focus_criteria"),
            ({"review_ids": ["abc"]}, "review_ids"),
            ({"review_ids": [2**40]}, "review_ids"),
            ({"review_ids": [999_999]}, "review_ids"),
        ]
        for overrides, field in cases:
            with pytest.raises(InvalidInput) as caught:
                schedule(session, world, **overrides)
            assert caught.value.field == field, overrides
        for name in ("E1", "CAL", "DRAFT"):  # only the agent's counted reviews can be linked
            with pytest.raises(InvalidInput, match="not a submitted review of Dana Ruiz"):
                schedule(session, world, review_ids=[world.reviews[name].id])
        assert session_service.list_sessions(session, actor=world.admin, filters=SessionFilters()).rows == []

    def test_who_may_schedule(self, session: Session, world: World) -> None:
        for user in (world.rita, world.sam, world.dana_user):
            with pytest.raises(Forbidden):
                schedule(session, world, actor=user)
        for agent_id in (world.fay.id, 999_999, "abc"):
            with pytest.raises(NotFound):
                schedule(session, world, agent_id=agent_id, review_ids=[])
        assert schedule(session, world, actor=world.admin)

    def test_dates_parse_from_forms(self) -> None:
        assert session_service.parse_when("2026-11-20T09:30") == at(20, 9, 30)
        assert session_service.parse_when("2026-11-20 11:30+02:00") == at(20, 9, 30)
        for bad in ("", "tomorrow", "2026-13-01T10:00", "0001-01-01T00:00"):
            with pytest.raises(InvalidInput):
                session_service.parse_when(bad)


class TestUpdate:
    def test_moving_notifies_again_and_is_audited(self, session: Session, world: World) -> None:
        sid = schedule(session, world)
        session_service.update_session(
            session,
            actor=world.mona,
            session_id=sid,
            changes=SessionChanges(scheduled_at=at(21, 14), title="Moved 1:1"),
        )
        titles = [n.title for n in notices(session, world.dana_user, "session")]
        assert titles[-1] == "Coaching session moved: Moved 1:1, now Sat 21 Nov 2026, 14:00 UTC"
        entry = audit_actions(session, "coaching_session", sid)[-1]
        assert entry.action == "coaching_session.update"
        assert entry.before == {"title": "Weekly 1:1", "scheduled_at": at(20, 9).isoformat()}
        assert entry.after == {"title": "Moved 1:1", "scheduled_at": at(21, 14).isoformat()}

    def test_no_change_no_audit(self, session: Session, world: World) -> None:
        sid = schedule(session, world)
        session_service.update_session(
            session,
            actor=world.mona,
            session_id=sid,
            changes=SessionChanges(title="Weekly 1:1", notes="Shared words"),
        )
        assert len(audit_actions(session, "coaching_session", sid)) == 1

    def test_status_goes_one_way(self, session: Session, world: World) -> None:
        sid = schedule(session, world)
        session_service.update_session(
            session, actor=world.mona, session_id=sid, changes=SessionChanges(status="completed")
        )
        for changes in (
            SessionChanges(status="cancelled"),
            SessionChanges(status="scheduled"),
            SessionChanges(scheduled_at=at(25)),
            SessionChanges(duration_minutes=60),
        ):
            with pytest.raises(Conflict):
                session_service.update_session(session, actor=world.mona, session_id=sid, changes=changes)
        # notes stay editable after the session
        session_service.update_session(
            session, actor=world.mona, session_id=sid, changes=SessionChanges(notes="What we agreed")
        )
        with pytest.raises(InvalidInput):
            session_service.update_session(
                session, actor=world.mona, session_id=sid, changes=SessionChanges(status="done")
            )

    def test_cancelling_tells_the_agent(self, session: Session, world: World) -> None:
        sid = schedule(session, world)
        session_service.update_session(
            session, actor=world.mona, session_id=sid, changes=SessionChanges(status="cancelled")
        )
        assert notices(session, world.dana_user, "session")[-1].title.startswith("Coaching session cancelled")

    def test_relinking_reviews_replaces_the_links(self, session: Session, world: World) -> None:
        sid = schedule(session, world)
        session_service.update_session(
            session,
            actor=world.mona,
            session_id=sid,
            changes=SessionChanges(
                review_ids=[world.reviews["G4"].id, world.reviews["G1"].id], focus_criteria=[]
            ),
        )
        links = set(
            session.exec(
                select(CoachingSessionReview.review_id).where(CoachingSessionReview.session_id == sid)
            )
        )
        assert links == {world.reviews["G4"].id, world.reviews["G1"].id}
        entry = audit_actions(session, "coaching_session", sid)[-1]
        assert entry.after is not None and entry.after["focus_criteria"] == []

    def test_other_coaches_and_non_coaches(self, session: Session, world: World) -> None:
        sid = schedule(session, world)
        with pytest.raises(NotFound):
            session_service.update_session(
                session, actor=world.tom, session_id=sid, changes=SessionChanges(title="x")
            )
        for user in (world.rita, world.dana_user):
            with pytest.raises(Forbidden):
                session_service.update_session(
                    session, actor=user, session_id=sid, changes=SessionChanges(title="x")
                )
        session_service.update_session(
            session, actor=world.admin, session_id=sid, changes=SessionChanges(title="x")
        )


class TestPins:
    def test_pins_linked_to_a_session_are_discussed(self, session: Session, world: World) -> None:
        pin = pin_service.create_pin(
            session, actor=world.sam, review_id=world.reviews["G1"].id, kind="review", note="Bring this up"
        )
        sid = schedule(session, world, pin_ids=[pin.id])
        assert session.get(Pin, pin.id).session_id == sid  # type: ignore[union-attr]
        eli_pin = pin_service.create_pin(
            session, actor=world.sam, review_id=world.reviews["E1"].id, kind="review", note="Eli's"
        )
        with pytest.raises(InvalidInput):
            schedule(session, world, pin_ids=[eli_pin.id])


class TestReading:
    def test_who_reads_a_session(self, session: Session, world: World) -> None:
        sid = schedule(session, world)
        for user in (world.admin, world.mona, world.rita, world.sam, world.dana_user):
            view = session_service.session_view(session, actor=user, session_id=sid)
            assert view.notes == "Shared words"
            assert (view.private_notes is not None) == (user.id in (world.admin.id, world.mona.id))
            assert view.can_edit == (user.id in (world.admin.id, world.mona.id))
        for user in (world.tom, world.fay_user):
            with pytest.raises(NotFound):
                session_service.session_view(session, actor=user, session_id=sid)
        for bad in (999_999, "abc", 2**40, -1):
            with pytest.raises(NotFound):
                session_service.session_view(session, actor=world.admin, session_id=bad)

    def test_agents_see_reviewer_names_as_the_setting_says(self, session: Session, world: World) -> None:
        from qa import org_settings

        sid = schedule(session, world)
        assert {
            r.reviewer
            for r in session_service.session_view(session, actor=world.dana_user, session_id=sid).reviews
        } == {"Sam Stone"}
        org_settings.put(session, actor=world.admin, key=org_settings.HIDE_REVIEWER_NAMES, value=True)
        assert {
            r.reviewer
            for r in session_service.session_view(session, actor=world.dana_user, session_id=sid).reviews
        } == {"QA team"}
        assert {
            r.reviewer
            for r in session_service.session_view(session, actor=world.mona, session_id=sid).reviews
        } == {"Sam Stone"}

    def test_lists_filter_and_sort(self, session: Session, world: World) -> None:
        now = at(15, 12)
        past_done = schedule(session, world, scheduled_at=at(10, 9), review_ids=[])
        soon = schedule(session, world, scheduled_at=at(16, 9), review_ids=[])
        later = schedule(session, world, scheduled_at=at(30, 9), review_ids=[])
        fay = schedule(
            session, world, actor=world.tom, agent_id=world.fay.id, scheduled_at=at(17), review_ids=[]
        )
        session_service.update_session(
            session, actor=world.mona, session_id=past_done, changes=SessionChanges(status="completed")
        )

        def ids(user: User, **filters: object) -> list[int]:
            page = session_service.list_sessions(
                session, actor=user, filters=SessionFilters(**filters), now=now
            )
            return [r.id for r in page.rows]

        assert ids(world.admin) == [later, fay, soon, past_done]
        assert ids(world.admin, when="upcoming") == [soon, fay, later]
        assert ids(world.admin, when="past") == [past_done]
        assert ids(world.admin, status="completed") == [past_done]
        assert ids(world.admin, coach_id=world.tom.id) == [fay]
        assert ids(world.admin, agent_id=world.dana.id, when="upcoming") == [soon, later]
        assert ids(world.mona) == ids(world.rita) == ids(world.dana_user) == [later, soon, past_done]
        assert ids(world.fay_user) == ids(world.tom) == [fay]
        assert ids(world.fay_user, agent_id=world.dana.id) == []
        for bad in ({"status": "later"}, {"when": "soon"}, {"agent_id": 2**40}):
            with pytest.raises(InvalidInput):
                ids(world.admin, **bad)

    def test_keyset_pages(self, session: Session, world: World) -> None:
        made = [
            schedule(session, world, scheduled_at=at(20, 9) + timedelta(days=i % 3), review_ids=[])
            for i in range(7)
        ]
        seen, cursor = [], None
        while True:
            page = session_service.list_sessions(
                session, actor=world.mona, filters=SessionFilters(), cursor=cursor, limit=3
            )
            seen += [r.id for r in page.rows]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert sorted(seen) == sorted(made) and len(seen) == 7
        with pytest.raises(InvalidInput):
            session_service.list_sessions(
                session, actor=world.mona, filters=SessionFilters(), cursor="bogus!"
            )

    def test_pickers(self, session: Session, world: World) -> None:
        choices = session_service.review_choices(session, actor=world.mona, agent_id=world.dana.id)
        assert [c.id for c in choices] == [world.reviews[n].id for n in ("A1", "G4", "G3", "G2", "G1", "P0")]
        criteria = session_service.criterion_choices(session, actor=world.mona, agent_id=world.dana.id)
        assert [(c.id, c.name) for c in criteria] == [
            ("greeting", "Greeting"),
            ("accuracy", "Correct solution"),
            ("tone", "Tone of voice"),
        ]
        with pytest.raises(NotFound):
            session_service.review_choices(session, actor=world.tom, agent_id=world.dana.id)
