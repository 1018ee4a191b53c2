"""Editing scorecards in the browser: one draft version per scorecard, edited in place, published explicitly.

Decisions:
- Every edit goes to the scorecard's draft (`ScorecardVersion.published=False`, at most one per scorecard).
  The first edit creates it from the current version; a scorecard created in the editor starts as a draft
  v1 and cannot be reviewed with until it is published (reviews use the newest *published* version).
- An edit is applied to the definition as a native dict, validated by `scorecards.validate_definition` and
  only then written; an invalid edit raises `DefinitionError` (field paths such as `criteria[2].weight`)
  and writes nothing, not even the draft.
- The draft's number is the next version number. Publishing makes it that version (published_at set);
  even if the current version has no reviews it is a new version, never an overwrite (simple, auditable).
- Uploading a new version directly (page or API) stays a direct publish, as before issue 6, but is refused
  (409) while a draft exists: publish or discard the draft first, or import the file into the draft.
- Criterion keys are fixed once a criterion exists (reports and the what-if follow criteria by key); to
  change a key, remove the criterion and add a new one.
- Criteria are kept grouped by section (sections in order of first appearance), so moving a criterion
  moves it within its section and a section moves as a block.
- Audit: `scorecard.draft_create`, then one entry per change (`scorecard.draft_card`,
  `scorecard.criterion_add|change|remove|move`) with before/after, `scorecard.publish`,
  `scorecard.draft_discard`. Draft definitions are read past `qa.cache`, since they change in place.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Literal

from sqlalchemy import delete
from sqlmodel import Session, col, func, select

from qa.audit import service as audit
from qa.errors import Conflict, NotFound
from qa.models import Criterion, Scorecard, ScorecardVersion, User, utcnow
from qa.scorecard_admin import service as scorecard_service
from scorecards import DefinitionError, ScorecardDef, definition_to_dict, validate_definition
from scorecards.diff import DefinitionDiff, diff_definitions

Raw = dict[str, Any]
Direction = Literal["up", "down"]


# --- reading ------------------------------------------------------------------------------------------


def get_draft(session: Session, scorecard_id: int) -> ScorecardVersion | None:
    """The scorecard's draft version, if it has one."""
    return session.exec(
        select(ScorecardVersion).where(
            ScorecardVersion.scorecard_id == scorecard_id, col(ScorecardVersion.published).is_(False)
        )
    ).first()


def current_or_none(session: Session, scorecard_id: int) -> ScorecardVersion | None:
    """The newest published version, or None for a scorecard that is still only a draft."""
    try:
        return scorecard_service.current_version(session, scorecard_id)
    except NotFound:
        return None


def version_definition(session: Session, version: ScorecardVersion) -> ScorecardDef:
    """A version's definition; a draft's is read fresh (it changes in place), a published one from cache."""
    if version.published:
        return scorecard_service.definition_for(session, version.id)  # type: ignore[arg-type]
    return scorecard_service._definition_for(session, version.id)  # type: ignore[arg-type]


def editable_definition(session: Session, scorecard_id: int) -> tuple[ScorecardDef, ScorecardVersion | None]:
    """What the editor shows: the draft, or the current version until the first edit makes a draft."""
    scorecard_service.get_scorecard(session, scorecard_id)
    draft = get_draft(session, scorecard_id)
    if draft is not None:
        return version_definition(session, draft), draft
    current = scorecard_service.current_version(session, scorecard_id)
    return version_definition(session, current), None


def draft_diff(session: Session, scorecard_id: int) -> DefinitionDiff | None:
    """The draft against the current version (against an empty card for a never-published scorecard)."""
    draft = get_draft(session, scorecard_id)
    if draft is None:
        return None
    current = current_or_none(session, scorecard_id)
    newer = version_definition(session, draft)
    older = version_definition(session, current) if current else ScorecardDef(newer.name, "", 0.0, ())
    return diff_definitions(older, newer)


# --- writing ------------------------------------------------------------------------------------------


def _next_number(session: Session, scorecard_id: int) -> int:
    top = session.exec(
        select(func.max(ScorecardVersion.version)).where(ScorecardVersion.scorecard_id == scorecard_id)
    ).one()
    return int(top or 0) + 1


def _editable_card(session: Session, scorecard_id: int) -> Scorecard:
    card = scorecard_service.get_scorecard(session, scorecard_id)
    if card.archived:
        raise Conflict(f"Scorecard “{card.name}” is archived. Unarchive it before editing.")
    return card


def _write_criteria(session: Session, version: ScorecardVersion, defn: ScorecardDef) -> None:
    version.name, version.description = defn.name, defn.description
    version.pass_threshold = defn.pass_threshold
    session.add(version)
    session.execute(delete(Criterion).where(col(Criterion.version_id) == version.id))
    session.flush()
    for position, crit in enumerate(defn.criteria):
        session.add(
            Criterion(
                version_id=version.id,  # type: ignore[arg-type]
                position=position,
                key=crit.key,
                name=crit.name,
                section=crit.section,
                guidance=crit.guidance,
                scale=crit.scale,
                options=[{"label": o.label, "score": o.score} for o in crit.options],
                weight=crit.weight,
                critical=crit.critical,
                fail_below=crit.fail_below,
                allow_na=crit.allow_na,
                root_causes=list(crit.root_causes),
            )
        )
    session.flush()


def _insert_draft(
    session: Session, actor: User | None, card: Scorecard, number: int, defn: ScorecardDef
) -> ScorecardVersion:
    """An unpublished version `number` of `card` holding `defn` (not audited: callers say why it exists)."""
    draft = ScorecardVersion(
        scorecard_id=card.id,  # type: ignore[arg-type]
        version=number,
        name=defn.name,
        published=False,
        created_by_id=actor.id if actor else None,
    )
    session.add(draft)
    session.flush()
    _write_criteria(session, draft, defn)
    return draft


def _new_draft(session: Session, actor: User | None, card: Scorecard, defn: ScorecardDef) -> ScorecardVersion:
    draft = _insert_draft(session, actor, card, _next_number(session, card.id), defn)  # type: ignore[arg-type]
    audit.record(
        session,
        actor=actor,
        action="scorecard.draft_create",
        entity="scorecard",
        entity_id=card.id,
        after={"version": draft.version, "from_version": draft.version - 1},
    )
    return draft


def _criterion_dict(defn: ScorecardDef, key: str) -> Raw:
    return next(c for c in definition_to_dict(defn)["criteria"] if c["key"] == key)  # type: ignore[attr-defined]


def _audit_changes(
    session: Session, actor: User | None, card_id: int, version: int, older: ScorecardDef, newer: ScorecardDef
) -> None:
    """One audit entry per change: the card's fields, then each criterion added/changed/moved/removed."""
    diff = diff_definitions(older, newer)
    if diff.card:
        audit.record(
            session,
            actor=actor,
            action="scorecard.draft_card",
            entity="scorecard",
            entity_id=card_id,
            before={"version": version, **{f.field: f.before for f in diff.card}},
            after={"version": version, **{f.field: f.after for f in diff.card}},
        )
    for change in diff.criteria:
        action = {
            "added": "criterion_add",
            "removed": "criterion_remove",
            "changed": "criterion_change",
            "moved": "criterion_move",
        }[change.kind]
        before = _criterion_dict(older, change.key) if change.kind != "added" else None
        after = _criterion_dict(newer, change.key) if change.kind != "removed" else None
        audit.record(
            session,
            actor=actor,
            action=f"scorecard.{action}",
            entity="scorecard",
            entity_id=card_id,
            before=_with_position(before, version, change.position_before),
            after=_with_position(after, version, change.position_after),
        )


def _with_position(data: Raw | None, version: int, position: int | None) -> Raw | None:
    if data is None:
        return None
    return {"version": version, "position": position, "criterion": data}


def _edit(
    session: Session, *, actor: User | None, scorecard_id: int, change: Callable[[Raw], None]
) -> ScorecardDef:
    """Apply `change` to the editable definition, validate, then save to the draft (made if need be)."""
    card = _editable_card(session, scorecard_id)
    older, draft = editable_definition(session, scorecard_id)
    raw = copy.deepcopy(definition_to_dict(older))
    change(raw)
    newer = _grouped(validate_definition(raw))  # raises DefinitionError before anything is written
    if newer == older:
        return older
    if draft is None:
        draft = _new_draft(session, actor, card, older)
    _write_criteria(session, draft, newer)
    _audit_changes(session, actor, card.id, draft.version, older, newer)  # type: ignore[arg-type]
    return newer


def _grouped(defn: ScorecardDef) -> ScorecardDef:
    """Criteria regrouped so each section's criteria are together (sections in order of first appearance)."""
    order = {section: rank for rank, section in enumerate(defn.sections)}
    criteria = sorted(defn.criteria, key=lambda c: order[c.section])  # sorted() is stable
    return ScorecardDef(defn.name, defn.description, defn.pass_threshold, tuple(criteria))


def _index(raw: Raw, key: str) -> int:
    for index, item in enumerate(raw["criteria"]):
        if item["key"] == key:
            return int(index)
    raise NotFound(f"The scorecard has no criterion {key!r}.")


def update_card(session: Session, *, actor: User | None, scorecard_id: int, fields: Raw) -> ScorecardDef:
    """Change the name, description and/or pass threshold of the draft."""

    def change(raw: Raw) -> None:
        raw.update({k: v for k, v in fields.items() if k in ("name", "description", "pass_threshold")})

    return _edit(session, actor=actor, scorecard_id=scorecard_id, change=change)


def add_criterion(session: Session, *, actor: User | None, scorecard_id: int, criterion: Raw) -> ScorecardDef:
    """Append a criterion (at the end of its section); DefinitionError paths name it `criteria[n]`."""
    return _edit(
        session, actor=actor, scorecard_id=scorecard_id, change=lambda raw: raw["criteria"].append(criterion)
    )


def update_criterion(
    session: Session, *, actor: User | None, scorecard_id: int, key: str, criterion: Raw
) -> ScorecardDef:
    """Replace a criterion's fields; its key stays (see the module docstring)."""

    def change(raw: Raw) -> None:
        raw["criteria"][_index(raw, key)] = {**criterion, "key": key}

    return _edit(session, actor=actor, scorecard_id=scorecard_id, change=change)


def remove_criterion(session: Session, *, actor: User | None, scorecard_id: int, key: str) -> ScorecardDef:
    """Remove a criterion (a scorecard keeps at least one)."""
    return _edit(
        session,
        actor=actor,
        scorecard_id=scorecard_id,
        change=lambda raw: raw["criteria"].pop(_index(raw, key)),
    )


def move_criterion(
    session: Session, *, actor: User | None, scorecard_id: int, key: str, direction: Direction
) -> ScorecardDef:
    """Move a criterion one place up or down within its section (a no-op at the section's edge)."""

    def change(raw: Raw) -> None:
        items = raw["criteria"]
        index = _index(raw, key)
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(items) and items[other].get("section") == items[index].get("section"):
            items[index], items[other] = items[other], items[index]

    return _edit(session, actor=actor, scorecard_id=scorecard_id, change=change)


def _section_names(raw: Raw) -> list[str | None]:
    return list(dict.fromkeys(item.get("section") for item in raw["criteria"]))


def rename_section(
    session: Session, *, actor: User | None, scorecard_id: int, section: str | None, new_name: str
) -> ScorecardDef:
    """Rename a section (an empty name moves its criteria out of any section)."""

    def change(raw: Raw) -> None:
        if section not in _section_names(raw):
            raise NotFound(f"The scorecard has no section {section!r}.")
        for item in raw["criteria"]:
            if item.get("section") == section:
                item["section"] = new_name.strip() or None
                if item["section"] is None:
                    item.pop("section")

    return _edit(session, actor=actor, scorecard_id=scorecard_id, change=change)


def move_section(
    session: Session, *, actor: User | None, scorecard_id: int, section: str | None, direction: Direction
) -> ScorecardDef:
    """Move a whole section one place up or down."""

    def change(raw: Raw) -> None:
        names = _section_names(raw)
        if section not in names:
            raise NotFound(f"The scorecard has no section {section!r}.")
        index = names.index(section)
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(names):
            names[index], names[other] = names[other], names[index]
        rank = {name: position for position, name in enumerate(names)}
        raw["criteria"].sort(key=lambda item: rank[item.get("section")])

    return _edit(session, actor=actor, scorecard_id=scorecard_id, change=change)


def replace_draft(
    session: Session, *, actor: User | None, scorecard_id: int, definition: ScorecardDef
) -> ScorecardDef:
    """Make the draft this whole definition (an import into the draft, or the API)."""
    replacement = definition_to_dict(definition)

    def change(raw: Raw) -> None:
        raw.clear()
        raw.update(copy.deepcopy(replacement))

    return _edit(session, actor=actor, scorecard_id=scorecard_id, change=change)


def create_draft_scorecard(session: Session, *, actor: User | None, definition: Raw) -> Scorecard:
    """A new scorecard whose only version is a draft v1 (validated; DefinitionError when invalid)."""
    defn = _grouped(validate_definition(definition))
    card = Scorecard(name=defn.name, created_by_id=actor.id if actor else None)
    session.add(card)
    session.flush()
    _insert_draft(session, actor, card, 1, defn)
    audit.record(
        session,
        actor=actor,
        action="scorecard.create",
        entity="scorecard",
        entity_id=card.id,
        after={"version": 1, "draft": True, "definition": definition_to_dict(defn)},
    )
    return card


def publish_draft(session: Session, *, actor: User | None, scorecard_id: int) -> ScorecardVersion:
    """Make the draft the current version; reviews already made keep the version they were scored with."""
    card = _editable_card(session, scorecard_id)
    draft = get_draft(session, scorecard_id)
    if draft is None:
        raise Conflict(f"Scorecard “{card.name}” has no draft to publish.")
    diff = draft_diff(session, scorecard_id)
    current = current_or_none(session, scorecard_id)
    if diff is not None and diff.empty and current is not None:
        raise Conflict("The draft is the same as the current version; edit it or discard it.")
    draft.published, draft.published_at = True, utcnow()
    card.name = draft.name
    session.add_all([draft, card])
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="scorecard.publish",
        entity="scorecard",
        entity_id=card.id,
        before={"version": current.version if current else None},
        after={"version": draft.version, "changes": _summary(diff)},
    )
    return draft


def _summary(diff: DefinitionDiff | None) -> dict[str, list[str]]:
    if diff is None:
        return {}
    kinds: dict[str, list[str]] = {"card": [f.field for f in diff.card]}
    for change in diff.criteria:
        kinds.setdefault(change.kind, []).append(change.key)
    return kinds


def discard_draft(session: Session, *, actor: User | None, scorecard_id: int) -> Scorecard:
    """Throw the draft away; a scorecard that was never published cannot lose its only version."""
    card = scorecard_service.get_scorecard(session, scorecard_id)
    draft = get_draft(session, scorecard_id)
    if draft is None:
        raise Conflict(f"Scorecard “{card.name}” has no draft.")
    if current_or_none(session, scorecard_id) is None:
        raise Conflict(
            "This scorecard has never been published, so its draft is all it has; archive it instead."
        )
    before = definition_to_dict(version_definition(session, draft))
    session.execute(delete(Criterion).where(col(Criterion.version_id) == draft.id))
    session.delete(draft)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="scorecard.draft_discard",
        entity="scorecard",
        entity_id=card.id,
        before={"version": draft.version, "definition": before},
    )
    return card


def require_no_draft(session: Session, scorecard_id: int) -> None:
    """Conflict when a draft exists (a direct upload would skip past it)."""
    if get_draft(session, scorecard_id) is not None:
        raise Conflict(
            "This scorecard has a draft. Publish or discard it first, or import the file into the draft."
        )


# --- forms ------------------------------------------------------------------------------------------


def _number_or_text(value: str) -> float | str | None:
    """A form number: a float when it reads as one, the text otherwise (the validator says what is wrong)."""
    text = value.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def criterion_from_form(form: dict[str, Any]) -> Raw:
    """The native criterion dict of the editor's criterion form (values are validated later)."""
    raw: Raw = {
        "key": str(form.get("key", "")).strip(),
        "name": str(form.get("name", "")),
        "scale": str(form.get("scale", "")),
        "critical": form.get("critical") == "on",
        "allow_na": form.get("allow_na") == "on",
    }
    for name in ("weight", "fail_below"):
        value = _number_or_text(str(form.get(name, "")))
        if value is not None:
            raw[name] = value
    section = str(form.get("section", "")).strip()
    if section:
        raw["section"] = section
    if str(form.get("guidance", "")).strip():
        raw["guidance"] = str(form.get("guidance", ""))
    causes = [line.strip() for line in str(form.get("root_causes", "")).splitlines() if line.strip()]
    if causes:
        raw["root_causes"] = causes
    if raw["scale"] == "custom":
        labels, scores = form.get("option_label", []), form.get("option_score", [])
        raw["options"] = [
            {"label": label, "score": _number_or_text(score)}
            for label, score in zip(labels, scores, strict=False)
            if label.strip() or score.strip()
        ]
    return raw


def options_rows(criterion: Raw) -> list[Raw]:
    """The option rows a custom scale's form shows (two empty rows to start from)."""
    rows = [
        {"label": str(o.get("label", "")), "score": "" if o.get("score") is None else o.get("score")}
        for o in criterion.get("options", [])
    ]
    return rows or [{"label": "", "score": ""}, {"label": "", "score": ""}]


def errors_by_field(exc: DefinitionError, prefix: str) -> dict[str, str]:
    """Field errors under `prefix` (e.g. ``criteria[3]``) keyed by the rest of the path (``weight``)."""
    found: dict[str, str] = {}
    for error in exc.errors:
        if error.field == prefix or error.field.startswith((prefix + ".", prefix + "[")):
            rest = error.field[len(prefix) :].lstrip(".") or ""
            found.setdefault(rest, error.message)
        elif not prefix or not error.field.startswith("criteria["):
            found.setdefault(error.field, error.message)
    return found


def drafts_by_scorecard(session: Session) -> dict[int, ScorecardVersion]:
    """Every draft, by scorecard id (one query)."""
    query = select(ScorecardVersion).where(col(ScorecardVersion.published).is_(False))
    return {draft.scorecard_id: draft for draft in session.exec(query)}


def unpublished_scorecards(session: Session, drafts: dict[int, ScorecardVersion]) -> list[Scorecard]:
    """Scorecards that have only a draft (created in the editor, never published)."""
    published = select(ScorecardVersion.scorecard_id).where(col(ScorecardVersion.published).is_(True))
    query = select(Scorecard).where(col(Scorecard.id).in_(list(drafts)), col(Scorecard.id).not_in(published))
    return list(session.exec(query.order_by(col(Scorecard.name)))) if drafts else []
