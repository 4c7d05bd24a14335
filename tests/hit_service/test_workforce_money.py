"""Earnings statements, payout runs and the ledger's reconciliation, to the cent (real service, boto3)."""

from __future__ import annotations

import csv
import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from hit_service.core import identity
from hit_service.core.database import Store
from hit_service.stores.payouts import Payouts
from hitflow_support.crowd_client import submit_answer_over_http
from tests.hit_service.helpers import html_question, make_client
from tests.hit_service.workforce_support import wf_store

pytestmark = pytest.mark.integration
__all__ = ["wf_store"]  # fixture


def work(service: Any, client: Any, worker: dict[str, str], reward: str = "0.10", assignments: int = 1) -> str:
    """A HIT of ``client``'s worked by ``worker``; the assignment ID."""
    hit = client.create_hit(
        Title="Money test",
        Description="d",
        Reward=reward,
        AssignmentDurationInSeconds=600,
        LifetimeInSeconds=3600,
        MaxAssignments=assignments,
        Question=html_question("<form><input name='a'></form>"),
    )["HIT"]["HITId"]
    return submit_answer_over_http(service.url, worker["name"], worker["password"], hit, {"a": "1"})


def run_lines(store: Store, service_now: Any) -> tuple[int, list[dict[str, Any]]]:
    return Payouts(store).run_payout(service_now())


def test_a_payout_run_pays_what_is_owed_once_and_workers_see_paid_and_pending(
    service: Any, requester: tuple[str, Any], new_worker: Any, wf_store: Store, service_now: Any, operator: Any
) -> None:
    key, client = requester
    worker = new_worker()
    approved = work(service, client, worker, "0.10")
    client.approve_assignment(AssignmentId=approved)
    client.send_bonus(
        WorkerId=worker["worker_id"], BonusAmount="0.05", AssignmentId=approved, Reason="r", UniqueRequestToken=approved
    )
    waiting = work(service, client, worker, "0.07")  # submitted, not reviewed: not owed yet
    rejected = work(service, client, worker, "0.20")
    client.reject_assignment(AssignmentId=rejected, RequesterFeedback="No.")
    payouts = Payouts(wf_store)
    before = payouts.statement(worker["worker_id"])
    assert (before["owed"], before["paid"], before["awaiting_approval"]) == (
        Decimal("0.15"),
        Decimal("0.00"),
        Decimal("0.07"),
    )
    page = operator.get("/operator/workforce")
    token = re.search(r"name='csrf' value='([^']*)'", page.text).group(1)  # type: ignore[union-attr]
    ran = operator.post("/operator/workforce/payouts", data={"csrf": token})
    assert ran.status_code == 303
    run = int(ran.headers["location"].rsplit("=", 1)[1])
    exported = operator.get(f"/operator/workforce/payouts/{run}.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    mine = [r for r in rows if r["worker_id"] == worker["worker_id"]]
    assert [(r["requester_id"], r["items"], r["amount"]) for r in mine] == [(key, "2", "0.15")]
    after = payouts.statement(worker["worker_id"])
    assert (after["owed"], after["paid"]) == (Decimal("0.00"), Decimal("0.15"))
    # Nothing is paid twice: the next run holds only what was earned since.
    client.approve_assignment(AssignmentId=waiting)
    second, lines = run_lines(wf_store, service_now)
    assert second > run
    assert [(r["worker_id"], r["amount"]) for r in lines if r["worker_id"] == worker["worker_id"]] == [
        (worker["worker_id"], Decimal("0.07"))
    ]
    assert payouts.statement(worker["worker_id"])["paid"] == Decimal("0.22")


def test_two_payout_runs_at_once_pay_each_item_once(
    service: Any, requester: tuple[str, Any], new_worker: Any, wf_store: Store, service_now: Any
) -> None:
    _key, client = requester
    worker = new_worker()
    for _ in range(3):
        client.approve_assignment(AssignmentId=work(service, client, worker))
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run_lines(wf_store, service_now), range(2)))
    paid = [line for _run, lines in results for line in lines if line["worker_id"] == worker["worker_id"]]
    assert sum(line["amount"] for line in paid) == Decimal("0.30")
    assert sum(line["items"] for line in paid) == 3


def test_the_statement_is_by_requester_and_period(
    service: Any, new_worker: Any, client_factory: Any, wf_store: Store, advance: Any, service_now: Any
) -> None:
    worker = new_worker()
    early, late = client_factory(), client_factory()
    client_early = work(service, early, worker, "0.11")
    early.approve_assignment(AssignmentId=client_early)
    start = service_now()
    advance(3 * 86400)
    late.approve_assignment(AssignmentId=work(service, late, worker, "0.13"))
    payouts = Payouts(wf_store)
    whole = payouts.statement(worker["worker_id"])
    assert sorted(r["rewards"] for r in whole["by_requester"]) == [Decimal("0.11"), Decimal("0.13")]
    recent = payouts.statement(worker["worker_id"], since=start + timedelta(days=1))
    assert [r["rewards"] for r in recent["by_requester"]] == [Decimal("0.13")]
    before = payouts.statement(worker["worker_id"], until=start + timedelta(days=1))
    assert [r["rewards"] for r in before["by_requester"]] == [Decimal("0.11")]


def test_the_csv_is_safe_in_a_spreadsheet(
    service: Any, new_worker: Any, wf_store: Store, service_now: Any, db_url: str
) -> None:
    created = identity.add_requester(wf_store, '=HYPERLINK("http://evil.example","x")', Decimal("100.00"))
    client = make_client(service.url, created.access_key_id, secret=created.secret_access_key, register=False)
    worker = new_worker()
    client.approve_assignment(AssignmentId=work(service, client, worker))
    from hit_service.workforce.payouts import payout_csv

    _run, lines = run_lines(wf_store, service_now)
    text = payout_csv([line for line in lines if line["worker_id"] == worker["worker_id"]])
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["requester_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["amount"] == "0.10"


def test_the_ledger_reconciles_to_the_cent_and_a_stray_charge_shows(
    service: Any, requester: tuple[str, Any], new_worker: Any, wf_store: Store, db: Any
) -> None:
    key, client = requester
    workers = [new_worker() for _ in range(3)]
    hit = client.create_hit(
        Title="Reconcile",
        Description="d",
        Reward="0.33",
        AssignmentDurationInSeconds=600,
        LifetimeInSeconds=3600,
        MaxAssignments=12,  # the extra 20 % fee for 10+ assignments
        Question=html_question("<form><input name='a'></form>"),
    )["HIT"]["HITId"]
    done = [submit_answer_over_http(service.url, w["name"], w["password"], hit, {"a": "1"}) for w in workers]
    client.approve_assignment(AssignmentId=done[0])
    client.reject_assignment(AssignmentId=done[1], RequesterFeedback="No.")
    client.send_bonus(
        WorkerId=workers[0]["worker_id"], BonusAmount="1.01", AssignmentId=done[0], Reason="r", UniqueRequestToken="b"
    )
    account = Payouts(wf_store).reconcile(key)[key]
    assert account["balanced"], account["mismatches"]
    fee = Decimal("0.13")  # 40 % of 0.33, rounded half up
    assert account["earned"] == Decimal("0.33") + Decimal("1.01")
    assert account["fees"] == fee + Decimal("0.20")
    assert account["reserved"] == (Decimal("0.33") + fee) * 10  # 12 slots, one approved, one rejected
    assert account["charged"] == account["earned"] + account["fees"] + account["reserved"]
    balance = Decimal(client.get_account_balance()["AvailableBalance"])
    assert balance == Decimal("10000.00") - account["charged"]
    # The check can fail: a charge the work does not explain is reported on its HIT.
    db.execute(
        "INSERT INTO mturk.ledger (requester, amount, kind, hit_id, created_at) VALUES (%s, -0.01, 'hit', %s, now())",
        (key, hit),
    )
    account = Payouts(wf_store).reconcile(key)[key]
    assert not account["balanced"]
    assert [m["hit_id"] for m in account["mismatches"]] == [hit]
