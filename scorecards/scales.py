"""Rating scales: the ordered options a reviewer picks from, each worth a score in [0, 1].

The built-in scales are fixed by the product contract (PRODUCT.md §3); a ``custom`` scale takes its
options from the scorecard definition and is checked here so every caller applies the same rules.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "BUILTIN_SCALES",
    "CUSTOM_SCALE",
    "MAX_LABEL_LENGTH",
    "MAX_OPTIONS",
    "SCALE_NAMES",
    "Option",
    "custom_option_problems",
    "is_number",
    "options_for",
]


@dataclass(frozen=True)
class Option:
    """One choice on a scale: the label a reviewer picks and its score in [0, 1]."""

    label: str
    score: float


CUSTOM_SCALE = "custom"
MAX_OPTIONS = 100
MAX_LABEL_LENGTH = 200

BUILTIN_SCALES: dict[str, tuple[Option, ...]] = {
    "binary": (Option("No", 0.0), Option("Yes", 1.0)),
    "3": (Option("1", 0.0), Option("2", 0.5), Option("3", 1.0)),
    "4": (Option("1", 0.0), Option("2", 1 / 3), Option("3", 2 / 3), Option("4", 1.0)),
    "5": (Option("1", 0.0), Option("2", 0.25), Option("3", 0.5), Option("4", 0.75), Option("5", 1.0)),
}

SCALE_NAMES: tuple[str, ...] = (*BUILTIN_SCALES, CUSTOM_SCALE)

_OPTION_FIELDS = frozenset({"label", "score"})


def is_number(value: object) -> bool:
    """Tell whether ``value`` is a finite int or float (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _label_problems(label: object) -> list[tuple[str, str]]:
    if isinstance(label, bool | int | float):
        # YAML reads unquoted Yes/No/3 as bools and numbers, a common surprise in option labels.
        return [(".label", "must be a string (quote it in YAML)")]
    if not isinstance(label, str):
        return [(".label", "must be a string")]
    if not label.strip():
        return [(".label", "must not be empty")]
    if len(label.strip()) > MAX_LABEL_LENGTH:
        return [(".label", f"must be at most {MAX_LABEL_LENGTH} characters")]
    return []


def _score_problems(score: object) -> list[tuple[str, str]]:
    if not is_number(score):
        return [(".score", "must be a number")]
    assert isinstance(score, int | float)
    if not 0 <= score <= 1:
        return [(".score", "must be between 0 and 1")]
    return []


def _single_option_problems(raw: object) -> list[tuple[str, str]]:
    if not isinstance(raw, Mapping):
        return [("", "must be an object with label and score")]
    problems = [(f".{key}", "unknown field") for key in raw if key not in _OPTION_FIELDS]
    for name in sorted(_OPTION_FIELDS - raw.keys()):
        problems.append((f".{name}", "is required"))
    if "label" in raw:
        problems.extend(_label_problems(raw["label"]))
    if "score" in raw:
        problems.extend(_score_problems(raw["score"]))
    return problems


def _ordering_problems(raw: Sequence[object]) -> list[tuple[str, str]]:
    """Check uniqueness and ascending order among the options that are individually valid."""
    problems: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    previous: float | None = None
    for index, item in enumerate(raw):
        if _single_option_problems(item):
            continue
        assert isinstance(item, Mapping)
        label = str(item["label"]).strip()
        score = float(item["score"])
        if label in seen:
            problems.append((f"[{index}].label", f"duplicate label {label!r} (also options[{seen[label]}])"))
        else:
            seen[label] = index
        if previous is not None and score <= previous:
            problems.append((f"[{index}].score", "options must be ordered by score, strictly ascending"))
        previous = score
    return problems


def custom_option_problems(raw: object) -> list[tuple[str, str]]:
    """List every problem in a custom option list as (path suffix such as ``[1].score``, message)."""
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        return [("", "must be a list of options")]
    if len(raw) < 2:
        return [("", "a custom scale needs at least two options")]
    if len(raw) > MAX_OPTIONS:
        return [("", f"a custom scale allows at most {MAX_OPTIONS} options")]
    problems: list[tuple[str, str]] = []
    for index, item in enumerate(raw):
        problems.extend((f"[{index}]{suffix}", message) for suffix, message in _single_option_problems(item))
    problems.extend(_ordering_problems(raw))
    return problems


def options_for(scale: str, custom: Sequence[Mapping[str, object]] | None) -> tuple[Option, ...]:
    """Return the options of ``scale``; ``custom`` supplies them for the custom scale (None otherwise)."""
    if scale in BUILTIN_SCALES:
        if custom is not None:
            raise ValueError(f"options are only allowed with scale {CUSTOM_SCALE!r}, not {scale!r}")
        return BUILTIN_SCALES[scale]
    if scale != CUSTOM_SCALE:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALE_NAMES)}")
    if custom is None:
        raise ValueError(f"scale {CUSTOM_SCALE!r} needs options")
    problems = custom_option_problems(custom)
    if problems:
        raise ValueError("; ".join(f"options{path}: {message}" for path, message in problems))
    return tuple(_as_option(item) for item in custom)


def _as_option(item: Mapping[str, object]) -> Option:
    label, score = item["label"], item["score"]
    # Only reached after custom_option_problems found nothing, so the types are already known.
    assert isinstance(label, str) and isinstance(score, int | float)
    return Option(label.strip(), float(score))
