"""SQL for the reports kept in hitflow's database (written by the collect, read by the UI plugin)."""

from __future__ import annotations

import uuid
from typing import Any


def save_report(conn: Any, batch_id: uuid.UUID, html: str) -> None:
    with conn.transaction():
        conn.execute(
            """INSERT INTO hitflow.reports (batch_id, html) VALUES (%s, %s)
               ON CONFLICT (batch_id) DO UPDATE SET html = EXCLUDED.html, written_at = now()""",
            (batch_id, html),
        )


def report_html(conn: Any, batch_id: uuid.UUID) -> str | None:
    row = conn.execute("SELECT html FROM hitflow.reports WHERE batch_id = %s", (batch_id,)).fetchone()
    return row[0] if row else None


def list_reports(conn: Any, limit: int = 200) -> list[tuple[str, str, str, Any]]:
    """(batch_id, status, run_id, written_at) of the latest reports, newest first."""
    return conn.execute(
        """SELECT r.batch_id::text, b.status, b.run_id, r.written_at FROM hitflow.reports r
             JOIN hitflow.batches b USING (batch_id) ORDER BY r.written_at DESC LIMIT %s""",
        (limit,),
    ).fetchall()
