"""The source rows the end-to-end run seeds, and which run must publish each of them.

Dates are relative to today (UTC) because the scheduler's "latest interval" is:

* **manual** rows (the oldest, 12 days ago) — the REST-triggered run takes them with
  ``max_rows`` = their number (a manual run takes every pending row, oldest first);
* **backfill** rows on three past days (6, 5 and 4 days ago), one bad row among them;
* **untouched** rows 3 and 2 days ago — no run covers those days, so nothing may take them;
* **scheduled** rows yesterday — the interval the scheduler runs when the DAG is unpaused
  (``catchup=False``: only the latest complete interval, [yesterday, today)).

Then the Airflow UI (``test_airflow_ui.py``, run last but one):

* **ui_backfill** rows, two a day 9 and 8 days ago — the UI's Backfill dialog publishes them with
  its Run Parameters;
* **stale** rows 10 days ago (younger than the manual rows, so the REST run leaves them) — with
  the untouched rows they are what is still pending when the UI's Trigger button is pressed with
  the defaults: the form's inferred interval ([yesterday, today)) holds none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import psycopg


def _url(row_id: int) -> str:
    return f"https://images.hitflow.example/e2e/{row_id}.jpg"


@dataclass
class Plan:
    today: date
    manual: list[int] = field(default_factory=list)
    backfill: dict[date, list[int]] = field(default_factory=dict)  # good rows per day
    backfill_bad: dict[int, date] = field(default_factory=dict)  # rows quarantined, by day
    untouched: list[int] = field(default_factory=list)
    scheduled: list[int] = field(default_factory=list)
    ui_backfill: dict[date, list[int]] = field(default_factory=dict)
    stale: list[int] = field(default_factory=list)
    rows: list[tuple[int, str | None, str | None, datetime]] = field(default_factory=list)

    @classmethod
    def for_today(cls) -> Plan:
        today = datetime.now(UTC).date()
        plan = cls(today=today)
        next_id = iter(range(1, 10_000))

        def add(day: date, hour: int, person: str | None = None, url: str | None = None) -> int:
            row_id = next(next_id)
            created = datetime.combine(day, time(hour, 15), tzinfo=UTC)
            plan.rows.append((row_id, person or f"E2E{row_id:04d}", url or _url(row_id), created))
            return row_id

        manual_day = today - timedelta(days=12)
        plan.manual = [add(manual_day, 8 + i) for i in range(5)]
        for offset in (6, 5, 4):
            day = today - timedelta(days=offset)
            plan.backfill[day] = [add(day, 9 + i) for i in range(3)]
        bad_day = today - timedelta(days=5)
        plan.backfill_bad[add(bad_day, 20, url="http://insecure.example/x.jpg")] = bad_day
        plan.untouched = [add(today - timedelta(days=offset), 12) for offset in (3, 2)]
        yesterday = today - timedelta(days=1)
        plan.scheduled = [add(yesterday, 6 + i) for i in range(4)]
        for offset in (9, 8):
            day = today - timedelta(days=offset)
            plan.ui_backfill[day] = [add(day, 10 + i) for i in range(2)]
        plan.stale = [add(today - timedelta(days=10), 7 + i) for i in range(2)]
        return plan

    @property
    def ui_pending(self) -> list[int]:
        """What a manual run with the default scope takes once everything above has run."""
        return sorted(self.stale + self.untouched)

    @property
    def backfill_days(self) -> list[date]:
        return sorted(self.backfill)

    @property
    def scheduled_day(self) -> date:
        return self.today - timedelta(days=1)

    def seed(self, url: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO public.person_images (id, person_id, image_url, created_at) VALUES (%s, %s, %s, %s)",
                self.rows,
            )
