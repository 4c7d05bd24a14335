"""The requester's money in the console: a cancel releases untaken slots, the ledger, the summary boxes.

Every figure is checked against boto3's ``GetAccountBalance`` (the API's own view) and the
ledger's CSV export; the browser side is in ``test_console_money_browser.py``.
"""

from __future__ import annotations

import csv
import io
import time
from decimal import Decimal
from typing import Any

import pytest

from hitflow_support.console_client import ConsoleClient
from hitflow_support.crowd_client import accept_hit, sign_in, submit_answer_over_http, submit_fields
from hitflow_support.service_process import ServiceProcess

pytestmark = pytest.mark.integration

ROWS = b"person_id,image_url\n" + b"".join(f"P{i},https://img.example.org/{i}.jpg\n".encode() for i in range(1, 5))


def balance(client: Any) -> Decimal:
    return Decimal(client.get_account_balance()["AvailableBalance"])


def batch_hits(client: Any, batch_id: int) -> list[dict[str, Any]]:
    hits = client.list_hits(MaxResults=100)["HITs"]
    return sorted((h for h in hits if h["RequesterAnnotation"] == f"BatchId:{batch_id};"), key=lambda h: h["HITId"])


def ledger_csv(console: ConsoleClient, query: str = "") -> list[dict[str, str]]:
    response = console.get(f"/requester/money/ledger.csv{query}")
    assert response.status_code == 200, response.text[:300]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


def test_cancel_releases_untaken_slots_and_work_in_progress_finishes(
    account: dict[str, Any], new_worker: Any, service: ServiceProcess
) -> None:
    console: ConsoleClient = account["console"]
    client = account["client"]
    layout_id = console.create_project("age_guess", reward="0.10", max_assignments="3")
    start = balance(client)
    batch_id = console.upload(layout_id, ROWS, "to cancel")
    console.publish(batch_id)
    assert console.wait_published(batch_id)["created"] == 4
    assert balance(client) == start - Decimal("1.44")  # 4 HITs × 3 × ($0.10 + $0.02)
    hits = batch_hits(client, batch_id)
    # One assignment submitted on the first HIT, one accepted (not yet submitted) on the second.
    done_worker, busy_worker = new_worker(), new_worker()
    submitted = submit_answer_over_http(
        service.url, done_worker["name"], done_worker["password"], hits[0]["HITId"], {"age": "30"}
    )
    busy = sign_in(service.url, busy_worker["name"], busy_worker["password"])
    accepted = accept_hit(busy, service.url, hits[1]["HITId"])

    note = console.cancel(batch_id)
    assert "given back" in note
    progress = console.wait_cancelled(batch_id)
    assert progress["cancel_done"] == progress["cancel_total"] == 4
    # 2 + 2 + 3 + 3 untaken slots × $0.12 come back at once; the two taken slots stay paid for.
    assert progress["money"]["released"] == "$1.20"
    assert balance(client) == start - Decimal("0.24")
    assert {h["HITStatus"] for h in batch_hits(client, batch_id)} <= {"Reviewable", "Unassignable"}
    assert "already" in console.cancel(batch_id)  # a second cancel releases nothing twice
    assert balance(client) == start - Decimal("0.24")

    # The accepted work is still submitted and reviewed, and each review moves the money as usual.
    submit_fields(busy, service.url, accepted, {"age": "41"})
    client.approve_assignment(AssignmentId=submitted)
    client.reject_assignment(AssignmentId=accepted, RequesterFeedback="not a number we can use")
    assert balance(client) == start - Decimal("0.12")  # the rejection refunds its $0.12
    progress = console.progress(batch_id)
    assert progress["money"]["rewards"] == "$0.10" and progress["money"]["fees"] == "$0.02"
    assert progress["money"]["total"] == "$0.12" and progress["time_left"] == "none (cancelled)"

    # Extending a released HIT pays for its released slots again; deleting refunds only what is held.
    client.update_expiration_for_hit(HITId=hits[2]["HITId"], ExpireAt=time.time() + 3600)
    assert balance(client) == start - Decimal("0.48")
    client.update_expiration_for_hit(HITId=hits[2]["HITId"], ExpireAt=0)
    for hit in hits:
        client.delete_hit(HITId=hit["HITId"])
    assert balance(client) == start - Decimal("0.12")  # nothing given back twice

    # The ledger has one release entry per HIT and adds up to GetAccountBalance.
    entries = ledger_csv(console)
    releases = [e for e in entries if e["kind"] == "release"]
    assert len(releases) == 4 and sum(Decimal(e["amount"]) for e in releases) == Decimal("1.20")
    assert sum(Decimal(e["amount"]) for e in entries) == balance(client)
    assert Decimal(entries[-1]["balance_after"]) == balance(client)


def test_a_draft_cannot_be_cancelled(account: dict[str, Any]) -> None:
    console: ConsoleClient = account["console"]
    layout_id = console.create_project("age_guess")
    batch_id = console.upload(layout_id, ROWS)
    assert "not published" in console.cancel(batch_id)
    assert console.get(f"/requester/batches/{batch_id}/confirm").status_code == 200


def test_the_ledger_pages_filters_and_reconciles_after_an_operator_adjustment(
    account: dict[str, Any], db_url: str
) -> None:
    import os
    import subprocess
    import sys
    from datetime import UTC, datetime, timedelta

    console: ConsoleClient = account["console"]
    client = account["client"]
    layout_id = console.create_project("age_guess", reward="0.10", max_assignments="3")
    batch_id = console.upload(layout_id, ROWS, "ledger")
    console.publish(batch_id)
    console.wait_published(batch_id)
    done = subprocess.run(
        [sys.executable, "-m", "hit_service", "requester", "set-balance", account["key"], "50.00"],
        env={**os.environ, "HITFLOW_HIT_SERVICE_DB_URL": db_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert balance(client) == Decimal("50.00")
    entries = ledger_csv(console)
    assert [e["kind"] for e in entries] == ["opening"] + ["hit"] * 4 + ["adjustment"]
    assert sum(Decimal(e["amount"]) for e in entries) == Decimal("50.00") == Decimal(entries[-1]["balance_after"])
    assert Decimal(entries[-1]["amount"]) == Decimal("50.00") - (Decimal("10000.00") - Decimal("1.44"))

    # Filters: by batch, kind and date (whole UTC days); a filtered export is a running total.
    by_batch = ledger_csv(console, f"?batch={batch_id}")
    assert len(by_batch) == 4 and "running_total" in by_batch[0] and "balance_after" not in by_batch[0]
    assert [e["kind"] for e in ledger_csv(console, "?batch=none")] == ["opening", "adjustment"]
    assert len(ledger_csv(console, "?kind=hit")) == 4
    today = datetime.now(UTC).date()
    assert len(ledger_csv(console, f"?since={today}&until={today}")) == 6
    assert ledger_csv(console, f"?until={today - timedelta(days=1)}") == []
    page = console.get("/requester/money?kind=hit").text
    assert "4 entries match" in page and "$1.44 charged" in page
    refused = console.get("/requester/money?kind=nonsense&batch=x")
    assert refused.status_code == 400 and "is not one of" in refused.text and "is not a batch number" in refused.text
    export = console.get("/requester/money/ledger.csv?since=2026-13-01", allow_redirects=False)
    assert export.status_code == 303 and "refused" in export.headers["location"]


def test_a_cancel_whose_process_died_is_resumed_by_the_next_look(account: dict[str, Any], db: Any) -> None:
    """Also what an older service left behind: a batch cancelled before releases existed gets its money back."""
    console: ConsoleClient = account["console"]
    client = account["client"]
    layout_id = console.create_project("age_guess", reward="0.10", max_assignments="3")
    start = balance(client)
    batch_id = console.upload(layout_id, ROWS, "died")
    console.publish(batch_id)
    console.wait_published(batch_id)
    # The process died right after marking the batch cancelled: nothing expired, nothing released.
    db.execute(
        """UPDATE mturk.batches SET status = 'cancelled', cancel_finished_at = NULL, cancel_total = NULL,
               heartbeat = now() - interval '1 hour' WHERE batch_id = %s""",
        (batch_id,),
    )
    assert balance(client) == start - Decimal("1.44")
    progress = console.wait_cancelled(batch_id)  # its first poll restarts the release
    assert progress["cancel_done"] == 4 and progress["money"]["released"] == "$1.44"
    assert balance(client) == start
