"""Scorecards: definitions, rating scales and review scoring (pure: no web, database or app imports)."""

from scorecards.definition import (
    CriterionDef,
    DefinitionError,
    FieldError,
    ScorecardDef,
    definition_to_dict,
    parse_definition,
    validate_definition,
)
from scorecards.scales import BUILTIN_SCALES, SCALE_NAMES, Option, options_for
from scorecards.scoring import ScoreResult, ScoringError, format_score, missing_ratings, score_review

__all__ = [
    "BUILTIN_SCALES",
    "SCALE_NAMES",
    "CriterionDef",
    "DefinitionError",
    "FieldError",
    "Option",
    "ScoreResult",
    "ScorecardDef",
    "ScoringError",
    "definition_to_dict",
    "format_score",
    "missing_ratings",
    "options_for",
    "parse_definition",
    "score_review",
    "validate_definition",
]
