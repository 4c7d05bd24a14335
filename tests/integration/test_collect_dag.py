"""The whole HIT lifecycle through ``dag.test()``: publish, workers answer through the worker
site's HTTP forms, collect reviews, pays, aggregates and closes — checked through boto3."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from hitflow_support.crowd_client import submit_answer_over_http
from tests.integration.helpers import good_rows, run, seed, table
from tests.integration.test_publish_dag import DAY

pytestmark = pytest.mark.integration
PASSWORD = "worker-password-1"


def add_workers(service: Any, *names: str) -> None:
    for name in names:
        response = requests.post(f"{service.url}/_test/workers", json={"name": name, "password": PASSWORD}, timeout=10)
        response.raise_for_status()


def answer(service: Any, worker: str, hit_id: str, age: str) -> str:
    return submit_answer_over_http(service.url, worker, PASSWORD, hit_id, {"age": age})


def hit_of_row(db: str, row_id: int) -> str:
    return table(db, "SELECT hit_id FROM hitflow.batch_rows WHERE row_id = %s", row_id)[0][0]


def report_money(path: str) -> dict[str, Decimal]:
    """The report's "Spent" table: label → amount."""
    page = Path(path).read_text(encoding="utf-8")
    return {
        label: Decimal(amount) for label, amount in re.findall(r"<tr><th>([^<]+)</th><td>\$([0-9.]+)</td></tr>", page)
    }


def statuses(mturk: Any, hit_id: str) -> dict[str, str]:
    page = mturk.list_assignments_for_hit(HITId=hit_id, MaxResults=100)
    return {a["WorkerId"]: a["AssignmentStatus"] for a in page["Assignments"]}


def test_full_loop_reviews_pays_aggregates_and_closes(
    dag, collect_dag, source_db, hit_service, mturk, clean_state
) -> None:
    seed(source_db, good_rows(1, 3, DAY - timedelta(hours=3)))
    state, published = run(dag, None, max_assignments=3)
    assert state == "success" and published["hits_in_batch"] == 3
    add_workers(hit_service, "ana", "ben", "cy")
    guesses = {1: ("30", "32", "31"), 2: ("50", "47", "fifty"), 3: ("20", "40", "60")}
    for row_id, ages in guesses.items():
        for worker, age in zip(("ana", "ben", "cy"), ages, strict=True):
            answer(hit_service, worker, hit_of_row(source_db, row_id), age)

    state, summary = run(collect_dag, None, bonus_amount="0.05", bonus_tolerance_years=2, min_answers=2)
    assert state == "success"
    assert summary["approved"] == 8 and summary["rejected"] == 1 and summary["flagged"] == 1
    assert summary["complete"] == [published["batch_id"]] and summary["hits_disposed"] == 3

    results = {
        row: (median, n, agree)
        for row, median, n, agree in table(
            source_db, "SELECT row_id, median_age::float, answers, agreement FROM hitflow.results ORDER BY row_id"
        )
    }
    assert results == {1: (31.0, 3, True), 2: (48.5, 2, True), 3: (40.0, 3, False)}

    # what the requester sees through boto3: decisions, feedback and bonuses
    rejected = [
        a
        for a in mturk.list_assignments_for_hit(HITId=hit_of_row(source_db, 2))["Assignments"]
        if a["AssignmentStatus"] == "Rejected"
    ]
    assert len(rejected) == 1 and "fifty" in rejected[0]["RequesterFeedback"]
    assert "Approved" in statuses(mturk, hit_of_row(source_db, 1)).values()
    bonuses = [
        b
        for row in guesses
        for b in mturk.list_bonus_payments(HITId=hit_of_row(source_db, row), MaxResults=100)["BonusPayments"]
    ]
    # within 2 years of the median: row 1 all three, row 2 both valid ones (1.5 years off), row 3 only 40
    assert len(bonuses) == summary["bonuses"] == 6 and {b["BonusAmount"] for b in bonuses} == {"0.05"}
    assert mturk.get_hit(HITId=hit_of_row(source_db, 1))["HIT"]["HITStatus"] == "Disposed"
    assert table(source_db, "SELECT status FROM hitflow.batches") == [("complete",)]

    # a second collection changes nothing: no second approval, bonus or stored row
    before = table(source_db, "SELECT count(*), count(bonus_paid_at) FROM hitflow.assignments")
    state, again = run(collect_dag, None, bonus_amount="0.05", bonus_tolerance_years=2, min_answers=2)
    assert state == "success" and again["batches"] == [] and again["approved"] == 0 and again["bonuses"] == 0
    assert table(source_db, "SELECT count(*), count(bonus_paid_at) FROM hitflow.assignments") == before == [(9, 6)]
    with open(summary["batches"][0]["report"]) as f:
        assert f.read().count("<tr>") >= 5


def test_partial_work_auto_approval_and_a_rerun(dag, collect_dag, source_db, hit_service, mturk, clean_state) -> None:
    seed(source_db, good_rows(1, 1, DAY - timedelta(hours=3)))
    run(dag, None, max_assignments=3, auto_approval_delay_seconds=3600)
    hit_id = hit_of_row(source_db, 1)
    add_workers(hit_service, "dee", "eve", "fay")
    first = answer(hit_service, "dee", hit_id, "40")
    mturk.approve_assignment(AssignmentId=first)  # approved by hand before hitflow looked: not an error
    answer(hit_service, "eve", hit_id, "42")

    state, summary = run(collect_dag, None)
    assert state == "success" and summary["already_reviewed"] == 1 and summary["approved"] == 1
    assert summary["complete"] == [] and summary["hits_disposed"] == 0  # one assignment still to come
    assert table(source_db, "SELECT count(*) FROM hitflow.results") == [(0,)]  # 2 of min 3 answers

    answer(hit_service, "fay", hit_id, "44")
    requests.post(f"{hit_service.url}/_test/clock", json={"advance_seconds": 7200}, timeout=10).raise_for_status()
    state, summary = run(collect_dag, None)  # the service auto-approved the last one meanwhile
    assert state == "success" and summary["approved"] == 0 and summary["already_reviewed"] == 1
    assert summary["complete"] and table(source_db, "SELECT median_age::float FROM hitflow.results") == [(42.0,)]
    assert set(statuses(mturk, hit_id).values()) == {"Approved"}


def test_workers_past_the_rejection_threshold_are_blocked_once(
    dag, collect_dag, source_db, hit_service, mturk, clean_state
) -> None:
    seed(source_db, good_rows(1, 2, DAY - timedelta(hours=3)))
    run(dag, None, max_assignments=1)
    add_workers(hit_service, "gus")
    for row in (1, 2):
        answer(hit_service, "gus", hit_of_row(source_db, row), "999")
    params = {"block_rejection_rate": 0.5, "block_min_assignments": 2}
    state, summary = run(collect_dag, None, **params)
    assert state == "success" and summary["rejected"] == 2 and len(summary["blocked"]) == 1
    blocks = mturk.list_worker_blocks(MaxResults=100)["WorkerBlocks"]
    assert [b["WorkerId"] for b in blocks] == summary["blocked"]
    assert "2 of your 2" in blocks[0]["Reason"]
    assert run(collect_dag, None, **params)[1]["blocked"] == []  # blocked once


def test_invalid_review_params_are_refused(collect_dag, clean_state) -> None:
    from airflow.sdk.definitions.param import ParamValidationError

    with pytest.raises(ParamValidationError, match="bonus_amount"):
        run(collect_dag, None, bonus_amount="$5")


def test_money_spent_matches_the_service_balance(dag, collect_dag, source_db, hit_service, mturk, clean_state) -> None:
    start = Decimal(mturk.get_account_balance()["AvailableBalance"])
    seed(source_db, good_rows(1, 1, DAY - timedelta(hours=3)))
    run(dag, None, max_assignments=2)
    add_workers(hit_service, "hal", "ivy")
    for worker, age in (("hal", "33"), ("ivy", "35")):
        answer(hit_service, worker, hit_of_row(source_db, 1), age)
    state, summary = run(collect_dag, None, bonus_amount="0.10", bonus_tolerance_years=5, min_answers=2)
    assert state == "success" and summary["bonuses"] == 2
    spent = start - Decimal(mturk.get_account_balance()["AvailableBalance"])
    # 2 assignments × ($0.10 + $0.02 fee) + 2 bonuses × ($0.10 + $0.02 fee)
    assert spent == Decimal("0.48")
    assert report_money(summary["batches"][0]["report"])["Total"] == spent


def test_report_prices_small_bonuses_as_the_service_charges_them(
    dag, collect_dag, source_db, hit_service, mturk, clean_state
) -> None:
    """Five $0.02 bonuses: the service takes $0.01 of fee on each, and the report says so."""
    start = Decimal(mturk.get_account_balance()["AvailableBalance"])
    seed(source_db, good_rows(1, 1, DAY - timedelta(hours=3)))
    run(dag, None, max_assignments=5)
    workers = ("nia", "oto", "pia", "quy", "rex")
    add_workers(hit_service, *workers)
    for worker, age in zip(workers, ("30", "31", "30", "32", "31"), strict=True):
        answer(hit_service, worker, hit_of_row(source_db, 1), age)
    state, summary = run(collect_dag, None, bonus_amount="0.02", bonus_tolerance_years=5, min_answers=2)
    assert state == "success" and summary["bonuses"] == 5 and summary["approved"] == 5
    spent = start - Decimal(mturk.get_account_balance()["AvailableBalance"])
    # 5 × ($0.10 + $0.02 fee) for the assignments + 5 × ($0.02 + $0.01 minimum fee) for the bonuses
    assert spent == Decimal("0.75")
    money = report_money(summary["batches"][0]["report"])
    assert money["Bonuses"] == Decimal("0.10") and money["Fees on bonuses"] == Decimal("0.05")
    assert money["Total"] == spent


def test_a_hit_left_short_by_rejections_gets_more_assignments(
    dag, collect_dag, source_db, hit_service, mturk, clean_state
) -> None:
    seed(source_db, good_rows(1, 1, DAY - timedelta(hours=3)))
    run(dag, None, max_assignments=3)
    hit_id = hit_of_row(source_db, 1)
    add_workers(hit_service, "jo", "kim", "lee", "max")
    for worker, age in (("jo", "30"), ("kim", "nonsense"), ("lee", "31")):
        answer(hit_service, worker, hit_id, age)

    state, summary = run(collect_dag, None, min_answers=3)
    assert state == "success" and summary["rejected"] == 1 and summary["hits_extended"] == 1
    assert mturk.get_hit(HITId=hit_id)["HIT"]["MaxAssignments"] == 4 and summary["complete"] == []

    answer(hit_service, "max", hit_id, "32")
    state, summary = run(collect_dag, None, min_answers=3)
    assert state == "success" and summary["approved"] == 1 and summary["complete"]
    assert table(source_db, "SELECT median_age::float, answers FROM hitflow.results") == [(31.0, 3)]


def test_crowd_html_task_is_published_and_its_task_answers_collected(
    dag, collect_dag, source_db, hit_service, mturk, clean_state
) -> None:
    """task_ui=crowd publishes the Crowd HTML page; answers come back as taskAnswers JSON and count."""
    import json

    seed(source_db, good_rows(1, 1, DAY - timedelta(hours=3)))
    state, published = run(dag, None, max_assignments=3, task_ui="crowd")
    assert state == "success" and published["hits_in_batch"] == 1
    hit_id = hit_of_row(source_db, 1)
    question = mturk.get_hit(HITId=hit_id)["HIT"]["Question"]
    assert "<crowd-form>" in question and "https://assets.crowd.aws/crowd-html-elements.js" in question
    add_workers(hit_service, "hal", "ida", "jon")
    for worker, age in (("hal", "30"), ("ida", 34), ("jon", "thirty")):
        submit_answer_over_http(hit_service.url, worker, PASSWORD, hit_id, {"taskAnswers": json.dumps([{"age": age}])})
    answers = [a["Answer"] for a in mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"]]
    assert all("<QuestionIdentifier>taskAnswers</QuestionIdentifier><FreeText>[{" in a for a in answers)
    state, summary = run(collect_dag, None, min_answers=2)
    assert state == "success" and summary["approved"] == 2 and summary["rejected"] == 1
    assert table(source_db, "SELECT median_age::float, answers FROM hitflow.results") == [(32.0, 2)]


def test_a_batch_collected_in_several_chunks(
    dag, collect_dag, source_db, hit_service, mturk, clean_state, monkeypatch
) -> None:
    """One HIT per chunk: every chunk runs every step; a second run changes nothing."""
    from hitflow.collect import collector

    monkeypatch.setattr(collector, "CHUNK_HITS", 1)
    seed(source_db, good_rows(1, 3, DAY - timedelta(hours=3)))
    run(dag, None, max_assignments=2)
    add_workers(hit_service, "jo", "kim")
    for row in (1, 2, 3):
        for worker, age in (("jo", "30"), ("kim", "31" if row != 2 else "old")):
            answer(hit_service, worker, hit_of_row(source_db, row), age)
    state, summary = run(collect_dag, None, bonus_amount="0.01", bonus_tolerance_years=1, min_answers=2)
    assert state == "success"
    assert (summary["approved"], summary["rejected"], summary["bonuses"]) == (5, 1, 4)
    assert summary["hits_disposed"] == 2 and summary["hits_extended"] == 1  # row 2 is one valid answer short
    assert {row for (row,) in table(source_db, "SELECT row_id FROM hitflow.results")} == {1, 3}
    paid = sum(
        len(mturk.list_bonus_payments(HITId=hit_of_row(source_db, row), MaxResults=100)["BonusPayments"])
        for row in (1, 2, 3)
    )
    assert paid == 4
    state, again = run(collect_dag, None, bonus_amount="0.01", bonus_tolerance_years=1, min_answers=2)
    assert state == "success" and (again["approved"], again["rejected"], again["bonuses"]) == (0, 0, 0)
    assert again["hits_disposed"] == 0 and again["hits_extended"] == 0


def test_a_batch_collected_by_several_mapped_tasks(
    dag, collect_dag, source_db, hit_service, mturk, clean_state, monkeypatch
) -> None:
    """Ranges of one HIT each: a collect_chunk task per range (so workers can share a batch), and
    the batch's totals, completion and report are those of all ranges together."""
    from hitflow.collect import collector
    from scripts.dag_runner import test_run

    monkeypatch.setattr(collector, "HITS_PER_TASK", 1)
    seed(source_db, good_rows(1, 3, DAY - timedelta(hours=3)))
    state, published = run(dag, None, max_assignments=2)
    assert state == "success"
    add_workers(hit_service, "lee", "max")
    for row in (1, 2, 3):
        for worker, age in (("lee", "40"), ("max", "42")):
            answer(hit_service, worker, hit_of_row(source_db, row), age)
    dr, summary = test_run(collect_dag, None, {"min_answers": 2})
    assert dr.state == "success"
    ranges = [ti for ti in dr.get_task_instances() if ti.task_id == "collect_chunk"]
    assert len(ranges) == 4, "three one-HIT ranges and the open-ended last one"
    assert (summary["approved"], summary["hits_disposed"]) == (6, 3)
    assert summary["complete"] == [published["batch_id"]]
    assert len(summary["batches"]) == 1 and Path(summary["batches"][0]["report"]).exists()
    assert table(source_db, "SELECT status FROM hitflow.batches") == [("complete",)]
