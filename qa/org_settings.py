"""Organisation-wide settings an admin changes in the app (not the environment): stored in `org_setting`.

Each setting is declared in SETTINGS with its type, default and a sentence for the settings page;
a key that is not declared is refused, and every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from qa.audit import service as audit
from qa.errors import Forbidden, InvalidInput
from qa.models import OrgSetting, Role, User, utcnow


@dataclass(frozen=True)
class SettingDef:
    """A setting's key, type, default and what it does, in words for the settings page."""

    key: str
    kind: type
    default: Any
    label: str
    help: str


HIDE_REVIEWER_NAMES = "hide_reviewer_names"

SETTINGS: dict[str, SettingDef] = {
    HIDE_REVIEWER_NAMES: SettingDef(
        HIDE_REVIEWER_NAMES, bool, False, "Hide reviewer names from agents",
        "Agents see \u201cQA team\u201d instead of the reviewer's name on their reviews, reports, "
        "disputes and notifications, to keep feedback impersonal."),
}

QA_TEAM_LABEL = "QA team"


def get(session: Session, key: str) -> Any:
    """The setting's stored value, or its default."""
    definition = SETTINGS[key]
    row = session.get(OrgSetting, key)
    return definition.default if row is None or row.value is None else definition.kind(row.value)


def put(session: Session, *, actor: User, key: str, value: Any) -> Any:
    """Change a setting (admins only); audited with the value before and after."""
    if actor.role is not Role.admin:
        raise Forbidden("Only admins change the organisation's settings.")
    definition = SETTINGS.get(key)
    if definition is None:
        raise InvalidInput(f"Unknown setting {key[:64]!r}.", field="key")
    if not isinstance(value, definition.kind):
        raise InvalidInput(f"{definition.label} takes a {definition.kind.__name__}.", field=key)
    before = get(session, key)
    row = session.get(OrgSetting, key) or OrgSetting(key=key)
    row.value, row.updated_at, row.updated_by_id = value, utcnow(), actor.id
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="setting.update", entity="org_setting", entity_id=None,
                 before={key: before}, after={key: value})
    return value


def reviewer_label(session: Session, viewer: User, reviewer_name: str | None) -> str:
    """How a reviewer is named to `viewer`: "QA team" for agents when names are hidden."""
    if viewer.role is Role.agent and get(session, HIDE_REVIEWER_NAMES):
        return QA_TEAM_LABEL
    return reviewer_name or "Unknown reviewer"
