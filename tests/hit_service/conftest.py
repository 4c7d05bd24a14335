"""Fixtures for the HIT service's tests: a real database and the service as a subprocess.

One service process (test mode) serves the whole session; tests keep out of each other's way
by signing with their own access key (= their own requester account) rather than resetting
shared state, so they can run in any order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from hitflow_support import pg
from hitflow_support.console_client import ConsoleClient
from hitflow_support.service_process import ServiceProcess, start_service
from tests.hit_service.helpers import (
    ACCESS_KEY,
    LAYOUT_HTML,
    LAYOUT_ID,
    OPERATOR_PASSWORD,
    SECRET_KEY,
    add_user,
    make_client,
    new_access_key,
)


@pytest.fixture(scope="session")
def layouts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A layouts directory of the tests' own (the repo's layouts belong to the pipelines)."""
    directory = tmp_path_factory.mktemp("layouts")
    (directory / f"{LAYOUT_ID}.html").write_text(LAYOUT_HTML, encoding="utf-8")
    return directory


@pytest.fixture(scope="session")
def db_url() -> Iterator[str]:
    """A fresh database for the session's service, dropped at the end."""
    url = pg.create_database("hitsvc")
    try:
        yield url
    finally:
        pg.drop_database(url)


@pytest.fixture(scope="session")
def service(db_url: str, layouts_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The HIT service in test mode, as a subprocess on ``db_url``."""
    log = tmp_path_factory.mktemp("logs") / "hit_service.log"
    with start_service(
        db_url,
        test_mode=True,
        requester_keys={ACCESS_KEY: SECRET_KEY},
        extra_env={"HITFLOW_LAYOUTS_DIR": str(layouts_dir), "HITFLOW_HIT_SERVICE_OPERATOR_PASSWORD": OPERATOR_PASSWORD},
        log_path=log,
    ) as svc:
        yield svc


@pytest.fixture(autouse=True)
def clock_left_as_found(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that uses the service must leave its shared clock where it found it (any order)."""
    if "service" not in request.fixturenames:
        yield
        return
    url = request.getfixturevalue("service").url

    def offset() -> float:
        return float(httpx.get(f"{url}/_test/clock", timeout=10).json()["offset_seconds"])

    before = offset()
    yield
    assert offset() == pytest.approx(before), "the test left the service's clock moved: use the advance fixture"


@pytest.fixture
def client(service: ServiceProcess) -> Any:
    """A boto3 client signing as ``AKIAHITFLOWTEST00001``."""
    return make_client(service.url)


@pytest.fixture
def requester(service: ServiceProcess) -> tuple[str, Any]:
    """A fresh requester account and a client signing as it: (access key, client)."""
    key = new_access_key()
    return key, make_client(service.url, key)


@pytest.fixture
def client_factory(service: ServiceProcess) -> Callable[..., Any]:
    """``client_factory(access_key, retries=..., validate=...)`` for special clients."""

    def factory(access_key: str | None = None, **kwargs: Any) -> Any:
        return make_client(service.url, access_key or new_access_key(), **kwargs)

    return factory


@pytest.fixture
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    """Plain HTTP to the service (pages, test endpoints)."""
    with httpx.Client(base_url=service.url, timeout=10) as session:
        yield session


@pytest.fixture
def operator(service: ServiceProcess) -> Iterator[httpx.Client]:
    """HTTP to the service signed in as the operator (HTTP Basic auth)."""
    with httpx.Client(base_url=service.url, timeout=10, auth=("operator", OPERATOR_PASSWORD)) as session:
        yield session


@pytest.fixture
def faults(http: httpx.Client) -> Iterator[Callable[..., dict[str, Any]]]:
    """``faults(**config)`` replaces the fault configuration; cleared again after the test."""

    def set_faults(**config: Any) -> dict[str, Any]:
        response = http.post("/_test/faults", json=config)
        response.raise_for_status()
        return response.json()

    yield set_faults
    http.post("/_test/faults", json={}).raise_for_status()


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A direct connection to the service's database, for checks and time travel."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def new_worker(http: httpx.Client) -> Callable[..., dict[str, str]]:
    """``new_worker(locale="US")`` → a fresh worker account: {worker_id, name, password, locale}."""

    def factory(locale: str = "US") -> dict[str, str]:
        name = "w-" + new_access_key()[4:].lower()
        password = "pw-" + name
        response = http.post("/_test/workers", json={"name": name, "password": password, "locale": locale})
        response.raise_for_status()
        return {**response.json(), "password": password}

    return factory


@pytest.fixture
def advance(http: httpx.Client) -> Iterator[Callable[[float], None]]:
    """``advance(seconds)`` moves the service's clock forward; it is moved back after the test.

    The clock is the service process's, shared by every test: a test that leaves it a month
    ahead would change what the next one sees (expirations, ``CreationTime``), whatever the order.
    """
    moved = 0.0

    def move(seconds: float) -> None:
        nonlocal moved
        http.post("/_test/clock", json={"advance_seconds": seconds}).raise_for_status()
        moved += seconds

    yield move
    if moved:
        http.post("/_test/clock", json={"advance_seconds": -moved}).raise_for_status()


@pytest.fixture
def service_now(http: httpx.Client) -> Callable[[], datetime]:
    """``service_now()``: the service's clock (tests may have moved it ahead of the machine's)."""

    def now() -> datetime:
        return datetime.fromisoformat(http.get("/_test/clock").json()["now"])

    return now


@pytest.fixture
def account(service: ServiceProcess, db_url: str) -> dict[str, Any]:
    """A fresh requester account with a boto3 client and a signed-in console user."""
    key = new_access_key()
    client = make_client(service.url, key)
    password = "pw-" + key.lower()
    user = add_user(db_url, key, password)
    return {
        "key": key,
        "client": client,
        "user": user,
        "password": password,
        "console": ConsoleClient(service.url, user, password),
    }
