"""Scorecard scopes: which teams and channels a scorecard is the default for on the review page.

The review page's default scorecard is, in order: the scorecard of the reviewer's open assignment for the
conversation (qa.reviews), else the most specific scope match — team and channel, then team, then channel —
among scorecards not archived that have a published version (ties: the newest scorecard), else the newest
such scorecard (the rule before scopes existed).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, or_
from sqlmodel import Session, col, select

from qa.audit import service as audit
from qa.errors import Conflict, InvalidInput, NotFound
from qa.models import Channel, Conversation, Scorecard, ScorecardScope, ScorecardVersion, Team, User
from qa.scorecard_admin import service as scorecard_service

_MAX_ID = 2**63


@dataclass(frozen=True)
class ScopeRow:
    """A scope as pages show it."""

    id: int
    scorecard_id: int
    team_id: int | None
    team_name: str | None
    channel: str | None

    @property
    def label(self) -> str:
        """“Billing · email”, “Billing”, “email”."""
        return " · ".join(part for part in (self.team_name, self.channel) if part)


def scopes_by_scorecard(
    session: Session, scorecard_ids: list[int] | None = None
) -> dict[int, list[ScopeRow]]:
    """Every scope with its team name, grouped by scorecard (one query)."""
    query = (
        select(ScorecardScope, Team.name)
        .outerjoin(Team, col(Team.id) == col(ScorecardScope.team_id))
        .order_by(col(Team.name), col(ScorecardScope.channel))
    )
    if scorecard_ids is not None:
        query = query.where(col(ScorecardScope.scorecard_id).in_(scorecard_ids))
    found: dict[int, list[ScopeRow]] = {}
    for scope, team_name in session.exec(query):
        found.setdefault(scope.scorecard_id, []).append(
            ScopeRow(scope.id or 0, scope.scorecard_id, scope.team_id, team_name, scope.channel)
        )
    return found


def _check_team(session: Session, team_id: int | None) -> None:
    if team_id is not None and (not 0 < team_id < _MAX_ID or session.get(Team, team_id) is None):
        raise InvalidInput(f"Team {team_id} not found.", field="team_id")


def _check_channel(channel: str | None) -> None:
    if channel is not None and channel not in Channel.__members__:
        raise InvalidInput(
            f"Unknown channel {channel!r}; expected one of {', '.join(Channel.__members__)}.", field="channel"
        )


def add_scope(
    session: Session, *, actor: User | None, scorecard_id: int, team_id: int | None, channel: str | None
) -> ScorecardScope:
    """Make the scorecard the default for a team, a channel, or a team's channel."""
    scorecard_service.get_scorecard(session, scorecard_id)
    if team_id is None and channel is None:
        raise InvalidInput("Pick a team, a channel, or both.", field="team_id")
    _check_team(session, team_id)
    _check_channel(channel)
    same = select(ScorecardScope).where(
        ScorecardScope.scorecard_id == scorecard_id,
        col(ScorecardScope.team_id).is_(team_id)
        if team_id is None
        else col(ScorecardScope.team_id) == team_id,
        col(ScorecardScope.channel).is_(None) if channel is None else col(ScorecardScope.channel) == channel,
    )
    if session.exec(same).first() is not None:
        raise Conflict("The scorecard already has this scope.")
    scope = ScorecardScope(scorecard_id=scorecard_id, team_id=team_id, channel=channel)
    session.add(scope)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="scorecard.scope_add",
        entity="scorecard",
        entity_id=scorecard_id,
        after={"team_id": team_id, "channel": channel},
    )
    return scope


def remove_scope(session: Session, *, actor: User | None, scorecard_id: int, scope_id: int) -> None:
    """Remove one scope of the scorecard."""
    scope = session.get(ScorecardScope, scope_id) if 0 < scope_id < _MAX_ID else None
    if scope is None or scope.scorecard_id != scorecard_id:
        raise NotFound(f"Scope {scope_id} not found.")
    session.delete(scope)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="scorecard.scope_remove",
        entity="scorecard",
        entity_id=scorecard_id,
        before={"team_id": scope.team_id, "channel": scope.channel},
    )


def _usable() -> list[ColumnElement[bool]]:
    published = exists().where(
        col(ScorecardVersion.scorecard_id) == col(Scorecard.id), col(ScorecardVersion.published).is_(True)
    )
    return [col(Scorecard.archived).is_(False), published]


def default_scorecard_id(session: Session, conversation: Conversation | None) -> int | None:
    """The scorecard the review page starts with for this conversation (None: there is none)."""
    newest = (col(Scorecard.created_at).desc(), col(Scorecard.id).desc())
    if conversation is not None:
        team, channel = conversation.team_id, str(conversation.channel)
        same_team = (
            col(ScorecardScope.team_id) == team if team is not None else col(ScorecardScope.id).is_(None)
        )
        # 0: team and channel, 1: team, 2: channel; a scope naming another team or channel never matches.
        query = (
            select(Scorecard.id, ScorecardScope.team_id, ScorecardScope.channel)
            .join(ScorecardScope, col(ScorecardScope.scorecard_id) == col(Scorecard.id))
            .where(
                *_usable(),
                or_(same_team, col(ScorecardScope.team_id).is_(None)),
                or_(col(ScorecardScope.channel) == channel, col(ScorecardScope.channel).is_(None)),
            )
            .order_by(*newest)
        )
        matches = list(session.exec(query))
        if matches:
            return min(matches, key=lambda m: (m[1] is None) * 2 + (m[2] is None))[0]
    return session.exec(select(Scorecard.id).where(*_usable()).order_by(*newest)).first()
