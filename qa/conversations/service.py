"""Conversations for the API and pages: import, keyset-paginated lists and one conversation, role-scoped."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from qa.audit import service as audit
from qa.auth.scope import conversation_filter, get_conversation
from qa.conversations import ingest
from qa.errors import Forbidden, InvalidInput
from qa.models import Agent, Conversation, Message, Role, Team, User

MAX_LIMIT = 500
IMPORT_ROLES = frozenset({Role.admin, Role.manager})

ConversationRow = tuple[Conversation, Agent | None, Team | None]


def import_conversations(
    session: Session,
    *,
    actor: User,
    records: Iterable[object],
    fmt: str = "native",
    source: str | None = None,
    via: str = "api",
) -> ingest.ImportResult:
    """Import raw records as `actor` (admins and managers only), audited as one entry."""
    if actor.role not in IMPORT_ROLES:
        raise Forbidden("Only admins and managers may import conversations.")
    result = ingest.import_records(session, records, source=source, fmt=fmt)
    audit.record(session, actor=actor, action="conversations.import", entity="import", entity_id=None,
                 after={"via": via, "format": fmt, "source": source, "created": result.created,
                        "updated": result.updated, "rejected": result.rejected_count})
    return result


def encode_cursor(last_id: int) -> str:
    """An opaque cursor for the page after the conversation `last_id`."""
    return base64.urlsafe_b64encode(f"c:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor points after; InvalidInput for anything this API did not hand out."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = text.partition(":")
        last_id = int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        last_id, kind = -1, ""
    if kind != "c" or not 0 <= last_id < 2**63:
        raise InvalidInput("Invalid cursor: pass the `next` value of the previous page.", field="cursor")
    return last_id


def list_conversations(
    session: Session,
    *,
    actor: User,
    source: str | None = None,
    external_id: str | None = None,
    agent: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[ConversationRow], str | None]:
    """Conversations `actor` may see, oldest id first, with their agent and team; and the next cursor.

    `agent` is an agent's external id or numeric id.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    for name, value in (("source", source), ("external_id", external_id), ("agent", agent)):
        if value is not None and "\x00" in value:
            raise InvalidInput(f"{name} must not contain NUL characters.", field=name)
    stmt = (
        select(Conversation, Agent, Team)
        .outerjoin(Agent, col(Agent.id) == col(Conversation.agent_id))
        .outerjoin(Team, col(Team.id) == col(Conversation.team_id))
        .where(conversation_filter(session, actor))
        .order_by(col(Conversation.id))
        .limit(limit + 1)
    )
    if cursor:
        stmt = stmt.where(col(Conversation.id) > decode_cursor(cursor))
    if source:
        stmt = stmt.where(col(Conversation.source) == source)
    if external_id:
        stmt = stmt.where(col(Conversation.external_id) == external_id)
    if agent:
        stmt = stmt.where(col(Conversation.agent_id).in_(_agent_ids(agent)))
    rows: list[ConversationRow] = list(session.exec(stmt).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1][0].id or 0)


def _agent_ids(agent: str) -> Any:
    match = col(Agent.external_id) == agent
    if agent.isascii() and agent.isdigit() and int(agent) < 2**63:
        match = or_(match, col(Agent.id) == int(agent))
    return select(Agent.id).where(match)


def get_conversation_detail(session: Session, *, actor: User, conversation_id: Any) -> dict[str, Any]:
    """One conversation `actor` may see, with its messages in order; NotFound otherwise."""
    conversation = get_conversation(session, actor, conversation_id)
    agent = session.get(Agent, conversation.agent_id) if conversation.agent_id else None
    team = session.get(Team, conversation.team_id) if conversation.team_id else None
    messages = session.exec(
        select(Message).where(Message.conversation_id == conversation.id).order_by(col(Message.position))
    ).all()
    return conversation_dict(conversation, agent, team, list(messages))


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def conversation_dict(
    conversation: Conversation, agent: Agent | None, team: Team | None, messages: list[Message] | None
) -> dict[str, Any]:
    """The native shape (PRODUCT.md §4) plus id and the derived facts; messages only when given."""
    c = conversation
    customer = None
    if c.customer_external_id is not None or c.customer_name is not None:
        customer = {"external_id": c.customer_external_id, "name": c.customer_name}
    agent_data = None
    if agent is not None:
        agent_data = {"external_id": agent.external_id, "name": agent.name, "email": agent.email}
    data: dict[str, Any] = {
        "id": c.id, "external_id": c.external_id, "source": c.source, "channel": str(c.channel),
        "subject": c.subject,
        "agent": agent_data,
        "team": team.name if team else None, "customer": customer,
        "created_at": _iso(c.created_at), "closed_at": _iso(c.closed_at), "csat": c.csat,
        "tags": list(c.tags or []), "language": c.language, "metadata": dict(c.meta or {}),
        "message_count": c.message_count, "agent_message_count": c.agent_message_count,
        "customer_message_count": c.customer_message_count,
        "first_response_seconds": c.first_response_seconds, "handle_seconds": c.handle_seconds,
        "reopen_count": c.reopen_count,
        "imported_at": _iso(c.imported_at),
    }
    if messages is not None:
        data["messages"] = [_message_dict(m) for m in messages]
    return data


def _message_dict(message: Message) -> dict[str, Any]:
    return {"author": str(message.author), "author_id": message.author_id, "author_name": message.author_name,
            "body": message.body, "created_at": _iso(message.created_at), "internal": message.internal}
