"""The batch reports inside the Airflow UI: a FastAPI app the ``hitflow`` plugin mounts on the
api-server at ``/hitflow``.

The collect writes each report to hitflow's database as well as to the worker's disk, so the page
is one click away (Browse → hitflow reports, or the URL in the collect's summary) wherever the
worker ran. Only users who may read the collect DAG see reports (Airflow's own auth, by the
session cookie the UI already holds).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import HTMLResponse

from hitflow.ui.links import PREFIX, report_url

__all__ = ["PREFIX", "app", "report_url"]

COLLECT_DAG = "mturk_collect_results"
TEMPLATES = Path(__file__).resolve().parent / "templates"


def _can_read_collect_dag() -> Any:
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return requires_access_dag("GET", param_dag_id=COLLECT_DAG)


def _db() -> Any:
    """hitflow's database through the ``hitflow_db`` connection, resolved on the api-server."""
    import psycopg
    from airflow.models.connection import Connection

    from hitflow.connections import DB_CONN_ID

    conn = Connection.get_connection_from_secrets(DB_CONN_ID)
    return psycopg.connect(
        host=conn.host, port=conn.port or 5432, user=conn.login, password=conn.password or None,
        dbname=conn.schema, autocommit=True, connect_timeout=10,
    )  # fmt: skip


app = FastAPI(title="hitflow reports", dependencies=[Depends(_can_read_collect_dag())])


@app.get("/reports/", response_class=HTMLResponse)
def list_page() -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from hitflow.collect import report_store

    with _db() as conn:
        reports = report_store.list_reports(conn)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
    return env.get_template("reports.html").render(reports=reports)


@app.get("/reports/{batch_id}", response_class=HTMLResponse)
def report_page(batch_id: uuid.UUID) -> str:
    from hitflow.collect import report_store

    with _db() as conn:
        html = report_store.report_html(conn, batch_id)
    if html is None:
        raise HTTPException(404, f"no report for batch {batch_id} yet: the collect writes one when it runs")
    return html
