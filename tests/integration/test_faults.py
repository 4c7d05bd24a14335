"""Faults while publishing: a killed worker, overlapping runs, a database restart.

Every check of "one HIT per row" counts the HIT service's own HITs (by the row named in each
HIT's RequesterAnnotation), not hitflow's table.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hitflow.publish import batch_store
from tests.integration.helpers import REPO, good_rows, hits_per_row, seed, service_hits, set_faults, table
from tests.integration.test_publish_dag import DAY

pytestmark = pytest.mark.integration


def prepare_batch(db: str, rows: int) -> uuid.UUID:
    """Claim, validate and plan one chunk, as the DAG's first tasks do."""
    batch_id = uuid.uuid4()
    seed(db, good_rows(1, rows, DAY - timedelta(hours=3)))
    with psycopg.connect(db, autocommit=True) as conn:
        batch_store.open_batch(
            conn, batch_id=batch_id, dag_id="fault_test", run_id=str(batch_id), scope=batch_store.Scope(), params={}
        )
        batch_store.claim_rows(conn, batch_id=batch_id, scope=batch_store.Scope(), max_rows=None)
    return batch_id


def chunk_worker(db: str, batch_id: uuid.UUID, hit_type_id: str, concurrency: int = 2) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.chunk_worker", db, str(batch_id), hit_type_id, str(concurrency)],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_hits(client: Any, at_least: int, worker: subprocess.Popen, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise AssertionError(f"the chunk worker ended early ({worker.returncode}): {worker.stderr.read()[-3000:]}")
        count = len(service_hits(client))
        if count >= at_least:
            return count
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} HITs after {timeout} s")


@pytest.fixture
def hit_type(mturk: Any, clean_state: None) -> str:
    return mturk.create_hit_type(
        Title="Guess this person's age", Description="d", Reward="0.10", AssignmentDurationInSeconds=600
    )["HITTypeId"]


def test_sigkilled_chunk_worker_is_retried_without_duplicates(
    source_db, hit_service, mturk, hit_type, airflow_ready, clean_state
) -> None:
    batch_id = prepare_batch(source_db, 60)
    set_faults(hit_service, latency_ms=40)
    worker = chunk_worker(source_db, batch_id, hit_type)
    created_before_kill = wait_for_hits(mturk, 10, worker)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    assert worker.returncode == -signal.SIGKILL
    assert created_before_kill < 60  # really killed half way

    retry = chunk_worker(source_db, batch_id, hit_type, concurrency=8)
    out, err = retry.communicate(timeout=120)
    assert retry.returncode == 0, err[-2000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["created"] + result["already_existed"] + result["already_recorded"] == 60
    per_row = hits_per_row(mturk)
    assert len(per_row) == 60 and set(per_row.values()) == {1}
    assert table(
        source_db, "SELECT count(*), count(DISTINCT hit_id) FROM hitflow.batch_rows WHERE status = 'published'"
    ) == [(60, 60)]


def test_injected_throttling_faults_and_lost_responses_converge(
    dag, source_db, hit_service, mturk, clean_state
) -> None:
    from tests.integration.helpers import run

    seed(source_db, good_rows(1, 40, DAY - timedelta(hours=3)))
    set_faults(hit_service, throttle_rate=0.2, service_fault_rate=0.1, drop_after_commit_rate=0.2, seed=7)
    state, summary = run(dag, None, chunk_size=10, concurrency=4)
    assert state == "success"
    per_row = hits_per_row(mturk)
    assert len(per_row) == 40 and set(per_row.values()) == {1}
    assert summary["hits_recovered"] > 0  # some responses really were lost after commit


def run_dag_subprocess(home: Path, env: dict[str, str], logical_date: str) -> subprocess.Popen:
    """A whole separate Airflow (own metadata DB) running the publish DAG once."""
    out = home / "result.json"
    child_env = env | {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scripts.demo",
            "--run-dag",
            logical_date,
            "--conf",
            json.dumps({"chunk_size": 7}),
            "--out",
            str(out),
        ],
        cwd=REPO,
        env=child_env,
        stdout=(home / "run.log").open("w"),
        stderr=subprocess.STDOUT,
    )


def test_overlapping_runs_never_share_a_row(source_db, mturk, airflow_ready, clean_state, tmp_path) -> None:
    """The same interval twice at once, and a manual run over a backfill's day, all at the same time."""
    seed(source_db, good_rows(1, 30, DAY - timedelta(hours=6)) + good_rows(100, 20, DAY - timedelta(days=3)))
    env = {k: v for k, v in os.environ.items()}
    runs = {}
    for name, date in (("interval_a", DAY.isoformat()), ("interval_b", DAY.isoformat()), ("manual", "manual")):
        (tmp_path / name).mkdir()
        runs[name] = run_dag_subprocess(tmp_path / name, env, date)
    for name, proc in runs.items():
        proc.wait(timeout=900)  # a guard against a hang, not a speed check: 3 Airflows share 2 busy cores
        result = json.loads((tmp_path / name / "result.json").read_text())
        log = (tmp_path / name / "run.log").read_text().splitlines()
        assert result["state"] == "success", (name, [line for line in log if "Error" in line][-5:])
    per_row = hits_per_row(mturk)
    assert len(per_row) == 50 and set(per_row.values()) == {1}
    owners = table(source_db, "SELECT count(*), count(DISTINCT row_id) FROM hitflow.batch_rows")
    assert owners == [(50, 50)]


@pytest.fixture
def own_postgres() -> Any:
    """A throwaway PostgreSQL cluster this test may restart (the shared server is never touched)."""
    import tempfile

    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
    tmp_path = Path(
        tempfile.mkdtemp(prefix="hitflow-pg-")
    )  # not under pytest's root-only folder: initdb runs as nobody
    data, sock = tmp_path / "pgdata", tmp_path / "sock"
    data.mkdir()
    sock.mkdir()
    run_as = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    if run_as:
        shutil.chown(data, "nobody")
        shutil.chown(sock, "nobody")
        os.chmod(tmp_path, 0o755)
    from hitflow_support.service_process import free_port

    port = free_port()
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    ctl = [
        *run_as,
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(data / "server.log"),
        "-w",
        "-o",
        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1",
    ]
    subprocess.run([*ctl, "start"], check=True, capture_output=True)
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        for name in ("source_schema.sql", "hitflow_schema.sql"):
            conn.execute((REPO / "include" / "sql" / name).read_text())
    yield url, ctl
    subprocess.run([*ctl, "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_postgres_restart_mid_batch_fails_cleanly_and_the_retry_finishes(
    own_postgres, hit_service, mturk, hit_type, airflow_ready, clean_state
) -> None:
    url, ctl = own_postgres
    batch_id = prepare_batch(url, 60)
    set_faults(hit_service, latency_ms=40)
    worker = chunk_worker(url, batch_id, hit_type)
    wait_for_hits(mturk, 10, worker)
    subprocess.run([*ctl, "-m", "fast", "restart"], check=True, capture_output=True)
    _, err = worker.communicate(timeout=120)
    assert worker.returncode != 0, "the worker should fail when its database restarts"
    # it fails cleanly: a PublishError naming the lost connection, not a hang or a half-written row
    # psycopg words a lost connection several ways; its exception class says it either way
    assert "PublishError" in err and ("OperationalError(" in err or "AdminShutdown(" in err), err[-3000:]
    assert "not attempted after the database connection was lost" in err  # it stopped creating HITs

    retry = chunk_worker(url, batch_id, hit_type, concurrency=8)
    _, err = retry.communicate(timeout=120)
    assert retry.returncode == 0, err[-2000:]
    per_row = hits_per_row(mturk)
    assert len(per_row) == 60 and set(per_row.values()) == {1}
    assert table(url, "SELECT count(*), count(DISTINCT hit_id) FROM hitflow.batch_rows WHERE status = 'published'") == [
        (60, 60)
    ]
