"""The spending limit through ``dag.test()`` (a manual run; the scheduled run is in the e2e test):
a run over the per-run or the daily limit creates no HIT, releases its rows and says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.helpers import good_rows, run, seed, service_hits, table

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def refusal_logged(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    out = capsys.readouterr()
    text = out.out + out.err + caplog.text
    return next((line for line in text.splitlines() if "spending limit:" in line), "")


def test_a_run_over_the_per_run_limit_creates_nothing_and_says_what_it_would_cost(
    dag, source_db, mturk, clean_state, monkeypatch, capsys, caplog
) -> None:
    seed(source_db, good_rows(1, 4, NOW - timedelta(hours=3)))  # 4 HITs × 3 × $0.12 = $1.44
    monkeypatch.setenv("AIRFLOW_VAR_HITFLOW_SPEND_LIMIT_PER_RUN_USD", "1.43")
    state, summary = run(dag, None)
    assert state == "failed" and summary is None
    assert service_hits(mturk) == []
    assert table(source_db, "SELECT status FROM hitflow.batches") == [("refused",)]
    assert table(source_db, "SELECT count(*) FROM hitflow.batch_rows") == [(0,)]  # released
    line = refusal_logged(capsys, caplog)
    assert "would cost $1.44" in line and "per-run limit of $1.43" in line, line
    assert "hitflow_spend_limit_per_run_usd" in line and "No HIT was created; 4 rows were released" in line

    monkeypatch.setenv("AIRFLOW_VAR_HITFLOW_SPEND_LIMIT_PER_RUN_USD", "1.44")  # the limit itself is allowed
    state, summary = run(dag, None)
    assert state == "success" and summary["hits_created_now"] == 4 and len(service_hits(mturk)) == 4


def test_the_daily_limit_counts_what_earlier_runs_created_today(
    dag, source_db, mturk, clean_state, monkeypatch, capsys, caplog
) -> None:
    seed(source_db, good_rows(1, 4, NOW - timedelta(hours=3)))
    monkeypatch.setenv("AIRFLOW_VAR_HITFLOW_SPEND_LIMIT_PER_DAY_USD", "2.00")
    assert run(dag, None)[0] == "success"  # $1.44 of $2.00
    seed(source_db, good_rows(10, 2, NOW - timedelta(hours=2)))  # 2 more HITs: $0.72
    state, _ = run(dag, None)
    assert state == "failed" and len(service_hits(mturk)) == 4
    line = refusal_logged(capsys, caplog)
    assert "would cost $0.72" in line and "$1.44 is already spent or committed today" in line, line
    assert "daily limit of $2.00" in line and "hitflow_spend_limit_per_day_usd" in line
    assert run(dag, None, max_rows=1)[0] == "success"  # $0.36 more fits: $1.80
    assert len(service_hits(mturk)) == 5


def test_the_default_limits_apply_when_no_variable_is_set(dag, source_db, mturk, clean_state, monkeypatch) -> None:
    from hitflow.publish.spending import DEFAULT_PER_RUN

    assert DEFAULT_PER_RUN == 100
    # 278 HITs × $0.36 = $100.08: one HIT over the documented default of $100.00
    seed(source_db, good_rows(1, 278, NOW - timedelta(hours=3)))
    state, _ = run(dag, None)
    assert state == "failed" and service_hits(mturk) == []
    assert table(source_db, "SELECT count(*) FROM hitflow.batch_rows") == [(0,)]


def test_a_bad_limit_variable_fails_the_run_naming_it(
    dag, source_db, mturk, clean_state, monkeypatch, capsys, caplog
) -> None:
    seed(source_db, good_rows(1, 1, NOW - timedelta(hours=3)))
    monkeypatch.setenv("AIRFLOW_VAR_HITFLOW_SPEND_LIMIT_PER_DAY_USD", "lots")
    assert run(dag, None)[0] == "failed" and service_hits(mturk) == []
    out = capsys.readouterr()
    assert "hitflow_spend_limit_per_day_usd='lots' is not an amount" in out.out + out.err + caplog.text
