"""/api/v1/scorecards: upload native scorecards (JSON or YAML), new versions, list and read them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlmodel import Session

from qa.auth.deps import SessionDep, require_api_role
from qa.errors import CaliperError, TooLarge
from qa.models import Role, Scorecard, ScorecardVersion, User
from qa.scorecard_admin import service as scorecard_service
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
    criteria = [
        CriterionOut(key=c.key, name=c.name, section=c.section, scale=c.scale,
                     options=[OptionOut(label=o.label, score=o.score) for o in c.options], weight=c.weight,
                     critical=c.critical, fail_below=c.fail_below, allow_na=c.allow_na,
                     root_causes=list(c.root_causes), guidance=c.guidance)
        for c in defn.criteria
    ]
    return ScorecardOut(id=card.id or 0, version=version.version, name=defn.name,
                        description=defn.description, pass_threshold=defn.pass_threshold,
                        archived=card.archived, created_at=version.created_at, criteria=criteria)


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
