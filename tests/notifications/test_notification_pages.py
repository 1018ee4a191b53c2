"""The bell, the notifications page and /api/v1/notifications: counts, marking read, other users' ids,
links that stay inside the app, paging, and "goal due" notices written once when the page loads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from qa.coaching import goals as goal_service
from qa.models import CoachingGoal, Notification, User
from qa.notifications import service as notification_service
from tests.conftest import login_as
from tests.factories import bearer, make_agent, make_team, make_user

HX = {"HX-Request": "true"}


@pytest.fixture
def me(session: Session) -> User:
    return make_user(
        session, role="agent", agent=make_agent(session, team=make_team(session), name="Dana Ruiz")
    )


@pytest.fixture
def other(session: Session) -> User:
    return make_user(session, role="agent")


def notify(
    session: Session, user: User, title: str, link: str = "/feedback", kind: str = "review"
) -> Notification:
    notification_service.notify(session, [user.id], kind=kind, title=title, link=link)
    return session.exec(
        select(Notification).where(Notification.user_id == user.id).order_by(col(Notification.id).desc())
    ).first()  # type: ignore[return-value]


def unread(session: Session, user: User) -> int:
    return notification_service.unread_count(session, user)


class TestBell:
    def test_shows_the_unread_count_and_keeps_polling(
        self, client: TestClient, session: Session, me: User, other: User
    ) -> None:
        notify(session, me, "One")
        notify(session, me, "Two")
        notify(session, other, "Not mine")
        login_as(client, me)
        response = client.get("/notifications/bell", headers=HX)
        assert response.status_code == 200 and "<html" not in response.text
        bell = BeautifulSoup(response.text, "html.parser").select_one("a.bell")
        assert bell is not None and bell.select_one(".bell-count").text == "2"  # type: ignore[union-attr]
        assert bell["hx-get"].endswith("/notifications/bell") and bell["hx-trigger"] == "every 60s"
        assert bell["hx-swap"] == "outerHTML" and bell["aria-label"] == "Notifications, 2 unread"
        notification_service.mark_read(session, me)
        bell = BeautifulSoup(client.get("/notifications/bell").text, "html.parser").select_one("a.bell")
        assert bell is not None and bell.select_one(".bell-count") is None

    def test_logged_out(self, client: TestClient) -> None:
        response = client.get("/notifications/bell", headers=HX)
        assert response.status_code == 204 and "/login" in response.headers["HX-Redirect"]


class TestPage:
    def test_lists_newest_first_with_unread_highlighted(
        self, client: TestClient, session: Session, me: User, other: User
    ) -> None:
        old = notify(session, me, "Older")
        notify(session, me, "Newer", kind="session", link="/coaching/sessions/1")
        notify(session, other, "Someone else's")
        notification_service.mark_read(session, me, [old.id or 0])
        login_as(client, me)
        page = BeautifulSoup(client.get("/notifications").text, "html.parser")
        items = page.select("li.note")
        assert [i.select_one(".note-title").text.strip() for i in items] == ["Newer", "Older"]  # type: ignore[union-attr]
        assert ["is-unread" in i["class"] for i in items] == [True, False]
        assert items[0].select_one(".note-kind").text == "Coaching session"  # type: ignore[union-attr]
        assert "Someone else's" not in page.text

    def test_mark_one_read_in_place(
        self, client: TestClient, session: Session, me: User, other: User
    ) -> None:
        first, second = notify(session, me, "First"), notify(session, me, "Second")
        theirs = notify(session, other, "Theirs")
        login_as(client, me)
        response = client.post(
            f"/notifications/{first.id}/read", headers={**HX, "HX-Target": f"note-{first.id}"}
        )
        assert response.status_code == 200
        html = BeautifulSoup(response.text, "html.parser")
        assert "is-unread" not in html.select_one(f"#note-{first.id}")["class"]  # type: ignore[index]
        bell = html.select_one("a.bell")
        assert bell is not None and bell["hx-swap-oob"] == "outerHTML:.bell"
        assert bell.select_one(".bell-count").text == "1"  # type: ignore[union-attr]
        assert client.post(f"/notifications/{theirs.id}/read").status_code == 404
        assert client.post("/notifications/abc/read").status_code == 404
        assert unread(session, other) == 1 and unread(session, me) == 1
        assert client.post(f"/notifications/{second.id}/read", follow_redirects=False).status_code == 303
        assert unread(session, me) == 0

    def test_mark_all_read(self, client: TestClient, session: Session, me: User, other: User) -> None:
        for n in range(3):
            notify(session, me, f"N{n}")
        notify(session, other, "Theirs")
        login_as(client, me)
        response = client.post("/notifications/read-all", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].endswith("/notifications")
        assert (unread(session, me), unread(session, other)) == (0, 1)

    def test_open_marks_read_and_goes_to_the_object(
        self, client: TestClient, session: Session, me: User, other: User
    ) -> None:
        inside = notify(session, me, "A review", link="/reviews/42")
        outside = notify(session, me, "Phishy", link="https://evil.example/steal")
        protocol = notify(session, me, "Sneaky", link="//evil.example/x")
        login_as(client, me)
        response = client.post(f"/notifications/{inside.id}/open", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/reviews/42"
        for bad in (outside, protocol):
            response = client.post(f"/notifications/{bad.id}/open", follow_redirects=False)
            assert response.headers["location"].endswith("/notifications")
        assert unread(session, me) == 0
        theirs = notify(session, other, "Theirs", link="/reviews/1")
        assert client.post(f"/notifications/{theirs.id}/open").status_code == 404
        page = BeautifulSoup(client.get("/notifications").text, "html.parser")
        assert page.select(f"#note-{outside.id} form[action$='/open']") == []  # no button for an outside link

    def test_pages_of_thirty(self, client: TestClient, session: Session, me: User) -> None:
        for n in range(35):
            notify(session, me, f"N{n:02d}")
        login_as(client, me)
        page = BeautifulSoup(client.get("/notifications").text, "html.parser")
        titles = [t.text.strip() for t in page.select(".note-title")]
        assert len(titles) == 30 and titles[0] == "N34" and titles[-1] == "N05"
        older = page.find("a", string="Older →")
        assert older is not None
        rest = BeautifulSoup(client.get(older["href"]).text, "html.parser")
        assert [t.text.strip() for t in rest.select(".note-title")] == ["N04", "N03", "N02", "N01", "N00"]
        assert rest.find("a", string="Older →") is None
        assert client.get("/notifications?before=abc").status_code == 422


class TestGoalDue:
    def test_the_page_and_bell_write_the_notice_once(
        self, client: TestClient, session: Session, me: User
    ) -> None:
        coach = make_user(session, role="manager", name="Mona Coach")
        today = goal_service.today_utc()
        goal = CoachingGoal(
            agent_id=me.agent_id or 0,
            coach_id=coach.id or 0,
            target_score=80,
            start_date=today,
            due_date=today + timedelta(days=2),
        )
        later = CoachingGoal(
            agent_id=me.agent_id or 0,
            coach_id=coach.id or 0,
            target_score=80,
            start_date=today,
            due_date=today + timedelta(days=3),
        )
        session.add_all([goal, later])
        session.flush()
        login_as(client, me)
        bell = BeautifulSoup(client.get("/notifications/bell").text, "html.parser")
        assert bell.select_one(".bell-count").text == "1"  # type: ignore[union-attr]
        client.get("/notifications")
        client.get("/notifications/bell")
        mine = session.exec(select(Notification).where(Notification.user_id == me.id)).all()
        assert [(n.kind, n.dedupe_key) for n in mine] == [("goal_due", f"goal:{goal.id}:due")]
        assert mine[0].link == f"/coaching/agents/{me.agent_id}"
        # the coach gets theirs when they load a page (or at the scheduler's next tick)
        assert session.exec(select(Notification).where(Notification.user_id == coach.id)).all() == []
        login_as(client, coach)
        assert (
            "Dana Ruiz's goal is due" in BeautifulSoup(client.get("/notifications").text, "html.parser").text
        )


class TestApi:
    def test_list_and_read(self, api: TestClient, session: Session, me: User, other: User) -> None:
        ids = [notify(session, me, f"N{n}").id for n in range(3)]
        theirs = notify(session, other, "Theirs")
        headers = bearer(session, me)
        listed = api.get("/api/v1/notifications?limit=2", headers=headers).json()
        assert [i["title"] for i in listed["items"]] == ["N2", "N1"] and listed["unread"] == 3
        assert listed["next"] == ids[1]
        older = api.get(f"/api/v1/notifications?before={listed['next']}", headers=headers).json()
        assert [i["title"] for i in older["items"]] == ["N0"] and older["next"] is None
        marked = api.post(
            "/api/v1/notifications/read", json={"ids": [ids[0], theirs.id, 2**40]}, headers=headers
        )
        assert marked.json() == {"marked": 1, "unread": 2}
        assert unread(session, other) == 1
        assert api.post("/api/v1/notifications/read", json={"all": True}, headers=headers).json() == {
            "marked": 2,
            "unread": 0,
        }
        for bad in ({}, {"ids": "all"}, {"ids": ["x"]}, {"everything": True}):
            assert api.post("/api/v1/notifications/read", json=bad, headers=headers).status_code == 422, bad
        assert api.get("/api/v1/notifications?before=abc", headers=headers).status_code == 422
        assert api.get("/api/v1/notifications").status_code == 401
