"""The two Airflow connections hitflow uses, opened the same way by every DAG.

``hitflow_db`` (postgres) holds the source rows and hitflow's own schema; ``mturk_default``
(aws) points at MTurk's API — hitflow's HIT service or any compatible endpoint through the
``endpoint_url`` in its extra.
"""

from __future__ import annotations

from typing import Any

DB_CONN_ID = "hitflow_db"
MTURK_CONN_ID = "mturk_default"


def hitflow_db() -> Any:
    """An autocommit psycopg connection: each store function opens its own transaction."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    conn: Any = PostgresHook(postgres_conn_id=DB_CONN_ID).get_conn()  # psycopg2's, typed as the DB-API's
    conn.autocommit = True
    return conn


def mturk_hook(max_pool_connections: int = 10, *, validate_parameters: bool = True, attempts: int = 1) -> Any:
    """An MTurk hook whose client leaves retries to hitflow's own backoff (one attempt each).

    ``attempts`` > 1 lets botocore retry instead (its standard mode: throttling, 5xx, a
    connection the server closed), for callers whose every call is safe to repeat and that have
    no backoff of their own — the collection's are (see ``hitflow.collect.collector``).

    ``validate_parameters=False`` skips botocore's client-side check of each request against the
    API model. The publish chunks and the collection do, for requests they build themselves: the
    service checks every request anyway (and answers MTurk's errors), and the check was ~12 % of
    the client's CPU per CreateHIT call in ``make bench``.
    """
    from botocore.config import Config

    from hitflow.hooks.mturk import MTurkHook

    config = Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        max_pool_connections=max(10, max_pool_connections),
        connect_timeout=10,
        read_timeout=60,
        parameter_validation=validate_parameters,
    )
    return MTurkHook(aws_conn_id=MTURK_CONN_ID, config=config)


def console_upload_url() -> str | None:
    """Where a requester uploads a batch CSV: the HIT service's console behind ``mturk_default``.

    None when there is no such connection, or it has no ``endpoint_url`` (it would be Amazon's,
    which has no console since MTurk closed).
    """
    from airflow.sdk import BaseHook

    try:
        extra = BaseHook.get_connection(MTURK_CONN_ID).extra_dejson
    except Exception:  # no such connection: csv mode needs none, so the summary must not fail
        return None
    endpoint = extra.get("endpoint_url") or extra.get("service_config", {}).get("mturk", {}).get("endpoint_url")
    if not endpoint or "amazonaws.com" in endpoint:
        return None
    return f"{str(endpoint).rstrip('/')}/requester/projects"
