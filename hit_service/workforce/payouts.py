"""Earnings statements, payout runs and the ledger's reconciliation — the service moves no money.

* A worker earns an assignment's reward when it is approved and a bonus when it is sent. Until a
  payout run takes it, that is *owed* ("pending payout"); submitted work not yet reviewed is
  *awaiting approval*; what a run took is *paid*.
* ``run_payout`` takes everything owed (each approved assignment and bonus at most once: the
  item's key is unique in ``mturk.payout_items``), records the run and returns one line per
  worker and requester, which ``payout_csv`` writes for payroll, gift cards or a payment service.
* ``reconcile`` checks, per HIT and to the cent, that what the requester's ledger says was
  charged equals approved rewards and bonuses (the workers' earnings) plus MTurk's fees plus
  what is still reserved for open assignments.
"""

from __future__ import annotations

import csv
import io

import hitflow_csv
from hit_service.core.database import Row

CSV_COLUMNS = ["payout_id", "worker_id", "worker_name", "email", "requester_id", "requester_name", "items", "amount"]


def payout_csv(lines: list[Row]) -> str:
    """The run as CSV (every cell safe to open in a spreadsheet; amounts with two decimals)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        values = {**line, "amount": f"{line['amount']:.2f}"}
        writer.writerow(hitflow_csv.row(values[column] for column in CSV_COLUMNS))
    return out.getvalue()
