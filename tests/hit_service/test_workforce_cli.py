"""The operator CLI's workforce commands against the service's database (real processes, real service)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from hit_service.core.database import Store
from hit_service.stores.workforce import WorkforceStore
from hitflow_support.crowd_client import submit_answer_over_http
from tests.hit_service.helpers import html_question, new_access_key
from tests.hit_service.test_cli import cli
from tests.hit_service.workforce_support import join, wf_store

pytestmark = pytest.mark.integration
__all__ = ["wf_store"]  # fixture


def test_an_operator_invitation_from_the_cli_makes_an_account_with_its_grant(
    db_url: str, service: Any, requester: tuple[str, Any], db: Any
) -> None:
    _key, client = requester
    qual = client.create_qualification_type(
        Name="CLI team " + new_access_key()[-6:], Description="d", QualificationTypeStatus="Active"
    )["QualificationType"]["QualificationTypeId"]
    env = {"HITFLOW_HIT_SERVICE_PUBLIC_URL": service.url}
    done = cli(db_url, "invitation", "create", "--uses", "1", "--days", "3", "--grant", f"{qual}=4", env=env)
    assert done.returncode == 0, done.stderr
    link = json.loads(done.stdout)["link"]
    assert link.startswith(f"{service.url}/join/")
    name = "cli-" + new_access_key()[-8:].lower()
    assert join(service.url, link.rsplit("/", 1)[1], name).status_code == 303
    worker_id = db.execute("SELECT worker_id FROM mturk.workers WHERE name = %s", (name,)).fetchone()[0]
    assert (
        client.get_qualification_score(QualificationTypeId=qual, WorkerId=worker_id)["Qualification"]["IntegerValue"]
        == 4
    )
    refused = cli(db_url, "invitation", "create", "--uses", "0")
    assert refused.returncode == 2 and "between 1 and" in refused.stderr


def test_sign_ups_are_approved_or_rejected_from_the_cli(db_url: str, wf_store: Store, db: Any) -> None:
    from datetime import UTC, datetime

    store = WorkforceStore(wf_store)
    names = ["cli-su-" + new_access_key()[-6:].lower() for _ in range(2)]
    ids = [store.request_signup(name, "a fine password", "", datetime.now(UTC)) for name in names]
    listed = json.loads(cli(db_url, "signup", "list").stdout)
    assert set(ids) <= {row["request_id"] for row in listed}
    assert cli(db_url, "signup", "approve", ids[0]).returncode == 0
    assert cli(db_url, "signup", "reject", ids[1]).returncode == 0
    again = cli(db_url, "signup", "approve", ids[1])
    assert again.returncode == 2 and "No pending sign-up" in again.stderr
    made = {r[0] for r in db.execute("SELECT name FROM mturk.workers WHERE name = ANY(%s)", (names,)).fetchall()}
    assert made == {names[0]}


def test_a_payout_run_from_the_cli_writes_the_csv_and_the_ledger_check_passes(
    db_url: str, service: Any, requester: tuple[str, Any], new_worker: Any, tmp_path: Path
) -> None:
    key, client = requester
    worker = new_worker()
    hit = client.create_hit(
        Title="CLI pay",
        Description="d",
        Reward="0.42",
        AssignmentDurationInSeconds=600,
        LifetimeInSeconds=600,
        MaxAssignments=1,
        Question=html_question("<form><input name='a'></form>"),
    )["HIT"]["HITId"]
    client.approve_assignment(
        AssignmentId=submit_answer_over_http(service.url, worker["name"], worker["password"], hit, {"a": "1"})
    )
    out = tmp_path / "payout.csv"
    done = cli(db_url, "payout", "run", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [(r["requester_id"], r["amount"]) for r in rows if r["worker_id"] == worker["worker_id"]] == [(key, "0.42")]
    run_id = rows[0]["payout_id"]
    again = cli(db_url, "payout", "export", run_id)
    assert list(csv.DictReader(io.StringIO(again.stdout.lstrip("\ufeff")))) == rows
    check = cli(db_url, "ledger", "check", key)
    assert check.returncode == 0, check.stdout
    report = json.loads(check.stdout)[key]
    assert report["balanced"] and report["earned"] == "0.42"
