"""Rows of a new upload that were published before: found by value, or by the page they make.

Compared with this project's other published batches and with the account's HITs made through
the API: those of the project's layout by their HITLayoutParameters, those made from an
HTMLQuestion by their page — exactly the page this project's template makes of the row, as the
publish DAG's HITs are when the project uses the DAG's template (``BatchStore.duplicates``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from hit_service.console import csvfiles
from hit_service.core.database import Row, Store


def find(store: Store, requester: str, batch: Row) -> dict[str, Any]:
    """How many of the draft's rows were published before, which rows, and where."""
    extra = set(batch["extra_columns"])
    template_columns = [v for v in batch["variables"] if v not in extra]
    with store.transaction() as conn:
        pages = [
            (r["row_number"], page_hash(csvfiles.render_page(batch["template"], r["values"])))
            for r in store.batches.draft_rows(conn, batch["batch_id"])
        ]
        found = store.batches.duplicates(
            conn, requester, batch["batch_id"], batch["layout_id"], template_columns, pages
        )
        found["batch_rows"] = store.batches.batch_names(conn, found["batches"]) if found["batches"] else []
    return found


def page_hash(page: str) -> str:
    """A page's fingerprint, as PostgreSQL's md5() computes it over a stored HIT's page."""
    return hashlib.md5(page.encode(), usedforsecurity=False).hexdigest()


def leave_out(store: Store, batch_id: int, rows: list[int]) -> int:
    """Leave ``rows`` of a draft (the caller checked it is the requester's) out of publishing."""
    with store.transaction() as conn:
        return store.batches.skip_rows(conn, batch_id, rows)
