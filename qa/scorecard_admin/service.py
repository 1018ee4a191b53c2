"""Storing scorecard definitions as immutable versions and reading them back."""

from __future__ import annotations

import json

import yaml  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import exists
from sqlmodel import Session, col, func, select

from qa import cache
from qa.audit import service as audit
from qa.errors import Conflict, NotFound
from qa.models import Criterion, Review, Scorecard, ScorecardVersion, User, utcnow
from scorecards import CriterionDef, Option, ScorecardDef, definition_to_dict

_MAX_ID = 2**63


def create_scorecard(session: Session, *, actor: User | None, definition: ScorecardDef) -> ScorecardVersion:
    """A new scorecard with its first, published version."""
    card = Scorecard(name=definition.name, created_by_id=actor.id if actor else None)
    session.add(card)
    session.flush()
    version = _add_version(session, actor=actor, scorecard=card, number=1, definition=definition)
    audit.record(session, actor=actor, action="scorecard.create", entity="scorecard", entity_id=card.id,
                 after={"version": 1, "definition": definition_to_dict(definition)})
    return version


def update_scorecard(
    session: Session, *, actor: User | None, scorecard_id: int, definition: ScorecardDef
) -> ScorecardVersion:
    """Save a changed definition as the next version; earlier versions and their reviews stay as they were."""
    card = get_scorecard(session, scorecard_id)
    current = current_version(session, scorecard_id)
    before = definition_to_dict(definition_for(session, current.id))  # type: ignore[arg-type]
    card.name = definition.name
    version = _add_version(session, actor=actor, scorecard=card, number=current.version + 1,
                           definition=definition)
    audit.record(session, actor=actor, action="scorecard.new_version", entity="scorecard", entity_id=card.id,
                 before={"version": current.version, "definition": before},
                 after={"version": version.version, "definition": definition_to_dict(definition)})
    return version


def _add_version(
    session: Session, *, actor: User | None, scorecard: Scorecard, number: int, definition: ScorecardDef
) -> ScorecardVersion:
    version = ScorecardVersion(scorecard_id=scorecard.id, version=number, name=definition.name,  # type: ignore[arg-type]
                               description=definition.description, pass_threshold=definition.pass_threshold,
                               created_by_id=actor.id if actor else None, published_at=utcnow())
    session.add(version)
    session.flush()
    for position, crit in enumerate(definition.criteria):
        session.add(Criterion(
            version_id=version.id, position=position, key=crit.key, name=crit.name,  # type: ignore[arg-type]
            section=crit.section, guidance=crit.guidance, scale=crit.scale,
            options=[{"label": o.label, "score": o.score} for o in crit.options], weight=crit.weight,
            critical=crit.critical, fail_below=crit.fail_below, allow_na=crit.allow_na,
            root_causes=list(crit.root_causes),
        ))
    session.flush()
    return version


def get_scorecard(session: Session, scorecard_id: int) -> Scorecard:
    """The scorecard, or NotFound."""
    # Ids beyond a 64-bit integer cannot exist, and SQLite would overflow binding them.
    card = session.get(Scorecard, scorecard_id) if 0 < scorecard_id < _MAX_ID else None
    if card is None:
        raise NotFound(f"Scorecard {scorecard_id} not found.")
    return card


def current_version(session: Session, scorecard_id: int) -> ScorecardVersion:
    """The newest published version of a scorecard."""
    version = session.exec(
        select(ScorecardVersion)
        .where(ScorecardVersion.scorecard_id == scorecard_id, col(ScorecardVersion.published).is_(True))
        .order_by(col(ScorecardVersion.version).desc())
    ).first()
    if version is None:
        raise NotFound(f"Scorecard {scorecard_id} has no published version.")
    return version


def get_version(session: Session, version_id: int) -> ScorecardVersion:
    """A version by id, or NotFound."""
    version = session.get(ScorecardVersion, version_id)
    if version is None:
        raise NotFound(f"Scorecard version {version_id} not found.")
    return version


def criteria_for(session: Session, version_id: int) -> list[Criterion]:
    """The version's criteria in order."""
    return list(session.exec(select(Criterion).where(Criterion.version_id == version_id)
                             .order_by(col(Criterion.position))))


def definition_for(session: Session, version_id: int) -> ScorecardDef:
    """The pure definition of a stored version (what `scorecards.scoring` works on).

    Every review page and rating needs it; it is kept by `qa.cache` (dropped on any write to
    scorecards, versions or criteria).
    """
    return cache.cached(session, ("scorecard_definition", version_id),
                        lambda: _definition_for(session, version_id))


def _definition_for(session: Session, version_id: int) -> ScorecardDef:
    version = get_version(session, version_id)
    return ScorecardDef(
        name=version.name,
        description=version.description,
        pass_threshold=version.pass_threshold,
        criteria=tuple(_criterion_def(c) for c in criteria_for(session, version_id)),
    )


def _criterion_def(row: Criterion) -> CriterionDef:
    return CriterionDef(
        key=row.key, name=row.name, section=row.section, guidance=row.guidance, scale=row.scale,
        options=tuple(Option(label=str(o["label"]), score=float(o["score"])) for o in row.options),
        weight=row.weight, critical=row.critical, fail_below=row.fail_below, allow_na=row.allow_na,
        root_causes=tuple(row.root_causes),
    )


def list_scorecards(
    session: Session, *, include_archived: bool = False
) -> list[tuple[Scorecard, ScorecardVersion, int]]:
    """Each scorecard with its current version and how many reviews use any of its versions."""
    latest = (
        select(ScorecardVersion.scorecard_id, func.max(ScorecardVersion.version).label("v"))
        .where(col(ScorecardVersion.published).is_(True))
        .group_by(col(ScorecardVersion.scorecard_id))
        .subquery()
    )
    review_counts = (
        select(ScorecardVersion.scorecard_id, func.count(col(Review.id)).label("n"))
        .join(Review, col(Review.version_id) == col(ScorecardVersion.id))
        .group_by(col(ScorecardVersion.scorecard_id))
        .subquery()
    )
    query = (
        select(Scorecard, ScorecardVersion, func.coalesce(review_counts.c.n, 0))
        .join(latest, latest.c.scorecard_id == Scorecard.id)
        .join(ScorecardVersion, (col(ScorecardVersion.scorecard_id) == Scorecard.id)
              & (col(ScorecardVersion.version) == latest.c.v))
        .outerjoin(review_counts, review_counts.c.scorecard_id == Scorecard.id)
        .order_by(col(Scorecard.name))
    )
    if not include_archived:
        query = query.where(col(Scorecard.archived).is_(False))
    return [(card, version, int(n)) for card, version, n in session.exec(query)]


def has_reviews(session: Session, version_id: int) -> bool:
    """True when any review was scored with this version."""
    return bool(session.exec(select(exists().where(col(Review.version_id) == version_id))).one())


# --- Management pages and API: version lists, archive, export -------------------------------------------

EXPORT_FORMATS = ("json", "yaml")


def add_version(
    session: Session, *, actor: User | None, scorecard_id: int, definition: ScorecardDef
) -> ScorecardVersion:
    """Upload the next version of a scorecard; an archived scorecard must be unarchived first."""
    card = get_scorecard(session, scorecard_id)
    if card.archived:
        raise Conflict(f"Scorecard “{card.name}” is archived. Unarchive it before uploading a new version.")
    from qa.scorecard_admin.editor import require_no_draft  # editor builds on this module

    require_no_draft(session, scorecard_id)
    return update_scorecard(session, actor=actor, scorecard_id=scorecard_id, definition=definition)


def archive_scorecard(
    session: Session, *, actor: User | None, scorecard_id: int, archived: bool
) -> Scorecard:
    """Archive (hide from new reviews) or unarchive a scorecard; a no-op change is not audited."""
    card = get_scorecard(session, scorecard_id)
    if card.archived == archived:
        return card
    card.archived = archived
    session.add(card)
    session.flush()
    audit.record(session, actor=actor, action="scorecard.archive" if archived else "scorecard.unarchive",
                 entity="scorecard", entity_id=card.id,
                 before={"archived": not archived}, after={"archived": archived})
    return card


def version_by_number(session: Session, *, scorecard_id: int, number: int | None) -> ScorecardVersion:
    """Published version `number` of a scorecard (the current one when None), or NotFound (drafts too)."""
    get_scorecard(session, scorecard_id)
    if number is None:
        return current_version(session, scorecard_id)
    version = session.exec(
        select(ScorecardVersion).where(ScorecardVersion.scorecard_id == scorecard_id,
                                       ScorecardVersion.version == number,
                                       col(ScorecardVersion.published).is_(True))
    ).first() if 0 < number < _MAX_ID else None
    if version is None:
        raise NotFound(f"Scorecard {scorecard_id} has no version {number}.")
    return version


def list_versions(session: Session, scorecard_id: int) -> list[tuple[ScorecardVersion, int, int]]:
    """Every published version of a scorecard, newest first, with criteria and review counts (one query)."""
    criteria = (select(Criterion.version_id, func.count(col(Criterion.id)).label("n"))
                .group_by(col(Criterion.version_id)).subquery())
    reviews = (select(Review.version_id, func.count(col(Review.id)).label("n"))
               .group_by(col(Review.version_id)).subquery())
    query = (
        select(ScorecardVersion, func.coalesce(criteria.c.n, 0), func.coalesce(reviews.c.n, 0))
        .outerjoin(criteria, criteria.c.version_id == ScorecardVersion.id)
        .outerjoin(reviews, reviews.c.version_id == ScorecardVersion.id)
        .where(ScorecardVersion.scorecard_id == scorecard_id, col(ScorecardVersion.published).is_(True))
        .order_by(col(ScorecardVersion.version).desc())
    )
    return [(version, int(n_crit), int(n_rev)) for version, n_crit, n_rev in session.exec(query)]


def criteria_counts(session: Session, version_ids: list[int]) -> dict[int, int]:
    """How many criteria each of these versions has (one grouped query)."""
    if not version_ids:
        return {}
    rows = session.exec(
        select(Criterion.version_id, func.count(col(Criterion.id)))
        .where(col(Criterion.version_id).in_(version_ids))
        .group_by(col(Criterion.version_id))
    )
    return {version_id: int(n) for version_id, n in rows}


def export_definition(session: Session, *, version_id: int, fmt: str) -> str:
    """A stored version in the native format (`json` or `yaml`), ready to upload again."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    data = definition_to_dict(definition_for(session, version_id))
    if fmt == "yaml":
        # safe_dump quotes strings YAML would otherwise read as bools or numbers (labels "Yes", "3").
        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
