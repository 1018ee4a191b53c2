"""Scorecard management pages: list, upload, view a version, upload a new version, export, archive."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from sqlmodel import Session, col, select
from starlette.responses import RedirectResponse, Response

from qa.auth.deps import ManagerUser, SessionDep
from qa.models import Channel, Scorecard, ScorecardVersion, Team
from qa.scorecard_admin import editor, scopes
from qa.scorecard_admin import service as scorecard_service
from qa.web.htmx import hx_redirect
from qa.web.templates import render
from scorecards import CriterionDef, DefinitionError, FieldError, ScorecardDef, parse_definition
from scorecards.definition import MAX_DEFINITION_BYTES

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the public API

FLASH_KEY = "flash"
MAX_VERSION = 2**31 - 1
VersionQuery = Annotated[int | None, Query(ge=1, le=MAX_VERSION)]
UploadField = Annotated[UploadFile | None, File()]
# Starlette already caps a multipart text field at 1 MB; the same limit applies to the pasted text.
TextField = Annotated[str, Form()]


class UploadProblem(Exception):
    """The uploaded or pasted definition was refused; `errors` says why, field by field."""

    def __init__(self, errors: list[FieldError], status_code: int = 422) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = errors
        self.status_code = status_code


@dataclass(frozen=True)
class Section:
    """Criteria of one section, in scorecard order (name None: criteria without a section)."""

    name: str | None
    criteria: list[CriterionDef]


# --- helpers -----------------------------------------------------------------------------------------


def flash(request: Request, message: str) -> None:
    """Keep a one-time message for the next page this browser opens."""
    request.session[FLASH_KEY] = message


def pop_flash(request: Request) -> str | None:
    """The pending one-time message, removed from the session."""
    message = request.session.pop(FLASH_KEY, None)
    return message if isinstance(message, str) else None


def _upload_format(filename: str) -> str | None:
    suffix = PurePath(filename).suffix.lower()
    return {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(suffix)


def _read_upload(file: UploadFile) -> bytes:
    # Read one byte past the limit so an oversized file is refused without reading it all.
    data = file.file.read(MAX_DEFINITION_BYTES + 1)
    if len(data) > MAX_DEFINITION_BYTES:
        message = f"{file.filename} is larger than 1 MB; a scorecard definition must be at most 1 MB."
        raise UploadProblem([FieldError("file", message)], status_code=413)
    return data


def definition_from_form(file: UploadFile | None, text: str) -> ScorecardDef:
    """The definition from the uploaded file (preferred) or the pasted text; UploadProblem if unusable."""
    try:
        if file is not None and file.filename:
            data = _read_upload(file)
            if data.strip():
                return parse_definition(data, fmt=_upload_format(file.filename))
            raise UploadProblem([FieldError("file", f"{file.filename} is empty.")])
        if not text.strip():
            raise UploadProblem([FieldError("", "Choose a JSON or YAML file, or paste the definition.")])
        return parse_definition(text)
    except DefinitionError as exc:
        raise UploadProblem(exc.errors) from exc


def _sections(defn: ScorecardDef) -> list[Section]:
    return [Section(name, [c for c in defn.criteria if c.section == name]) for name in defn.sections]


def _detail_context(session: Session, card: Scorecard, version: ScorecardVersion) -> dict[str, Any]:
    defn = scorecard_service.definition_for(session, version.id)  # type: ignore[arg-type]
    versions = scorecard_service.list_versions(session, card.id)  # type: ignore[arg-type]
    current = versions[0][0]
    return {
        "card": card, "version": version, "defn": defn, "sections": _sections(defn),
        "total_weight": sum(c.weight for c in defn.criteria), "versions": versions,
        "current": current, "is_current": version.id == current.id,
        "review_total": sum(n_reviews for _, _, n_reviews in versions),
        "version_reviews": next(n for v, _, n in versions if v.id == version.id),
        "active_nav": "scorecards", "errors": [], "text": "",
        "draft": editor.get_draft(session, card.id),  # type: ignore[arg-type]
        "scopes": scopes.scopes_by_scorecard(session, [card.id]).get(card.id or 0, []),  # type: ignore[list-item]
        **scope_choices(session),
    }


def scope_choices(session: Session) -> dict[str, Any]:
    """Teams and channels for the scope form."""
    teams = list(session.exec(select(Team).order_by(col(Team.name))))
    return {"teams": teams, "channels": [c.value for c in Channel]}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "scorecard"


# --- routes ------------------------------------------------------------------------------------------


@router.get("/scorecards", name="scorecards:list")
def list_page(
    request: Request, session: SessionDep, user: ManagerUser, show: Literal["active", "archived"] = "active"
) -> Response:
    """Every scorecard with its current version, criteria and review counts."""
    rows = scorecard_service.list_scorecards(session, include_archived=True)
    counts = scorecard_service.criteria_counts(session, [version.id for _, version, _ in rows])  # type: ignore[misc]
    drafts = editor.drafts_by_scorecard(session)
    rows += [(card, drafts[card.id], 0) for card in editor.unpublished_scorecards(session, drafts)]  # type: ignore[index]
    rows.sort(key=lambda row: row[0].name.lower())
    counts |= scorecard_service.criteria_counts(session, [d.id for d in drafts.values()])  # type: ignore[misc]
    archived_count = sum(1 for card, _, _ in rows if card.archived)
    shown = [row for row in rows if row[0].archived == (show == "archived")]
    ctx = {"rows": shown, "criteria_counts": counts, "show": show, "archived_count": archived_count,
           "active_count": len(rows) - archived_count, "flash": pop_flash(request),
           "active_nav": "scorecards", "drafts": drafts, "scopes": scopes.scopes_by_scorecard(session)}
    return render(request, "scorecards/list.html", ctx)


@router.get("/scorecards/new", name="scorecards:new")
def new_page(request: Request, user: ManagerUser) -> Response:
    """The upload form: a JSON or YAML file, or the definition pasted."""
    return render(request, "scorecards/new.html", {"errors": [], "text": "", "active_nav": "scorecards"})


@router.post("/scorecards/new", name="scorecards:create")
def create(
    request: Request, session: SessionDep, user: ManagerUser,
    file: UploadField = None, definition: TextField = "",
) -> Response:
    """Create a scorecard from the upload; on errors show the form again with every problem listed."""
    try:
        defn = definition_from_form(file, definition)
    except UploadProblem as exc:
        ctx = {"errors": exc.errors, "text": definition, "filename": file.filename if file else None,
               "active_nav": "scorecards"}
        return render(request, "scorecards/new.html", ctx, status_code=exc.status_code)
    version = scorecard_service.create_scorecard(session, actor=user, definition=defn)
    flash(request, f"Scorecard created: “{version.name}” v1 with {len(defn.criteria)} criteria.")
    return hx_redirect(request, str(request.url_for("scorecards:detail", scorecard_id=version.scorecard_id)))


@router.get("/scorecards/{scorecard_id:int}", name="scorecards:detail")
def detail(
    request: Request, session: SessionDep, user: ManagerUser, scorecard_id: int, version: VersionQuery = None
) -> Response:
    """A version (the current one unless ?version=N) as reviewers see it, with the version history."""
    card = scorecard_service.get_scorecard(session, scorecard_id)
    if version is None and editor.current_or_none(session, scorecard_id) is None:  # only a draft so far
        return RedirectResponse(str(request.url_for("scorecards:edit", scorecard_id=scorecard_id)), 303)
    shown = scorecard_service.version_by_number(session, scorecard_id=scorecard_id, number=version)
    ctx = _detail_context(session, card, shown) | {"flash": pop_flash(request)}
    return render(request, "scorecards/detail.html", ctx)


@router.post("/scorecards/{scorecard_id:int}/versions", name="scorecards:new_version")
def new_version(
    request: Request, session: SessionDep, user: ManagerUser, scorecard_id: int,
    file: UploadField = None, definition: TextField = "",
) -> Response:
    """Upload the next version; reviews already made keep the version they were scored with."""
    card = scorecard_service.get_scorecard(session, scorecard_id)
    try:
        defn = definition_from_form(file, definition)
    except UploadProblem as exc:
        current = scorecard_service.current_version(session, scorecard_id)
        ctx = _detail_context(session, card, current) | {
            "errors": exc.errors, "text": definition, "filename": file.filename if file else None}
        return render(request, "scorecards/detail.html", ctx, status_code=exc.status_code)
    created = scorecard_service.add_version(session, actor=user, scorecard_id=scorecard_id, definition=defn)
    flash(request, f"Version {created.version} published. Earlier reviews keep their version.")
    return hx_redirect(request, str(request.url_for("scorecards:detail", scorecard_id=scorecard_id)))


@router.get("/scorecards/{scorecard_id:int}/export", name="scorecards:export")
def export(
    session: SessionDep, user: ManagerUser, scorecard_id: int, version: VersionQuery = None,
    format: Literal["json", "yaml"] = "json",
) -> Response:
    """Download a version as native JSON or YAML (uploading it again gives the same definition)."""
    shown = scorecard_service.version_by_number(session, scorecard_id=scorecard_id, number=version)
    body = scorecard_service.export_definition(session, version_id=shown.id, fmt=format)  # type: ignore[arg-type]
    filename = f"{_slug(shown.name)}-v{shown.version}.{format}"
    media_type = "application/json" if format == "json" else "application/yaml"
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/scorecards/{scorecard_id:int}/archive", name="scorecards:archive")
def archive(
    request: Request, session: SessionDep, user: ManagerUser, scorecard_id: int,
    archived: Annotated[bool, Form()] = True,
) -> Response:
    """Archive (no new reviews) or unarchive a scorecard; existing reviews are untouched."""
    card = scorecard_service.archive_scorecard(session, actor=user, scorecard_id=scorecard_id,
                                               archived=archived)
    flash(request, f"“{card.name}” {'archived' if archived else 'restored'}.")
    return hx_redirect(request, str(request.url_for("scorecards:detail", scorecard_id=scorecard_id)))
