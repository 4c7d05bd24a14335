"""The publish DAG end to end with ``dag.test()``: real Airflow, real PostgreSQL, and the HIT
service over HTTP through the real boto3 client. Every assertion about HITs is checked against
the service's own list, not only hitflow's table.
"""

from __future__ import annotations

import csv
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import requests

from tests.corpus import BAD_ROWS
from tests.integration.helpers import (
    good_rows,
    hits_per_row,
    run,
    seed,
    service_hits,
    set_balance,
    set_faults,
    table,
)

pytestmark = pytest.mark.integration

DAY = datetime(2026, 11, 25, tzinfo=UTC)  # a run for this logical date publishes 2026-11-24
LAYOUT_ID = "3HITFLOWAGEGUESSLAYOUT00000001"


def test_interval_run_publishes_its_day_once(dag, source_db, mturk, clean_state) -> None:
    seed(
        source_db,
        good_rows(1, 5, DAY - timedelta(days=2)) + good_rows(10, 7, DAY - timedelta(days=1)) + good_rows(30, 4, DAY),
    )
    state, summary = run(dag, DAY, chunk_size=3)
    assert state == "success"
    hits = service_hits(mturk)
    assert len(hits) == 7 and summary["hits_in_batch"] == 7 and summary["hits_created_now"] == 7
    assert all(summary["batch_id"] in hit["RequesterAnnotation"] for hit in hits)
    published = table(source_db, "SELECT row_id, hit_id FROM hitflow.batch_rows WHERE status = 'published'")
    assert sorted(r for r, _ in published) == list(range(10, 17))
    assert {h for _, h in published} == {hit["HITId"] for hit in hits} == set(summary["gathered_hit_ids"])
    assert summary["cost_usd"] == "2.52"  # 7 HITs × 3 assignments × ($0.10 + $0.02)

    hit = mturk.get_hit(HITId=hits[0]["HITId"])["HIT"]
    assert "HTMLQuestion" in hit["Question"] and hit["Reward"] == "0.10" and hit["MaxAssignments"] == 3

    state, again = run(dag, DAY, chunk_size=3)  # the same interval again: a new run, a new batch
    assert state == "success" and again["batch_id"] != summary["batch_id"]
    assert again["hits_in_batch"] == 0 and again["already_published"] == 7
    assert len(service_hits(mturk)) == 7


def test_manual_run_takes_every_pending_row(dag, source_db, mturk, clean_state) -> None:
    seed(source_db, good_rows(1, 4, DAY - timedelta(days=3)) + good_rows(20, 3, DAY - timedelta(days=1)))
    assert run(dag, DAY)[0] == "success"
    assert len(service_hits(mturk)) == 3
    state, summary = run(dag, None)
    assert state == "success" and summary["scope"] == {"name": "pending", "start": None, "end": None}
    assert summary["hits_in_batch"] == 4 and len(service_hits(mturk)) == 7
    state, summary = run(dag, None, max_rows=10)
    assert summary["hits_in_batch"] == 0 and len(service_hits(mturk)) == 7


def test_a_manual_run_with_the_trigger_forms_logical_date_still_takes_every_pending_row(
    dag, source_db, mturk, clean_state
) -> None:
    """The UI's Trigger dialog fills in a logical date (so an interval): the run type decides."""
    seed(source_db, good_rows(1, 4, DAY - timedelta(days=12)) + good_rows(20, 2, DAY - timedelta(hours=3)))
    state, summary = run(dag, DAY, scope="pending")  # dag.test() makes a manual run, as the dialog does
    assert state == "success" and summary["scope"]["name"] == "pending"
    assert summary["hits_in_batch"] == 6 and len(service_hits(mturk)) == 6
    assert table(source_db, "SELECT scope, params->>'scope' FROM hitflow.batches") == [("pending", "pending")]


def test_scope_interval_takes_only_the_inferred_day(dag, source_db, mturk, clean_state) -> None:
    seed(source_db, good_rows(1, 4, DAY - timedelta(days=12)) + good_rows(20, 2, DAY - timedelta(hours=3)))
    state, summary = run(dag, DAY, scope="interval")
    assert state == "success" and summary["scope"]["name"] == "interval"
    assert summary["hits_in_batch"] == 2
    state, summary = run(dag, None, scope="interval")  # no logical date: no interval to take
    assert state == "failed" and summary is None
    assert len(service_hits(mturk)) == 2


def test_max_rows_limits_a_manual_run(dag, source_db, mturk, clean_state) -> None:
    seed(source_db, good_rows(1, 6, DAY))
    state, summary = run(dag, None, max_rows=4)
    assert state == "success" and summary["hits_in_batch"] == 4


def test_each_kind_of_bad_row_is_quarantined_and_the_rest_published(dag, source_db, mturk, clean_state) -> None:
    """The whole bad-input corpus in one batch: every bad row quarantined with its reason, the rest published."""
    t = DAY - timedelta(hours=5)
    bad = [(100 + i, person_id, url, t if dated else None) for i, (_, person_id, url, dated, _) in enumerate(BAD_ROWS)]
    duplicates = [
        (200, "P1", "https://img.example.org/1.jpg", t),  # repeats good row 1
        (201, "P9", "https://img.example.org/dup.jpg", t),  # first of a pair: kept
        (202, "P9", "https://img.example.org/dup.jpg", t),  # second of the pair
    ]
    seed(source_db, good_rows(1, 3, t) + bad + duplicates)
    state, summary = run(dag, None)
    assert state == "success"
    reasons = {item["row_id"]: item["reason"] for item in summary["quarantine"]}
    expected = {100 + i: fragment for i, (*_, fragment) in enumerate(BAD_ROWS)}
    expected |= {200: "duplicate of row 1", 202: "duplicate of row 201"}
    assert set(reasons) == set(expected)
    for row_id, fragment in expected.items():
        assert fragment in reasons[row_id], (row_id, reasons[row_id])
    assert len(service_hits(mturk)) == 4 and summary["quarantined"] == len(expected)
    assert table(source_db, "SELECT count(*) FROM hitflow.quarantine")[0][0] == len(expected)
    # quarantined rows are not retried by the next run
    assert run(dag, None)[1]["quarantined"] == 0


def test_a_batch_that_cannot_be_paid_creates_nothing(dag, source_db, mturk, hit_service, clean_state) -> None:
    seed(source_db, good_rows(1, 10, DAY - timedelta(hours=3)))
    set_balance(hit_service, "1.00")  # 10 HITs × $0.36 = $3.60
    state, summary = run(dag, None)
    assert state == "failed" and summary is None
    assert service_hits(mturk) == []
    assert table(source_db, "SELECT status FROM hitflow.batches") == [("refused",)]
    assert table(source_db, "SELECT count(*) FROM hitflow.batch_rows") == [(0,)]  # released
    set_balance(hit_service, "100.00")
    state, summary = run(dag, None)
    assert state == "success" and summary["hits_in_batch"] == 10


def test_invalid_params_are_refused_before_anything(dag, source_db, mturk, clean_state) -> None:
    seed(source_db, good_rows(1, 3, DAY - timedelta(hours=3)))
    from airflow.sdk.definitions.param import ParamValidationError

    with pytest.raises(ParamValidationError, match="reward"):
        run(dag, None, reward="$0.10")
    assert table(source_db, "SELECT count(*) FROM hitflow.batch_rows") == [(0,)]
    assert service_hits(mturk) == []


def test_layout_path(dag, source_db, mturk, hit_service, clean_state) -> None:
    seed(source_db, good_rows(1, 2, DAY - timedelta(hours=3)))
    state, _summary = run(dag, None, layout_id=LAYOUT_ID)
    assert state == "success"
    for hit in service_hits(mturk):
        assert hit["HITLayoutId"] == LAYOUT_ID
        assert "img.example.org" in hit["Question"]  # the layout as rendered with its parameters
        page = requests.get(f"{hit_service.url}/hits/{hit['HITId']}/preview", timeout=10).text
        assert "img.example.org" in page


def test_crowd_layout_path(dag, source_db, mturk, hit_service, clean_state) -> None:
    from hitflow.publish.batch_config import AGE_GUESS_CROWD_LAYOUT_ID

    seed(source_db, good_rows(1, 1, DAY - timedelta(hours=3)))
    state, _summary = run(dag, None, layout_id=AGE_GUESS_CROWD_LAYOUT_ID)
    assert state == "success"
    (hit,) = service_hits(mturk)
    assert hit["HITLayoutId"] == AGE_GUESS_CROWD_LAYOUT_ID
    assert '<crowd-input name="age"' in hit["Question"] and "img.example.org" in hit["Question"]


def test_unknown_layout_fails_the_chunk_without_a_hit(dag, source_db, mturk, clean_state) -> None:
    seed(source_db, good_rows(1, 2, DAY - timedelta(hours=3)))
    state, _ = run(dag, None, layout_id="3NOSUCHLAYOUT0000000000000000X")
    assert state == "failed" and service_hits(mturk) == []


def test_csv_mode_exports_without_creating_hits(dag, source_db, mturk, clean_state) -> None:
    seed(source_db, [*good_rows(1, 4, DAY - timedelta(hours=3)), (9, None, "https://img.example.org/9.jpg", DAY)])
    state, summary = run(dag, None, mode="csv")
    assert state == "success" and service_hits(mturk) == [] and summary["exported_rows"] == 4
    with open(summary["files"]["input_csv"], newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["person_id", "image_url"] and len(rows) == 5
    assert rows[1] == ["P1", "https://img.example.org/1.jpg"]
    with open(summary["files"]["manifest_csv"], newline="") as f:
        manifest = list(csv.DictReader(f))
    assert [m["hit_id"] for m in manifest] == [""] * 4 and {m["batch_id"] for m in manifest} == {summary["batch_id"]}
    assert run(dag, None, mode="csv")[1]["exported_rows"] == 0  # exported rows are handed off for good


def test_both_mode_manifest_names_every_hit(dag, source_db, mturk, clean_state) -> None:
    seed(source_db, good_rows(1, 5, DAY - timedelta(hours=3)))
    state, summary = run(dag, None, mode="both", chunk_size=2)
    assert state == "success"
    with open(summary["files"]["manifest_csv"], newline="") as f:
        manifest = list(csv.DictReader(f))
    hits = {h["HITId"]: h for h in service_hits(mturk)}
    assert len(manifest) == 5 and {m["hit_id"] for m in manifest} == set(hits)
    assert all(hits[m["hit_id"]]["HITTypeId"] == m["hit_type_id"] for m in manifest)


def test_dry_run_keeps_nothing(dag, source_db, mturk, clean_state) -> None:
    seed(source_db, [*good_rows(1, 3, DAY - timedelta(hours=3)), (8, None, None, DAY)])
    state, summary = run(dag, None, dry_run=True)
    assert state == "success" and summary["publishable_rows"] == 3 and summary["quarantined"] == 1
    assert summary["balance_check"]["affordable"] is True
    assert service_hits(mturk) == []
    assert table(source_db, "SELECT count(*) FROM hitflow.batch_rows") == [(0,)]
    assert run(dag, None)[1]["hits_in_batch"] == 3


def test_a_cleared_run_whose_rows_are_all_published_succeeds_and_creates_no_hit(
    dag, source_db, mturk, clean_state
) -> None:
    """Clearing a finished run (same run ID, so the same batch) collects its recorded HITs again."""
    from scripts.dag_runner import param_defaults, task_result

    seed(source_db, good_rows(1, 5, DAY - timedelta(hours=3)))
    conf = param_defaults(dag.dag_id) | {"chunk_size": 2}
    run_after = DAY + timedelta(hours=6)  # the same run_after gives the same run ID: the run is cleared
    first = dag.test(logical_date=DAY, run_after=run_after, run_conf=conf)
    assert first.state == "success"
    published = task_result(first, "summarize")
    hits = sorted(h["HITId"] for h in service_hits(mturk))
    assert len(hits) == 5 and published["hits_created_now"] == 5

    cleared = dag.test(logical_date=DAY, run_after=run_after, run_conf=conf)
    assert cleared.run_id == first.run_id and cleared.state == "success"
    summary = task_result(cleared, "summarize")
    assert summary["batch_id"] == published["batch_id"]
    assert summary["hits_created_now"] == 0 and summary["hits_in_batch"] == 5
    assert sorted(task_result(cleared, "gather_hit_ids")["hit_ids"]) == hits
    assert sorted(h["HITId"] for h in service_hits(mturk)) == hits


def test_responses_lost_after_commit_still_give_one_hit_per_row(
    dag, source_db, mturk, hit_service, clean_state
) -> None:
    seed(source_db, good_rows(1, 12, DAY - timedelta(hours=3)))
    set_faults(hit_service, drop_after_commit_rate=1.0)
    state, summary = run(dag, None, chunk_size=5, concurrency=4)
    assert state == "success"
    hits = service_hits(mturk)
    assert len(hits) == 12 and summary["hits_recovered"] == 12
    assert {h["HITId"] for h in hits} == set(summary["gathered_hit_ids"])


def test_chunk_retried_after_partial_creation_makes_no_duplicate(
    dag, source_db, mturk, hit_service, clean_state
) -> None:
    """A row whose HIT the service committed but whose response was lost, on the chunk's last attempt.

    Every committed create answers 500 (the response is lost); after 4 HITs, 7 creates fail before
    anything is committed. Row 5 thus spends its 8 attempts on 7 refusals and one create whose
    answer is lost: its HIT exists but hitflow has no ID for it, and the task fails. The retried
    task sends row 5 again; only its UniqueRequestToken turns that into the same HIT.
    """
    seed(source_db, good_rows(1, 10, DAY - timedelta(hours=3)))
    set_faults(hit_service, drop_after_commit_rate=1.0, fail_creates_after=4, fail_creates_count=7)
    state, summary = run(dag, None, chunk_size=10, concurrency=1)
    assert state == "success"
    assert hits_per_row(mturk) == dict.fromkeys(range(1, 11), 1)
    assert summary["hits_in_batch"] == 10 and summary["hits_recovered"] == 10
    rows = table(
        source_db, "SELECT count(*), count(DISTINCT hit_id) FROM hitflow.batch_rows WHERE status = 'published'"
    )
    assert rows == [(10, 10)]
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tries = (
            session.query(TaskInstance.try_number)
            .filter(TaskInstance.task_id == "publish_chunk", TaskInstance.run_id.like("manual__%"))
            .all()
        )
    assert max(t for (t,) in tries) >= 2


def test_concurrent_batches_never_share_a_row(source_db, clean_state) -> None:
    """Two claims racing over the same rows: each row ends up in exactly one batch."""
    import threading

    from hitflow.publish import batch_store

    seed(source_db, good_rows(1, 500, DAY - timedelta(hours=3)))
    results: dict[str, int] = {}

    def claim(name: str) -> None:
        batch_id = uuid.uuid4()
        with psycopg.connect(source_db, autocommit=True) as conn:
            batch_store.open_batch(
                conn, batch_id=batch_id, dag_id="t", run_id=name, scope=batch_store.Scope(), params={}
            )
            results[name] = batch_store.claim_rows(conn, batch_id=batch_id, scope=batch_store.Scope(), max_rows=None)[
                "claimed_now"
            ]

    threads = [threading.Thread(target=claim, args=(f"run{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results.values()) == 500
    assert table(source_db, "SELECT count(*), count(DISTINCT row_id) FROM hitflow.batch_rows") == [(500, 500)]


def _asset_events(run_id: str) -> list[dict]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return [
            dict(event.extra or {})
            for event in session.scalars(select(AssetEvent).where(AssetEvent.source_run_id == run_id))
        ]


def test_the_asset_is_emitted_only_by_runs_that_created_hits(dag, source_db, mturk, clean_state) -> None:
    """csv-only, dry and empty runs start no collect run; a run that created HITs does."""
    from scripts.dag_runner import param_defaults

    seed(source_db, good_rows(1, 3, DAY - timedelta(hours=5)))
    # (conf, HITs the run creates): a dry run, a csv-only run of one row, a run of the other two,
    # and one more finding nothing pending.
    for conf, created in (({"dry_run": True}, 0), ({"mode": "csv", "max_rows": 1}, 0), ({}, 2), ({}, 0)):
        dr = dag.test(logical_date=None, run_conf=param_defaults(dag.dag_id) | conf)
        assert dr.state == "success", conf
        events = _asset_events(dr.run_id)
        if created:
            assert dr.get_task_instance("announce_hits").state == "success"
            assert [e["hits_created_now"] for e in events] == [created], events
        else:
            assert dr.get_task_instance("announce_hits").state == "skipped" and events == [], (conf, events)
