"""Cells for CSV files people open in a spreadsheet."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """The cell, prefixed with an apostrophe when a spreadsheet would read it as a formula
    (OWASP's advice on CSV injection): exported text can quote what users typed or uploaded."""
    return "'" + cell if cell[:1] in FORMULA_STARTS else cell
