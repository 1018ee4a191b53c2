"""/api/v1/scorecards: upload native scorecards (JSON or YAML), new versions, list and read them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlmodel import Session
from starlette.responses import Response

from qa.auth.deps import SessionDep, require_api_role
from qa.errors import CaliperError, Conflict, NotFound, TooLarge
from qa.models import Role, Scorecard, ScorecardVersion, User
from qa.scorecard_admin import editor as scorecard_editor
from qa.scorecard_admin import service as scorecard_service
from qa.scorecard_admin import whatif as whatif_service
from scorecards import DefinitionError, ScorecardDef, parse_definition
from scorecards.definition import MAX_DEFINITION_BYTES

router = APIRouter(prefix="/scorecards", tags=["scorecards"])

ScorecardWriter = Annotated[User, Depends(require_api_role(Role.manager))]
ScorecardReader = Annotated[User, Depends(require_api_role(Role.manager, Role.reviewer))]
VersionQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Version; default current")]

JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class OptionOut(BaseModel):
    """One choice of a scale and its score in [0, 1]."""

    label: str
    score: float


class CriterionOut(BaseModel):
    """One criterion of a version."""

    key: str
    name: str
    section: str | None
    scale: str
    options: list[OptionOut]
    weight: float
    critical: bool
    fail_below: float
    allow_na: bool
    root_causes: list[str]
    guidance: str


class ScorecardOut(BaseModel):
    """A scorecard version with its criteria (`id` is the scorecard's id)."""

    id: int
    version: int
    name: str
    description: str
    pass_threshold: float
    archived: bool
    created_at: datetime
    criteria: list[CriterionOut]
    published: bool = True  # False: the scorecard's draft (GET/POST .../draft)


class ScorecardSummary(BaseModel):
    """A scorecard in a list: its current version and counts."""

    id: int
    name: str
    version: int
    criteria_count: int
    reviews_count: int
    archived: bool
    created_at: datetime
    updated_at: datetime


class ScorecardList(BaseModel):
    """Scorecards, by name."""

    items: list[ScorecardSummary]


@dataclass(frozen=True)
class RawDefinition:
    """A request body and the format its Content-Type names (None: sniff JSON, then YAML)."""

    body: bytes
    fmt: str | None


def _format_for(content_type: str | None) -> str | None:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if not media_type or media_type == "text/plain":
        return None
    if media_type in JSON_TYPES or media_type.endswith("+json"):
        return "json"
    if media_type in YAML_TYPES:
        return "yaml"
    raise CaliperError(f"Unsupported Content-Type {media_type!r}: send application/json or application/yaml.",
                       status_code=415)


async def raw_definition(request: Request) -> RawDefinition:
    """The body of a scorecard upload, refused with 413 past 1 MB without reading the rest."""
    fmt = _format_for(request.headers.get("content-type"))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_DEFINITION_BYTES:
            raise TooLarge("The scorecard definition is larger than 1 MB.")
    return RawDefinition(bytes(body), fmt)


DefinitionBody = Annotated[RawDefinition, Depends(raw_definition)]

_CRITERION_SCHEMA: dict[str, Any] = {"type": "object", "required": ["key", "name", "scale"]}
_EXAMPLE: dict[str, Any] = {"name": "Support QA", "pass_threshold": 80, "criteria": [
    {"key": "greeting", "name": "Greeting", "section": "Opening", "scale": "binary", "weight": 1},
    {"key": "accuracy", "name": "Correct solution", "scale": "5", "weight": 3, "critical": True},
]}
_REQUEST_BODY: dict[str, Any] = {
    "description": "A native scorecard (PRODUCT.md §4), as JSON or YAML.",
    "required": True,
    "content": {
        "application/json": {"example": _EXAMPLE, "schema": {
            "type": "object", "required": ["name", "criteria"], "properties": {
                "name": {"type": "string"}, "description": {"type": "string"},
                "pass_threshold": {"type": "number", "minimum": 0, "maximum": 100, "default": 80},
                "criteria": {"type": "array", "items": _CRITERION_SCHEMA}}}},
        "application/yaml": {"schema": {"type": "string"}},
    },
}
_NOT_FOUND: dict[str, Any] = {"description": "No scorecard (or version) with this id"}
_WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": "Larger than 1 MB"},
    415: {"description": "Neither JSON nor YAML"},
    422: {"description": "Invalid definition: `detail` lists every bad field with its `loc`"},
}


def field_loc(field: str) -> list[str | int]:
    """A definition error's field as a `loc`: ``criteria[2].weight`` → body, criteria, 2, weight."""
    parts: list[str | int] = ["body"]
    for name, index in _PATH_PART.findall(field):
        parts.append(int(index) if index else name)
    return parts


def _parse(raw: RawDefinition) -> ScorecardDef:
    try:
        return parse_definition(raw.body, fmt=raw.fmt)
    except DefinitionError as exc:
        errors = [{"loc": field_loc(e.field), "msg": e.message, "type": "value_error"} for e in exc.errors]
        raise RequestValidationError(errors) from exc


def _scorecard_out(session: Session, card: Scorecard, version: ScorecardVersion) -> ScorecardOut:
    defn = scorecard_service.definition_for(session, version.id)  # type: ignore[arg-type]
    return _definition_out(card, version, defn)


def _definition_out(
    card: Scorecard, version: ScorecardVersion, defn: ScorecardDef, *, published: bool = True
) -> ScorecardOut:
    criteria = [
        CriterionOut(key=c.key, name=c.name, section=c.section, scale=c.scale,
                     options=[OptionOut(label=o.label, score=o.score) for o in c.options], weight=c.weight,
                     critical=c.critical, fail_below=c.fail_below, allow_na=c.allow_na,
                     root_causes=list(c.root_causes), guidance=c.guidance)
        for c in defn.criteria
    ]
    return ScorecardOut(id=card.id or 0, version=version.version, name=defn.name,
                        description=defn.description, pass_threshold=defn.pass_threshold,
                        archived=card.archived, created_at=version.created_at, criteria=criteria,
                        published=published)


@router.post("", status_code=201, response_model=ScorecardOut, responses=_WRITE_RESPONSES,
             openapi_extra={"requestBody": _REQUEST_BODY})
def create_scorecard(session: SessionDep, user: ScorecardWriter, raw: DefinitionBody) -> ScorecardOut:
    """Create a scorecard from a native definition (JSON, or YAML with Content-Type application/yaml)."""
    version = scorecard_service.create_scorecard(session, actor=user, definition=_parse(raw))
    card = scorecard_service.get_scorecard(session, version.scorecard_id)
    return _scorecard_out(session, card, version)


@router.get("", response_model=ScorecardList)
def list_scorecards(
    session: SessionDep, user: ScorecardReader, include_archived: bool = False
) -> ScorecardList:
    """Scorecards with their current version, criteria and review counts."""
    rows = scorecard_service.list_scorecards(session, include_archived=include_archived)
    counts = scorecard_service.criteria_counts(session, [version.id for _, version, _ in rows])  # type: ignore[misc]
    items = [
        ScorecardSummary(id=card.id or 0, name=card.name, version=version.version,
                         criteria_count=counts.get(version.id or 0, 0), reviews_count=n_reviews,
                         archived=card.archived, created_at=card.created_at, updated_at=version.created_at)
        for card, version, n_reviews in rows
    ]
    return ScorecardList(items=items)


@router.get("/{scorecard_id:int}", response_model=ScorecardOut, responses={404: _NOT_FOUND})
def get_scorecard(
    session: SessionDep, user: ScorecardReader, scorecard_id: int, version: VersionQuery = None
) -> ScorecardOut:
    """A scorecard's current version (or ?version=N) with its criteria."""
    card = scorecard_service.get_scorecard(session, scorecard_id)
    shown = scorecard_service.version_by_number(session, scorecard_id=scorecard_id, number=version)
    return _scorecard_out(session, card, shown)


@router.post("/{scorecard_id:int}/versions", status_code=201, response_model=ScorecardOut,
             responses={404: _NOT_FOUND, 409: {"description": "Archived"}, **_WRITE_RESPONSES},
             openapi_extra={"requestBody": _REQUEST_BODY})
def create_version(
    session: SessionDep, user: ScorecardWriter, scorecard_id: int, raw: DefinitionBody
) -> ScorecardOut:
    """Publish the next version of a scorecard; reviews already made keep the version they used."""
    card = scorecard_service.get_scorecard(session, scorecard_id)
    defn = _parse(raw)
    version = scorecard_service.add_version(session, actor=user, scorecard_id=scorecard_id, definition=defn)
    return _scorecard_out(session, card, version)


# --- drafts, publish, what-if (issue 6) -------------------------------------------------------------------


class WhatIfAgentOut(BaseModel):
    """One agent's mean score now and under the definition."""

    agent_id: int | None
    name: str | None
    reviews: int
    mean_now: float | None
    mean_draft: float | None
    change: float | None


class WhatIfOut(BaseModel):
    """How the period's submitted manual reviews would score under the definition."""

    start: date
    end: date
    reviews: int
    mean_now: float | None
    mean_draft: float | None
    pass_rate_now: float | None
    pass_rate_draft: float | None
    became_pass: int
    became_fail: int
    remapped_ratings: int
    dropped_ratings: int
    agents: list[WhatIfAgentOut]


def _draft_out(session: Session, card: Scorecard, version: ScorecardVersion) -> ScorecardOut:
    # The draft changes in place, so it is read past the definition cache.
    defn = scorecard_editor.version_definition(session, version)
    return _definition_out(card, version, defn, published=False)


@router.get("/{scorecard_id:int}/draft", response_model=ScorecardOut, responses={404: _NOT_FOUND})
def get_draft(session: SessionDep, user: ScorecardWriter, scorecard_id: int) -> ScorecardOut:
    """The scorecard's draft version (404 when it has none)."""
    card = scorecard_service.get_scorecard(session, scorecard_id)
    draft = scorecard_editor.get_draft(session, scorecard_id)
    if draft is None:
        raise NotFound(f"Scorecard {scorecard_id} has no draft.")
    return _draft_out(session, card, draft)


@router.post("/{scorecard_id:int}/draft", response_model=ScorecardOut,
             responses={404: _NOT_FOUND, 409: {"description": "Archived"}, **_WRITE_RESPONSES},
             openapi_extra={"requestBody": _REQUEST_BODY})
def put_draft(
    session: SessionDep, user: ScorecardWriter, scorecard_id: int, raw: DefinitionBody
) -> ScorecardOut:
    """Make this definition the scorecard's draft (created if needed); nothing is published."""
    card = scorecard_service.get_scorecard(session, scorecard_id)
    scorecard_editor.replace_draft(session, actor=user, scorecard_id=scorecard_id, definition=_parse(raw))
    draft = scorecard_editor.get_draft(session, scorecard_id)
    if draft is None:  # the definition equals the current version: nothing to draft
        raise Conflict("The definition is the same as the current version; there is nothing to draft.")
    return _draft_out(session, card, draft)


@router.delete("/{scorecard_id:int}/draft", status_code=204, responses={404: _NOT_FOUND})
def delete_draft(session: SessionDep, user: ScorecardWriter, scorecard_id: int) -> Response:
    """Discard the draft."""
    scorecard_editor.discard_draft(session, actor=user, scorecard_id=scorecard_id)
    return Response(status_code=204)


@router.post("/{scorecard_id:int}/publish", response_model=ScorecardOut,
             responses={404: _NOT_FOUND, 409: {"description": "No draft, or archived"}})
def publish(session: SessionDep, user: ScorecardWriter, scorecard_id: int) -> ScorecardOut:
    """Publish the draft as the new current version; earlier reviews keep their version."""
    card = scorecard_service.get_scorecard(session, scorecard_id)
    version = scorecard_editor.publish_draft(session, actor=user, scorecard_id=scorecard_id)
    return _scorecard_out(session, card, version)


@router.post("/{scorecard_id:int}/what-if", response_model=WhatIfOut,
             responses={404: _NOT_FOUND, **_WRITE_RESPONSES},
             openapi_extra={"requestBody": {**_REQUEST_BODY, "required": False}})
def what_if(
    session: SessionDep, user: ScorecardWriter, scorecard_id: int, raw: DefinitionBody,
    start: date | None = None, end: date | None = None,
) -> WhatIfOut:
    """Rescore the period's reviews (default: last 30 days) under the body's definition, or the draft."""
    defn = _parse(raw) if raw.body.strip() else None
    report = whatif_service.what_if(session, actor=user, scorecard_id=scorecard_id, definition=defn,
                                    start=start, end=end)
    r = report.result
    agents = [WhatIfAgentOut(agent_id=a.agent_id, name=name if a.agent_id else None, reviews=a.n_reviews,
                             mean_now=a.mean_now, mean_draft=a.mean_draft, change=a.change)
              for name, a in report.agents()]
    return WhatIfOut(start=report.start, end=report.end, reviews=r.n_reviews, mean_now=r.mean_now,
                     mean_draft=r.mean_draft, pass_rate_now=r.pass_rate_now,
                     pass_rate_draft=r.pass_rate_draft,
                     became_pass=r.became_pass, became_fail=r.became_fail, remapped_ratings=r.remapped,
                     dropped_ratings=r.dropped, agents=agents)
