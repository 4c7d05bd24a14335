"""Publishing a console batch: its rows become HITs in the background, resumable after a crash.

One publisher per batch across every process (a session-level advisory lock); each row's
UniqueRequestToken is derived from (batch, row), so a publisher restarted after its process
died recreates nothing. Rows go through the same API path as boto3's calls (``Console.call``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import psycopg

from hit_service.console.threads import BatchThreads
from hit_service.core.database import Row
from hit_service.core.exceptions import HIT_ALREADY_EXISTS, RequestError
from hit_service.core.models import MTurkBackend

logger = logging.getLogger("hit_service.console")

PUBLISH_CHUNK = 50
PUBLISH_THREADS = 4  # CreateHITWithHITType calls in flight per process
HEARTBEAT_STALE = timedelta(seconds=15)
PUBLISH_LOCK_NS = 0x6863  # pg_advisory_lock(ns, batch_id): one publisher per batch, any process


def token_for(batch_id: int, row_number: int) -> str:
    """The UniqueRequestToken of a batch row: the same on every attempt, so a resume never duplicates."""
    return f"hitflow-console-{batch_id}-{row_number}"


def annotation_for(batch_id: int) -> str:
    """The RequesterAnnotation of a batch's HITs, as MTurk's requester UI wrote it."""
    return f"BatchId:{batch_id};"


class BatchPublisher:
    """The background publishers of this process, one thread per batch being published."""

    def __init__(self, backend: MTurkBackend, call: Callable[[str, str, dict[str, Any]], dict[str, Any]]) -> None:
        self.backend = backend
        self.store = backend.store
        self.call = call  # the API's path: validated, then the backend's handler
        self._threads = BatchThreads("publish", self._publish)
        self._pool = ThreadPoolExecutor(PUBLISH_THREADS, thread_name_prefix="console-publish")

    def resume_if_stalled(self, batch: Row) -> bool:
        """Restart an interrupted publish (its process died): same tokens, so no row gets two HITs."""
        if batch["status"] != "publishing":
            return False
        if self._threads.alive(batch["batch_id"]):
            return False
        beat = batch["heartbeat"]
        if beat is not None and self.backend.clock.now() - beat < HEARTBEAT_STALE:
            return False
        self.start(batch["batch_id"])
        return True

    def start(self, batch_id: int) -> None:
        self._threads.start(batch_id)

    def wait(self, batch_id: int, timeout: float) -> None:
        """Wait for this process's publisher of ``batch_id`` (tests, the demo)."""
        self._threads.wait(batch_id, timeout)

    def _publish(self, batch_id: int) -> None:
        """Create the batch's missing HITs, chunk by chunk, under a lock no other process can hold."""
        try:
            with psycopg.connect(self.store.conninfo, autocommit=True) as lock_conn:
                got = self.store.console.try_publish_lock(lock_conn, (PUBLISH_LOCK_NS, batch_id)).fetchone()
                if not got or not got[0]:
                    return  # another process is publishing it
                self._publish_locked(batch_id)
        except Exception as exc:  # the batch shows the error; the operator's log has the trace
            logger.exception("publishing batch %s failed", batch_id)
            with self.store.transaction() as conn:
                self.store.console.stop_publishing(conn, (f"publishing stopped: {exc}", batch_id))

    def _publish_locked(self, batch_id: int) -> None:
        with self.store.transaction() as conn:
            batch = self.store.console.batch_by_id(conn, (batch_id,)).fetchone()
        if batch is None or batch["status"] != "publishing":
            return
        requester = batch["requester"]
        props = batch["properties"]
        extra_columns = set(batch["extra_columns"])  # kept with the batch, never layout parameters
        hit_type_id = batch["hit_type_id"]
        if hit_type_id is None:
            type_params = {k: v for k, v in props.items() if k not in ("LifetimeInSeconds", "MaxAssignments")}
            type_params = {k: v for k, v in type_params.items() if v not in (None, [])}
            hit_type_id = self.call(requester, "CreateHITType", type_params)["HITTypeId"]
            with self.store.transaction() as conn:
                self.store.console.set_batch_hit_type(conn, (hit_type_id, batch_id))
        while True:
            with self.store.transaction() as conn:
                state = self.store.console.batch_status(conn, (batch_id,)).fetchone()
                if state is None or state["status"] != "publishing":
                    return  # cancelled meanwhile
                rows = self.store.console.unpublished_rows(conn, (batch_id, PUBLISH_CHUNK)).fetchall()
                self.store.console.beat(conn, (self.backend.clock.now(), batch_id))
            if not rows:
                break

            def create(row: Row) -> tuple[int, str | None, str | None]:
                """(row number, HIT ID or None, error or None) for one row."""
                params = {
                    "HITTypeId": hit_type_id,
                    "HITLayoutId": batch["layout_id"],
                    "HITLayoutParameters": [
                        {"Name": k, "Value": v} for k, v in row["values"].items() if k not in extra_columns
                    ],
                    "MaxAssignments": props["MaxAssignments"],
                    "LifetimeInSeconds": props["LifetimeInSeconds"],
                    "RequesterAnnotation": annotation_for(batch_id),
                    "UniqueRequestToken": token_for(batch_id, row["row_number"]),
                }
                try:
                    return row["row_number"], self.call(requester, "CreateHITWithHITType", params)["HIT"]["HITId"], None
                except RequestError as exc:
                    if exc.turk_error_code != HIT_ALREADY_EXISTS:
                        return row["row_number"], None, exc.message
                    return row["row_number"], exc.message.split('"')[1], None  # 'The HIT with ID "…" already exists.'

            # A few rows at once: the backend's group commit then writes them in one transaction.
            outcomes = list(self._pool.map(create, rows))
            made = [(hit_id, number) for number, hit_id, _ in outcomes if hit_id is not None]
            errors = [(number, error) for number, _, error in outcomes if error is not None]
            failure = f"row {errors[0][0]}: {errors[0][1]}" if errors else None
            with self.store.transaction() as conn:
                for hit_id, number in made:
                    self.store.console.set_row_hit(conn, (hit_id, batch_id, number))
                self.store.console.count_created_hits(conn, {"b": batch_id, "now": self.backend.clock.now()})
                if failure is not None:
                    self.store.console.mark_stopped(conn, (failure, batch_id))
            if failure is not None:
                return
            time.sleep(0)  # let request threads in between chunks
        with self.store.transaction() as conn:
            self.store.console.mark_published(conn, (self.backend.clock.now(), batch_id))
