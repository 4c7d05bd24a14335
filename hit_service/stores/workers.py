"""Workers as the worker site sees them: their HITs, assignments and earnings."""

from __future__ import annotations

import psycopg

from hit_service.core.database import Params, Row


class WorkerStore:
    """The SQL of workers as the worker site sees them: their HITs, assignments and earnings."""

    @staticmethod
    def worker_exists(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT 1 FROM mturk.workers WHERE worker_id = %s",
            params,
        )
