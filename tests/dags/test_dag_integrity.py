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
        "scope",
    } <= set(dag.params.keys())
    # The asset comes from its own task, which skips when the run created no HIT.
    assert [o.name for o in dag.get_task("announce_hits").outlets] == ["hitflow_published_hits"]
    assert not dag.get_task("summarize").outlets


def test_both_dags_are_described_paused_and_keep_one_xcom_per_task(dagbag) -> None:
    for dag_id in ("mturk_publish_hits", "mturk_collect_results"):
        dag = dagbag.dags[dag_id]
        assert dag.description and len(dag.description) <= 120, dag_id
        assert dag.is_paused_upon_creation is True, dag_id
        for task in dag.tasks:
            assert not getattr(task, "multiple_outputs", False), f"{dag_id}.{task.task_id} stores a dict key by key"


def test_the_publish_graph_reads_as_the_data_flows(dagbag) -> None:
    """Each task hangs off the step whose output it uses, not off open_batch."""
    dag = dagbag.dags["mturk_publish_hits"]
    assert dag.get_task("open_batch").downstream_task_ids == {"extract_rows"}
    assert dag.get_task("publish_chunk").upstream_task_ids == {"plan_chunks"}
    assert dag.get_task("summarize").upstream_task_ids == {"export_batch"}


def test_param_errors_quote_the_params_own_description(dagbag) -> None:
    """What Airflow answers a refused trigger with (jsonschema's message): the description, no regex."""
    from airflow.serialization.definitions.param import SerializedParam

    from hitflow.publish.config import PARAM_SPECS

    param = dagbag.dags["mturk_publish_hits"].params.get_param("reward")
    for bad in ("0.00", "abc", "$0.10", "0.105"):
        with pytest.raises(Exception) as err:
            SerializedParam(bad, param.description, **param.schema).resolve(raises=True)
        first_line = str(err.value).splitlines()[0]
        assert first_line == f"{PARAM_SPECS['reward']['description']!r} was expected"
    assert SerializedParam("0.01", param.description, **param.schema).resolve(raises=True) == "0.01"
    with pytest.raises(Exception, match="does not match"):  # the description itself is still refused
        SerializedParam(PARAM_SPECS["reward"]["description"], None, **param.schema).resolve(raises=True)
