"""MTurkBackend in-process on the real database, with a clock the test controls."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from hit_service import identity
from hit_service.clock import FrozenClock, OffsetClock
from hit_service.exceptions import HIT_ALREADY_EXISTS, RequestError
from hit_service.models import MTurkBackend
from hit_service.store import Store
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
