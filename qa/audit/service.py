"""Writing and reading audit records, always inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from qa.models import AuditLog, User


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    entity: str,
    entity_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit entry (who, what, when, before/after) to the current transaction."""
    entry = AuditLog(
        actor_id=actor.id if actor else None,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


def entries_for(session: Session, *, entity: str, entity_id: int) -> list[AuditLog]:
    """The history of one object, oldest first."""
    query = select(AuditLog).where(AuditLog.entity == entity, AuditLog.entity_id == entity_id)
    return list(session.exec(query.order_by(col(AuditLog.id))))
