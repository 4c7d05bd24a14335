"""Every DAG imports cleanly, is tagged, retries, has no cycle and does no I/O at parse time."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag(monkeypatch_module):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


@pytest.fixture(scope="module")
def monkeypatch_module():
    """Parsing must not open a socket (no database, no API): fail loudly if it tries."""
    mp = pytest.MonkeyPatch()

    def refuse(*args, **kwargs):
        raise AssertionError("a DAG file opened a network connection at parse time")

    mp.setattr(socket.socket, "connect", refuse)
    yield mp
    mp.undo()


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert "mturk_publish_hits" in dagbag.dags


def test_every_dag_is_tagged_retries_and_has_docs(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        for task in dag.tasks:
            assert task.retries >= 2, f"{dag_id}.{task.task_id} retries {task.retries} < 2"


def test_no_cycles(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        seen: dict[str, int] = {}

        def visit(task_id: str, dag=dag, seen=seen, dag_id=dag_id) -> None:
            state = seen.get(task_id)
            assert state != 1, f"{dag_id} has a cycle through {task_id}"
            if state == 2:
                return
            seen[task_id] = 1
            for child in dag.get_task(task_id).downstream_task_ids:
                visit(child)
            seen[task_id] = 2

        for task_id in dag.task_ids:
            visit(task_id)


def test_dag_files_parse_fast() -> None:
    """Heavy imports belong in tasks; a DAG file should parse in well under a second."""
    from airflow.dag_processing.dagbag import DagBag

    start = time.perf_counter()
    DagBag(dag_folder=str(DAGS_DIR))
    assert time.perf_counter() - start < 5  # generous: catches an import of the world, not jitter


def test_publish_dag_shape(dagbag) -> None:
    dag = dagbag.dags["mturk_publish_hits"]
    from airflow.serialization.encoders import coerce_to_core_timetable

    timetable = coerce_to_core_timetable(dag.timetable)
    interval = timetable.infer_manual_data_interval(run_after=datetime(2026, 11, 25, 6, tzinfo=UTC))
    assert (interval.start, interval.end) == (datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))
    publish = dag.get_task("publish_chunk")
    assert publish.max_active_tis_per_dag == 4
    assert {
        "reward",
        "max_rows",
        "max_assignments",
        "lifetime_seconds",
        "chunk_size",
        "mode",
        "layout_id",
        "dry_run",
    } <= set(dag.params.keys())
    assert any(outlet.name == "hitflow_published_hits" for outlet in dag.get_task("summarize").outlets)
