"""The settings page (admins only): organisation settings and the designated dispute resolvers per team.

Decisions:

- Organisation settings are the ones declared in qa.org_settings.SETTINGS (today: hide reviewer names
  from agents); `put` checks and audits them.
- **Dispute resolvers** are users linked to a team (UserTeam) with `resolves_disputes`; a team without
  any has its disputes resolved by its managers (contracts of issue 5). Managers and reviewers may be
  picked. Picking someone not yet linked to the team links them, which also limits what they see to
  their linked teams (someone linked to no team sees every team): the page says so beside the picker.
  Unticking a resolver keeps the link (it is their scope); team links are otherwise managed with the users.
- Every change is audited: `user_team.create` (a new link) and `user_team.update` (the flag), with the
  user as the entity and the team in before/after.

The resolver functions below are plain service functions (no web imports), kept beside the only page
that uses them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select as select_rows
from sqlmodel import Session, col, select
from starlette.datastructures import FormData
from starlette.responses import Response

from qa import org_settings
from qa.audit import service as audit
from qa.auth import scope
from qa.auth.deps import SessionDep, require_role
from qa.errors import Forbidden, InvalidInput, NotFound
from qa.models import Role, Team, User, UserTeam
from qa.web.htmx import hx_redirect
from qa.web.templates import render

router = APIRouter()

AdminUser = Annotated[User, Depends(require_role())]  # no role besides admin passes
RESOLVER_ROLES = (Role.manager, Role.reviewer)
FLASH_KEY = "settings_flash"


# ---------------------------------------------------------------------------------------------
# Dispute resolvers (service)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkedUser:
    """A user linked to a team, and whether they resolve its disputes."""

    id: int
    name: str
    email: str
    role: Role
    resolves: bool


@dataclass(frozen=True)
class TeamResolvers:
    """A team, the users linked to it, and who else could be picked as a resolver."""

    id: int
    name: str
    linked: list[LinkedUser]
    candidates: list[LinkedUser]  # active managers and reviewers not linked to the team

    @property
    def resolvers(self) -> list[LinkedUser]:
        return [u for u in self.linked if u.resolves]


def _require_admin(actor: User) -> None:
    if actor.role is not Role.admin:
        raise Forbidden("Only admins change the organisation's settings.")


def team_resolvers(session: Session, *, actor: User) -> list[TeamResolvers]:
    """Every team with its linked users and the candidates, in two queries."""
    _require_admin(actor)
    teams = list(session.exec(select(Team).order_by(col(Team.name))))
    links = session.execute(
        select_rows(col(UserTeam.team_id), col(UserTeam.resolves_disputes), User)
        .join(User, col(User.id) == col(UserTeam.user_id))
        .order_by(col(User.name))
    ).all()
    people = list(
        session.exec(
            select(User)
            .where(col(User.role).in_([r.value for r in RESOLVER_ROLES]), col(User.is_active).is_(True))
            .order_by(col(User.name))
        )
    )
    by_team: dict[int, list[LinkedUser]] = {}
    for team_id, resolves, user in links:
        by_team.setdefault(team_id, []).append(_linked(user, bool(resolves)))
    found = []
    for team in teams:
        linked = by_team.get(team.id or 0, [])
        ids = {u.id for u in linked}
        found.append(
            TeamResolvers(
                id=team.id or 0,
                name=team.name,
                linked=linked,
                candidates=[_linked(p, False) for p in people if p.id not in ids],
            )
        )
    return found


def _linked(user: User, resolves: bool) -> LinkedUser:
    return LinkedUser(id=user.id or 0, name=user.name, email=user.email, role=user.role, resolves=resolves)


def set_resolvers(
    session: Session,
    *,
    actor: User,
    team_id: Any,
    resolver_ids: Iterable[int],
    add_user_id: int | None = None,
) -> int:
    """Make exactly `resolver_ids` (among the team's linked users) resolvers, after linking `add_user_id`
    as a resolver; returns how many links changed. Audited."""
    _require_admin(actor)
    team = session.get(Team, scope.as_id(team_id))
    if team is None:
        raise NotFound(f"Team {team_id} not found.")
    wanted = set(resolver_ids)
    changed = 0
    if add_user_id is not None:
        changed += _link_resolver(session, actor, team, add_user_id)
        wanted.add(add_user_id)
    links = list(session.exec(select(UserTeam).where(UserTeam.team_id == team.id)))
    unknown = wanted - {link.user_id for link in links}
    if unknown:
        raise InvalidInput(f"User {min(unknown)} is not linked to {team.name}.", field="resolvers")
    for link in links:
        if link.resolves_disputes != (link.user_id in wanted):
            link.resolves_disputes = link.user_id in wanted
            session.add(link)
            audit.record(
                session,
                actor=actor,
                action="user_team.update",
                entity="user",
                entity_id=link.user_id,
                before={"team_id": team.id, "resolves_disputes": not link.resolves_disputes},
                after={"team_id": team.id, "resolves_disputes": link.resolves_disputes},
            )
            changed += 1
    session.flush()
    return changed


def _link_resolver(session: Session, actor: User, team: Team, user_id: int) -> int:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidInput(f"User {user_id} not found.", field="add_user")
    if user.role not in RESOLVER_ROLES:
        raise InvalidInput(
            f"{user.name} is {user.role.value}: pick a manager or a reviewer.", field="add_user"
        )
    if session.get(UserTeam, (user_id, team.id)) is not None:
        return 0
    session.add(UserTeam(user_id=user_id, team_id=team.id or 0, resolves_disputes=True))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user_team.create",
        entity="user",
        entity_id=user_id,
        after={"team_id": team.id, "resolves_disputes": True},
    )
    return 1


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------


async def _form(request: Request) -> FormData:
    return await request.form()  # parsed once: verify_csrf may have read it already


FormDep = Annotated[FormData, Depends(_form)]


def _page(
    request: Request,
    session: Session,
    user: User,
    *,
    error: str | None = None,
    error_team: int | None = None,
    status: int = 200,
) -> Response:
    ctx = {
        "settings": [(d, org_settings.get(session, d.key)) for d in org_settings.SETTINGS.values()],
        "teams": team_resolvers(session, actor=user),
        "active_nav": "settings",
        "flash": request.session.pop(FLASH_KEY, None),
        "error": error,
        "error_team": error_team,
    }
    return render(request, "settings/page.html", ctx, status_code=status)


@router.get("/settings", name="settings:page")
def settings_page(request: Request, user: AdminUser, session: SessionDep) -> Response:
    """Organisation settings and dispute resolvers (admins only; everyone else 403)."""
    return _page(request, session, user)


@router.post("/settings/privacy", name="settings:privacy")
def save_privacy(request: Request, user: AdminUser, session: SessionDep, form: FormDep) -> Response:
    """Save the switches (a checkbox sends its value only when ticked)."""
    changed = []
    for definition in org_settings.SETTINGS.values():
        if definition.kind is not bool:
            continue
        value = form.get(definition.key) in ("1", "on", "true")
        if value != org_settings.get(session, definition.key):
            org_settings.put(session, actor=user, key=definition.key, value=value)
            changed.append(f"{definition.label}: {'on' if value else 'off'}")
    request.session[FLASH_KEY] = ("Saved. " + "; ".join(changed) + ".") if changed else "Nothing changed."
    return hx_redirect(request, str(request.url_for("settings:page")))


def _form_ids(form: FormData, name: str) -> list[int]:
    ids = []
    for raw in form.getlist(name):
        text = raw.strip() if isinstance(raw, str) else ""
        if not (text.isascii() and text.isdigit()) or len(text) > 10:
            raise InvalidInput(f"'{text[:20]}' is not a user id.", field=name)
        ids.append(int(text))
    return ids


@router.post("/settings/teams/{team_id}/resolvers", name="settings:resolvers")
def save_resolvers(
    request: Request, team_id: str, user: AdminUser, session: SessionDep, form: FormDep
) -> Response:
    """Save one team's designated dispute resolvers (and link a new one)."""
    try:
        with session.begin_nested():
            add = _form_ids(form, "add_user") if form.get("add_user") else []
            changed = set_resolvers(
                session,
                actor=user,
                team_id=team_id,
                resolver_ids=_form_ids(form, "resolvers"),
                add_user_id=add[0] if add else None,
            )
    except InvalidInput as exc:
        return _page(request, session, user, error=exc.message, error_team=scope.as_id(team_id), status=422)
    request.session[FLASH_KEY] = "Resolvers saved." if changed else "Nothing changed."
    return hx_redirect(request, str(request.url_for("settings:page")) + f"#team-{scope.as_id(team_id)}")
