"""Fault injection and the other test-mode endpoints, over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from botocore.exceptions import ClientError

from hitflow_support import pg
from hitflow_support.service_process import ServiceProcess, start_service
from tests.hit_service.helpers import ACCESS_KEY, SECRET_KEY, error_of, hit_args, make_client, new_access_key

pytestmark = pytest.mark.integration


def count_hits(db: psycopg.Connection[Any], requester: str) -> int:
    row = db.execute("SELECT count(*) FROM mturk.hits WHERE requester = %s", (requester,)).fetchone()
    assert row is not None
    return int(row[0])


def test_faults_endpoint_round_trip(http: httpx.Client, faults: Any) -> None:
    current = http.get("/_test/faults").json()
    assert current["service_fault_rate"] == 0.0
    assert current["fail_creates_after"] is None
    config = faults(throttle_rate=0.25, latency_ms=5, fail_creates_after=3, fail_creates_count=1, seed=9)
    assert config["throttle_rate"] == 0.25
    assert config["service_fault_rate"] == 0.0  # POST replaces: omitted fields are defaults
    assert http.get("/_test/faults").json() == config
    response = http.post("/_test/faults", json={"throttle_rate": 3})
    assert response.status_code == 400
    assert "throttle_rate" in response.json()["error"]
    assert http.post("/_test/faults", json={"nope": 1}).status_code == 400


def test_service_fault_rate(client_factory: Any, faults: Any, db: psycopg.Connection[Any]) -> None:
    key = new_access_key()
    client = client_factory(key, retries=False)
    faults(service_fault_rate=1.0)
    with pytest.raises(ClientError) as info:
        client.get_account_balance()
    kind, code, _ = error_of(info.value)
    assert (kind, code) == ("ServiceFault", "AWS.MechanicalTurk.ServiceUnavailable")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    with pytest.raises(ClientError):
        client.create_hit(**hit_args())
    assert count_hits(db, key) == 0


def test_throttling_is_retried_by_botocore(client_factory: Any, faults: Any) -> None:
    client = client_factory(retries=False)
    faults(throttle_rate=1.0)
    with pytest.raises(ClientError) as info:
        client.get_account_balance()
    assert info.value.response["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    # botocore recognises it as retryable: with two attempts allowed it tries twice.
    with pytest.raises(ClientError) as info:
        client_factory(attempts=2).get_account_balance()
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 1


def test_drop_after_commit(client_factory: Any, faults: Any, db: psycopg.Connection[Any]) -> None:
    key = new_access_key()
    client = client_factory(key, retries=False)
    faults(drop_after_commit_rate=1.0)
    with pytest.raises(ClientError) as info:
        client.create_hit(**hit_args(UniqueRequestToken="lost-response"))
    assert error_of(info.value)[0] == "ServiceFault"
    assert count_hits(db, key) == 1  # committed although the caller saw a 500
    faults()
    hit_id = client.list_hits()["HITs"][0]["HITId"]
    with pytest.raises(ClientError) as info:
        client.create_hit(**hit_args(UniqueRequestToken="lost-response"))
    _, code, message = error_of(info.value)
    assert code == "AWS.MechanicalTurk.HitAlreadyExists"
    assert f'"{hit_id}"' in message
    assert count_hits(db, key) == 1


def test_drop_after_commit_with_botocore_retries(client_factory: Any, faults: Any, db: psycopg.Connection[Any]) -> None:
    """What a pipeline sees: botocore retries the 500 and the token turns it into HitAlreadyExists."""
    key = new_access_key()
    client = client_factory(key)
    faults(drop_after_commit_rate=1.0)
    with pytest.raises(ClientError) as info:
        client.create_hit(**hit_args(UniqueRequestToken="retried"))
    assert error_of(info.value)[1] == "AWS.MechanicalTurk.HitAlreadyExists"
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert count_hits(db, key) == 1


def test_fail_creates_after(client_factory: Any, faults: Any, db: psycopg.Connection[Any], http: httpx.Client) -> None:
    key = new_access_key()
    client = client_factory(key, retries=False)
    faults(fail_creates_after=2, fail_creates_count=2)
    outcomes = []
    for n in range(5):
        try:
            client.create_hit(**hit_args(UniqueRequestToken=f"row-{n}"))
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(error_of(exc)[0])
        client.get_account_balance()  # other calls are not failed
    assert outcomes == ["ok", "ok", "ServiceFault", "ServiceFault", "ok"]
    assert count_hits(db, key) == 3
    state = http.get("/_test/faults").json()
    assert (state["creates_succeeded"], state["creates_failed_injected"]) == (3, 2)


def test_latency(client: Any, faults: Any) -> None:
    client.get_account_balance()
    faults(latency_ms=300)
    started = time.monotonic()
    client.get_account_balance()
    assert time.monotonic() - started >= 0.3


def test_set_balance_for_one_and_for_all(http: httpx.Client, client_factory: Any) -> None:
    key = new_access_key()
    client = client_factory(key)
    assert http.post("/_test/balance", json={"requester": key, "balance": "1.5"}).json()["balance"] == "1.50"
    assert client.get_account_balance()["AvailableBalance"] == "1.50"
    response = http.post("/_test/balance", json={"balance": "20000.00"})
    assert response.json()["accounts"] >= 1
    assert client.get_account_balance()["AvailableBalance"] == "20000.00"
    for bad in [{"balance": "$1"}, {"balance": 1}, {"requester": "", "balance": "1.00"}, {}]:
        assert http.post("/_test/balance", json=bad).status_code == 400


@pytest.fixture
def own_service(layouts_dir: Path, tmp_path: Path) -> Iterator[ServiceProcess]:
    """A service process on a database of its own: what a reset wipes is this test's alone."""
    url = pg.create_database("hitsvc_reset")
    try:
        with start_service(
            url,
            test_mode=True,
            requester_keys={ACCESS_KEY: SECRET_KEY},
            extra_env={"HITFLOW_LAYOUTS_DIR": str(layouts_dir)},
            log_path=tmp_path / "hit_service.log",
        ) as svc:
            yield svc
    finally:
        pg.drop_database(url)


def test_reset(own_service: ServiceProcess) -> None:
    """``/_test/reset`` wipes every requester's state and the faults, and keeps the startup keys.

    It runs against a service of its own: the session's shared service holds every other test's
    requesters, which a reset there would wipe (and could not run beside them).
    """
    url = own_service.url
    client = make_client(url)  # the key the service was started with
    other_key = new_access_key()
    other = make_client(url, other_key)
    client.create_hit(**hit_args())
    other.create_hit(**hit_args())
    httpx.post(f"{url}/_test/faults", json={"latency_ms": 1}, timeout=10).raise_for_status()
    assert httpx.post(f"{url}/_test/reset", timeout=10).json() == {"status": "reset"}
    assert client.list_hits()["NumResults"] == 0
    assert httpx.get(f"{url}/_test/faults", timeout=10).json()["latency_ms"] == 0
    assert client.get_account_balance()["AvailableBalance"] == "10000.00"
    with pytest.raises(ClientError):  # a key added after startup is gone with its account
        make_client(url, other_key, register=False, retries=False).list_hits()


def test_rate_limit_per_requester(client_factory: Any, faults: Any) -> None:
    """Each requester has its own bucket. One token per 100 s: no machine is slow enough to refill
    it between two calls, so what is throttled does not depend on timing (refills: test_rules)."""
    faults(rate_limit_per_second=0.01)  # burst: 1 call
    limited = client_factory(retries=False)
    other = client_factory(retries=False)

    def outcome(client: Any) -> str:
        try:
            client.get_account_balance()
        except ClientError as exc:
            assert exc.response["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
            return "throttled"
        return "ok"

    assert [outcome(limited) for _ in range(3)] == ["ok", "throttled", "throttled"]
    assert [outcome(other) for _ in range(2)] == ["ok", "throttled"]  # its own bucket, full at first
    faults()  # no limit again
    assert outcome(limited) == "ok"


def test_clock_endpoint(http: httpx.Client) -> None:
    before = http.get("/_test/clock").json()
    moved = http.post("/_test/clock", json={"advance_seconds": 5}).json()
    assert moved["offset_seconds"] == pytest.approx(before["offset_seconds"] + 5)
    back = http.post("/_test/clock", json={"advance_seconds": -5}).json()  # leave the shared clock as found
    assert back["offset_seconds"] == pytest.approx(before["offset_seconds"])
    assert http.post("/_test/clock", json={"advance_seconds": "x"}).status_code == 400
