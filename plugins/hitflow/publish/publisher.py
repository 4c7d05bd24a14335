"""Create one chunk's HITs: bounded concurrency, backoff, and exactly one HIT per row.

Each row's ``UniqueRequestToken`` is derived from its batch and row, so any repeat of the call
(a botocore retry, our backoff, a retried task, a killed worker) names the same HIT. When the
service answers ``AWS.MechanicalTurk.HitAlreadyExists``, the HIT ID in its message is recorded
as if the call had just succeeded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from string import Template
from typing import Any

from hitflow.publish import batch_store, question_html
from hitflow.publish.autotune import InFlight
from hitflow.publish.batch_config import PublishConfig
from hitflow.publish.retrylog import RetrySummary

log = logging.getLogger(__name__)

HIT_ALREADY_EXISTS = "AWS.MechanicalTurk.HitAlreadyExists"
THROTTLING_ERRORS = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
RETRYABLE_ERRORS = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ServiceFault",
    "ServiceUnavailable",
    "InternalFailure",
}
_QUOTED_ID = re.compile(r'"([A-Z0-9]{20,64})"')
_BARE_ID = re.compile(r"\b([A-Z0-9]{30})\b")


class PublishError(RuntimeError):
    """A row's HIT could not be created after every retry; the task fails and is retried."""


class RowSkipped(PublishError):
    """A row the chunk did not attempt because it can no longer record HITs."""


def request_token(batch_id: uuid.UUID | str, row_id: int) -> str:
    """Deterministic UniqueRequestToken (≤ 64 chars) for one row of one batch."""
    digest = hashlib.sha256(f"{batch_id}:{row_id}".encode()).hexdigest()[:48]
    return f"hitflow-{digest}"


def hit_id_from_message(message: str) -> str | None:
    """The existing HIT ID that a HitAlreadyExists message names."""
    match = _QUOTED_ID.search(message) or _BARE_ID.search(message)
    return match.group(1) if match else None


def error_details(err: Exception) -> tuple[str, str, str]:
    """(code, TurkErrorCode, message) of a botocore error; empty strings when absent."""
    response = getattr(err, "response", None) or {}
    error = response.get("Error", {})
    turk_code = response.get("TurkErrorCode") or error.get("TurkErrorCode") or ""
    return error.get("Code", ""), turk_code, error.get("Message", str(err))


def is_retryable(err: Exception) -> bool:
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import ReadTimeoutError

    if isinstance(err, BotoConnectionError | ReadTimeoutError):
        return True
    code, _, _ = error_details(err)
    status = (getattr(err, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code in RETRYABLE_ERRORS or status >= 500


def _default_backoff_base() -> float:
    return float(os.environ.get("HITFLOW_BACKOFF_BASE_SECONDS", "0.1"))


@dataclass
class Backoff:
    """Exponential backoff with full jitter, bounded in attempts.

    ``HITFLOW_BACKOFF_BASE_SECONDS`` scales the delays (the tests shrink them).
    """

    attempts: int = 8
    throttle_attempts: int = 60
    base: float = field(default_factory=_default_backoff_base)
    cap: float = 8.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, throttled: bool = False) -> float:
        # "Rate exceeded" clears as soon as the service's bucket refills: retry sooner and cap
        # lower, or the chunk idles below the rate it is allowed.
        base, cap = (self.base / 5, 1.0) if throttled else (self.base, self.cap)
        return random.uniform(0, min(cap, base * 2 ** min(attempt, 16)))


@dataclass
class ChunkResult:
    chunk: int
    hit_ids: list[str] = field(default_factory=list)
    created: int = 0
    already_existed: int = 0
    already_recorded: int = 0
    quarantined: int = 0
    retries: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk": self.chunk,
            "hit_ids": self.hit_ids,
            "created": self.created,
            "already_existed": self.already_existed,
            "already_recorded": self.already_recorded,
            "quarantined": self.quarantined,
            "retries": self.retries,
        }


class ChunkPublisher:
    """Publishes the rows of one chunk through an :class:`~hitflow.hooks.mturk.MTurkHook`.

    The hook's boto3 client is created before the threads start (it is thread-safe; creating it
    is not).
    """

    def __init__(
        self,
        *,
        mturk: Any,
        conn: Any,
        config: PublishConfig,
        batch_id: uuid.UUID,
        hit_type_id: str,
        template: Template | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.mturk = mturk
        self.conn = conn
        self.config = config
        self.batch_id = batch_id
        self.hit_type_id = hit_type_id
        self.template = template
        self.backoff = backoff or Backoff()
        self._db_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._db_lost = threading.Event()  # once hitflow cannot record HITs, stop creating them
        self.in_flight = InFlight(config.concurrency)
        self.retry_log = RetrySummary("CreateHITWithHITType", log)

    def hit_request(self, row_id: int, person_id: str, image_url: str) -> dict[str, Any]:
        """The CreateHITWithHITType arguments for one row."""
        values = {"person_id": person_id, "image_url": image_url}
        request: dict[str, Any] = {
            "HITTypeId": self.hit_type_id,
            "MaxAssignments": self.config.max_assignments,
            "LifetimeInSeconds": self.config.lifetime_seconds,
            "RequesterAnnotation": f"hitflow batch {self.batch_id} row {row_id}",
            "UniqueRequestToken": request_token(self.batch_id, row_id),
        }
        if self.config.layout_id:
            request["HITLayoutId"] = self.config.layout_id
            request["HITLayoutParameters"] = question_html.layout_parameters(values)
        else:
            template = self.template or question_html.template_for(self.config.task_ui)
            request["Question"] = question_html.html_question(template, values)
        return request

    def _create(self, request: dict[str, Any], result: ChunkResult, row_id: int = 0) -> tuple[str, str]:
        """Call the API until it answers; return (hit_id, outcome)."""
        from botocore.exceptions import BotoCoreError, ClientError

        failures = throttles = 0  # throttling has its own, larger budget: it only means "slower"
        while True:
            try:
                with self.in_flight.slot():
                    hit = self.mturk.create_hit_with_hit_type(**request)
                self.in_flight.succeeded()
                return hit["HITId"], "created"
            except (ClientError, BotoCoreError) as err:
                code, turk_code, message = error_details(err)
                if turk_code == HIT_ALREADY_EXISTS:
                    hit_id = hit_id_from_message(message)
                    if hit_id is None:
                        raise PublishError(f"service said the HIT exists but named no HIT ID: {message}") from err
                    return hit_id, "already_existed"
                throttled = code in THROTTLING_ERRORS
                if throttled:
                    throttles += 1
                    self.in_flight.throttled()
                else:
                    failures += 1
                if (
                    not is_retryable(err)
                    or failures >= self.backoff.attempts
                    or throttles >= self.backoff.throttle_attempts
                ):
                    raise
                with self._stats_lock:
                    result.retries += 1
                delay = self.backoff.delay(throttles if throttled else failures - 1, throttled=throttled)
                self.retry_log.retried(code or err.__class__.__name__, row_id)
                self.backoff.sleep(delay)

    def _publish_row(self, row: tuple[int, str, str, str | None], result: ChunkResult) -> str | None:
        row_id, person_id, image_url, recorded = row
        if recorded:
            with self._stats_lock:
                result.already_recorded += 1
            return recorded
        try:
            request = self.hit_request(row_id, person_id, image_url)
        except question_html.QuestionError as err:
            with self._db_lock:
                batch_store.quarantine(self.conn, self.batch_id, [(row_id, str(err))])
            with self._stats_lock:
                result.quarantined += 1
            return None
        if self._db_lost.is_set():
            raise RowSkipped(f"row {row_id} not attempted: the database connection was lost earlier in the chunk")
        hit_id, outcome = self._create(request, result, row_id)
        try:
            with self._db_lock:
                batch_store.record_hit(self.conn, self.batch_id, row_id, hit_id, self.hit_type_id, outcome)
        except Exception:
            # The HIT exists but is not recorded: the retry's UniqueRequestToken recovers it.
            self._db_lost.set()
            raise
        with self._stats_lock:
            if outcome == "created":
                result.created += 1
            else:
                result.already_existed += 1
        return hit_id

    def publish(self, chunk: batch_store.Chunk) -> ChunkResult:
        chunk_no = chunk.chunk
        rows = batch_store.chunk_rows(self.conn, self.batch_id, chunk)
        batch_store.fast_commits(self.conn)
        _ = getattr(self.mturk, "conn", None)  # build the client once, outside the threads
        result = ChunkResult(chunk=chunk_no)
        self.in_flight = InFlight(self.config.concurrency)  # a fresh limit per chunk
        # One line per interval, counts per error and the rows hit, not one line per retry.
        self.retry_log = RetrySummary(f"chunk {chunk_no}: CreateHITWithHITType", log)
        workers = max(1, min(self.config.max_in_flight, len(rows)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"chunk{chunk_no}") as pool:
            futures = [pool.submit(self._publish_row, row, result) for row in rows]
            errors: list[BaseException] = []
            for future in futures:
                try:
                    hit_id = future.result()
                except Exception as err:  # keep going: every other row still gets its HIT
                    errors.append(err)
                    continue
                if hit_id:
                    result.hit_ids.append(hit_id)
        self.retry_log.flush(final=True)
        log.info(
            "chunk %s: %s created, %s already existed, %s already recorded, %s quarantined, %s retries; "
            "calls in flight: up to %s%s",
            chunk_no,
            result.created,
            result.already_existed,
            result.already_recorded,
            result.quarantined,
            result.retries,
            self.in_flight.ceiling,
            f" (adaptive: throttling cut it {self.in_flight.cuts} times, to {self.in_flight.lowest} at the least)"
            if self.in_flight.adaptive
            else " (as set)",
        )
        if errors:
            skipped = sum(isinstance(err, RowSkipped) for err in errors)
            failed = [err for err in errors if not isinstance(err, RowSkipped)] or errors
            note = f" ({skipped} not attempted after the database connection was lost)" if skipped else ""
            raise PublishError(
                f"chunk {chunk_no}: {len(errors)} of {len(rows)} rows failed{note}, first error: {failed[0]!r}"
            ) from failed[0]
        return result
