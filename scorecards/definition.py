"""Scorecard definitions: parse the native JSON/YAML shape, validate it and turn it back into a dict.

Validation collects every problem it finds, each with the path of the offending field
(``criteria[2].weight``, ``criteria[0].options[1].score``), so an author can fix a card in one pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import yaml  # type: ignore[import-untyped, unused-ignore]

from scorecards.scales import (
    BUILTIN_SCALES,
    CUSTOM_SCALE,
    SCALE_NAMES,
    Option,
    custom_option_problems,
    is_number,
    options_for,
)

__all__ = [
    "DEFAULT_FAIL_BELOW",
    "DEFAULT_PASS_THRESHOLD",
    "KEY_PATTERN",
    "MAX_CRITERIA",
    "MAX_DEFINITION_BYTES",
    "MAX_NAME_LENGTH",
    "MAX_ROOT_CAUSES",
    "MAX_WEIGHT",
    "CriterionDef",
    "DefinitionError",
    "FieldError",
    "ScorecardDef",
    "definition_to_dict",
    "parse_definition",
    "validate_definition",
]

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
MAX_DEFINITION_BYTES = 1024 * 1024
MAX_CRITERIA = 200
MAX_NAME_LENGTH = 200
MAX_ROOT_CAUSES = 100
# Far above any sensible weight; keeps the weighted sums of up to 200 criteria finite.
MAX_WEIGHT = 1_000_000.0
# Far below any sensible weight; keeps weight × score from underflowing to 0.
MIN_WEIGHT = 0.000001
DEFAULT_PASS_THRESHOLD = 80.0
DEFAULT_FAIL_BELOW = 0.5
DEFAULT_WEIGHT = 1.0

_CARD_FIELDS = ("name", "description", "pass_threshold", "criteria")
_CRITERION_FIELDS = (
    "key",
    "name",
    "section",
    "guidance",
    "scale",
    "options",
    "weight",
    "critical",
    "fail_below",
    "allow_na",
    "root_causes",
)


@dataclass(frozen=True)
class FieldError:
    """One validation problem: the field path (``""`` for the whole input) and what is wrong."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class DefinitionError(ValueError):
    """A scorecard definition could not be parsed or is invalid; ``errors`` lists every problem."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: list[FieldError] = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


@dataclass(frozen=True)
class CriterionDef:
    """One criterion of a scorecard version, validated and normalised."""

    key: str
    name: str
    section: str | None
    guidance: str
    scale: str
    options: tuple[Option, ...]
    weight: float
    critical: bool
    fail_below: float
    allow_na: bool
    root_causes: tuple[str, ...]

    def option(self, label: str) -> Option:
        """Return the option with this label; raise KeyError if the scale has none."""
        for candidate in self.options:
            if candidate.label == label:
                return candidate
        raise KeyError(label)


@dataclass(frozen=True)
class ScorecardDef:
    """A validated scorecard definition: its name, pass threshold and ordered criteria."""

    name: str
    description: str
    pass_threshold: float
    criteria: tuple[CriterionDef, ...]

    @property
    def sections(self) -> tuple[str | None, ...]:
        """Distinct section names in order of first appearance; None stands for unsectioned criteria."""
        return tuple(dict.fromkeys(criterion.section for criterion in self.criteria))

    def criterion(self, key: str) -> CriterionDef:
        """Return the criterion with this key; raise KeyError if there is none."""
        for candidate in self.criteria:
            if candidate.key == key:
                return candidate
        raise KeyError(key)


class _Errors:
    """Accumulates field errors so validation can report all of them at once."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(FieldError(field, message))


def _path(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _not_a_string(value: object) -> str:
    # YAML turns unquoted Yes/No/3 into bools and numbers; say so, since the cause is not obvious.
    if isinstance(value, bool | int | float):
        return "must be a string (quote it in YAML)"
    return "must be a string"


def _check_unknown(raw: Mapping[object, object], allowed: Sequence[str], path: str, errs: _Errors) -> None:
    for key in raw:
        if key not in allowed:
            errs.add(_path(path, str(key)), "unknown field")


def _text(
    raw: Mapping[object, object],
    name: str,
    path: str,
    errs: _Errors,
    *,
    required: bool,
    max_length: int | None,
) -> str | None:
    """Read a string field, stripped; None when absent, null or blank (an error if required)."""
    field = _path(path, name)
    value = raw.get(name)
    if value is None:
        if required:
            errs.add(field, "is required")
        return None
    if not isinstance(value, str):
        errs.add(field, _not_a_string(value))
        return None
    stripped = value.strip()
    if not stripped:
        if required:
            errs.add(field, "must not be empty")
        return None
    if max_length is not None and len(stripped) > max_length:
        errs.add(field, f"must be at most {max_length} characters")
    return stripped


def _number(
    raw: Mapping[object, object],
    name: str,
    path: str,
    errs: _Errors,
    *,
    default: float,
    valid: Callable[[float], bool],
    rule: str,
) -> float:
    """Read an optional finite number that must satisfy ``valid`` (``rule`` describes it)."""
    if name not in raw:
        return default
    value = raw[name]
    if not is_number(value):
        errs.add(_path(path, name), "must be a number")
        return default
    assert isinstance(value, int | float)
    if not valid(float(value)):
        errs.add(_path(path, name), rule)
        return default
    return float(value)


def _flag(raw: Mapping[object, object], name: str, path: str, errs: _Errors) -> bool:
    value = raw.get(name, False)
    if not isinstance(value, bool):
        errs.add(_path(path, name), "must be true or false")
        return False
    return value


def _key(raw: Mapping[object, object], path: str, errs: _Errors) -> str:
    field = _path(path, "key")
    value = raw.get("key")
    if value is None:
        errs.add(field, "is required")
        return ""
    if not isinstance(value, str):
        errs.add(field, _not_a_string(value))
        return ""
    if not KEY_PATTERN.match(value):
        errs.add(
            field,
            "must be 1-64 lowercase letters, digits, '_' or '-', starting with a letter or digit",
        )
    return value


def _scale(raw: Mapping[object, object], path: str, errs: _Errors) -> str | None:
    field = _path(path, "scale")
    value = raw.get("scale")
    if value is None:
        errs.add(field, "is required")
        return None
    # YAML and hand-written JSON often give the numeric scales as numbers.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or value not in SCALE_NAMES:
        errs.add(field, f"must be one of {', '.join(SCALE_NAMES)}")
        return None
    return value


def _options(raw: Mapping[object, object], scale: str | None, path: str, errs: _Errors) -> tuple[Option, ...]:
    field = _path(path, "options")
    value = raw.get("options")
    if scale is None:
        return ()
    if scale != CUSTOM_SCALE:
        if "options" in raw:
            errs.add(field, f"only allowed with scale {CUSTOM_SCALE!r}")
        return BUILTIN_SCALES[scale]
    if value is None:
        errs.add(field, f"is required with scale {CUSTOM_SCALE!r}")
        return ()
    problems = custom_option_problems(value)
    for suffix, message in problems:
        errs.add(field + suffix, message)
    if problems:
        return ()
    assert isinstance(value, Sequence)
    return options_for(CUSTOM_SCALE, value)


def _root_causes(raw: Mapping[object, object], path: str, errs: _Errors) -> tuple[str, ...]:
    field = _path(path, "root_causes")
    value = raw.get("root_causes", [])
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        errs.add(field, "must be a list of strings")
        return ()
    if len(value) > MAX_ROOT_CAUSES:
        errs.add(field, f"must have at most {MAX_ROOT_CAUSES} entries")
        return ()
    causes: dict[str, int] = {}
    for index, item in enumerate(value):
        item_field = f"{field}[{index}]"
        if not isinstance(item, str):
            errs.add(item_field, _not_a_string(item))
        elif not item.strip():
            errs.add(item_field, "must not be empty")
        elif len(item.strip()) > MAX_NAME_LENGTH:
            errs.add(item_field, f"must be at most {MAX_NAME_LENGTH} characters")
        elif (cause := item.strip()) in causes:
            errs.add(item_field, f"duplicate root cause {cause!r} (also {field}[{causes[cause]}])")
        else:
            causes[cause] = index
    return tuple(causes)


def _criterion(raw: object, path: str, errs: _Errors) -> CriterionDef | None:
    """Validate one criterion; None if it had errors (which are recorded in ``errs``)."""
    if not isinstance(raw, Mapping):
        errs.add(path, "must be an object")
        return None
    before = len(errs.items)
    _check_unknown(raw, _CRITERION_FIELDS, path, errs)
    scale = _scale(raw, path, errs)
    criterion = CriterionDef(
        key=_key(raw, path, errs),
        name=_text(raw, "name", path, errs, required=True, max_length=MAX_NAME_LENGTH) or "",
        section=_text(raw, "section", path, errs, required=False, max_length=MAX_NAME_LENGTH),
        guidance=_guidance(raw, path, errs),
        scale=scale or "",
        options=_options(raw, scale, path, errs),
        weight=_number(
            raw,
            "weight",
            path,
            errs,
            default=DEFAULT_WEIGHT,
            valid=lambda w: MIN_WEIGHT <= w <= MAX_WEIGHT,
            rule=f"must be greater than 0 and at most {MAX_WEIGHT:g} (the smallest weight is {MIN_WEIGHT:g})",
        ),
        critical=_flag(raw, "critical", path, errs),
        fail_below=_number(
            raw,
            "fail_below",
            path,
            errs,
            default=DEFAULT_FAIL_BELOW,
            valid=lambda f: 0 < f <= 1,
            rule="must be greater than 0 and at most 1",
        ),
        allow_na=_flag(raw, "allow_na", path, errs),
        root_causes=_root_causes(raw, path, errs),
    )
    return criterion if len(errs.items) == before else None


def _guidance(raw: Mapping[object, object], path: str, errs: _Errors) -> str:
    # Guidance is rubric text whose layout matters, so unlike names it is kept verbatim.
    value = raw.get("guidance")
    if value is None:
        return ""
    if not isinstance(value, str):
        errs.add(_path(path, "guidance"), _not_a_string(value))
        return ""
    return value


def _check_duplicate_keys(items: Sequence[object], errs: _Errors) -> None:
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        key = item.get("key") if isinstance(item, Mapping) else None
        if not isinstance(key, str):
            continue
        if key in first_seen:
            errs.add(f"criteria[{index}].key", f"duplicate key {key!r} (also criteria[{first_seen[key]}])")
        else:
            first_seen[key] = index


def _criteria(raw: Mapping[object, object], errs: _Errors) -> tuple[CriterionDef, ...]:
    value = raw.get("criteria")
    if value is None:
        errs.add("criteria", "is required")
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        errs.add("criteria", "must be a list of criteria")
        return ()
    if not value:
        errs.add("criteria", "must have at least one criterion")
        return ()
    if len(value) > MAX_CRITERIA:
        errs.add("criteria", f"must have at most {MAX_CRITERIA} criteria")
        return ()
    parsed = [_criterion(item, f"criteria[{index}]", errs) for index, item in enumerate(value)]
    _check_duplicate_keys(value, errs)
    return tuple(criterion for criterion in parsed if criterion is not None)


def _nul_fields(value: object, path: str) -> Iterator[str]:
    """Paths of strings holding NUL, which databases (PostgreSQL text) cannot store."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _nul_fields(item, _path(path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_fields(item, f"{path}[{index}]")


def validate_definition(data: object) -> ScorecardDef:
    """Validate decoded native data into a definition; raise DefinitionError listing every problem."""
    if data is None:
        raise _input_error("the definition is empty")
    if not isinstance(data, Mapping):
        raise _input_error("a scorecard definition must be an object")
    errs = _Errors()
    for field in _nul_fields(data, ""):
        errs.add(field, "must not contain NUL characters")
    _check_unknown(data, _CARD_FIELDS, "", errs)
    name = _text(data, "name", "", errs, required=True, max_length=MAX_NAME_LENGTH)
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        errs.add("description", _not_a_string(description))
    pass_threshold = _number(
        data,
        "pass_threshold",
        "",
        errs,
        default=DEFAULT_PASS_THRESHOLD,
        valid=lambda t: 0 <= t <= 100,
        rule="must be between 0 and 100",
    )
    criteria = _criteria(data, errs)
    if errs.items:
        raise DefinitionError(errs.items)
    return ScorecardDef(
        name=name or "",
        description=description if isinstance(description, str) else "",
        pass_threshold=pass_threshold,
        criteria=criteria,
    )


def _input_error(message: str) -> DefinitionError:
    """An error about the input as a whole rather than one field of it."""
    return DefinitionError([FieldError("", message)])


def _location_message(kind: str, line: int, column: int, problem: str) -> str:
    return f"invalid {kind} at line {line}, column {column}: {problem}"


def _load_json(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _input_error(_location_message("JSON", exc.lineno, exc.colno, exc.msg)) from exc
    except RecursionError as exc:
        raise _input_error("invalid JSON: nested too deeply") from exc
    except ValueError as exc:
        raise _input_error(f"invalid JSON: {exc}") from exc


def _load_yaml(text: str) -> object:
    try:
        loaded: object = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = str(exc.problem or exc.context or "syntax error")
        if mark is None:
            raise _input_error(f"invalid YAML: {problem}") from exc
        # PyYAML marks are zero-based; people count lines and columns from one.
        message = _location_message("YAML", mark.line + 1, mark.column + 1, problem)
        raise _input_error(message) from exc
    except RecursionError as exc:
        raise _input_error("invalid YAML: nested too deeply") from exc
    except yaml.YAMLError as exc:
        raise _input_error(f"invalid YAML: {exc}") from exc
    return loaded


def _sniff_and_load(text: str) -> object:
    """Try JSON, then YAML; if both fail, report the error of the format the text looks like."""
    try:
        return _load_json(text)
    except DefinitionError as json_error:
        try:
            return _load_yaml(text)
        except DefinitionError as yaml_error:
            if text.lstrip().startswith(("{", "[")):
                raise json_error from None
            raise yaml_error from None


def _decode(text: str | bytes) -> str:
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_DEFINITION_BYTES:
        raise _input_error(
            f"the definition is {size} bytes; the limit is {MAX_DEFINITION_BYTES} bytes (1 MB)"
        )
    if isinstance(text, str):
        return text.removeprefix("\ufeff")
    try:
        return text.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _input_error(f"the definition is not UTF-8 text (byte {exc.start})") from exc


def parse_definition(text: str | bytes, *, fmt: str | None = None) -> ScorecardDef:
    """Parse and validate a native scorecard in JSON or YAML (``fmt`` None sniffs: JSON first, then YAML)."""
    if fmt not in (None, "json", "yaml"):
        raise ValueError(f"unknown scorecard format {fmt!r}; expected 'json', 'yaml' or None")
    decoded = _decode(text)
    if not decoded.strip():
        raise _input_error("the definition is empty")
    if fmt == "json":
        data = _load_json(decoded)
    elif fmt == "yaml":
        data = _load_yaml(decoded)
    else:
        data = _sniff_and_load(decoded)
    return validate_definition(data)


def _plain_number(value: float) -> int | float:
    # Integral values are written as ints so exported cards read like hand-written ones (weight 1, not 1.0).
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _criterion_to_dict(criterion: CriterionDef) -> dict[str, object]:
    out: dict[str, object] = {"key": criterion.key, "name": criterion.name}
    if criterion.section is not None:
        out["section"] = criterion.section
    if criterion.guidance:
        out["guidance"] = criterion.guidance
    out["scale"] = criterion.scale
    if criterion.scale == CUSTOM_SCALE:
        out["options"] = [
            {"label": option.label, "score": _plain_number(option.score)} for option in criterion.options
        ]
    out["weight"] = _plain_number(criterion.weight)
    if criterion.critical:
        out["critical"] = True
    if criterion.fail_below != DEFAULT_FAIL_BELOW:
        out["fail_below"] = _plain_number(criterion.fail_below)
    if criterion.allow_na:
        out["allow_na"] = True
    if criterion.root_causes:
        out["root_causes"] = list(criterion.root_causes)
    return out


def definition_to_dict(defn: ScorecardDef) -> dict[str, object]:
    """Return the native (JSON-ready) shape of a definition; validate_definition turns it back unchanged."""
    out: dict[str, object] = {"name": defn.name}
    if defn.description:
        out["description"] = defn.description
    out["pass_threshold"] = _plain_number(defn.pass_threshold)
    out["criteria"] = [_criterion_to_dict(criterion) for criterion in defn.criteria]
    return out
