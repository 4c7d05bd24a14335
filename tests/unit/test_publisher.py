"""ChunkPublisher against a fake hook and an in-memory store (the real ones are in tests/integration)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from hitflow.publish import publisher as pub
from hitflow.publish.batch_config import PublishConfig

BATCH = uuid.UUID("00000000-0000-0000-0000-000000000001")
CHUNK = pub.batch_store.Chunk(chunk=0, of=1, first_row=1, next_first=None)


def client_error(code: str, message: str, turk_code: str | None = None, status: int = 400) -> ClientError:
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    if turk_code:
        response["TurkErrorCode"] = turk_code
    return ClientError(response, "CreateHITWithHITType")


class FakeStore:
    def __init__(self, rows: list[tuple[int, str, str, str | None]]) -> None:
        self.rows = rows
        self.recorded: dict[int, tuple[str, str]] = {}
        self.quarantined: list[tuple[int, str]] = []

    def _record(self, conn: Any, batch: Any, row: int, hit: str, hit_type: str, outcome: str) -> None:
        self.recorded[row] = (hit, outcome)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(pub.batch_store, "chunk_rows", lambda conn, batch, chunk: self.rows)
        monkeypatch.setattr(pub.batch_store, "fast_commits", lambda conn: None)
        monkeypatch.setattr(
            pub.batch_store,
            "record_hit",
            lambda conn, batch, row, hit, hit_type, outcome: self.recorded.__setitem__(row, (hit, outcome)),
        )
        monkeypatch.setattr(
            pub.batch_store, "quarantine", lambda conn, batch, problems: self.quarantined.extend(problems)
        )


class FakeMTurk:
    """Creates one HIT per token and fails the first calls as told."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.by_token: dict[str, str] = {}
        self.calls = 0
        self.lock = threading.Lock()

    def create_hit_with_hit_type(self, **request: Any) -> dict[str, Any]:
        with self.lock:
            self.calls += 1
            if self.failures:
                raise self.failures.pop(0)
            token = request["UniqueRequestToken"]
            if token in self.by_token:
                hit_id = self.by_token[token]
                raise client_error(
                    "RequestError",
                    f'The HIT with ID "{hit_id}" already exists. (1700000000000)',
                    pub.HIT_ALREADY_EXISTS,
                )
            hit_id = f"{len(self.by_token) + 1:030d}".replace("0", "A")
            self.by_token[token] = hit_id
            return {"HITId": hit_id}


def make(mturk: FakeMTurk, **config: Any) -> pub.ChunkPublisher:
    return pub.ChunkPublisher(
        mturk=mturk,
        conn=None,
        config=PublishConfig(**config),
        batch_id=BATCH,
        hit_type_id="TYPE",
        backoff=pub.Backoff(attempts=4, sleep=lambda s: None),
    )


ROWS = [(i, f"P{i}", f"https://x.example.org/{i}.jpg", None) for i in range(1, 21)]


def test_token_is_deterministic_and_fits_mturk() -> None:
    assert pub.request_token(BATCH, 5) == pub.request_token(str(BATCH), 5)
    assert pub.request_token(BATCH, 5) != pub.request_token(BATCH, 6)
    assert len(pub.request_token(BATCH, 5)) <= 64


def test_every_row_gets_one_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    store = FakeStore(ROWS)
    store.install(monkeypatch)
    mturk = FakeMTurk()
    result = make(mturk, concurrency=4).publish(CHUNK)
    assert result.created == 20 and len(set(result.hit_ids)) == 20
    assert result.hit_ids == [store.recorded[row[0]][0] for row in ROWS]  # in row order


def test_a_repeat_records_the_existing_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeStore(ROWS).install(monkeypatch)
    mturk = FakeMTurk()
    first = make(mturk).publish(CHUNK)
    store = FakeStore(ROWS)
    store.install(monkeypatch)
    second = make(mturk).publish(CHUNK)
    assert second.created == 0 and second.already_existed == 20
    assert second.hit_ids == first.hit_ids and len(mturk.by_token) == 20
    assert {outcome for _, outcome in store.recorded.values()} == {"already_existed"}


def test_rows_already_recorded_make_no_call(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeStore([(1, "P1", "https://x.example.org/1.jpg", "KNOWNHIT")]).install(monkeypatch)
    mturk = FakeMTurk()
    result = make(mturk).publish(CHUNK)
    assert mturk.calls == 0 and result.hit_ids == ["KNOWNHIT"] and result.already_recorded == 1


def test_throttling_faults_and_connection_errors_are_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeStore(ROWS[:1]).install(monkeypatch)
    mturk = FakeMTurk(
        [
            client_error("ThrottlingException", "Rate exceeded"),
            client_error("ServiceFault", "try again", status=500),
            EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        ]
    )
    result = make(mturk).publish(CHUNK)
    assert result.created == 1 and result.retries == 3


def test_a_row_that_keeps_failing_fails_the_chunk_after_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    store = FakeStore(ROWS[:3])
    store.install(monkeypatch)
    mturk = FakeMTurk([client_error("RequestError", "bad", "AWS.ParameterOutOfRange")])
    with pytest.raises(pub.PublishError, match="1 of 3 rows failed"):
        make(mturk, concurrency=1).publish(CHUNK)
    assert len(store.recorded) == 2


def test_hit_already_exists_without_an_id_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeStore(ROWS[:1]).install(monkeypatch)
    mturk = FakeMTurk([client_error("RequestError", "exists, somewhere", pub.HIT_ALREADY_EXISTS)])
    with pytest.raises(pub.PublishError, match="named no HIT ID"):
        make(mturk).publish(CHUNK)


def test_layout_request_carries_parameters_not_a_question() -> None:
    request = make(FakeMTurk(), layout_id="3HITFLOWAGEGUESSLAYOUT00000001").hit_request(1, "P1", "https://x.org/a.jpg")
    assert "Question" not in request and request["HITLayoutId"] == "3HITFLOWAGEGUESSLAYOUT00000001"
    assert {p["Name"] for p in request["HITLayoutParameters"]} == {"person_id", "image_url"}
    assert str(BATCH) in request["RequesterAnnotation"]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            'The HIT with ID "3PR3ABCDEFGHIJKLMNOPQRSTUVWXYZ" already exists. (1624047673969)',
            "3PR3ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        ),
        (
            "There is already a HIT with this token: 3PR3ABCDEFGHIJKLMNOPQRSTUVWXYZ (1624047673969)",
            "3PR3ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        ),
        ("nothing here (1624047673969)", None),
    ],
)
def test_hit_id_from_message(message: str, expected: str | None) -> None:
    assert pub.hit_id_from_message(message) == expected


def test_throttling_has_its_own_larger_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twenty "Rate exceeded" in a row only slow a row down; eight faults in a row fail it."""
    FakeStore(ROWS[:1]).install(monkeypatch)
    throttled = make(FakeMTurk([client_error("ThrottlingException", "Rate exceeded")] * 20)).publish(CHUNK)
    assert throttled.created == 1 and throttled.retries == 20
    FakeStore(ROWS[:1]).install(monkeypatch)
    with pytest.raises(pub.PublishError):
        make(FakeMTurk([client_error("ServiceFault", "down", status=500)] * 8)).publish(CHUNK)


def test_chunk_size_is_chosen_from_the_batch_size_unless_set() -> None:
    from hitflow.publish.autotune import chunk_size_for

    assert chunk_size_for(1000, None) == 1000  # one chunk
    assert chunk_size_for(10_000, None) == 2500  # four
    assert chunk_size_for(100_000, None) == 2500  # forty
    assert chunk_size_for(1_000_000, None) == 20_000  # at most fifty chunks
    assert chunk_size_for(10_000, 100) == 100  # the user's choice wins


def test_calls_in_flight_halve_on_throttling_and_grow_back() -> None:
    from hitflow.publish.autotune import InFlight

    gate = InFlight(None, cut_every=0)
    assert gate.adaptive and gate.limit == 64
    gate.throttled()
    gate.throttled()
    assert gate.limit == 16 and gate.lowest == 16 and gate.cuts == 2
    for _ in range(16):
        gate.succeeded()
    assert gate.limit == 17
    fixed = InFlight(8)
    fixed.throttled()
    assert not fixed.adaptive and fixed.limit == 8  # an explicit concurrency is kept
