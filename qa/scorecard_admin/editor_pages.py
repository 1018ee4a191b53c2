"""Scorecard editor pages (HTMX): create, edit a draft inline, preview, diff, publish, scopes, what-if.

Each edit posts one small form; on success the `#editor` region is swapped with the new state, on a
validation error the form itself comes back (422, `HX-Retarget` to the form) with each message beside its
field and nothing saved. Without htmx the same forms post normally and redirect back to the editor.
Criterion forms carry an `action`: `save`, or `refresh` / `add_option` / `remove_option:N` which only
redraw the form (scale picker, custom option rows) without saving.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from sqlmodel import Session, col, select
from starlette.responses import RedirectResponse, Response

from qa.auth.deps import ManagerUser, SessionDep
from qa.errors import InvalidInput, NotFound
from qa.models import Scorecard, ScorecardVersion
from qa.scorecard_admin import editor, scopes
from qa.scorecard_admin import service as scorecard_service
from qa.scorecard_admin import whatif as whatif_service
from qa.scorecard_admin.pages import UploadProblem, definition_from_form, flash, pop_flash
from qa.web.htmx import hx_redirect, is_htmx
from qa.web.templates import render
from scorecards import SCALE_NAMES, CriterionDef, DefinitionError, ScorecardDef
from scorecards.diff import diff_definitions

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form()]
Texts = Annotated[list[str] | None, Form()]
Direction = Annotated[Literal["up", "down"], Form()]
MAX_VERSION = 2**31 - 1
VersionQuery = Annotated[int | None, Query(ge=1, le=MAX_VERSION)]
SCALE_LABELS = {"binary": "Yes / No", "3": "1–3", "4": "1–4", "5": "1–5", "custom": "Custom options"}


@dataclass(frozen=True)
class CriterionForm:
    """What a criterion form shows: its values as text, errors by field, and whether it adds a criterion."""

    values: dict[str, Any]
    errors: dict[str, str]
    is_new: bool


# --- form state -----------------------------------------------------------------------------------------


def _form_of(c: CriterionDef) -> dict[str, Any]:
    return {
        "key": c.key,
        "name": c.name,
        "section": c.section or "",
        "guidance": c.guidance,
        "scale": c.scale,
        "weight": f"{c.weight:g}",
        "critical": c.critical,
        "fail_below": f"{c.fail_below:g}",
        "allow_na": c.allow_na,
        "root_causes": "\n".join(c.root_causes),
        "options": [{"label": o.label, "score": f"{o.score:g}"} for o in c.options]
        if c.scale == "custom"
        else [],
    }


def _empty_form(section: str = "") -> dict[str, Any]:
    return {
        "key": "",
        "name": "",
        "section": section,
        "guidance": "",
        "scale": "binary",
        "weight": "1",
        "critical": False,
        "fail_below": "0.5",
        "allow_na": False,
        "root_causes": "",
        "options": [],
    }


def _posted(form: dict[str, Any]) -> dict[str, Any]:
    """The posted values as the form shows them again."""
    rows = [
        {"label": label, "score": score}
        for label, score in zip(form["option_label"], form["option_score"], strict=False)
    ]
    return {
        **{
            k: form[k]
            for k in ("key", "name", "section", "guidance", "scale", "weight", "fail_below", "root_causes")
        },
        "critical": form["critical"] == "on",
        "allow_na": form["allow_na"] == "on",
        "options": rows,
    }


def _redraw(values: dict[str, Any], action: str) -> dict[str, Any]:
    """Apply a form-only action: add/remove a custom option row, or start custom options."""
    rows = list(values["options"])
    if action == "add_option":
        rows.append({"label": "", "score": ""})
    elif action.startswith("remove_option:") and action.split(":")[1].isdigit():
        index = int(action.split(":")[1])
        rows = [row for i, row in enumerate(rows) if i != index]
    if values["scale"] == "custom" and len(rows) < 2:
        rows += [{"label": "", "score": ""}] * (2 - len(rows))
    return {**values, "options": rows}


def _criterion_post(
    name: Text = "",
    section: Text = "",
    guidance: Text = "",
    scale: Text = "binary",
    weight: Text = "1",
    fail_below: Text = "",
    root_causes: Text = "",
    critical: Text = "",
    allow_na: Text = "",
    option_label: Texts = None,
    option_score: Texts = None,
) -> dict[str, Any]:
    """A posted criterion form, every field but `key` (a form field when adding, the path when editing)."""
    return {
        "name": name,
        "section": section,
        "guidance": guidance,
        "scale": scale,
        "weight": weight,
        "fail_below": fail_below,
        "root_causes": root_causes,
        "critical": critical,
        "allow_na": allow_na,
        "option_label": option_label or [],
        "option_score": option_score or [],
    }


CriterionPost = Annotated[dict[str, Any], Depends(_criterion_post)]


# --- contexts -------------------------------------------------------------------------------------------


def _sections(defn: ScorecardDef) -> list[tuple[str | None, list[CriterionDef]]]:
    return [(name, [c for c in defn.criteria if c.section == name]) for name in defn.sections]


def _editor_context(session: Session, card: Scorecard, **extra: Any) -> dict[str, Any]:
    defn, draft = editor.editable_definition(session, card.id)  # type: ignore[arg-type]
    current = editor.current_or_none(session, card.id)  # type: ignore[arg-type]
    diff = editor.draft_diff(session, card.id) if draft else None  # type: ignore[arg-type]
    return {
        "card": card,
        "defn": defn,
        "draft": draft,
        "current": current,
        "diff": diff,
        "sections": _sections(defn),
        "total_weight": sum(c.weight for c in defn.criteria),
        "scales": SCALE_NAMES,
        "scale_labels": SCALE_LABELS,
        "forms": {},
        "new_form": CriterionForm(_empty_form(), {}, True),
        "card_errors": {},
        "import_errors": [],
        "next_number": draft.version if draft else (current.version + 1 if current else 1),
        "active_nav": "scorecards",
        **extra,
    }


def _editor_response(
    request: Request, session: Session, card: Scorecard, status_code: int = 200, **extra: Any
) -> Response:
    ctx = _editor_context(session, card, **extra)
    if is_htmx(request) and status_code == 200:
        return render(request, "scorecards/_editor.html", ctx)
    return render(
        request, "scorecards/edit.html", ctx | {"flash": pop_flash(request)}, status_code=status_code
    )


def _invalid(
    request: Request, session: Session, card: Scorecard, target: str, template: str, ctx: dict[str, Any]
) -> Response:
    """A refused edit: the form alone (htmx, retargeted) or the whole editor with the form's errors."""
    if is_htmx(request):
        full = _editor_context(session, card) | ctx
        response = render(request, template, full, status_code=422)
        response.headers["HX-Retarget"] = f"#{target}"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    return _editor_response(request, session, card, status_code=422, **ctx)


def _card(session: Session, scorecard_id: int) -> Scorecard:
    return scorecard_service.get_scorecard(session, scorecard_id)


def _done(request: Request, session: Session, card: Scorecard) -> Response:
    if is_htmx(request):
        return _editor_response(request, session, card)
    return RedirectResponse(str(request.url_for("scorecards:edit", scorecard_id=card.id)), status_code=303)


def _slug_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:64] or "criterion"


# --- create -------------------------------------------------------------------------------------------


def _create_form(
    request: Request, values: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> Response:
    ctx = {
        "values": values,
        "errors": errors,
        "scales": SCALE_NAMES,
        "scale_labels": SCALE_LABELS,
        "active_nav": "scorecards",
    }
    return render(request, "scorecards/create.html", ctx, status_code=status_code)


@router.get("/scorecards/create", name="scorecards:editor_new")
def create_page(request: Request, user: ManagerUser) -> Response:
    """Start a scorecard in the browser: its name, pass threshold and first criterion."""
    values = {"name": "", "description": "", "pass_threshold": "80", "criterion_name": "", "scale": "binary"}
    return _create_form(request, values, {})


@router.post("/scorecards/create", name="scorecards:editor_create")
def create_submit(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    name: Text = "",
    description: Text = "",
    pass_threshold: Text = "80",
    criterion_name: Text = "",
    scale: Text = "binary",
) -> Response:
    """Create the scorecard as a draft v1 and open it in the editor; errors beside their fields (422)."""
    first: dict[str, Any] = {"key": _slug_key(criterion_name), "name": criterion_name, "scale": scale}
    if scale == "custom":
        first["options"] = [{"label": "No", "score": 0}, {"label": "Yes", "score": 1}]
    raw = {
        "name": name,
        "description": description,
        "criteria": [first],
        "pass_threshold": editor._number_or_text(pass_threshold) if pass_threshold.strip() else 80,
    }
    try:
        card = editor.create_draft_scorecard(session, actor=user, definition=raw)
    except DefinitionError as exc:
        errors = {
            ("criterion_" + e.field.split(".")[-1] if e.field.startswith("criteria") else e.field): e.message
            for e in exc.errors
        }
        values = {
            "name": name,
            "description": description,
            "pass_threshold": pass_threshold,
            "criterion_name": criterion_name,
            "scale": scale,
        }
        return _create_form(request, values, errors, status_code=422)
    flash(request, f"Draft “{card.name}” created. Add its criteria, then publish it.")
    return hx_redirect(request, str(request.url_for("scorecards:edit", scorecard_id=card.id)))


# --- the editor ---------------------------------------------------------------------------------------


@router.get("/scorecards/{scorecard_id:int}/edit", name="scorecards:edit")
def edit_page(request: Request, session: SessionDep, user: ManagerUser, scorecard_id: int) -> Response:
    """The editor: the draft (or the current version, until the first change makes a draft)."""
    card = _card(session, scorecard_id)
    return render(
        request, "scorecards/edit.html", _editor_context(session, card) | {"flash": pop_flash(request)}
    )


@router.post("/scorecards/{scorecard_id:int}/edit/card", name="scorecards:edit_card")
def edit_card(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    scorecard_id: int,
    name: Text = "",
    description: Text = "",
    pass_threshold: Text = "",
) -> Response:
    """Change the draft's name, description and pass threshold."""
    card = _card(session, scorecard_id)
    threshold = editor._number_or_text(pass_threshold)
    fields = {
        "name": name,
        "description": description,
        "pass_threshold": 80.0 if threshold is None else threshold,
    }
    try:
        editor.update_card(session, actor=user, scorecard_id=scorecard_id, fields=fields)
    except DefinitionError as exc:
        errors = {e.field: e.message for e in exc.errors if not e.field.startswith("criteria")}
        values = {"name": name, "description": description, "pass_threshold": pass_threshold}
        return _invalid(
            request,
            session,
            card,
            "card-form",
            "scorecards/_card_form.html",
            {"card_errors": errors, "card_values": values},
        )
    return _done(request, session, card)


def _criterion_submit(
    request: Request,
    session: Session,
    user: Any,
    card: Scorecard,
    key: str | None,
    form: dict[str, Any],
    action: str,
) -> Response:
    values = _posted(form)
    target = f"crit-form-{key or 'new'}"
    if action != "save":
        redrawn = CriterionForm(_redraw(values, action), {}, key is None)
        if is_htmx(request):
            ctx = _editor_context(session, card) | {"form": redrawn, "form_id": target}
            return render(request, "scorecards/_criterion_form.html", ctx)
        return _editor_response(request, session, card, **_form_slot(key, redrawn))
    raw = editor.criterion_from_form(form)
    defn, _ = editor.editable_definition(session, card.id)  # type: ignore[arg-type]
    keys = [c.key for c in defn.criteria]
    index = len(keys) if key is None else keys.index(key)
    try:
        if key is None:
            editor.add_criterion(session, actor=user, scorecard_id=card.id, criterion=raw)  # type: ignore[arg-type]
        else:
            editor.update_criterion(session, actor=user, scorecard_id=card.id, key=key, criterion=raw)  # type: ignore[arg-type]
    except DefinitionError as exc:
        bad = CriterionForm(
            _redraw(values, "refresh"), editor.errors_by_field(exc, f"criteria[{index}]"), key is None
        )
        return _invalid(
            request,
            session,
            card,
            target,
            "scorecards/_criterion_form.html",
            {"form": bad, "form_id": target, **_form_slot(key, bad)},
        )
    return _done(request, session, card)


def _form_slot(key: str | None, form: CriterionForm) -> dict[str, Any]:
    """Context that puts `form` in its place in the whole editor (the add form, or a criterion's row)."""
    return {"new_form": form} if key is None else {"forms": {key: form}}


@router.post("/scorecards/{scorecard_id:int}/edit/criteria", name="scorecards:add_criterion")
def add_criterion(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    scorecard_id: int,
    fields: CriterionPost,
    key: Text = "",
    action: Text = "save",
) -> Response:
    """Add a criterion to the draft (or just redraw the add form, for the scale picker and option rows)."""
    card = _card(session, scorecard_id)
    return _criterion_submit(request, session, user, card, None, {"key": key, **fields}, action)


@router.get("/scorecards/{scorecard_id:int}/edit/criteria/{key}", name="scorecards:criterion_form")
def criterion_form(
    request: Request, session: SessionDep, user: ManagerUser, scorecard_id: int, key: str
) -> Response:
    """The inline edit form of one criterion."""
    card = _card(session, scorecard_id)
    defn, _ = editor.editable_definition(session, scorecard_id)
    try:
        criterion = defn.criterion(key)
    except KeyError:
        raise NotFound(f"The scorecard has no criterion {key!r}.") from None
    form = CriterionForm(_redraw(_form_of(criterion), "refresh"), {}, False)
    ctx = _editor_context(session, card) | {"form": form, "form_id": f"crit-form-{key}"}
    if is_htmx(request):
        return render(request, "scorecards/_criterion_form.html", ctx)
    return _editor_response(request, session, card, forms={key: form})


@router.post("/scorecards/{scorecard_id:int}/edit/criteria/{key}", name="scorecards:update_criterion")
def update_criterion(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    scorecard_id: int,
    key: str,
    fields: CriterionPost,
    action: Text = "save",
) -> Response:
    """Save a criterion's changes to the draft (its key stays)."""
    card = _card(session, scorecard_id)
    defn, _ = editor.editable_definition(session, scorecard_id)
    if key not in {c.key for c in defn.criteria}:
        raise NotFound(f"The scorecard has no criterion {key!r}.")
    return _criterion_submit(request, session, user, card, key, {"key": key, **fields}, action)


@router.post("/scorecards/{scorecard_id:int}/edit/criteria/{key}/move", name="scorecards:move_criterion")
def move_criterion(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    scorecard_id: int,
    key: str,
    direction: Direction,
) -> Response:
    """Move a criterion up or down within its section."""
    card = _card(session, scorecard_id)
    editor.move_criterion(session, actor=user, scorecard_id=scorecard_id, key=key, direction=direction)
    return _done(request, session, card)


@router.post("/scorecards/{scorecard_id:int}/edit/criteria/{key}/remove", name="scorecards:remove_criterion")
def remove_criterion(
    request: Request, session: SessionDep, user: ManagerUser, scorecard_id: int, key: str
) -> Response:
    """Remove a criterion from the draft (earlier versions keep it)."""
    card = _card(session, scorecard_id)
    try:
        editor.remove_criterion(session, actor=user, scorecard_id=scorecard_id, key=key)
    except DefinitionError as exc:
        raise InvalidInput(
            "A scorecard needs at least one criterion; add another before removing this one.",
            field="criteria",
        ) from exc
    return _done(request, session, card)


@router.post("/scorecards/{scorecard_id:int}/edit/sections", name="scorecards:edit_section")
def edit_section(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    scorecard_id: int,
    section: Text = "",
    new_name: Text = "",
    action: Annotated[Literal["rename", "up", "down"], Form()] = "rename",
) -> Response:
    """Rename a section (empty: criteria leave it) or move it up or down as a block."""
    card = _card(session, scorecard_id)
    name = section or None
    try:
        if action == "rename":
            editor.rename_section(
                session, actor=user, scorecard_id=scorecard_id, section=name, new_name=new_name
            )
        else:
            editor.move_section(
                session, actor=user, scorecard_id=scorecard_id, section=name, direction=action
            )
    except DefinitionError as exc:
        raise InvalidInput("; ".join(str(e) for e in exc.errors), field="new_name") from exc
    return _done(request, session, card)


@router.post("/scorecards/{scorecard_id:int}/edit/import", name="scorecards:import_draft")
def import_draft(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    scorecard_id: int,
    file: Annotated[UploadFile | None, File()] = None,
    definition: Text = "",
) -> Response:
    """Replace the draft with an uploaded JSON/YAML definition."""
    card = _card(session, scorecard_id)
    try:
        defn = definition_from_form(file, definition)
        editor.replace_draft(session, actor=user, scorecard_id=scorecard_id, definition=defn)
    except UploadProblem as exc:
        return _editor_response(request, session, card, status_code=exc.status_code, import_errors=exc.errors)
    except DefinitionError as exc:
        return _editor_response(request, session, card, status_code=422, import_errors=exc.errors)
    flash(request, "Definition imported into the draft. Review the changes, then publish.")
    return hx_redirect(request, str(request.url_for("scorecards:edit", scorecard_id=scorecard_id)))


# --- publish, discard, preview, diff --------------------------------------------------------------------


@router.get("/scorecards/{scorecard_id:int}/publish", name="scorecards:publish_confirm")
def publish_confirm(request: Request, session: SessionDep, user: ManagerUser, scorecard_id: int) -> Response:
    """Confirm publishing: the draft's changes against the current version."""
    card = _card(session, scorecard_id)
    draft = editor.get_draft(session, scorecard_id)
    if draft is None:
        flash(request, "There is no draft to publish.")
        return RedirectResponse(str(request.url_for("scorecards:edit", scorecard_id=scorecard_id)), 303)
    ctx = {
        "card": card,
        "draft": draft,
        "current": editor.current_or_none(session, scorecard_id),
        "diff": editor.draft_diff(session, scorecard_id),
        "active_nav": "scorecards",
    }
    return render(request, "scorecards/publish.html", ctx)


@router.post("/scorecards/{scorecard_id:int}/publish", name="scorecards:publish")
def publish(request: Request, session: SessionDep, user: ManagerUser, scorecard_id: int) -> Response:
    """Publish the draft as the new current version."""
    version = editor.publish_draft(session, actor=user, scorecard_id=scorecard_id)
    flash(
        request,
        f"Version {version.version} published. Earlier reviews keep the version they were scored with.",
    )
    return hx_redirect(request, str(request.url_for("scorecards:detail", scorecard_id=scorecard_id)))


@router.post("/scorecards/{scorecard_id:int}/draft/discard", name="scorecards:discard")
def discard(request: Request, session: SessionDep, user: ManagerUser, scorecard_id: int) -> Response:
    """Throw the draft away."""
    editor.discard_draft(session, actor=user, scorecard_id=scorecard_id)
    flash(request, "Draft discarded.")
    return hx_redirect(request, str(request.url_for("scorecards:detail", scorecard_id=scorecard_id)))


def _any_version(session: Session, scorecard_id: int, number: int | None) -> ScorecardVersion:
    """Version `number` (draft included); without a number the draft, else the current version."""
    if number is None:
        return editor.get_draft(session, scorecard_id) or scorecard_service.current_version(
            session, scorecard_id
        )
    found = session.exec(
        select(ScorecardVersion).where(
            ScorecardVersion.scorecard_id == scorecard_id, ScorecardVersion.version == number
        )
    ).first()
    if found is None:
        raise NotFound(f"Scorecard {scorecard_id} has no version {number}.")
    return found


@dataclass(frozen=True)
class _NoRatings:
    """Stands in for a review's detail so the review page's criterion partial renders unanswered."""

    ratings: dict[str, Any]
    result: Any


@router.get("/scorecards/{scorecard_id:int}/preview", name="scorecards:preview")
def preview(
    request: Request, session: SessionDep, user: ManagerUser, scorecard_id: int, version: VersionQuery = None
) -> Response:
    """The form reviewers will see for a version (default: the draft), inert."""
    card = _card(session, scorecard_id)
    shown = _any_version(session, scorecard_id, version)
    defn = editor.version_definition(session, shown)
    d = _NoRatings({}, type("Empty", (), {"criterion_scores": {}})())
    ctx = {
        "card": card,
        "version": shown,
        "defn": defn,
        "sections": _sections(defn),
        "d": d,
        "editing": False,
        "active_nav": "scorecards",
    }
    return render(request, "scorecards/preview.html", ctx)


@router.get("/scorecards/{scorecard_id:int}/diff", name="scorecards:diff")
def diff_page(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    scorecard_id: int,
    a: VersionQuery = None,
    b: VersionQuery = None,
) -> Response:
    """What changed between two versions (default: the newest and the one before it)."""
    card = _card(session, scorecard_id)
    versions = list(
        session.exec(
            select(ScorecardVersion)
            .where(ScorecardVersion.scorecard_id == scorecard_id)
            .order_by(col(ScorecardVersion.version).desc())
        )
    )
    newer = _any_version(session, scorecard_id, b) if b else versions[0]
    older_number = (
        a if a else max((v.version for v in versions if v.version < newer.version), default=newer.version)
    )
    older = _any_version(session, scorecard_id, older_number)
    diff = diff_definitions(
        editor.version_definition(session, older), editor.version_definition(session, newer)
    )
    ctx = {
        "card": card,
        "versions": versions,
        "older": older,
        "newer": newer,
        "diff": diff,
        "active_nav": "scorecards",
    }
    return render(request, "scorecards/diff.html", ctx)


# --- scopes and what-if ---------------------------------------------------------------------------------


@router.post("/scorecards/{scorecard_id:int}/scopes", name="scorecards:add_scope")
def add_scope(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    scorecard_id: int,
    team_id: Text = "",
    channel: Text = "",
) -> Response:
    """Make the scorecard the default for a team and/or channel."""
    team = int(team_id) if team_id.strip().isdigit() else None
    if team_id.strip() and team is None:
        raise InvalidInput(f"Team {team_id!r} not found.", field="team_id")
    scopes.add_scope(session, actor=user, scorecard_id=scorecard_id, team_id=team, channel=channel or None)
    flash(request, "Scope added.")
    return hx_redirect(request, str(request.url_for("scorecards:detail", scorecard_id=scorecard_id)))


@router.post("/scorecards/{scorecard_id:int}/scopes/{scope_id:int}/remove", name="scorecards:remove_scope")
def remove_scope(
    request: Request, session: SessionDep, user: ManagerUser, scorecard_id: int, scope_id: int
) -> Response:
    """Remove a scope."""
    scopes.remove_scope(session, actor=user, scorecard_id=scorecard_id, scope_id=scope_id)
    flash(request, "Scope removed.")
    return hx_redirect(request, str(request.url_for("scorecards:detail", scorecard_id=scorecard_id)))


@router.get("/scorecards/{scorecard_id:int}/what-if", name="scorecards:what_if")
def what_if(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    scorecard_id: int,
    start: date | None = None,
    end: date | None = None,
) -> Response:
    """How the period's scores would change under the draft."""
    card = _card(session, scorecard_id)
    report = whatif_service.what_if(session, actor=user, scorecard_id=scorecard_id, start=start, end=end)
    ctx = {
        "card": card,
        "report": report,
        "draft": editor.get_draft(session, scorecard_id),
        "active_nav": "scorecards",
    }
    if is_htmx(request):
        return render(request, "scorecards/_whatif.html", ctx)
    return render(request, "scorecards/whatif.html", ctx)
