"""Sensor that waits for a hitflow batch to complete, deferrable like the Amazon provider's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowException

from hitflow.triggers.mturk import MTurkBatchCompleteTrigger, check_batch


class MTurkBatchCompleteSensor(BaseSensorOperator):
    """Wait until ``mturk_collect_results`` has finished a batch.

    With ``deferrable=True`` (the default) the wait runs in the triggerer and holds no worker slot.

    :param batch_id: hitflow batch UUID (templated).
    :param db_conn_id: Postgres connection holding the ``hitflow`` schema.
    :param poll_interval: seconds between checks.
    """

    template_fields: Sequence[str] = ("batch_id",)
    ui_color = "#f0eee4"

    def __init__(
        self,
        *,
        batch_id: str,
        db_conn_id: str = "hitflow_db",
        poll_interval: float = 60.0,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", poll_interval)
        super().__init__(**kwargs)
        self.batch_id = batch_id
        self.db_conn_id = db_conn_id
        self.poll_interval = poll_interval
        self.deferrable = deferrable

    def poke(self, context: Any) -> bool:
        event = check_batch(self.batch_id, self.db_conn_id)
        if event["status"] == "open":
            self.log.info("%s", event["message"])
            return False
        return self._finish(event)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        self.defer(
            trigger=MTurkBatchCompleteTrigger(self.batch_id, self.db_conn_id, self.poll_interval),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) if self.timeout else None,
        )
        return None

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> None:
        if not event:
            raise AirflowException("trigger ended without an event")
        self._finish(event)

    def _finish(self, event: dict[str, Any]) -> bool:
        if event.get("status") != "success":
            raise AirflowException(event.get("message", f"batch {self.batch_id} cannot complete"))
        self.log.info("%s", event["message"])
        return True
