"""Several service processes on one database, startup failures, detached services."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest

from hit_service.core.database import MIGRATIONS, Store
from hitflow_support import pg
from hitflow_support.service_process import ServiceProcess, ServiceStartError, start_service, stop_pid
from tests.hit_service.helpers import ACCESS_KEY, SECRET_KEY, hit_args, make_client

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh_db() -> Iterator[str]:
    url = pg.create_database("procs")
    try:
        yield url
    finally:
        pg.drop_database(url)


def test_two_processes_share_one_database(fresh_db: str, layouts_dir: Path) -> None:
    """Both start at once on an empty database (migration race) and serve the same state."""
    env = {"HITFLOW_LAYOUTS_DIR": str(layouts_dir)}
    keys = {ACCESS_KEY: SECRET_KEY}
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(start_service, fresh_db, test_mode=True, requester_keys=keys, extra_env=env),
            pool.submit(start_service, fresh_db, test_mode=False, requester_keys=keys, extra_env=env),
        ]
        services: list[ServiceProcess] = [future.result() for future in futures]
    try:
        one, two = services
        assert one.pid != two.pid and one.url != two.url
        a, b = make_client(one.url, register=False), make_client(two.url, register=False)
        hit = a.create_hit(**hit_args(UniqueRequestToken="shared"))["HIT"]
        assert b.get_hit(HITId=hit["HITId"])["HIT"] == hit
        assert [h["HITId"] for h in b.list_hits()["HITs"]] == [hit["HITId"]]
        with pytest.raises(Exception) as info:
            b.create_hit(**hit_args(UniqueRequestToken="shared"))
        assert hit["HITId"] in str(info.value)
        assert b.get_account_balance()["AvailableBalance"] == "9999.64"
        # The test endpoints exist only in test mode.
        assert httpx.get(f"{one.url}/_test/faults").status_code == 200
        assert httpx.get(f"{two.url}/_test/faults").status_code == 404
        assert httpx.post(f"{two.url}/_test/reset").status_code == 404
    finally:
        codes = [service.stop() for service in services]
    assert set(codes) <= {0, -signal.SIGTERM}  # uvicorn re-raises SIGTERM after a clean shutdown
    assert all("Finished server process" in service.log_tail() for service in services)  # a clean shutdown
    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute("SELECT version FROM mturk.schema_migrations ORDER BY version").fetchall()
    assert rows == [(version,) for version, _, _ in MIGRATIONS]  # each applied once, by one of the two


def test_migrate_concurrently_in_process(fresh_db: str) -> None:
    stores = [Store(fresh_db, max_size=2) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    try:
        for store in stores:
            store.open()

        def migrate(store: Store) -> list[int]:
            barrier.wait()
            return store.migrate()

        with ThreadPoolExecutor(len(stores)) as pool:
            results = list(pool.map(migrate, stores))
        assert sorted(results) == [[], [], [], [version for version, _, _ in MIGRATIONS]]
        assert stores[0].migrate() == []
    finally:
        for store in stores:
            store.close()


def test_start_fails_fast_with_the_log(tmp_path: Path) -> None:
    missing = pg.url_for("hitflow_test_no_such_database")
    with pytest.raises(ServiceStartError) as info:
        start_service(missing, log_path=tmp_path / "svc.log", timeout=90)
    assert "does not exist" in str(info.value)
    with pytest.raises(ServiceStartError) as info:
        start_service("", timeout=90)
    assert "HITFLOW_HIT_SERVICE_DB_URL is required" in str(info.value)


def test_detached_service_survives_its_handle(db_url: str) -> None:
    with start_service(db_url, detach=True) as service:
        pid = service.pid
    try:
        assert os.getsid(pid) == pid  # its own session: the caller's Ctrl-C does not reach it
        assert httpx.get(f"{service.url}/health").json() == {"status": "ok"}
    finally:
        stop_pid(pid)
    assert not service.running()
