"""Helpdesk formats: one module each, turning what a helpdesk exports into Caliper's native records.

A JSON format (zendesk, intercom, freshdesk) is a module with `convert(record) -> dict`: one record
of the helpdesk's documented API shape (PRODUCT.md §4) in, one native-shape conversation out, or a
`RecordError` naming the field. The native pipeline (`qa.conversations.ingest`) does the rest:
parsing, validation, derived facts and the idempotent upsert. CSV (`csv_rows`) also parses, since
its records are rows to group. Adding a helpdesk is adding a module and a line in JSON_FORMATS.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from qa.conversations.formats.base import RecordError

__all__ = ["JSON_FORMATS", "RecordError", "json_converter"]

JSON_FORMATS = {"zendesk": "zendesk", "intercom": "intercom", "freshdesk": "freshdesk"}


def json_converter(fmt: str) -> Callable[[Any], Any]:
    """The `convert` function of a JSON helpdesk format."""
    module = importlib.import_module(f"{__name__}.{JSON_FORMATS[fmt]}")
    convert: Callable[[Any], Any] = module.convert
    return convert
