"""MTurkBackend in-process on the real database, with a clock the test controls."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hit_service.core import identity
from hit_service.core.clock import FrozenClock, OffsetClock
from hit_service.core.database import Store
from hit_service.core.exceptions import HIT_ALREADY_EXISTS, INSUFFICIENT_FUNDS, RequestError
from hit_service.core.models import MTurkBackend
from tests.hit_service.helpers import SECRET_KEY, hit_args, new_access_key

pytestmark = pytest.mark.integration
DAY = 24 * 3600


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url, max_size=2)
    store.open()
    store.migrate()
    try:
        yield store
    finally:
        store.close()


def test_request_token_window_follows_the_clock(store: Store, layouts_dir: Path) -> None:
    clock = FrozenClock()
    backend = MTurkBackend(store, clock, layouts_dir, Decimal("10.00"))
    key = new_access_key()
    identity.apply_keys(store, ((key, SECRET_KEY),), Decimal("10.00"))
    first = backend.create_hit(key, hit_args(UniqueRequestToken="tok"))["HIT"]["HITId"]
    clock.advance(DAY - 1)
    with pytest.raises(RequestError) as info:
        backend.create_hit(key, hit_args(UniqueRequestToken="tok"))
    assert info.value.turk_error_code == HIT_ALREADY_EXISTS
    assert first in info.value.message
    clock.advance(1)  # exactly 24 hours later the token is free again
    second = backend.create_hit(key, hit_args(UniqueRequestToken="tok"))["HIT"]["HITId"]
    assert second != first
    assert backend.get_account_balance(key) == {"AvailableBalance": "9.28"}


def test_expired_hit_is_reviewable(store: Store, layouts_dir: Path) -> None:
    clock = FrozenClock()
    backend = MTurkBackend(store, clock, layouts_dir, Decimal("10.00"))
    key = new_access_key()
    identity.apply_keys(store, ((key, SECRET_KEY),), Decimal("10.00"))
    hit = backend.create_hit(key, hit_args(LifetimeInSeconds=60))["HIT"]
    assert hit["HITStatus"] == "Assignable"
    clock.advance(60)
    assert backend.get_hit(key, {"HITId": hit["HITId"]})["HIT"]["HITStatus"] == "Reviewable"


def test_offset_clock() -> None:
    clock = OffsetClock()
    before = clock.now()
    clock.advance(DAY)
    assert clock.offset_seconds == DAY
    assert (clock.now() - before).total_seconds() >= DAY


def test_creates_that_share_a_commit_leave_no_token_for_unpaid_hits(store: Store, layouts_dir: Path) -> None:
    """Creates of an existing HIT type run without savepoints inside one group commit: a create
    the balance cannot pay for must release its token, and must not undo the paid ones."""
    backend = MTurkBackend(store, FrozenClock(), layouts_dir, Decimal("10.00"))
    key = new_access_key()
    identity.apply_keys(store, ((key, SECRET_KEY),), Decimal("10.00"))
    args = hit_args()
    type_args = {k: args[k] for k in ("Title", "Description", "Keywords", "Reward", "AssignmentDurationInSeconds")}
    type_id = backend.create_hit_type(key, type_args)["HITTypeId"]  # $0.10 + 20 % fee = $0.12 a HIT
    backend.set_balance(key, Decimal("0.60"))
    tokens = [f"shared-commit-{i}" for i in range(12)]

    def create(token: str) -> str:
        params = {"HITTypeId": type_id, "MaxAssignments": 1, "LifetimeInSeconds": 3600, "Question": args["Question"]}
        try:
            backend.create_hit_with_hit_type(key, params | {"UniqueRequestToken": token})
        except RequestError as err:
            return err.turk_error_code
        return "created"

    # Hold the group's leader inside a unit of work until all twelve creates are queued behind
    # it, so they run as one batch in one transaction.
    group, entered, gate = backend._group(key), threading.Event(), threading.Event()

    def hold(conn: Any) -> None:
        entered.set()
        gate.wait(10)

    def open_gate_when_queued() -> None:
        deadline = time.monotonic() + 10
        while len(group._queue) < len(tokens) and time.monotonic() < deadline:
            time.sleep(0.005)
        gate.set()

    with ThreadPoolExecutor(len(tokens) + 1) as pool:
        leader = pool.submit(group.run, hold, atomic=True)
        assert entered.wait(10)
        threading.Thread(target=open_gate_when_queued, daemon=True).start()
        outcomes = dict(zip(tokens, pool.map(create, tokens), strict=True))
        leader.result()
    paid = {token for token, outcome in outcomes.items() if outcome == "created"}
    assert len(paid) == 5 and set(outcomes.values()) == {"created", INSUFFICIENT_FUNDS}, outcomes

    backend.set_balance(key, Decimal("10.00"))
    again = {token: create(token) for token in tokens}
    assert {t for t, outcome in again.items() if outcome == "created"} == set(tokens) - paid
    assert {t for t, outcome in again.items() if outcome == HIT_ALREADY_EXISTS} == paid
    assert backend.get_account_balance(key) == {"AvailableBalance": "9.16"}
