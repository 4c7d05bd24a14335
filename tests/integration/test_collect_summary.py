"""Issue 21: the collect's summary counts what the whole run did (every try of a retried task),
and an answer a person rejected stays rejected and unpaid however often the collect runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest

from tests.integration.helpers import good_rows, run, seed, table
from tests.integration.test_collect_dag import add_workers, answer, hit_of_row, statuses
from tests.integration.test_publish_dag import DAY

pytestmark = pytest.mark.integration

# The first time a HIT is marked disposed, the database fails the statement (a sequence is not
# rolled back with the failed transaction, so only the first time): the collect task's first try
# dies after it approved, recorded and paid everything, and its retry finishes the batch.
FAIL_ONCE = """
CREATE SEQUENCE public.fail_once_seq;
CREATE FUNCTION public.fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.disposed_at IS NOT NULL AND nextval('public.fail_once_seq') = 1 THEN
        RAISE EXCEPTION 'simulated database failure mid-collect';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fail_once BEFORE UPDATE ON hitflow.batch_rows FOR EACH ROW EXECUTE FUNCTION public.fail_once();
"""
UNDO = """
DROP TRIGGER IF EXISTS fail_once ON hitflow.batch_rows;
DROP FUNCTION IF EXISTS public.fail_once();
DROP SEQUENCE IF EXISTS public.fail_once_seq;
"""


def test_the_summary_counts_what_every_try_of_the_run_did(
    dag: Any, collect_dag: Any, source_db: str, hit_service: Any, mturk: Any, clean_state: None
) -> None:
    seed(source_db, good_rows(1, 3, DAY - timedelta(hours=3)))
    state, _ = run(dag, None, max_assignments=3)
    assert state == "success"
    add_workers(hit_service, "gus", "hal", "ivy")
    for row_id in (1, 2, 3):
        for worker, age in zip(("gus", "hal", "ivy"), ("30", "31", "x"), strict=True):
            answer(hit_service, worker, hit_of_row(source_db, row_id), age)
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute(FAIL_ONCE)
    try:
        state, summary = run(collect_dag, None, bonus_amount="0.05", bonus_tolerance_years=2, min_answers=2)
    finally:
        with psycopg.connect(source_db, autocommit=True) as conn:
            conn.execute(UNDO)
    assert state == "success"
    tries = table(
        source_db, "SELECT count(*) FROM hitflow.batch_rows WHERE disposed_at IS NOT NULL"
    )  # the retry disposed of every HIT
    assert tries == [(3,)]
    # Everything was done by the first try, which died; the retry's own counters would say 0.
    assert summary["approved"] == 6 and summary["rejected"] == 3, summary
    assert summary["bonuses"] == 6 and summary["results"] == 3 and summary["hits_disposed"] == 3
    assert summary["batches"][0]["approved"] == 6 and summary["already_reviewed"] == 0
    approved = sum(list(statuses(mturk, hit_of_row(source_db, r)).values()).count("Approved") for r in (1, 2, 3))
    assert approved == 6  # what the service says happened


def test_a_hand_rejected_answer_stays_rejected_and_unpaid_across_reruns(
    dag: Any, collect_dag: Any, source_db: str, hit_service: Any, mturk: Any, clean_state: None
) -> None:
    seed(source_db, good_rows(1, 1, DAY - timedelta(hours=3)))
    run(dag, None, max_assignments=3)
    hit_id = hit_of_row(source_db, 1)
    add_workers(hit_service, "jo", "kim", "lu")
    rejected = answer(hit_service, "jo", hit_id, "40")  # a valid answer a person rejects by hand
    mturk.reject_assignment(AssignmentId=rejected, RequesterFeedback="This is not the person in the photo.")
    answer(hit_service, "kim", hit_id, "41")
    conf = {"bonus_amount": "0.05", "bonus_tolerance_years": 5, "min_answers": 2}

    state, first = run(collect_dag, None, **conf)
    assert state == "success" and first["already_reviewed"] == 1 and first["approved"] == 1
    answer(hit_service, "lu", hit_id, "42")
    for _ in range(2):  # the last answer comes in; then a rerun with nothing new
        state, _ = run(collect_dag, None, **conf)
        assert state == "success"
        assert mturk.get_assignment(AssignmentId=rejected)["Assignment"]["AssignmentStatus"] == "Rejected"
        assert mturk.list_bonus_payments(AssignmentId=rejected)["BonusPayments"] == []
    assert table(
        source_db,
        "SELECT review_action, status, bonus_paid_at FROM hitflow.assignments WHERE assignment_id = %s",
        rejected,
    ) == [("reject", "Rejected", None)]
    assert sorted(statuses(mturk, hit_id).values()) == ["Approved", "Approved", "Rejected"]
