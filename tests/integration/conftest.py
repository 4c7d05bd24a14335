"""Fixtures for the integration layer: real PostgreSQL, the HIT service over HTTP, real Airflow."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import psycopg
import pytest
import requests

from hitflow_support import pg
from tests.integration.helpers import ACCESS_KEY, REPO, SECRET_KEY, apply_sql


@pytest.fixture(scope="session")
def source_db() -> Iterator[str]:
    """hitflow's database: the source table plus the ``hitflow`` schema."""
    url = pg.create_database("source")
    apply_sql(url, "source_schema.sql", "hitflow_schema.sql")
    yield url
    pg.drop_database(url)


@pytest.fixture(scope="session")
def hit_service() -> Iterator[Any]:
    """The HIT service as a real subprocess (uvicorn) on its own database, in test mode."""
    from hitflow_support.service_process import start_service

    url = pg.create_database("hitsvc")
    service = start_service(
        url, port=0, test_mode=True, extra_env={"HITFLOW_HIT_SERVICE_REQUESTER_KEYS": f"{ACCESS_KEY}:{SECRET_KEY}"}
    )
    try:
        yield service
    finally:
        service.stop()
        pg.drop_database(url)


@pytest.fixture
def mturk(hit_service: Any) -> Any:
    """A plain boto3 ``mturk`` client on the HIT service: only ``endpoint_url`` differs from MTurk."""
    return boto3.client(
        "mturk",
        region_name="us-east-1",
        endpoint_url=hit_service.url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@pytest.fixture
def clean_state(source_db: str, hit_service: Any) -> Iterator[None]:
    """Each test starts with empty tables, no HITs and no faults."""
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE hitflow.reports, hitflow.worker_blocks, hitflow.results, hitflow.assignments, hitflow.quarantine,"
            " hitflow.batch_rows, hitflow.batches, public.person_images"
        )
    requests.post(f"{hit_service.url}/_test/reset", timeout=10).raise_for_status()
    yield


@pytest.fixture(scope="session")
def airflow_ready(source_db: str, hit_service: Any) -> Iterator[None]:
    """Migrate Airflow's metadata DB once and point the two connections at the real services."""
    base, _, dbname = source_db.rpartition("/")
    host_port = base.split("@", 1)[1]
    host, _, port = host_port.partition(":")
    os.environ["AIRFLOW_CONN_HITFLOW_DB"] = json.dumps(
        {"conn_type": "postgres", "host": host, "port": int(port or 5432), "login": "postgres", "schema": dbname}
    )
    os.environ["AIRFLOW_CONN_MTURK_DEFAULT"] = json.dumps(
        {
            "conn_type": "aws",
            "login": ACCESS_KEY,
            "password": SECRET_KEY,
            "extra": {"endpoint_url": hit_service.url, "region_name": "us-east-1"},
        }
    )
    from airflow.utils import db

    db.resetdb() if os.environ.get("HITFLOW_RESET_AIRFLOW_DB") else db.initdb()
    yield


def load_dag(dag_id: str) -> Any:
    """A DAG from its file, with retries kept but their delay dropped (dag.test() waits them out)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / f"{dag_id}.py"))
    assert not bag.import_errors
    dag = bag.dags[dag_id]
    for task in dag.tasks:  # dag.test() waits out retry delays; keep retries, drop the wait
        if hasattr(task, "partial_kwargs"):
            task.partial_kwargs["retry_delay"] = timedelta(0)
        else:
            task.retry_delay = timedelta(0)
    return dag


@pytest.fixture(scope="session")
def dag(airflow_ready: None) -> Any:
    """The publish DAG."""
    return load_dag("mturk_publish_hits")


@pytest.fixture(scope="session")
def collect_dag(airflow_ready: None) -> Any:
    return load_dag("mturk_collect_results")


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HITFLOW_BACKOFF_BASE_SECONDS", "0.01")
