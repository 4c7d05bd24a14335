"""Cancelling a batch: answered at once, carried out in the background with its progress shown.

The request marks the batch ``cancelled`` (the publisher stops before its next chunk) and
starts a thread that takes the batch's publish lock (so a chunk being published finishes
first), then expires the batch's HITs chunk by chunk and gives back the money of every slot
nobody took (``hit_service.core.release``). Work already accepted or submitted keeps its money
and is finished and reviewed as usual. The thread records ``cancel_done`` of ``cancel_total``
HITs; a cancel whose process died is resumed by the next progress poll (releasing is
idempotent: a slot given back is counted on its HIT and never given back twice).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import psycopg

from hit_service.console.threads import BatchThreads
from hit_service.core.release import expire_and_release

if TYPE_CHECKING:
    from hit_service.console.service import Console

logger = logging.getLogger("hit_service.console")

CANCEL_CHUNK = 1000
STALE = timedelta(seconds=15)


class Canceller:
    """The background cancels of one service process."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._threads = BatchThreads("cancel", self._run)

    def start(self, batch_id: int) -> None:
        self._threads.start(batch_id)

    def resume_if_stalled(self, batch: dict[str, Any]) -> bool:
        """Restart a cancel whose process died before it finished."""
        if batch["status"] != "cancelled" or batch["cancel_finished_at"] is not None:
            return False
        if self._threads.alive(batch["batch_id"]):
            return False
        beat = batch["heartbeat"]
        if beat is not None and self.console.backend.clock.now() - beat < STALE:
            return False
        self.start(batch["batch_id"])
        return True

    def wait(self, batch_id: int, timeout: float) -> None:
        self._threads.wait(batch_id, timeout)

    def _run(self, batch_id: int) -> None:
        from hit_service.console.publishing import PUBLISH_LOCK_NS

        store = self.console.store
        clock = self.console.backend.clock
        try:
            with psycopg.connect(store.conninfo, autocommit=True) as lock_conn:
                # Wait for a publisher's chunk in flight: its HITs are then recorded and released too.
                store.batches.wait_for_publisher(lock_conn, PUBLISH_LOCK_NS, batch_id)
                with store.transaction() as conn:
                    requester = store.batches.start_cancel(conn, batch_id, clock.now())
                last = ""
                while True:
                    with store.transaction() as conn:
                        hit_ids = store.batches.hit_chunk(conn, batch_id, last, CANCEL_CHUNK)
                    if not hit_ids:
                        break
                    expire_and_release(store, clock, requester, hit_ids)
                    last = hit_ids[-1]
                    with store.transaction() as conn:
                        store.batches.cancel_step(conn, batch_id, len(hit_ids), clock.now())
                with store.transaction() as conn:
                    store.batches.cancel_finished(conn, batch_id, clock.now())
        except Exception as exc:  # the batch shows the error; the next poll resumes
            logger.exception("cancelling batch %s failed", batch_id)
            with store.transaction() as conn:
                store.batches.cancel_failed(conn, batch_id, f"cancelling stopped: {exc}")
