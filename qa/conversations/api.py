"""/api/v1/conversations: import conversations and read them (PRODUCT.md §4 and §5)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from qa.auth.deps import ApiUser, SessionDep, require_api_role
from qa.conversations import ingest
from qa.conversations import service as conversation_service
from qa.conversations.formats import csv_rows
from qa.conversations.schemas import ConversationOut, ConversationPage, ImportFormat, ImportResultOut
from qa.models import Role, User

router = APIRouter(tags=["conversations"])

ImporterUser = Annotated[User, Depends(require_api_role(Role.manager))]

_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Conversations in the chosen format: a JSON array (or one object), or JSON Lines "
                       "with `Content-Type: application/x-ndjson`; for `format=csv`, CSV with a header "
                       "row, one row per message (`Content-Type: text/csv`).",
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "application/x-ndjson": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


async def raw_body(request: Request) -> bytes:
    """The request body as bytes (the size limit is enforced by middleware)."""
    return await request.body()


@router.post("/conversations", response_model=ImportResultOut, openapi_extra=_IMPORT_BODY)
def import_conversations(
    request: Request,
    session: SessionDep,
    user: ImporterUser,
    body: Annotated[bytes, Depends(raw_body)],
    format: ImportFormat = ImportFormat.native,
    source: Annotated[str | None, Query(max_length=100, description="For records that name none")] = None,
    map: Annotated[str | None, Query(max_length=2000, description=(  # noqa: A002 - the documented name
        "CSV only: which column holds each field, e.g. `conversation_id=Ticket,body=Text` "
        "(common column names are found without it)"))] = None,
) -> dict[str, Any]:
    """Import conversations (admins, managers); the same (source, external_id) updates, never duplicates."""
    ingest.converter_for(format)  # an unsupported format is refused before the body is parsed
    mapping = csv_rows.parse_mapping(map) if map and format == ImportFormat.csv else None
    records = ingest.body_records(body, request.headers.get("content-type"), format, csv_mapping=mapping)
    result = conversation_service.import_conversations(session, actor=user, records=records, fmt=format,
                                                       source=source)
    rejected = [{"index": r.index, "error": r.error, "line": r.line} for r in result.rejected]
    return {"created": result.created, "updated": result.updated, "rejected": rejected}


@router.get("/conversations", response_model=ConversationPage)
def list_conversations(
    session: SessionDep,
    user: ApiUser,
    source: Annotated[str | None, Query(max_length=100)] = None,
    external_id: Annotated[str | None, Query(max_length=255)] = None,
    agent: Annotated[str | None, Query(max_length=255, description="An agent's external id or id")] = None,
    limit: Annotated[int, Query(ge=1, le=conversation_service.MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Conversations you may see, oldest first, without messages; pass `next` as `cursor` for more."""
    rows, next_cursor = conversation_service.list_conversations(
        session, actor=user, source=source, external_id=external_id, agent=agent, limit=limit, cursor=cursor
    )
    items = [conversation_service.conversation_dict(c, a, t, None) for c, a, t in rows]
    return {"items": items, "next": next_cursor}


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
def get_conversation(session: SessionDep, user: ApiUser, conversation_id: int) -> dict[str, Any]:
    """One conversation with its messages in order (404 if unknown or not yours to see)."""
    return conversation_service.get_conversation_detail(session, actor=user, conversation_id=conversation_id)
