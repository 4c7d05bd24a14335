"""Small pure rules of the console: time left, safe CSV cells, delimiter sniffing, amounts for people."""

from __future__ import annotations

from decimal import Decimal

import hitflow_csv
from hit_service.console import csvfiles, summary
from hit_service.site.templating import money, number


def test_time_left_never_says_expired_while_publishing_nor_days_once_cancelled() -> None:
    assert summary.time_left("publishing", 0, 3 * 86400, False) == "3 days once published"
    assert summary.time_left("publishing", 3600, 3 * 86400, True) == "1 h"
    assert summary.time_left("cancelled", 2 * 86400, 3 * 86400, True) == "none (cancelled)"
    assert summary.time_left("published", 0, 3 * 86400, True) == "expired"
    assert summary.time_left("stopped", 0, 3 * 86400, False) == "—"


def test_ledger_amounts_stay_numbers_in_safe_cells() -> None:
    for text in ("=1+1", "+SUM(A1)", "-x", "@cmd", "\tx", "\r=1"):
        assert hitflow_csv.cell(text) == "'" + text
    for value in ("-1.44", "0.36", "12", "P1", "", "a=b"):
        assert hitflow_csv.cell(value) == value
    assert hitflow_csv.cell(Decimal("-0.36")) == "-0.36" and hitflow_csv.cell(None) == ""


def test_the_delimiter_is_the_one_that_splits_the_header_into_the_templates_variables() -> None:
    wanted = ["person_id", "image_url"]
    assert csvfiles.sniff_delimiter("person_id,image_url\nP1,x\n", wanted) == ","
    assert csvfiles.sniff_delimiter("person_id;image_url\r\nP1;x,y\r\n", wanted) == ";"
    assert csvfiles.sniff_delimiter("image_url\tperson_id\n", wanted) == "\t"
    # A comma inside a semicolon file's header name does not fool it; one column reads as comma.
    assert csvfiles.sniff_delimiter('"a,b";person_id;image_url\n', wanted) == ";"
    assert csvfiles.sniff_delimiter("text\nhello\n", ["text"]) == ","


def test_amounts_and_counts_have_thousands_separators() -> None:
    assert money(Decimal("7199.64")) == "$7,199.64"
    assert money(Decimal("-0.36")) == "−$0.36"
    assert money("0.1") == "$0.10"
    assert number(20000) == "20,000" and number(None) == ""
