"""Creating users (what `qa users create` calls): validation, argon2id hashes, agent links, audit."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from qa.auth import service as auth_service
from qa.auth.passwords import hash_password, verify_password
from qa.errors import Conflict, InvalidInput
from qa.models import Agent, AuditLog, Role, Team, User, UserTeam
from tests.factories import make_agent, make_user

PASSWORD = "s3cret-enough"


def create(session: Session, email: str = "new.user@example.com", **overrides: object) -> User:
    values: dict[str, object] = {"actor": None, "email": email, "role": "reviewer", "password": PASSWORD}
    values.update(overrides)
    return auth_service.create_user(session, **values)  # type: ignore[arg-type]


def agent_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Agent)).one()


class TestPasswords:
    def test_stored_as_argon2id_never_plaintext(self, session: Session) -> None:
        user = create(session)
        session.expire_all()
        stored = session.exec(select(User.password_hash).where(User.id == user.id)).one()
        assert stored.startswith("$argon2id$")
        assert PASSWORD not in stored
        assert verify_password(stored, PASSWORD)
        assert not verify_password(stored, PASSWORD + "x")

    def test_hashes_are_salted(self) -> None:
        assert hash_password(PASSWORD) != hash_password(PASSWORD)

    @pytest.mark.parametrize("stored", [None, "", "plaintext", "$argon2id$broken"])
    def test_verify_never_raises_on_a_bad_hash(self, stored: str | None) -> None:
        assert verify_password(stored, "anything") is False


class TestValidation:
    @pytest.mark.parametrize("email", ["", "not-an-email", "a@b", "two words@example.com", "a@@example.com",
                                       "x" * 320 + "@example.com"])
    def test_bad_email(self, session: Session, email: str) -> None:
        with pytest.raises(InvalidInput) as exc:
            create(session, email=email)
        assert exc.value.field == "email"

    def test_short_password(self, session: Session) -> None:
        with pytest.raises(InvalidInput) as exc:
            create(session, password="short")
        assert exc.value.field == "password"
        assert "8 characters" in exc.value.message

    def test_unknown_role(self, session: Session) -> None:
        with pytest.raises(InvalidInput) as exc:
            create(session, role="superuser")
        assert exc.value.field == "role"

    def test_duplicate_email_is_a_conflict_whatever_the_case(self, session: Session) -> None:
        create(session, email="dup@example.com")
        with pytest.raises(Conflict):
            create(session, email="  DUP@Example.com ")

    def test_email_is_stored_normalised(self, session: Session) -> None:
        assert create(session, email=" Mixed.Case@Example.COM ").email == "mixed.case@example.com"

    def test_name_defaults_to_the_local_part(self, session: Session) -> None:
        assert create(session, email="jane.doe@example.com").name == "jane.doe"
        assert create(session, email="x@example.com", name="  Xavier  ").name == "Xavier"

    def test_only_agents_link_to_an_agent(self, session: Session) -> None:
        with pytest.raises(InvalidInput) as exc:
            create(session, role="reviewer", agent_external_id="zd-1")
        assert exc.value.field == "agent_external_id"


class TestAgentLink:
    def test_links_an_existing_agent(self, session: Session) -> None:
        agent = make_agent(session, external_id="zd-4242")
        before = agent_count(session)
        user = create(session, role="agent", agent_external_id="zd-4242")
        assert user.agent_id == agent.id
        assert agent_count(session) == before

    def test_creates_the_agent_if_needed(self, session: Session) -> None:
        user = create(session, email="sam@example.com", role="agent", agent_external_id="zd-new", name="Sam",
                      team="Billing")
        agent = session.get(Agent, user.agent_id)
        assert agent is not None
        assert (agent.external_id, agent.name, agent.email) == ("zd-new", "Sam", "sam@example.com")
        team = session.get(Team, agent.team_id)
        assert team is not None and team.name == "Billing"

    def test_agent_without_external_id_uses_the_email(self, session: Session) -> None:
        user = create(session, email="ann@example.com", role="agent")
        agent = session.get(Agent, user.agent_id)
        assert agent is not None and agent.external_id == "ann@example.com"

    def test_an_agent_has_at_most_one_login(self, session: Session) -> None:
        make_agent(session, external_id="zd-7")
        create(session, email="first@example.com", role="agent", agent_external_id="zd-7")
        with pytest.raises(Conflict):
            create(session, email="second@example.com", role="agent", agent_external_id="zd-7")


class TestTeams:
    @pytest.mark.parametrize("role", ["reviewer", "manager"])
    def test_reviewer_or_manager_team_is_linked(self, session: Session, role: str) -> None:
        user = create(session, role=role, team="Tier 2")
        names = session.exec(select(Team.name).join(UserTeam, UserTeam.team_id == Team.id)  # type: ignore[arg-type]
                             .where(UserTeam.user_id == user.id)).all()
        assert names == ["Tier 2"]

    def test_existing_team_is_reused(self, session: Session) -> None:
        create(session, email="a@example.com", team="Tier 3")
        create(session, email="b@example.com", team="Tier 3")
        assert session.exec(select(func.count()).select_from(Team).where(Team.name == "Tier 3")).one() == 1


class TestAudit:
    def test_user_create_is_audited(self, session: Session) -> None:
        admin = make_user(session, role=Role.admin)
        user = create(session, actor=admin, email="audited@example.com", role="manager")
        session.flush()
        entry = session.exec(select(AuditLog).where(AuditLog.action == "user.create",
                                                    AuditLog.entity_id == user.id)).one()
        assert (entry.entity, entry.actor_id) == ("user", admin.id)
        assert entry.after is not None
        assert entry.after["email"] == "audited@example.com" and entry.after["role"] == "manager"
        assert PASSWORD not in str(entry.after) and "argon2" not in str(entry.after)

    def test_cli_creation_has_no_actor(self, session: Session) -> None:
        user = create(session)
        session.flush()
        entry = session.exec(select(AuditLog).where(AuditLog.entity_id == user.id,
                                                    AuditLog.action == "user.create")).one()
        assert entry.actor_id is None

    def test_failed_creation_writes_nothing(self, session: Session) -> None:
        create(session, email="once@example.com")
        session.flush()
        before = session.exec(select(func.count()).select_from(AuditLog)).one()
        with pytest.raises(Conflict):
            create(session, email="once@example.com")
        assert session.exec(select(func.count()).select_from(AuditLog)).one() == before
