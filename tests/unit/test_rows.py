from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hitflow.publish.rows import SourceRow, row_problem
from tests.corpus import BAD_ROWS

NOW = datetime(2026, 11, 24, tzinfo=UTC)
GOOD_URL = "https://images.example.org/p/1.jpg"


def test_good_row_passes() -> None:
    assert row_problem(SourceRow(1, "P1", GOOD_URL, NOW)) is None
    assert row_problem(SourceRow(1, "P-1.a:b_c", "https://cdn.example.org:8443/a%20b.jpg?x=1&y=2", NOW)) is None


@pytest.mark.parametrize(
    ("person_id", "url", "created", "reason"),
    [
        (None, GOOD_URL, NOW, "missing person_id"),
        ("  ", GOOD_URL, NOW, "missing person_id"),
        ("P" * 65, GOOD_URL, NOW, "person_id longer than 64"),
        ("P1<script>", GOOD_URL, NOW, "malformed person_id"),
        ("P1", None, NOW, "missing image_url"),
        ("P1", "", NOW, "missing image_url"),
        ("P1", "http://images.example.org/a.jpg", NOW, "not https"),
        ("P1", "javascript:alert(1)", NOW, "'javascript', not https"),
        ("P1", "data:image/png;base64,AAAA", NOW, "'data', not https"),
        ("P1", "/relative/path.jpg", NOW, "not an absolute https URL"),
        ("P1", "//images.example.org/a.jpg", NOW, "not an absolute https URL"),
        ("P1", "https:///no-host.jpg", NOW, "no valid host"),
        ("P1", "https://localhost/a.jpg", NOW, "no valid host"),
        ("P1", "https://a..b.org/a.jpg", NOW, "no valid host"),
        ("P1", "https://images.example.org:99999/a.jpg", NOW, "malformed image_url"),
        ("P1", "https://user:pw@images.example.org/a.jpg", NOW, "credentials"),
        ("P1", "https://images.example.org/a b.jpg", NOW, "whitespace"),
        ("P1", 'https://images.example.org/a".jpg', NOW, "markup"),
        ("P1", "https://images.example.org/<script>.jpg", NOW, "markup"),
        ("P1", "https://images.example.org/\x00.jpg", NOW, "control"),
        ("P1", "https://images.example.org/" + "a" * 3000, NOW, "longer than 2048"),
        ("P1", GOOD_URL, None, "missing created_at"),
    ],
)
def test_bad_rows_get_a_reason(person_id, url, created, reason) -> None:
    problem = row_problem(SourceRow(7, person_id, url, created))
    assert problem is not None and reason in problem


@pytest.mark.parametrize(("label", "person_id", "url", "dated", "reason"), BAD_ROWS, ids=[r[0] for r in BAD_ROWS])
def test_bad_input_corpus(label, person_id, url, dated, reason) -> None:
    problem = row_problem(SourceRow(1, person_id, url, NOW if dated else None))
    assert problem is not None and reason in problem, f"{label}: {problem!r}"
    assert len(problem) < 200  # a 10 kB value is described, not echoed
