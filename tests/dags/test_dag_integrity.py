"""Every DAG imports cleanly, is tagged, retries, has no cycle and does no I/O at parse time."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS_DIR = REPO / "dags"

# Everything a DAG file could reach out with at parse time: (module, attribute path). Database
# drivers speak through libpq or their own sockets, so blocking ``socket`` alone misses them.
GUARDED = (
    ("socket", "socket.connect"),
    ("socket", "socket.connect_ex"),
    ("socket", "create_connection"),
    ("socket", "getaddrinfo"),
    ("psycopg", "connect"),
    ("psycopg", "Connection.connect"),
    ("psycopg", "AsyncConnection.connect"),
    ("psycopg2", "connect"),
    ("sqlalchemy.engine", "Engine.connect"),
    ("sqlalchemy.engine", "Engine.raw_connection"),
    ("http.client", "HTTPConnection.connect"),
    ("http.client", "HTTPSConnection.connect"),
    ("urllib.request", "urlopen"),
    ("urllib.request", "OpenerDirector.open"),
    ("urllib3.connectionpool", "HTTPConnectionPool.urlopen"),
    ("requests", "Session.request"),
    ("httpx", "Client.send"),
    ("httpx", "AsyncClient.send"),
    ("botocore.client", "BaseClient._make_api_call"),
    ("botocore.endpoint", "Endpoint.make_request"),
    ("subprocess", "Popen._execute_child"),
    ("os", "system"),
    ("os", "fork"),
    ("os", "posix_spawn"),
    ("os", "posix_spawnp"),
    ("os", "execv"),
    ("os", "execve"),
    ("airflow.sdk.definitions.variable", "Variable.get"),
    ("airflow.sdk.definitions.connection", "Connection.get"),
    ("airflow.sdk.bases.hook", "BaseHook.get_connection"),
)


@contextmanager
def no_io_at_parse_time(folder: Path) -> Iterator[list[tuple[str, str]]]:
    """Refuse every guarded call while parsing ``folder``; yield the attempts as (call, file).

    Attempts are recorded as well as refused: a DAG file that catches the error still fails.
    """
    attempts: list[tuple[str, str]] = []
    mp = pytest.MonkeyPatch()

    def refuser(name: str) -> object:
        def refuse(*args: object, **kwargs: object) -> None:
            frames = [f.filename for f in traceback.extract_stack() if Path(f.filename).is_relative_to(folder)]
            attempts.append((name, Path(frames[-1]).name if frames else "?"))
            raise AssertionError(f"a DAG file called {name} at parse time")

        return refuse

    for module_name, path in GUARDED:
        owner: object = importlib.import_module(module_name)
        *parents, attr = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        mp.setattr(owner, attr, refuser(f"{module_name}.{path}"))
    try:
        yield attempts
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def dagbag():
    """The DAG folder, parsed with every way out blocked (``dagbag.io_attempts`` lists any try)."""
    from airflow.dag_processing.dagbag import DagBag

    with no_io_at_parse_time(DAGS_DIR) as attempts:
        bag = DagBag(dag_folder=str(DAGS_DIR))
    bag.io_attempts = attempts
    return bag


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert dagbag.io_attempts == []
    assert "mturk_publish_hits" in dagbag.dags


# A DAG file that tries each kind of I/O and swallows the error: the guard must still see it.
IO_SNIPPETS = {
    "socket.create_connection": "import socket; socket.create_connection(('127.0.0.1', 9))",
    "psycopg.connect": "import psycopg; psycopg.connect('postgresql://postgres@127.0.0.1:5432/postgres')",
    "psycopg.Connection.connect": "import psycopg; psycopg.Connection.connect('postgresql://127.0.0.1:9/x')",
    "psycopg2.connect": "import psycopg2; psycopg2.connect('dbname=postgres host=127.0.0.1')",
    "sqlalchemy.engine.Engine.connect": "import sqlalchemy; sqlalchemy.create_engine('sqlite://').connect()",
    "requests.Session.request": "import requests; requests.get('http://127.0.0.1:9/')",
    "urllib.request.urlopen": "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9/')",
    "http.client.HTTPConnection.connect": "import http.client; http.client.HTTPConnection('127.0.0.1', 9).connect()",
    "httpx.Client.send": "import httpx; httpx.get('http://127.0.0.1:9/')",
    "botocore.client.BaseClient._make_api_call": (
        "import boto3; boto3.client('mturk', region_name='us-east-1', endpoint_url='http://127.0.0.1:9',"
        " aws_access_key_id='AKIAEXAMPLE000000000', aws_secret_access_key='x' * 40).get_account_balance()"
    ),
    "subprocess.Popen._execute_child": "import subprocess; subprocess.run(['true'])",
    "os.system": "import os; os.system('true')",
    "airflow.sdk.definitions.variable.Variable.get": "from airflow.sdk import Variable; Variable.get('x')",
    "airflow.sdk.bases.hook.BaseHook.get_connection": (
        "from airflow.sdk.bases.hook import BaseHook; BaseHook.get_connection('hitflow_db')"
    ),
}


def test_the_guard_sees_each_kind_of_parse_time_io(tmp_path: Path) -> None:
    """Each snippet, in a DAG file that catches what it raises, is recorded by the guard."""
    from airflow.dag_processing.dagbag import DagBag

    for n, snippet in enumerate(IO_SNIPPETS.values()):
        body = f"""\
            # an airflow DAG file (DagBag skips files that mention neither airflow nor dag)
            try:
                {snippet}
            except BaseException:
                pass
            """
        (tmp_path / f"io_{n}.py").write_text(textwrap.dedent(body))
    with no_io_at_parse_time(tmp_path) as attempts:
        DagBag(dag_folder=str(tmp_path), safe_mode=False)
    seen = {file: name for name, file in attempts}
    assert {name: seen.get(f"io_{n}.py") for n, name in enumerate(IO_SNIPPETS)} == {name: name for name in IO_SNIPPETS}


def test_dag_files_leave_heavy_imports_to_tasks() -> None:
    """Parsing imports no client library or I/O module of hitflow's: those belong inside tasks.

    Checked in a fresh interpreter (this one has imported everything already). How fast parsing
    is belongs in ``make bench``, not here.
    """
    probe = textwrap.dedent(
        f"""
        import json, sys
        from airflow.dag_processing.dagbag import DagBag
        before = set(sys.modules)
        bag = DagBag(dag_folder={str(DAGS_DIR)!r})
        print(json.dumps({{"errors": list(bag.import_errors), "new": sorted(set(sys.modules) - before)}}))
        """
    )
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")])}
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == []
    heavy = ("boto3", "botocore", "psycopg", "psycopg2", "psycopg_pool", "requests", "urllib3", "fastapi", "uvicorn")
    io_modules = (
        "hitflow.connections",
        "hitflow.hooks",
        "hitflow.publish.batch_store",
        "hitflow.collect.results_store",
    )
    loaded = [m for m in result["new"] if m.split(".")[0] in heavy or m.startswith(io_modules)]
    loaded += [m for m in result["new"] if m.split(".")[0] == "hit_service"]
    assert loaded == []


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


def test_param_errors_read_as_an_error_about_the_value(dagbag) -> None:
    """What Airflow answers a refused trigger with (jsonschema's message): the user's value and
    the rule it breaks, no regex, and never the rule as if it were the value to type."""
    from airflow.serialization.definitions.param import SerializedParam

    from hitflow.publish.batch_config import PARAM_SPECS

    param = dagbag.dags["mturk_publish_hits"].params.get_param("reward")
    for bad in ("0.00", "abc", "$0.10", "0.105"):
        with pytest.raises(Exception) as err:
            SerializedParam(bad, param.description, **param.schema).resolve(raises=True)
        first_line = str(err.value).splitlines()[0]
        assert first_line == f"{bad!r} is not one of [{PARAM_SPECS['reward']['rule']!r}]"
        assert "was expected" not in str(err.value)
    assert SerializedParam("0.01", param.description, **param.schema).resolve(raises=True) == "0.01"
    with pytest.raises(Exception, match="does not match"):  # the rule's text itself is still refused
        SerializedParam(PARAM_SPECS["reward"]["rule"], None, **param.schema).resolve(raises=True)


def test_the_trigger_form_gets_no_limit_it_would_clamp_to(dagbag) -> None:
    """Airflow's form clamps a number to a top-level minimum/maximum and cuts text at maxLength:
    those live in allOf, and the server still refuses values outside them."""
    from airflow.serialization.definitions.param import SerializedParam

    for dag in dagbag.dags.values():
        for name, param in dag.params.items():
            assert not {"minimum", "maximum", "maxLength", "minLength"} & set(param.schema), (dag.dag_id, name)
    params = dagbag.dags["mturk_publish_hits"].params
    for name, bad, message in [
        ("max_assignments", 0, "0 is less than the minimum of 1"),
        ("max_assignments", 5000, "5000 is greater than the maximum of 1000"),
        ("lifetime_seconds", 5, "5 is less than the minimum of 30"),
        ("max_rows", -5, "-5 is less than the minimum of 1"),
    ]:
        param = params.get_param(name)
        with pytest.raises(Exception) as err:
            SerializedParam(bad, param.description, **param.schema).resolve(raises=True)
        assert str(err.value).splitlines()[0] == message
    param = params.get_param("max_rows")
    assert SerializedParam(None, param.description, **param.schema).resolve(raises=True) is None
