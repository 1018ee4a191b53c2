"""Tests for parsing, validating and exporting scorecard definitions (PRODUCT.md §4 native shape)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]
from hypothesis import given
from hypothesis import strategies as st

from scorecards.definition import (
    KEY_PATTERN,
    MAX_DEFINITION_BYTES,
    CriterionDef,
    DefinitionError,
    FieldError,
    ScorecardDef,
    definition_to_dict,
    parse_definition,
    validate_definition,
)
from scorecards.scales import BUILTIN_SCALES, Option

# The example from PRODUCT.md §4 (only the line breaks differ).
EXAMPLE_JSON = """{"name": "Support QA", "pass_threshold": 80,
 "criteria": [
   {"key": "greeting", "name": "Greeting", "section": "Opening", "scale": "binary", "weight": 1,
    "allow_na": false},
   {"key": "accuracy", "name": "Correct solution", "section": "Resolution", "scale": "5", "weight": 3,
    "critical": true},
   {"key": "tone", "name": "Tone", "scale": "custom", "weight": 2, "allow_na": true,
    "options": [{"label": "Poor", "score": 0}, {"label": "OK", "score": 0.6}, {"label": "Great", "score": 1}],
    "root_causes": ["Robotic", "Rude", "Too casual"]}]}
"""

EXAMPLE_YAML = """\
name: Support QA
pass_threshold: 80
criteria:
  - key: greeting
    name: Greeting
    section: Opening
    scale: binary
    weight: 1
    allow_na: false
  - key: accuracy
    name: Correct solution
    section: Resolution
    scale: 5
    weight: 3
    critical: true
  - key: tone
    name: Tone
    scale: custom
    weight: 2
    allow_na: true
    options:
      - {label: Poor, score: 0}
      - {label: OK, score: 0.6}
      - {label: Great, score: 1}
    root_causes: [Robotic, Rude, Too casual]
"""


def example() -> dict[str, Any]:
    """A fresh, mutable copy of the PRODUCT.md example as decoded data."""
    data: dict[str, Any] = json.loads(EXAMPLE_JSON)
    return data


def errors_of(data: object) -> list[FieldError]:
    with pytest.raises(DefinitionError) as info:
        validate_definition(data)
    return info.value.errors


def test_example_parses_into_the_expected_definition() -> None:
    defn = parse_definition(EXAMPLE_JSON)
    assert defn.name == "Support QA"
    assert defn.description == ""
    assert defn.pass_threshold == 80.0
    assert [c.key for c in defn.criteria] == ["greeting", "accuracy", "tone"]
    greeting, accuracy, tone = defn.criteria
    assert greeting == CriterionDef(
        key="greeting",
        name="Greeting",
        section="Opening",
        guidance="",
        scale="binary",
        options=BUILTIN_SCALES["binary"],
        weight=1.0,
        critical=False,
        fail_below=0.5,
        allow_na=False,
        root_causes=(),
    )
    assert accuracy.critical and accuracy.scale == "5" and accuracy.weight == 3.0
    assert accuracy.options == BUILTIN_SCALES["5"]
    assert tone.section is None
    assert tone.options == (Option("Poor", 0.0), Option("OK", 0.6), Option("Great", 1.0))
    assert tone.root_causes == ("Robotic", "Rude", "Too casual")
    assert tone.allow_na


def test_yaml_gives_the_same_definition_as_json() -> None:
    assert parse_definition(EXAMPLE_YAML) == parse_definition(EXAMPLE_JSON)
    assert parse_definition(EXAMPLE_YAML, fmt="yaml") == parse_definition(EXAMPLE_JSON, fmt="json")


def test_bytes_and_a_byte_order_mark_are_accepted() -> None:
    expected = parse_definition(EXAMPLE_JSON)
    assert parse_definition(EXAMPLE_JSON.encode()) == expected
    assert parse_definition(b"\xef\xbb\xbf" + EXAMPLE_JSON.encode()) == expected
    assert parse_definition("\ufeff" + EXAMPLE_YAML) == expected


def test_integer_scales_are_normalised_to_strings() -> None:
    data = example()
    data["criteria"][1]["scale"] = 4
    assert validate_definition(data).criteria[1].scale == "4"


def test_sections_are_ordered_and_distinct_with_none_for_unsectioned() -> None:
    data = example()
    data["criteria"].append({"key": "close", "name": "Close", "section": "Opening", "scale": "3"})
    assert validate_definition(data).sections == ("Opening", "Resolution", None)


def test_lookups_raise_key_error() -> None:
    defn = parse_definition(EXAMPLE_JSON)
    assert defn.criterion("tone").option("OK") == Option("OK", 0.6)
    with pytest.raises(KeyError):
        defn.criterion("nope")
    with pytest.raises(KeyError):
        defn.criterion("greeting").option("Maybe")


def test_defaults_are_applied() -> None:
    defn = validate_definition({"name": "Card", "criteria": [{"key": "a", "name": "A", "scale": "binary"}]})
    assert defn.pass_threshold == 80.0 and defn.description == ""
    (criterion,) = defn.criteria
    assert (criterion.weight, criterion.critical, criterion.fail_below) == (1.0, False, 0.5)
    assert (criterion.allow_na, criterion.root_causes, criterion.section, criterion.guidance) == (
        False,
        (),
        None,
        "",
    )


def test_texts_are_stripped_but_guidance_is_kept_verbatim() -> None:
    data = {
        "name": " Card ",
        "criteria": [{"key": "a", "name": " A ", "section": " ", "guidance": "  - step\n", "scale": "3"}],
    }
    defn = validate_definition(data)
    assert defn.name == "Card"
    assert defn.criteria[0].name == "A"
    assert defn.criteria[0].section is None
    assert defn.criteria[0].guidance == "  - step\n"


Mutation = Callable[[dict[str, Any]], None]


def _set(path: tuple[Any, ...], value: object) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        target: Any = data
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return mutate


def _delete(path: tuple[Any, ...]) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        target: Any = data
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return mutate


C = "criteria"

INVALID_CASES: list[tuple[str, Mutation, str, str]] = [
    ("card name missing", _delete(("name",)), "name", "is required"),
    ("card name blank", _set(("name",), "  "), "name", "must not be empty"),
    ("card name too long", _set(("name",), "x" * 201), "name", "at most 200"),
    ("card name number", _set(("name",), 7), "name", "must be a string"),
    ("description not text", _set(("description",), ["a"]), "description", "must be a string"),
    ("threshold high", _set(("pass_threshold",), 100.5), "pass_threshold", "between 0 and 100"),
    ("threshold low", _set(("pass_threshold",), -1), "pass_threshold", "between 0 and 100"),
    ("threshold text", _set(("pass_threshold",), "80"), "pass_threshold", "must be a number"),
    ("unknown card field", _set(("pass_treshold",), 70), "pass_treshold", "unknown field"),
    ("criteria missing", _delete((C,)), C, "is required"),
    ("criteria empty", _set((C,), []), C, "at least one"),
    ("criteria not list", _set((C,), {"key": "a"}), C, "must be a list"),
    ("criterion not object", _set((C, 1), "accuracy"), "criteria[1]", "must be an object"),
    ("key missing", _delete((C, 0, "key")), "criteria[0].key", "is required"),
    ("key uppercase", _set((C, 0, "key"), "Greeting"), "criteria[0].key", "lowercase"),
    ("key leading dash", _set((C, 0, "key"), "-a"), "criteria[0].key", "lowercase"),
    ("key too long", _set((C, 0, "key"), "a" * 65), "criteria[0].key", "1-64"),
    ("key number", _set((C, 0, "key"), 1), "criteria[0].key", "must be a string"),
    ("key duplicate", _set((C, 2, "key"), "greeting"), "criteria[2].key", "duplicate key 'greeting'"),
    ("name missing", _delete((C, 1, "name")), "criteria[1].name", "is required"),
    ("name empty", _set((C, 1, "name"), ""), "criteria[1].name", "must not be empty"),
    ("name too long", _set((C, 1, "name"), "n" * 201), "criteria[1].name", "at most 200"),
    ("section not text", _set((C, 0, "section"), 3), "criteria[0].section", "must be a string"),
    ("guidance not text", _set((C, 0, "guidance"), {"a": 1}), "criteria[0].guidance", "must be a string"),
    ("scale missing", _delete((C, 0, "scale")), "criteria[0].scale", "is required"),
    ("scale unknown", _set((C, 0, "scale"), "10"), "criteria[0].scale", "must be one of"),
    ("scale int unknown", _set((C, 0, "scale"), 7), "criteria[0].scale", "must be one of"),
    ("scale float", _set((C, 0, "scale"), 5.0), "criteria[0].scale", "must be one of"),
    (
        "options on builtin",
        _set((C, 0, "options"), [{"label": "a", "score": 0}]),
        "criteria[0].options",
        "only",
    ),
    ("custom without options", _delete((C, 2, "options")), "criteria[2].options", "is required"),
    (
        "option score high",
        _set((C, 2, "options", 1, "score"), 1.2),
        "criteria[2].options[1].score",
        "between",
    ),
    ("option label empty", _set((C, 2, "options", 0, "label"), ""), "criteria[2].options[0].label", "empty"),
    ("option order", _set((C, 2, "options", 2, "score"), 0.1), "criteria[2].options[2].score", "ascending"),
    (
        "option dup label",
        _set((C, 2, "options", 2, "label"), "OK"),
        "criteria[2].options[2].label",
        "duplicate",
    ),
    ("option unknown", _set((C, 2, "options", 0, "value"), 1), "criteria[2].options[0].value", "unknown"),
    (
        "one option",
        _set((C, 2, "options"), [{"label": "a", "score": 1}]),
        "criteria[2].options",
        "at least two",
    ),
    ("weight zero", _set((C, 1, "weight"), 0), "criteria[1].weight", "greater than 0"),
    ("weight negative", _set((C, 1, "weight"), -2), "criteria[1].weight", "greater than 0"),
    ("weight huge", _set((C, 1, "weight"), 1e7), "criteria[1].weight", "at most"),
    ("weight bool", _set((C, 1, "weight"), True), "criteria[1].weight", "must be a number"),
    ("weight text", _set((C, 1, "weight"), "3"), "criteria[1].weight", "must be a number"),
    ("weight null", _set((C, 1, "weight"), None), "criteria[1].weight", "must be a number"),
    ("weight infinite", _set((C, 1, "weight"), float("inf")), "criteria[1].weight", "must be a number"),
    ("critical text", _set((C, 1, "critical"), "yes"), "criteria[1].critical", "true or false"),
    ("critical int", _set((C, 1, "critical"), 1), "criteria[1].critical", "true or false"),
    ("fail_below zero", _set((C, 1, "fail_below"), 0), "criteria[1].fail_below", "greater than 0"),
    ("fail_below high", _set((C, 1, "fail_below"), 1.01), "criteria[1].fail_below", "at most 1"),
    ("allow_na text", _set((C, 0, "allow_na"), "false"), "criteria[0].allow_na", "true or false"),
    ("root causes text", _set((C, 2, "root_causes"), "Rude"), "criteria[2].root_causes", "list of strings"),
    ("root cause blank", _set((C, 2, "root_causes", 1), " "), "criteria[2].root_causes[1]", "empty"),
    ("root cause number", _set((C, 2, "root_causes", 0), 4), "criteria[2].root_causes[0]", "string"),
    ("root cause dup", _set((C, 2, "root_causes", 2), "Rude"), "criteria[2].root_causes[2]", "duplicate"),
    (
        "root causes many",
        _set((C, 2, "root_causes"), [f"r{i}" for i in range(101)]),
        "criteria[2].root_causes",
        "100",
    ),
    ("unknown criterion field", _set((C, 1, "wieght"), 3), "criteria[1].wieght", "unknown field"),
]


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"), [c[1:] for c in INVALID_CASES], ids=[c[0] for c in INVALID_CASES]
)
def test_every_validation_error_names_its_field(mutate: Mutation, field: str, fragment: str) -> None:
    data = example()
    mutate(data)
    errors = errors_of(data)
    assert any(e.field == field and fragment in e.message for e in errors), errors


def test_all_errors_are_collected_not_just_the_first() -> None:
    data = example()
    data["name"] = ""
    data["colour"] = "blue"
    data["criteria"][0]["weight"] = -1
    data["criteria"][1]["scale"] = "9"
    data["criteria"][2]["options"][1]["score"] = 7
    data["criteria"][2]["root_causes"] = ["", "Rude"]
    fields = {e.field for e in errors_of(data)}
    assert fields == {
        "name",
        "colour",
        "criteria[0].weight",
        "criteria[1].scale",
        "criteria[2].options[1].score",
        "criteria[2].root_causes[0]",
    }


def test_error_text_lists_one_field_message_per_line() -> None:
    data = example()
    data["name"] = ""
    data["criteria"][1]["weight"] = 0
    with pytest.raises(DefinitionError) as info:
        validate_definition(data)
    assert isinstance(info.value, ValueError)
    assert str(info.value).splitlines() == [
        "name: must not be empty",
        "criteria[1].weight: must be greater than 0 and at most 1e+06 (the smallest weight is 1e-06)",
    ]


def test_key_limits() -> None:
    for key in ("a", "0", "a-b_c", "a" * 64):
        validate_definition({"name": "x", "criteria": [{"key": key, "name": "K", "scale": "3"}]})


def test_criteria_count_limit() -> None:
    criteria = [{"key": f"c{i}", "name": f"C{i}", "scale": "binary"} for i in range(201)]
    assert len(validate_definition({"name": "x", "criteria": criteria[:200]}).criteria) == 200
    assert [
        (e.field, "at most 200" in e.message) for e in errors_of({"name": "x", "criteria": criteria})
    ] == [("criteria", True)]


@pytest.mark.parametrize("data", [[], "card", 3])
def test_a_non_object_is_refused_as_a_whole(data: object) -> None:
    assert [e.field for e in errors_of(data)] == [""]


def test_malformed_json_names_line_and_column() -> None:
    with pytest.raises(DefinitionError) as info:
        parse_definition('{"name": "x",\n "criteria": [}', fmt="json")
    (error,) = info.value.errors
    assert error.field == ""
    assert "JSON" in error.message and "line 2, column 15" in error.message


def test_malformed_json_looking_input_reports_the_json_error_when_sniffing() -> None:
    with pytest.raises(DefinitionError) as info:
        parse_definition('{"name": "x",, }')
    assert "invalid JSON at line 1, column 14" in str(info.value)


def test_malformed_yaml_names_line_and_column() -> None:
    text = "name: Card\ncriteria:\n  - key: a\n    name: [unclosed\n"
    for fmt in ("yaml", None):
        with pytest.raises(DefinitionError) as info:
            parse_definition(text, fmt=fmt)
        (error,) = info.value.errors
        assert error.field == ""
        assert error.message.startswith("invalid YAML at line 5, column 1")


def test_yaml_text_is_not_json() -> None:
    with pytest.raises(DefinitionError, match="invalid JSON at line 1, column 1"):
        parse_definition(EXAMPLE_YAML, fmt="json")


def test_yaml_unquoted_yes_label_gets_a_hint() -> None:
    text = EXAMPLE_YAML.replace("{label: OK, score: 0.6}", "{label: Yes, score: 0.6}")
    with pytest.raises(DefinitionError) as info:
        parse_definition(text)
    assert [(e.field, e.message) for e in info.value.errors] == [
        ("criteria[2].options[1].label", "must be a string (quote it in YAML)")
    ]


@pytest.mark.parametrize("text", ["", "   \n", b"", "# only a comment\n", "null"])
def test_empty_input_is_refused(text: str | bytes) -> None:
    with pytest.raises(DefinitionError, match="empty"):
        parse_definition(text)


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(DefinitionError, match="UTF-8"):
        parse_definition(b'{"name": "\xff"}')


@pytest.mark.parametrize("fmt", ["json", "yaml", None])
def test_deeply_nested_input_is_refused_cleanly(fmt: str | None) -> None:
    with pytest.raises(DefinitionError, match="nested too deeply"):
        parse_definition("[" * 1000 + "]" * 1000, fmt=fmt)


def test_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown scorecard format"):
        parse_definition(EXAMPLE_JSON, fmt="toml")


def _padded(size: int) -> str:
    text = EXAMPLE_JSON.strip()
    return text + " " * (size - len(text.encode()))


def test_input_up_to_one_megabyte_is_accepted() -> None:
    text = _padded(MAX_DEFINITION_BYTES)
    assert len(text.encode()) == MAX_DEFINITION_BYTES == 1024 * 1024
    assert parse_definition(text).name == "Support QA"
    assert parse_definition(text.encode()).name == "Support QA"


def test_input_over_one_megabyte_is_refused() -> None:
    for text in (_padded(MAX_DEFINITION_BYTES + 1), _padded(MAX_DEFINITION_BYTES + 1).encode()):
        with pytest.raises(DefinitionError) as info:
            parse_definition(text)
        (error,) = info.value.errors
        assert error.field == "" and "limit" in error.message and "1 MB" in error.message


def test_multibyte_characters_count_as_bytes() -> None:
    text = EXAMPLE_JSON.strip().replace("Support QA", "é" * (MAX_DEFINITION_BYTES // 2))
    with pytest.raises(DefinitionError, match="limit"):
        parse_definition(text)


def test_definition_to_dict_gives_the_native_shape() -> None:
    assert definition_to_dict(parse_definition(EXAMPLE_JSON)) == {
        "name": "Support QA",
        "pass_threshold": 80,
        "criteria": [
            {"key": "greeting", "name": "Greeting", "section": "Opening", "scale": "binary", "weight": 1},
            {
                "key": "accuracy",
                "name": "Correct solution",
                "section": "Resolution",
                "scale": "5",
                "weight": 3,
                "critical": True,
            },
            {
                "key": "tone",
                "name": "Tone",
                "scale": "custom",
                "options": [
                    {"label": "Poor", "score": 0},
                    {"label": "OK", "score": 0.6},
                    {"label": "Great", "score": 1},
                ],
                "weight": 2,
                "allow_na": True,
                "root_causes": ["Robotic", "Rude", "Too casual"],
            },
        ],
    }


def test_definition_to_dict_keeps_non_defaults() -> None:
    data = example()
    data["description"] = "For the billing team"
    data["pass_threshold"] = 72.5
    data["criteria"][1].update(fail_below=0.75, guidance="Check the KB.", weight=1.5)
    out = definition_to_dict(validate_definition(data))
    assert out["description"] == "For the billing team"
    assert out["pass_threshold"] == 72.5
    criteria = out["criteria"]
    assert isinstance(criteria, list)
    assert criteria[1]["fail_below"] == 0.75
    assert criteria[1]["guidance"] == "Check the KB."
    assert criteria[1]["weight"] == 1.5


def test_round_trip_of_the_example_through_json_and_yaml() -> None:
    defn = parse_definition(EXAMPLE_JSON)
    native = definition_to_dict(defn)
    assert validate_definition(copy.deepcopy(native)) == defn
    assert parse_definition(json.dumps(native)) == defn
    assert parse_definition(yaml.safe_dump(native), fmt="yaml") == defn


# --- property tests ---------------------------------------------------------------------------

_text = (
    st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
_keys = st.from_regex(KEY_PATTERN, fullmatch=True)
# Free text (guidance, description) keeps its layout; YAML-specific line breaks such as NEL are left out
# because PyYAML itself does not round-trip them.
_free_text = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")) | st.sampled_from("\n\t "),
    max_size=40,
)


@st.composite
def _custom_options(draw: st.DrawFn) -> list[dict[str, object]]:
    scores = sorted(draw(st.lists(st.floats(0, 1), min_size=2, max_size=6, unique=True)))
    labels = draw(st.lists(_text, min_size=len(scores), max_size=len(scores), unique=True))
    return [{"label": label, "score": score} for label, score in zip(labels, scores, strict=True)]


@st.composite
def _raw_criterion(draw: st.DrawFn, key: str) -> dict[str, object]:
    scale = draw(st.sampled_from(["binary", "3", "4", "5", 3, 4, 5, "custom"]))
    raw: dict[str, object] = {"key": key, "name": draw(_text), "scale": scale}
    if scale == "custom":
        raw["options"] = draw(_custom_options())
    optional: dict[str, st.SearchStrategy[Any]] = {
        "section": st.none() | _text,
        "guidance": _free_text,
        "weight": st.integers(1, 100) | st.floats(0.001, 1_000_000).filter(lambda w: w > 0),
        "critical": st.booleans(),
        "fail_below": st.floats(0, 1, exclude_min=True),
        "allow_na": st.booleans(),
        "root_causes": st.lists(_text, max_size=4, unique=True),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            raw[name] = draw(strategy)
    return raw


@st.composite
def raw_definitions(draw: st.DrawFn) -> dict[str, object]:
    keys = draw(st.lists(_keys, min_size=1, max_size=6, unique=True))
    raw: dict[str, object] = {"name": draw(_text), "criteria": [draw(_raw_criterion(key)) for key in keys]}
    if draw(st.booleans()):
        raw["description"] = draw(_free_text)
    if draw(st.booleans()):
        raw["pass_threshold"] = draw(st.integers(0, 100) | st.floats(0, 100))
    return raw


@given(raw_definitions())
def test_random_valid_definitions_round_trip(raw: dict[str, object]) -> None:
    defn = validate_definition(raw)
    native = definition_to_dict(defn)
    assert validate_definition(native) == defn
    assert parse_definition(json.dumps(native), fmt="json") == defn
    assert definition_to_dict(validate_definition(native)) == native


@given(raw_definitions())
def test_random_valid_definitions_round_trip_through_yaml(raw: dict[str, object]) -> None:
    defn = validate_definition(raw)
    assert parse_definition(yaml.safe_dump(definition_to_dict(defn), allow_unicode=True)) == defn


@given(raw_definitions(), st.data())
def test_a_bad_weight_anywhere_is_reported_at_its_path(raw: dict[str, object], data: st.DataObject) -> None:
    criteria = raw["criteria"]
    assert isinstance(criteria, list)
    index = data.draw(st.integers(0, len(criteria) - 1))
    criteria[index]["weight"] = data.draw(st.sampled_from([0, -1, "1", True, None]))
    assert f"criteria[{index}].weight" in {e.field for e in errors_of(raw)}


def test_scorecard_def_is_hashable_and_frozen() -> None:
    defn = parse_definition(EXAMPLE_JSON)
    assert hash(defn) == hash(parse_definition(EXAMPLE_YAML))
    assert isinstance(defn, ScorecardDef)
