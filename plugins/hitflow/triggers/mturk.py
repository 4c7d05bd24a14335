"""Trigger that waits, in the triggerer, for a hitflow batch to complete.

A batch is complete when ``mturk_collect_results`` has reviewed every assignment of every HIT
and disposed of the HITs. Waiting here holds no worker slot: the sensor defers to this trigger
and resumes only when it fires.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

NEVER_COMPLETES = {"refused", "dry_run", "exported"}


def check_batch(batch_id: str, db_conn_id: str) -> dict[str, Any]:
    """The batch's state as an event payload; ``status`` "open" means keep waiting (blocking I/O)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from hitflow.collect.results_store import batch_state

    with PostgresHook(postgres_conn_id=db_conn_id).get_conn() as conn:
        status, open_hits = batch_state(conn, uuid.UUID(batch_id))
    if status == "complete":
        return {"status": "success", "batch_id": batch_id, "message": f"batch {batch_id} is complete"}
    if status is None or status in NEVER_COMPLETES:
        reason = "does not exist" if status is None else f"is {status} and will never complete"
        return {"status": "error", "batch_id": batch_id, "message": f"batch {batch_id} {reason}"}
    return {"status": "open", "batch_id": batch_id, "message": f"batch {batch_id}: {open_hits} HITs still open"}


class MTurkBatchCompleteTrigger(BaseTrigger):
    """Fire when the batch is complete (or can never be).

    :param batch_id: hitflow batch UUID.
    :param db_conn_id: Postgres connection holding the ``hitflow`` schema.
    :param poll_interval: seconds between checks.
    """

    def __init__(self, batch_id: str, db_conn_id: str = "hitflow_db", poll_interval: float = 60.0) -> None:
        super().__init__()
        self.batch_id = batch_id
        self.db_conn_id = db_conn_id
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{self.__class__.__module__}.{self.__class__.__qualname__}",
            {"batch_id": self.batch_id, "db_conn_id": self.db_conn_id, "poll_interval": self.poll_interval},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            try:
                event = await asyncio.to_thread(check_batch, self.batch_id, self.db_conn_id)
            except Exception as err:  # a database hiccup: keep waiting, the sensor's timeout bounds it
                self.log.warning("checking batch %s failed: %s", self.batch_id, err)
                event = {"status": "open", "message": f"batch {self.batch_id}: check failed"}
            if event["status"] != "open":
                yield TriggerEvent(event)
                return
            self.log.info("%s; next check in %ss", event["message"], self.poll_interval)
            await asyncio.sleep(self.poll_interval)
