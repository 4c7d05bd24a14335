"""hitflow batches on the console's API page: each with its report in the Airflow UI.

The service never reads hitflow's database nor imports ``plugins/``: the batches come from the
HITs' ``RequesterAnnotation`` and the report's address from ``HITFLOW_AIRFLOW_URL``.
"""

from __future__ import annotations

from hit_service.core.database import Row, Store

# The hitflow plugin's prefix and path rule, replicated from plugins/hitflow/ui/links.py
# (report_url); tests/hit_service/test_console_hitflow.py checks both give the same URL.
PREFIX = "/hitflow"


def report_url(base_url: str, batch_id: str) -> str:
    """The report page of a hitflow batch in the Airflow UI (``base_url`` = Airflow's ``[api] base_url``)."""
    return f"{base_url.rstrip('/')}{PREFIX}/reports/{batch_id}"


def batches(store: Store, requester: str, limit: int = 200) -> list[Row]:
    """The requester's API-published hitflow batches (HITs, assignments submitted/approved), newest first."""
    with store.transaction() as conn:
        return store.hitflow.batches(conn, requester, limit)
