"""What changed between two scorecard definitions: card fields, and criteria matched by their stable key.

Criteria are matched by ``key`` (the key is what reports and the what-if use to follow a criterion across
versions). A criterion is *added*, *removed*, or *changed* (one ``FieldChange`` per differing field, before →
after); a change of position alone is reported as ``moved``. ``apply_diff(a, diff_definitions(a, b)) == b``
always holds, so the diff carries everything needed to rebuild the newer definition.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Literal

from scorecards.definition import CriterionDef, ScorecardDef
from scorecards.scales import Option

__all__ = [
    "CARD_FIELDS",
    "CRITERION_FIELDS",
    "CriterionChange",
    "DefinitionDiff",
    "FieldChange",
    "apply_diff",
    "diff_definitions",
]

# Every field of the dataclasses; a criterion's key is what matches it, so never a change.
CARD_FIELDS = tuple(f.name for f in fields(ScorecardDef) if f.name != "criteria")
CRITERION_FIELDS = tuple(f.name for f in fields(CriterionDef) if f.name != "key")

ChangeKind = Literal["added", "removed", "changed", "moved"]
Value = str | float | bool | None | tuple[Option, ...] | tuple[str, ...]


@dataclass(frozen=True)
class FieldChange:
    """One field whose value differs: ``before`` in the older definition, ``after`` in the newer."""

    field: str
    before: Value
    after: Value


@dataclass(frozen=True)
class CriterionChange:
    """A criterion added, removed, changed (``fields``) or only moved; ``criterion`` is its newer form."""

    key: str
    kind: ChangeKind
    name: str
    fields: tuple[FieldChange, ...] = ()
    criterion: CriterionDef | None = None  # the added/changed criterion (None when removed)
    position_before: int | None = None
    position_after: int | None = None


@dataclass(frozen=True)
class DefinitionDiff:
    """Card-level changes, criterion changes (newer order, removed ones last) and the newer key order."""

    card: tuple[FieldChange, ...]
    criteria: tuple[CriterionChange, ...]
    order: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """True when the two definitions are the same."""
        return not self.card and not self.criteria

    def of_kind(self, kind: ChangeKind) -> list[CriterionChange]:
        """The criterion changes of one kind."""
        return [change for change in self.criteria if change.kind == kind]


def _field_changes(before: object, after: object, fields: tuple[str, ...]) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(name, getattr(before, name), getattr(after, name))
        for name in fields
        if getattr(before, name) != getattr(after, name)
    )


def _shared_ranks(keys: list[str], other: list[str]) -> dict[str, int]:
    """Each key's rank among the keys both versions have (a move is judged relative to those)."""
    present = set(other)
    return {key: rank for rank, key in enumerate(k for k in keys if k in present)}


def diff_definitions(older: ScorecardDef, newer: ScorecardDef) -> DefinitionDiff:
    """Every difference between two definitions, criteria matched by key."""
    old = {c.key: (i, c) for i, c in enumerate(older.criteria)}
    new = {c.key: (i, c) for i, c in enumerate(newer.criteria)}
    rank_before, rank_after = _shared_ranks(list(old), list(new)), _shared_ranks(list(new), list(old))
    changes: list[CriterionChange] = []
    for key, (position, criterion) in new.items():
        if key not in old:
            changes.append(
                CriterionChange(key, "added", criterion.name, criterion=criterion, position_after=position)
            )
            continue
        before_position, before = old[key]
        fields = _field_changes(before, criterion, CRITERION_FIELDS)
        if fields or rank_before[key] != rank_after[key]:
            changes.append(
                CriterionChange(
                    key,
                    "changed" if fields else "moved",
                    criterion.name,
                    fields,
                    criterion,
                    before_position,
                    position,
                )
            )
    for key, (position, criterion) in old.items():
        if key not in new:
            changes.append(CriterionChange(key, "removed", criterion.name, position_before=position))
    return DefinitionDiff(_field_changes(older, newer, CARD_FIELDS), tuple(changes), tuple(new))


def apply_diff(older: ScorecardDef, diff: DefinitionDiff) -> ScorecardDef:
    """The newer definition rebuilt from the older one and their diff."""
    criteria = {c.key: c for c in older.criteria}
    for change in diff.criteria:
        if change.kind == "removed":
            criteria.pop(change.key, None)
        elif change.kind == "added":
            assert change.criterion is not None
            criteria[change.key] = change.criterion
        else:
            updates = {f.field: f.after for f in change.fields}
            criteria[change.key] = replace(criteria[change.key], **updates)  # type: ignore[arg-type]
    card = {f.field: f.after for f in diff.card}
    return replace(older, criteria=tuple(criteria[key] for key in diff.order), **card)  # type: ignore[arg-type]
