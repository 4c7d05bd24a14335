"""The Money page's ledger: every entry, paged newest first, filtered, and exported as CSV.

The export reconciles to the cent with ``GetAccountBalance``: the account's balance and its
entries are read in one REPEATABLE READ snapshot, the running total starts from whatever the
balance held before the ledger began (accounts older than the ``opening`` entry), and the
last row's ``balance_after`` is the balance.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hit_service.console import csvfiles
from hit_service.core.database import Store
from hit_service.stores.ledger import LEDGER_KINDS, LEDGER_PAGE

EXPORT_COLUMNS = ["entry_id", "time_utc", "kind", "amount", "balance_after", "batch_id", "hit_id", "assignment_id"]


class FilterError(ValueError):
    """A ledger filter the page cannot use; the message says which and why."""


@dataclass
class Filters:
    """The ledger's filters as the page's form sends them (all optional)."""

    batch: str = ""
    kind: str = ""
    since: str = ""
    until: str = ""
    errors: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, query: dict[str, str]) -> Filters:
        batch, kind, since, until = (str(query.get(k, "") or "").strip() for k in ("batch", "kind", "since", "until"))
        found = cls(batch=batch, kind=kind, since=since, until=until)
        if found.batch not in ("", "api", "none") and not (found.batch.isdigit() and 0 < int(found.batch) < 2**63):
            found.errors.append(f"batch “{found.batch}” is not a batch number")
        if found.kind and found.kind not in LEDGER_KINDS:
            found.errors.append(f"kind “{found.kind}” is not one of " + ", ".join(LEDGER_KINDS))
        for name in ("since", "until"):
            value = getattr(found, name)
            if value:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    found.errors.append(f"“{value}” is not a date (YYYY-MM-DD)")
        return found

    @property
    def active(self) -> bool:
        return any((self.batch, self.kind, self.since, self.until))

    def sql(self) -> dict[str, Any]:
        """The filters for ``stores.ledger`` (dates are whole UTC days, ``until`` included)."""
        if self.errors:
            raise FilterError("; ".join(self.errors))
        out: dict[str, Any] = {"batch": self.batch or None, "kind": self.kind or None}
        if self.since:
            out["since"] = datetime.combine(date.fromisoformat(self.since), datetime.min.time(), UTC)
        if self.until:
            out["until"] = datetime.combine(date.fromisoformat(self.until), datetime.min.time(), UTC) + timedelta(
                days=1
            )
        return out

    def query(self) -> str:
        """The filters as a URL query (for paging links and the export link)."""
        from urllib.parse import urlencode

        return urlencode(
            {
                k: v
                for k, v in (("batch", self.batch), ("kind", self.kind), ("since", self.since), ("until", self.until))
                if v
            }
        )


def page(store: Store, requester: str, filters: Filters, before: int | None) -> dict[str, Any]:
    """One page of entries (newest first), the filtered totals, the balance and the batch choices."""
    where = filters.sql()
    with store.transaction() as conn:
        store.ledger.snapshot(conn)
        entries = store.ledger.ledger_page(conn, requester, where, before, LEDGER_PAGE + 1)
        totals = store.ledger.ledger_totals(conn, requester, where)
        balance = store.ledger.account_balance(conn, requester)
        batches = store.ledger.ledger_batches(conn, requester)
        name = store.ledger.account_name(conn, requester)
    more = len(entries) > LEDGER_PAGE
    entries = entries[:LEDGER_PAGE]
    return {
        "entries": entries,
        "older": entries[-1]["entry_id"] if more else None,
        "totals": totals,
        "balance": balance,
        "batches": batches,
        "kinds": LEDGER_KINDS,
        "account_name": name,
    }


def rename(store: Store, requester: str, name: str) -> str:
    """Set the name workers see for this account; an error message, or "" when done."""
    name = " ".join(name.split())
    if not 2 <= len(name) <= 64:
        return "A requester name has 2 to 64 characters."
    with store.transaction() as conn:
        if not store.ledger.set_account_name(conn, requester, name):
            return f"Another requester is called “{name}”: choose another name."
    return ""


def export(store: Store, requester: str, filters: Filters) -> Iterator[bytes]:
    """The matching entries oldest first as CSV; unfiltered, the last ``balance_after`` is the balance."""
    where = filters.sql()

    def rows() -> Iterator[list[str]]:
        header = list(EXPORT_COLUMNS)
        if filters.active:
            header[4] = "running_total"  # a filtered export does not add up to the balance
        yield header
        with store.transaction() as conn:
            store.ledger.snapshot(conn)
            opening = Decimal("0.00")
            if not filters.active:
                balance = store.ledger.account_balance(conn, requester)
                opening = balance - Decimal(store.ledger.ledger_totals(conn, requester, where)["total"])
                if opening:  # the account is older than the ledger's opening entries
                    yield ["", "", "opening", str(opening), str(opening), "", "", ""]
            for entry in store.ledger.ledger_rows(conn, requester, where):
                yield [
                    str(v)
                    for v in (
                        entry["entry_id"],
                        entry["created_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        entry["kind"],
                        entry["amount"],
                        opening + entry["running"],
                        entry["batch_id"] or "",
                        entry["hit_id"] or "",
                        entry["assignment_id"] or "",
                    )
                ]

    return csvfiles.csv_lines(rows())
