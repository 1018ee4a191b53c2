"""Coaching pages over HTTP (real login, CSRF): session form and page, lists, board, summary, goals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from qa.coaching import goals as goal_service
from qa.coaching import pins as pin_service
from qa.coaching import sessions as session_service
from qa.models import CoachingGoal, CoachingSession, CoachingStatus, Pin
from tests.coaching.session_helpers import HX, World, at, audit_actions, build, notices, soup
from tests.conftest import login_as

# The pages check dates against the real today: sessions and due dates here are relative to it.
SOON = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
DUE = (SOON + timedelta(days=30)).date().isoformat()


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


def form(world: World, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "agent_id": str(world.dana.id),
        "scheduled_at": SOON.strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": "45",
        "title": "Weekly 1:1",
        "review_ids": [str(world.reviews["G1"].id), str(world.reviews["G3"].id)],
        "focus_criteria": ["tone"],
        "notes": "Shared words",
        "private_notes": "Coach only",
        "goal_criterion": "tone",
        "goal_target": "70",
        "goal_due": DUE,
    }
    values.update(overrides)
    return values


def sessions(session: Session) -> list[CoachingSession]:
    return list(session.exec(select(CoachingSession)))


def make_session(session: Session, world: World, **overrides: object) -> int:
    values: dict[str, object] = {
        "agent_id": world.dana.id,
        "scheduled_at": SOON,
        "notes": "Shared words",
        "private_notes": "Coach only",
        "review_ids": [world.reviews["G1"].id],
    }
    values.update(overrides)
    return session_service.create_session(session, actor=world.mona, **values).id or 0  # type: ignore[arg-type]


class TestScheduling:
    def test_the_form_creates_the_session_and_its_goal(
        self, client: TestClient, session: Session, world: World
    ) -> None:
        login_as(client, world.mona)
        page = soup(client.get(f"/coaching/sessions/new?agent={world.dana.id}"))
        assert page.select_one("#agent_id option[selected]")["value"] == str(world.dana.id)  # type: ignore[index]
        offered = [i["value"] for i in page.select("input[name=review_ids]")]
        assert offered == [str(world.reviews[n].id) for n in ("A1", "G4", "G3", "G2", "G1", "P0")]
        response = client.post("/coaching/sessions/new", data=form(world), follow_redirects=False)
        assert response.status_code == 303
        [row] = sessions(session)
        assert response.headers["location"].endswith(f"/coaching/sessions/{row.id}")
        assert (row.title, row.duration_minutes, row.scheduled_at, row.focus_criteria) == (
            "Weekly 1:1",
            45,
            SOON,
            ["tone"],
        )
        [goal] = session.exec(select(CoachingGoal)).all()
        assert (goal.session_id, goal.criterion_key, goal.target_score, goal.start_date) == (
            row.id,
            "tone",
            70.0,
            SOON.date(),
        )
        assert [n.kind for n in notices(session, world.dana_user)] == ["session"]
        page = soup(client.get(response.headers["location"]))
        assert "Session scheduled" in page.select_one(".alert-ok").text  # type: ignore[union-attr]
        assert page.select_one("#notes-private textarea").text == "Coach only"  # type: ignore[union-attr]
        assert [a.text for a in page.select(".linked-reviews a")] == ["Conversation G3", "Conversation G1"]

    def test_a_refused_form_keeps_the_values_and_stores_nothing(
        self, client: TestClient, session: Session, world: World
    ) -> None:
        login_as(client, world.mona)
        for overrides, text in (
            ({"scheduled_at": "next week"}, "is not a date and time"),
            ({"goal_target": "140"}, "not a target from 0 to 100"),
            ({"goal_due": "2020-01-01"}, "due date"),
            ({"goal_criterion": "speed"}, "Unknown criterion"),
            ({"duration_minutes": "0"}, "duration"),
            ({"agent_id": ""}, "Choose the agent"),
        ):
            response = client.post("/coaching/sessions/new", data=form(world, **overrides))
            assert response.status_code == 422, overrides
            page = soup(response)
            assert text in page.select_one("#form-problems").text, overrides  # type: ignore[union-attr]
            assert page.select_one("#title")["value"] == "Weekly 1:1"  # type: ignore[index]
        assert sessions(session) == [] and session.exec(select(CoachingGoal)).all() == []
        assert notices(session, world.dana_user) == []

    def test_outsiders(self, client: TestClient, session: Session, world: World) -> None:
        login_as(client, world.tom)
        assert client.get(f"/coaching/sessions/new?agent={world.dana.id}").status_code == 404
        assert client.post("/coaching/sessions/new", data=form(world)).status_code == 404
        assert client.get(f"/coaching/sessions/new/pickers?agent_id={world.dana.id}").status_code == 404
        for user in (world.rita, world.dana_user):
            login_as(client, user)
            assert client.get("/coaching/sessions/new").status_code == 403
            assert client.post("/coaching/sessions/new", data=form(world)).status_code == 403
        assert sessions(session) == []

    def test_pickers_follow_the_chosen_agent(self, client: TestClient, world: World) -> None:
        login_as(client, world.mona)
        response = client.get(f"/coaching/sessions/new/pickers?agent_id={world.dana.id}", headers=HX)
        assert response.status_code == 200 and "<html" not in response.text
        fragment = soup(response)
        assert fragment.select_one("#pickers") is not None
        assert [i["value"] for i in fragment.select("input[name=focus_criteria]")] == [
            "greeting",
            "accuracy",
            "tone",
        ]
        assert client.get("/coaching/sessions/new/pickers?agent_id=abc").status_code == 422

    def test_pins_come_along_from_the_board(self, client: TestClient, session: Session, world: World) -> None:
        pin = pin_service.create_pin(
            session,
            actor=world.sam,
            review_id=world.reviews["G4"].id,
            kind="review",
            note="The critical fail",
        )
        login_as(client, world.mona)
        board = soup(client.get(f"/coaching/agents/{world.dana.id}"))
        assert "The critical fail" in board.select_one(".board-pins").text  # type: ignore[union-attr]
        link = board.select_one("a.btn-primary")
        assert link is not None and "Schedule session" in link.text and f"pin={pin.id}" in link["href"]
        new = soup(client.get(link["href"]))
        assert new.select_one(f"input[name=pin_ids][value='{pin.id}']").has_attr("checked")  # type: ignore[union-attr]
        client.post("/coaching/sessions/new", data=form(world, pin_ids=[str(pin.id)]))
        [row] = sessions(session)
        assert session.get(Pin, pin.id).session_id == row.id  # type: ignore[union-attr]
        assert "The critical fail" in soup(client.get(f"/coaching/sessions/{row.id}")).text


class TestSessionPage:
    def test_the_agent_sees_it_without_private_notes(
        self, client: TestClient, session: Session, world: World
    ) -> None:
        sid = make_session(session, world)
        login_as(client, world.dana_user)
        response = client.get(f"/coaching/sessions/{sid}")
        assert response.status_code == 200
        assert "Coach only" not in response.text and "Private notes" not in response.text
        page = soup(response)
        assert "Shared words" in page.select_one("#notes-shared").text  # type: ignore[union-attr]
        assert page.select("#notes-shared textarea") == [] and page.select("form") == page.select(
            "header form"
        )  # no edit forms besides logging out
        assert page.select_one(".linked-reviews a")["href"].endswith(  # type: ignore[index]
            f"/reviews/{world.reviews['G1'].id}"
        )

    def test_who_may_open_it(self, client: TestClient, session: Session, world: World) -> None:
        sid = make_session(session, world)
        for user, status in (
            (world.fay_user, 404),
            (world.tom, 404),
            (world.rita, 200),
            (world.sam, 200),
            (world.admin, 200),
            (world.mona, 200),
        ):
            login_as(client, user)
            response = client.get(f"/coaching/sessions/{sid}")
            assert response.status_code == status, user.name
            assert ("Coach only" in response.text) == (user.id in (world.admin.id, world.mona.id)), user.name
        for bad in ("abc", "0", str(2**40), "999999"):
            assert client.get(f"/coaching/sessions/{bad}").status_code == 404

    def test_notes_save_in_place(self, client: TestClient, session: Session, world: World) -> None:
        sid = make_session(session, world)
        login_as(client, world.mona)
        response = client.post(
            f"/coaching/sessions/{sid}/notes",
            headers={**HX, "HX-Target": "notes-private"},
            data={"which": "private", "private_notes": "New private"},
        )
        assert response.status_code == 200 and "<html" not in response.text
        assert soup(response).select_one("#notes-private .save-state") is not None
        assert session.get(CoachingSession, sid).private_notes == "New private"  # type: ignore[union-attr]
        too_long = client.post(
            f"/coaching/sessions/{sid}/notes", headers=HX, data={"which": "shared", "notes": "x" * 10_001}
        )
        assert too_long.status_code == 422 and "under 10,000" in too_long.text
        assert session.get(CoachingSession, sid).notes == "Shared words"  # type: ignore[union-attr]
        assert [e.action for e in audit_actions(session, "coaching_session", sid)] == [
            "coaching_session.create",
            "coaching_session.update",
        ]
        login_as(client, world.rita)
        assert client.post(f"/coaching/sessions/{sid}/notes", data={"notes": "x"}).status_code == 403

    def test_complete_and_cancel(self, client: TestClient, session: Session, world: World) -> None:
        sid = make_session(session, world)
        login_as(client, world.mona)
        done = client.post(
            f"/coaching/sessions/{sid}/status", data={"status": "completed"}, follow_redirects=False
        )
        assert done.status_code == 303
        assert session.get(CoachingSession, sid).status is CoachingStatus.completed  # type: ignore[union-attr]
        assert (
            client.post(f"/coaching/sessions/{sid}/status", data={"status": "cancelled"}).status_code == 409
        )
        assert client.post(f"/coaching/sessions/{sid}/status", data={"status": "later"}).status_code == 422

    def test_edit_moves_and_relinks(self, client: TestClient, session: Session, world: World) -> None:
        sid = make_session(session, world)
        login_as(client, world.mona)
        page = soup(client.get(f"/coaching/sessions/{sid}/edit"))
        assert page.select_one("#scheduled_at")["value"] == SOON.strftime("%Y-%m-%dT%H:%M")  # type: ignore[index]
        assert page.select_one(f"input[name=review_ids][value='{world.reviews['G1'].id}']").has_attr(  # type: ignore[union-attr]
            "checked"
        )
        moved = SOON + timedelta(days=1, hours=6, minutes=30)
        data = form(
            world, scheduled_at=moved.strftime("%Y-%m-%dT%H:%M"), review_ids=[str(world.reviews["G4"].id)]
        )
        response = client.post(f"/coaching/sessions/{sid}/edit", data=data, follow_redirects=False)
        assert response.status_code == 303
        row = session.get(CoachingSession, sid)
        assert row is not None and row.scheduled_at == moved
        assert [
            r.id for r in session_service.session_view(session, actor=world.mona, session_id=sid).reviews
        ] == [world.reviews["G4"].id]
        assert notices(session, world.dana_user, "session")[-1].title.startswith("Coaching session moved")
        bad = client.post(f"/coaching/sessions/{sid}/edit", data=form(world, duration_minutes="999"))
        assert bad.status_code == 422 and session.get(CoachingSession, sid).duration_minutes == 45  # type: ignore[union-attr]


class TestGoalsOnPages:
    def test_set_and_cancel_a_goal_on_the_board(
        self, client: TestClient, session: Session, world: World
    ) -> None:
        login_as(client, world.mona)
        ok = client.post(
            f"/coaching/agents/{world.dana.id}/goals",
            headers=HX,
            data={"criterion": "__overall__", "target": "80", "due_date": DUE},
        )
        assert ok.status_code == 204 and ok.headers["HX-Redirect"].endswith(
            f"/coaching/agents/{world.dana.id}"
        )
        [goal] = session.exec(select(CoachingGoal)).all()
        assert goal.criterion_key is None and goal.session_id is None and goal.target_score == 80
        bad = client.post(
            f"/coaching/agents/{world.dana.id}/goals",
            headers=HX,
            data={"criterion": "tone", "target": "eighty", "due_date": DUE},
        )
        assert bad.status_code == 422 and soup(bad).select_one("#goal-form .field-error") is not None
        assert soup(bad).select_one("#goal-target")["value"] == "eighty"  # type: ignore[index]
        assert client.post(f"/coaching/goals/{goal.id}/cancel", headers=HX).status_code == 204
        assert session.get(CoachingGoal, goal.id).status.value == "cancelled"  # type: ignore[union-attr]
        assert client.post(f"/coaching/goals/{goal.id}/cancel").status_code == 409
        login_as(client, world.tom)
        assert (
            client.post(
                f"/coaching/agents/{world.dana.id}/goals", data={"target": "80", "due_date": DUE}
            ).status_code
            == 404
        )
        login_as(client, world.dana_user)
        assert client.post(f"/coaching/goals/{goal.id}/cancel").status_code == 403

    def test_a_goal_on_a_session_page(self, client: TestClient, session: Session, world: World) -> None:
        sid = make_session(session, world)
        login_as(client, world.mona)
        response = client.post(
            f"/coaching/sessions/{sid}/goals",
            data={"criterion": "accuracy", "target": "75", "due_date": DUE},
            follow_redirects=False,
        )
        assert response.status_code == 303
        [goal] = session.exec(select(CoachingGoal)).all()
        assert (goal.session_id, goal.start_date) == (sid, SOON.date())
        login_as(client, world.dana_user)
        page = soup(client.get(f"/coaching/sessions/{sid}"))
        assert "Correct solution" in page.select_one(".goal-list").text  # type: ignore[union-attr]
        assert page.select("#goal-form") == [] and page.select(".goal-cancel") == []


class TestBoardAndLists:
    def test_the_agents_board(self, client: TestClient, session: Session, world: World) -> None:
        make_session(session, world, title="Later 1:1")
        pin_service.create_pin(
            session, actor=world.sam, review_id=world.reviews["G4"].id, kind="review", note="Secret prep note"
        )
        goal_service.create_goal(
            session,
            actor=world.mona,
            agent_id=world.dana.id,
            criterion_key="tone",
            target_score=50,
            start_date=date(2026, 11, 2),
            due_date=date(2027, 1, 1),
            today=date(2026, 11, 2),
        )
        login_as(client, world.dana_user)
        assert (
            client.get("/coaching", follow_redirects=False)
            .headers["location"]
            .endswith(f"/coaching/agents/{world.dana.id}")
        )
        response = client.get(f"/coaching/agents/{world.dana.id}")
        assert response.status_code == 200 and "Secret prep note" not in response.text
        page = soup(response)
        assert page.h1.text.strip() == "My coaching"  # type: ignore[union-attr]
        assert "Later 1:1" in response.text and "Tone of voice" in page.select_one(".goal-list").text  # type: ignore[union-attr]
        assert page.select("#goal-form") == [] and "Schedule session" not in response.text
        assert client.get(f"/coaching/agents/{world.fay.id}").status_code == 404
        assert client.get(f"/coaching/agents/{world.fay.id}/summary").status_code == 404

    def test_outsiders_get_404(self, client: TestClient, world: World) -> None:
        for user, agent in ((world.tom, world.dana), (world.fay_user, world.dana), (world.rita, world.fay)):
            login_as(client, user)
            assert client.get(f"/coaching/agents/{agent.id}").status_code == 404
        assert client.get("/coaching/agents/abc").status_code == 404

    def test_the_summary_fragment(self, client: TestClient, session: Session, world: World) -> None:
        make_session(session, world, title="Next one")
        make_session(session, world, scheduled_at=at(1, 9), title="Last one")
        pin_service.create_pin(
            session, actor=world.sam, review_id=world.reviews["G4"].id, kind="review", note="n"
        )
        login_as(client, world.mona)
        response = client.get(f"/coaching/agents/{world.dana.id}/summary", headers=HX)
        assert response.status_code == 200 and "<html" not in response.text
        text = soup(response).text
        assert "Next one" in text and "Last one" in text and "1 open pin" in text
        login_as(client, world.dana_user)
        text = soup(client.get(f"/coaching/agents/{world.dana.id}/summary", headers=HX)).text
        assert "Next one" in text and "open pin" not in text

    def test_the_session_list(self, client: TestClient, session: Session, world: World) -> None:
        make_session(session, world, title="Dana's")
        session_service.create_session(
            session, actor=world.tom, agent_id=world.fay.id, scheduled_at=at(21), title="Fay's"
        )
        login_as(client, world.mona)
        titles = [
            a.text for a in soup(client.get("/coaching/sessions")).select("#session-rows a[data-primary]")
        ]
        assert titles == ["Dana's"]
        login_as(client, world.admin)
        page = soup(client.get(f"/coaching/sessions?coach={world.tom.id}&when=&status=scheduled"))
        assert [a.text for a in page.select("#session-rows a[data-primary]")] == ["Fay's"]
        assert client.get("/coaching/sessions?when=someday").status_code == 422
        assert client.get("/coaching/sessions?agent=abc").status_code == 422
        assert client.get("/coaching/sessions?cursor=abc").status_code == 422
        login_as(client, world.fay_user)
        page = soup(client.get(f"/coaching/sessions?agent={world.dana.id}"))
        assert page.select("#session-rows a[data-primary]") == [] and page.select("form.filters") == []
