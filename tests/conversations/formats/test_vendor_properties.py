"""Whatever JSON arrives, a vendor converter answers with a native record or a RecordError, nothing else."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.conversations import ingest
from qa.conversations.formats import RecordError, json_converter
from tests.conversations.formats.helpers import VENDORS, records

# Any JSON value, lone surrogates included (json.loads makes them from "\ud800" escapes).
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(st.characters(exclude_categories=()), max_size=30)
           | st.sampled_from(["", "0", "-1", "2026-03-01T10:00:00+02:00", "1772445600", "<p>a &amp; b</p>",
                              "good", "closed", "admin", "note"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replaced(raw: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    target = raw
    for key in path[:-1]:
        target = target[key]
    if delete and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return raw


@st.composite
def mutated(draw: st.DrawFn, vendor: str) -> Any:
    """An example record with one to three values anywhere in it replaced (or removed) by any JSON."""
    raw: Any = draw(st.sampled_from(records(vendor)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(raw)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        raw = _replaced(raw, path, draw(JSON), draw(st.booleans()))
    return raw


def _only_record_errors(convert: Callable[[Any], Any], value: Any) -> None:
    try:
        native = convert(value)
        json.dumps(native)  # the native record is plain JSON
        ingest.validate_record(native)
    except RecordError:
        pass


@pytest.mark.parametrize("vendor", VENDORS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_records_convert_or_raise_record_error(vendor: str, data: st.DataObject) -> None:
    _only_record_errors(json_converter(vendor), data.draw(mutated(vendor)))


@pytest.mark.parametrize("vendor", VENDORS)
@settings(max_examples=150, deadline=None)
@given(value=JSON)
def test_any_json_value_converts_or_raises_record_error(vendor: str, value: Any) -> None:
    _only_record_errors(json_converter(vendor), value)


@pytest.mark.parametrize("vendor", VENDORS)
def test_examples_survive_a_json_round_trip_unchanged(vendor: str) -> None:
    convert = json_converter(vendor)
    for raw in records(vendor):
        native = convert(raw)
        assert json.loads(json.dumps(native)) == native
        assert convert(json.loads(json.dumps(raw))) == native
