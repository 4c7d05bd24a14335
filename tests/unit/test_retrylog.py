"""Retry summaries: a chunk under an outage logs counts per error and the rows hit, not a line per retry."""

from __future__ import annotations

import logging

import pytest
from botocore.exceptions import EndpointConnectionError

from hitflow.publish.retrylog import RetrySummary, rows_text
from tests.unit.test_publisher import CHUNK, ROWS, FakeMTurk, FakeStore, client_error, make


def test_rows_are_named_briefly() -> None:
    assert rows_text({7}) == "row 7"
    assert rows_text({9, 3, 7}) == "rows 3, 7, 9"
    assert rows_text(set(range(1, 42))) == "41 rows (1–41; 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 …)"


def test_one_line_per_interval_with_counts_per_error(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    summary = RetrySummary("chunk 2: CreateHITWithHITType", logging.getLogger("t"), interval=30, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        for row in range(100):
            summary.retried("EndpointConnectionError", row)
        summary.retried("ServiceFault", 5)
        assert caplog.records == []  # nothing before the interval is up
        now[0] = 31.0
        summary.retried("EndpointConnectionError", 100)
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("chunk 2: CreateHITWithHITType: 102 retries in the last 31 s: ")
    assert "EndpointConnectionError ×101 (101 rows (0–100;" in line and "ServiceFault ×1 (row 5)" in line
    summary.flush(final=True)
    assert len(caplog.records) == 1  # nothing new: no line


def test_a_chunk_under_an_outage_logs_a_summary_not_a_line_per_retry(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    FakeStore(ROWS[:3]).install(monkeypatch)
    outage = [EndpointConnectionError(endpoint_url="http://127.0.0.1:1") for _ in range(2)]
    mturk = FakeMTurk([*outage, client_error("ServiceFault", "try again", status=500)])
    with caplog.at_level(logging.INFO, logger="hitflow.publish.publisher"):
        result = make(mturk, concurrency=1).publish(CHUNK)
    assert result.created == 3 and result.retries == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "3 retries" in warnings[0] and "(chunk ending)" in warnings[0]
    assert "EndpointConnectionError ×2 (row 1)" in warnings[0] and "ServiceFault ×1 (row 1)" in warnings[0]
