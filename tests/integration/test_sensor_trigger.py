"""The batch-complete sensor and its trigger against a real hitflow database."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest

from hitflow.sensors.mturk import MTurkBatchCompleteSensor
from hitflow.triggers.mturk import MTurkBatchCompleteTrigger

pytestmark = pytest.mark.integration


def make_batch(db: str, status: str, hits: int = 2, disposed: int = 0) -> str:
    batch_id = uuid.uuid4()
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO hitflow.batches (batch_id, dag_id, run_id, scope, params, status)
               VALUES (%s, 'd', %s, 'pending', '{}', %s)""",
            (batch_id, str(batch_id), status),
        )
        for i in range(hits):
            row_id = conn.execute("SELECT coalesce(max(row_id), 0) + 1 FROM hitflow.batch_rows").fetchone()[0]
            conn.execute(
                """INSERT INTO hitflow.batch_rows (row_id, batch_id, status, hit_id, disposed_at)
                   VALUES (%s, %s, 'published', %s, CASE WHEN %s THEN now() END)""",
                (row_id, batch_id, f"HIT{row_id:027d}", i < disposed),
            )
    return str(batch_id)


def set_status(db: str, batch_id: str, status: str) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("UPDATE hitflow.batches SET status = %s WHERE batch_id = %s", (status, batch_id))


def test_trigger_serializes_and_round_trips() -> None:
    trigger = MTurkBatchCompleteTrigger("b-1", db_conn_id="other_db", poll_interval=5)
    classpath, kwargs = trigger.serialize()
    assert classpath == "hitflow.triggers.mturk.MTurkBatchCompleteTrigger"
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(__import__(module, fromlist=[name]), name)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)


async def first_event(trigger: MTurkBatchCompleteTrigger, timeout: float = 10):
    return await asyncio.wait_for(trigger.run().__anext__(), timeout)


def test_trigger_waits_for_completion_then_fires(source_db, airflow_ready, clean_state) -> None:
    batch_id = make_batch(source_db, "published", hits=2, disposed=1)

    async def scenario():
        task = asyncio.ensure_future(first_event(MTurkBatchCompleteTrigger(batch_id, poll_interval=0.2)))
        await asyncio.sleep(0.8)
        assert not task.done()  # one HIT still open: keep waiting
        set_status(source_db, batch_id, "complete")
        return await task

    event = asyncio.run(scenario())
    assert event.payload["status"] == "success" and event.payload["batch_id"] == batch_id


@pytest.mark.parametrize("status", ["refused", "dry_run"])
def test_trigger_fails_for_a_batch_that_never_completes(source_db, airflow_ready, clean_state, status) -> None:
    batch_id = make_batch(source_db, status, hits=0)
    event = asyncio.run(first_event(MTurkBatchCompleteTrigger(batch_id, poll_interval=0.2)))
    assert event.payload["status"] == "error" and status in event.payload["message"]


def test_sensor_pokes_and_resumes(source_db, airflow_ready, clean_state) -> None:
    from airflow.sdk.exceptions import AirflowException, TaskDeferred

    batch_id = make_batch(source_db, "published", hits=1)
    sensor = MTurkBatchCompleteSensor(task_id="wait", batch_id=batch_id, poll_interval=1)
    assert sensor.poke({}) is False
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    assert isinstance(deferred.value.trigger, MTurkBatchCompleteTrigger)
    assert deferred.value.method_name == "execute_complete"
    sensor.execute_complete({}, {"status": "success", "message": "done", "batch_id": batch_id})
    with pytest.raises(AirflowException, match="never complete"):
        sensor.execute_complete({}, {"status": "error", "message": "batch x is refused and will never complete"})
    set_status(source_db, batch_id, "complete")
    assert sensor.poke({}) is True
    assert MTurkBatchCompleteSensor(task_id="w2", batch_id=batch_id, deferrable=False).execute({}) is None
