"""One cell of a CSV file the console writes, made safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to
Excel and LibreOffice; such text gets a leading apostrophe. Plain numbers ("-1.44") stay
numbers, so the ledger's amounts still add up in a spreadsheet. (Issue 21 is writing the
project's shared helper; this function is the one place to swap for it.)
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?\Z")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """``value`` as CSV text that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text
