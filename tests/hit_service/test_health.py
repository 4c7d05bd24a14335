"""Liveness and readiness (issue 21): a read-only database makes the service not ready.

The service runs on a database of this test's own, which the test turns read-only
(``default_transaction_read_only`` for that database, its connections ended so the pool
reconnects under the new setting) and back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from hitflow_support import pg
from hitflow_support.service_process import ServiceProcess, _healthy, start_service
from tests.hit_service.helpers import ACCESS_KEY, SECRET_KEY, make_client

pytestmark = pytest.mark.integration


@pytest.fixture
def own_service(tmp_path: Path) -> Iterator[tuple[ServiceProcess, str]]:
    url = pg.create_database("health")
    try:
        with start_service(url, requester_keys={ACCESS_KEY: SECRET_KEY}, log_path=tmp_path / "svc.log") as svc:
            yield svc, url
    finally:
        pg.drop_database(url)


def set_read_only(db_url: str, read_only: bool) -> None:
    """Make every new transaction of the database read-only (or not), and end its sessions."""
    name = db_url.rpartition("/")[2]
    with psycopg.connect(pg.ADMIN_URL, autocommit=True) as conn:
        setting = "ON" if read_only else "OFF"
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = " + setting).format(sql.Identifier(name))
        )
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {timeout:.0f} s"
        time.sleep(0.2)


def test_readiness_needs_a_database_that_accepts_writes(own_service: tuple[ServiceProcess, str]) -> None:
    service, db_url = own_service
    with httpx.Client(base_url=service.url, timeout=30) as http:

        def status(path: str) -> int:
            return http.get(path).status_code

        assert status("/health/live") == status("/health/ready") == status("/health") == 200
        set_read_only(db_url, True)
        try:
            wait_for(lambda: status("/health/ready") == 503, "unready")
            answer = http.get("/health/ready").json()
            assert answer["status"] == "error" and "writes" in answer["detail"]
            assert status("/health") == 503  # the old path is readiness too
            assert status("/health/live") == 200  # the process itself is fine: no restart needed
            assert not _healthy(service.url)  # the launcher (and compose) wait on readiness
            with pytest.raises(Exception, match=r"ServiceFault|InternalError|could not process"):
                make_client(service.url, register=False, retries=False).create_hit_type(
                    Title="t", Description="d", Reward="0.01", AssignmentDurationInSeconds=60
                )
        finally:
            set_read_only(db_url, False)
        wait_for(lambda: status("/health/ready") == 200, "ready again")
        assert _healthy(service.url) and status("/health") == 200
