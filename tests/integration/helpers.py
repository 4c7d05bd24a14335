"""Helpers for integration tests: the test requester's keys and the service's test endpoints."""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import requests

from hitflow_support.service_queries import hits_per_row, service_hits, set_faults

__all__ = ["hits_per_row", "service_hits", "set_faults"]  # shared with the bench

REPO = Path(__file__).resolve().parents[2]
ACCESS_KEY = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))
SECRET_KEY = secrets.token_urlsafe(30)[:40]


def apply_sql(url: str, *files: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for name in files:
            conn.execute((REPO / "include" / "sql" / name).read_text())


def set_balance(service: Any, balance: str) -> None:
    requests.post(
        f"{service.url}/_test/balance", json={"requester": ACCESS_KEY, "balance": balance}, timeout=10
    ).raise_for_status()


def seed(db: str, rows: list[tuple[int, str | None, str | None, datetime | None]]) -> None:
    with psycopg.connect(db, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO public.person_images VALUES (%s, %s, %s, %s)", rows)


def good_rows(first: int, count: int, day: datetime) -> list[tuple[int, str, str, datetime]]:
    return [
        (i, f"P{i}", f"https://img.example.org/{i}.jpg", day + timedelta(minutes=i))
        for i in range(first, first + count)
    ]


def run(dag: Any, logical_date: datetime | None, **conf: Any) -> tuple[str, dict[str, Any] | None]:
    """Run a hitflow DAG once; its state and the summarize task's XCom (None if it did not run).

    For the publish DAG the summary also gets ``gathered_hit_ids``: what ``gather_hit_ids``
    collected from the mapped tasks' XComs.
    """
    from scripts.dag_runner import task_result, test_run

    dr, summary = test_run(dag, logical_date, conf)
    if summary is not None and dag.dag_id == "mturk_publish_hits":
        gathered = task_result(dr, "gather_hit_ids")
        summary["gathered_hit_ids"] = gathered["hit_ids"] if gathered else []
    return dr.state, summary


def table(db: str, sql: str, *args: Any) -> list[tuple]:
    with psycopg.connect(db) as conn:
        return conn.execute(sql, args).fetchall()
