"""Users and logins: creating users, checking passwords with rate limiting."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from qa.audit import service as audit
from qa.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from qa.errors import Conflict, InvalidInput, TooManyRequests
from qa.models import Agent, LoginAttempt, Role, Team, User, UserTeam, utcnow

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively."""
    return email.strip().lower()


def get_or_create_team(session: Session, name: str) -> Team:
    """The team with this name, created on first sight."""
    team = session.exec(select(Team).where(Team.name == name)).first()
    if team is None:
        team = Team(name=name)
        session.add(team)
        session.flush()
    return team


def create_user(
    session: Session,
    *,
    actor: User | None,
    email: str,
    role: Role | str,
    password: str,
    name: str | None = None,
    team: str | None = None,
    agent_external_id: str | None = None,
) -> User:
    """Create a user; an agent user is linked to the agent with that external id (created if needed)."""
    email = normalise_email(email)
    if len(email) > 320 or not EMAIL_RE.match(email):
        raise InvalidInput(f"'{email}' is not an e-mail address", field="email")
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(f"role must be one of {', '.join(r.value for r in Role)}", field="role") from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise Conflict(f"a user with e-mail {email} already exists")
    team_row = get_or_create_team(session, team) if team else None
    name = (name or "").strip()[:255] or email.split("@")[0]
    agent = _link_agent(session, role, agent_external_id, name, email, team_row)
    user = User(email=email, name=name, role=role,
                password_hash=hash_password(password), agent_id=agent.id if agent else None)
    session.add(user)
    session.flush()
    # The team a manager manages or a reviewer reviews (an agent's team is on its Agent row).
    teams = [team_row] if team_row is not None and role in (Role.manager, Role.reviewer) else []
    for linked in teams:
        session.add(UserTeam(user_id=user.id, team_id=linked.id))  # type: ignore[arg-type]
    session.flush()
    audit.record(session, actor=actor, action="user.create", entity="user", entity_id=user.id,
                 after={"email": email, "role": role.value, "agent_id": user.agent_id,
                        "teams": [t.name for t in teams]})
    return user


def _link_agent(
    session: Session, role: Role, external_id: str | None, name: str, email: str, team: Team | None
) -> Agent | None:
    if role is not Role.agent:
        if external_id:
            raise InvalidInput("only agent users are linked to an agent", field="agent_external_id")
        return None
    external_id = external_id or email
    agent = session.exec(select(Agent).where(Agent.external_id == external_id)).first()
    if agent is None:
        agent = Agent(external_id=external_id, name=name, email=email, team_id=team.id if team else None)
        session.add(agent)
        session.flush()
    elif session.exec(select(User).where(User.agent_id == agent.id)).first() is not None:
        raise Conflict(f"agent {external_id} already has a login")
    return agent


def authenticate(
    session: Session, *, email: str, password: str, ip: str, max_failures: int, window_seconds: int
) -> User | None:
    """The user for these credentials, or None; raises TooManyRequests past the failure limit."""
    email = normalise_email(email)
    if "\x00" in email or "\x00" in password:
        return None  # no such account can exist, and PostgreSQL cannot store the attempt's NUL
    since = utcnow() - timedelta(seconds=window_seconds)
    failures = session.exec(
        select(func.count()).select_from(LoginAttempt).where(
            col(LoginAttempt.success).is_(False),
            col(LoginAttempt.at) >= since,
            (LoginAttempt.email == email) | (LoginAttempt.ip == ip),
        )
    ).one()
    if failures >= max_failures:
        raise TooManyRequests("Too many failed logins. Wait a few minutes and try again.")
    user = session.exec(select(User).where(User.email == email)).first()
    ok = verify_password(user.password_hash if user else None, password)
    ok = ok and user is not None and user.is_active
    session.add(LoginAttempt(email=email[:320], ip=ip[:64], success=ok))
    return user if ok else None
