"""The settings page: admins only (others 403), hiding reviewer names, dispute resolvers; all audited."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from qa import org_settings
from qa.models import AuditLog, Team, User, UserTeam
from tests.conftest import login_as
from tests.factories import make_team, make_user


@dataclass
class Org:
    billing: Team
    tech: Team
    admin: User
    manager: User
    reviewer: User
    roaming: User  # a reviewer linked to no team
    agent: User


@pytest.fixture
def org(session: Session) -> Org:
    billing, tech = make_team(session, name="Billing"), make_team(session, name="Tech")
    return Org(
        billing=billing,
        tech=tech,
        admin=make_user(session, role="admin"),
        manager=make_user(session, role="manager", teams=[billing], name="Mona Manager"),
        reviewer=make_user(session, role="reviewer", teams=[billing], name="Rita Reviewer"),
        roaming=make_user(session, role="reviewer", name="Sam Roaming"),
        agent=make_user(session, role="agent"),
    )


def link(session: Session, user: User, team: Team) -> UserTeam | None:
    return session.get(UserTeam, (user.id, team.id))


def actions(session: Session) -> list[AuditLog]:
    return list(session.exec(select(AuditLog).order_by(col(AuditLog.id))))


class TestAccess:
    def test_only_admins(self, client: TestClient, org: Org) -> None:
        assert client.get("/settings", follow_redirects=False).status_code == 303  # to the login page
        for user in (org.manager, org.reviewer, org.agent):
            login_as(client, user)
            assert client.get("/settings").status_code == 403
            assert client.post("/settings/privacy", data={"hide_reviewer_names": "1"}).status_code == 403
            assert (
                client.post(
                    f"/settings/teams/{org.billing.id}/resolvers", data={"resolvers": str(org.manager.id)}
                ).status_code
                == 403
            )
        login_as(client, org.admin)
        page = BeautifulSoup(client.get("/settings").text, "html.parser")
        assert page.select_one("#set-hide_reviewer_names") is not None
        assert [f.select_one("h3").text for f in page.select("form.resolver-team")] == ["Billing", "Tech"]  # type: ignore[union-attr]

    def test_csrf_is_required(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        client.headers.pop("X-CSRF-Token")
        assert client.post("/settings/privacy", data={"hide_reviewer_names": "1"}).status_code == 403


class TestPrivacy:
    def test_toggle_hide_reviewer_names_is_audited(
        self, client: TestClient, session: Session, org: Org
    ) -> None:
        login_as(client, org.admin)
        response = client.post("/settings/privacy", data={"hide_reviewer_names": "1"}, follow_redirects=False)
        assert response.status_code == 303
        assert org_settings.get(session, org_settings.HIDE_REVIEWER_NAMES) is True
        entry = actions(session)[-1]
        assert (entry.action, entry.actor_id, entry.before, entry.after) == (
            "setting.update",
            org.admin.id,
            {"hide_reviewer_names": False},
            {"hide_reviewer_names": True},
        )
        page = BeautifulSoup(client.get("/settings").text, "html.parser")
        assert page.select_one("#set-hide_reviewer_names").has_attr("checked")  # type: ignore[union-attr]
        assert "Hide reviewer names from agents: on" in page.select_one(".alert-ok").text  # type: ignore[union-attr]
        client.post("/settings/privacy", data={})  # an unticked box sends nothing
        assert org_settings.get(session, org_settings.HIDE_REVIEWER_NAMES) is False
        count = len(actions(session))
        client.post("/settings/privacy", data={})
        assert len(actions(session)) == count  # nothing changed, nothing audited


class TestResolvers:
    def test_tick_a_linked_user(self, client: TestClient, session: Session, org: Org) -> None:
        login_as(client, org.admin)
        response = client.post(
            f"/settings/teams/{org.billing.id}/resolvers",
            data={"resolvers": str(org.reviewer.id)},
            follow_redirects=False,
        )
        assert response.status_code == 303 and response.headers["location"].endswith(
            f"#team-{org.billing.id}"
        )
        assert link(session, org.reviewer, org.billing).resolves_disputes is True  # type: ignore[union-attr]
        assert link(session, org.manager, org.billing).resolves_disputes is False  # type: ignore[union-attr]
        entry = actions(session)[-1]
        assert (entry.action, entry.entity, entry.entity_id) == ("user_team.update", "user", org.reviewer.id)
        assert entry.after == {"team_id": org.billing.id, "resolves_disputes": True}
        client.post(f"/settings/teams/{org.billing.id}/resolvers", data={})  # untick everyone
        assert link(session, org.reviewer, org.billing).resolves_disputes is False  # type: ignore[union-attr]
        assert link(session, org.reviewer, org.billing) is not None  # the link (their scope) stays

    def test_adding_someone_links_them(self, client: TestClient, session: Session, org: Org) -> None:
        login_as(client, org.admin)
        page = BeautifulSoup(client.get("/settings").text, "html.parser")
        candidates = [o.text for o in page.select(f"#team-{org.tech.id} select[name=add_user] option")]
        assert candidates == [
            "—",
            "Mona Manager (manager)",
            "Rita Reviewer (reviewer)",
            "Sam Roaming (reviewer)",
        ]
        client.post(f"/settings/teams/{org.tech.id}/resolvers", data={"add_user": str(org.roaming.id)})
        added = link(session, org.roaming, org.tech)
        assert added is not None and added.resolves_disputes is True
        assert [e.action for e in actions(session)[-1:]] == ["user_team.create"]

    def test_bad_input(self, client: TestClient, session: Session, org: Org) -> None:
        login_as(client, org.admin)
        url = f"/settings/teams/{org.billing.id}/resolvers"
        for data, text in (
            ({"add_user": str(org.agent.id)}, "pick a manager or a reviewer"),
            ({"add_user": "999999"}, "not found"),
            ({"add_user": "abc"}, "is not a user id"),
            ({"resolvers": str(org.roaming.id)}, "is not linked to Billing"),
        ):
            response = client.post(url, data=data)
            assert response.status_code == 422, data
            error = BeautifulSoup(response.text, "html.parser").select_one(
                f"#team-{org.billing.id} .field-error"
            )
            assert error is not None and text in error.text, data
        assert link(session, org.agent, org.billing) is None
        assert [e for e in actions(session) if e.action.startswith("user_team")] == []
        for bad in ("999999", "abc", str(2**40)):
            assert client.post(f"/settings/teams/{bad}/resolvers", data={}).status_code == 404
