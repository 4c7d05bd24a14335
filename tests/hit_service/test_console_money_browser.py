"""The requester's money and CSV files in Chromium, as a requester sees them.

The ledger paged, filtered and exported (reconciled with boto3's GetAccountBalance); the name
workers see; a bonus typed as people type it; a cancel releasing money with its progress; a
reviewed file with failures; a semicolon file whose rows were published before.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hitflow_support.console_client import ConsoleClient
from hitflow_support.crowd_client import submit_answer_over_http
from hitflow_support.service_process import ServiceProcess
from tests.hit_service.test_clients import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.integration

ROWS = "person_id,image_url\n" + "".join(f"P{i},https://img.example.org/{i}.jpg\n" for i in range(1, 121))


def test_money_cancel_and_csv_files_in_the_browser(
    account: dict[str, Any], service: ServiceProcess, new_worker: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    client = account["client"]
    console: ConsoleClient = account["console"]
    base = service.url
    layout_id = console.create_project("age_guess", reward="0.10", max_assignments="3")
    batch_id = console.upload(layout_id, ROWS.encode(), "120 photos")
    console.publish(batch_id)
    assert console.wait_published(batch_id)["created"] == 120
    worker = new_worker()
    hit_id = next(h["HITId"] for h in client.list_hits(MaxResults=100)["HITs"])
    assignment_id = submit_answer_over_http(base, worker["name"], worker["password"], hit_id, {"age": "41"})

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page.set_default_timeout(20_000)
            page.goto(f"{base}/requester/login?next=/requester/money")
            page.fill("#name", account["user"])
            page.fill("#password", account["password"])
            page.click("#signin")
            page.wait_for_url(f"{base}/requester/money")

            # The whole ledger: 100 entries a page, then the older ones (the opening balance last).
            expect(page.locator("#ledger tbody tr")).to_have_count(100)
            expect(page.locator("#ledger-totals")).to_contain_text("121 entries")
            page.click("#ledger-older")
            expect(page.locator("#ledger tbody tr")).to_have_count(21)
            expect(page.locator("#ledger tbody tr").last).to_contain_text("opening")
            expect(page.locator("#balance")).to_have_text("$9,956.80")  # $10,000 − 120 × $0.36
            page.select_option("#f-kind", "opening")
            page.click("#f-apply")
            expect(page.locator("#ledger tbody tr")).to_have_count(1)
            page.goto(f"{base}/requester/money?since=yesterday")
            expect(page.locator("#ledger-errors")).to_contain_text("is not a date")

            # The name workers see, instead of the account's key ID.
            page.goto(f"{base}/requester/money")
            page.fill("#requester-name", "Age Study Lab")
            page.get_by_role("button", name="Save name").click()
            expect(page.locator(".note")).to_contain_text("workers now see this name")
            worker_page = browser.new_page(viewport={"width": 390, "height": 844})
            worker_page.set_default_timeout(20_000)
            worker_page.goto(f"{base}/worker/login")
            worker_page.fill("#name", worker["name"])
            worker_page.fill("#password", worker["password"])
            worker_page.click("#signin")
            worker_page.wait_for_url(f"{base}/worker")
            expect(worker_page.locator("body")).to_contain_text("Age Study Lab")
            assert account["key"] not in worker_page.content()
            worker_page.close()

            # A bonus typed "$1" is paid as $1.00; "1.005" gets our message, not the browser's.
            page.goto(f"{base}/requester/workers/{worker['worker_id']}")
            page.fill("#bonus-amount", "1.005")
            page.fill("#bonus-reason", "Careful work.")
            page.click("#pay-bonus")
            expect(page.locator(".note")).to_contain_text("A bonus is dollars and cents")
            assert client.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"] == []
            page.fill("#bonus-amount", "$1")
            page.fill("#bonus-reason", "Careful work.")
            page.click("#pay-bonus")
            expect(page.locator(".note")).to_contain_text("Bonus paid")
            bonuses = client.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"]
            assert [b["BonusAmount"] for b in bonuses] == ["1.00"]

            # The batch's boxes: rewards, fees and the bonus apart; then cancel it.
            page.goto(f"{base}/requester/batches/{batch_id}")
            expect(page.locator("#m-rewards")).to_have_text("$36.00")
            expect(page.locator("#m-fees")).to_have_text("$7.20")
            expect(page.locator("#m-bonuses")).to_have_text("$1.00")
            expect(page.locator("#m-bonus_fees")).to_have_text("$0.20")
            expect(page.locator("#m-total")).to_have_text("$44.40")
            page.locator("summary", has_text="cancel the batch").click()
            page.click("#cancel-batch")
            expect(page.locator(".note")).to_contain_text("given back")
            expect(page.locator("#c-state")).to_have_text("Done.")
            expect(page.locator("#c-done")).to_have_text("120")
            expect(page.locator("#m-released")).to_have_text("$43.08")  # 359 untaken slots × $0.12
            expect(page.locator("#p-left")).to_have_text("none (cancelled)")
            expect(page.locator("#m-total")).to_have_text("$1.32")  # the submitted slot and the bonus
            page.screenshot(path=str(tmp_path / "console-cancelled-1280.png"), full_page=True)
            balance = Decimal(client.get_account_balance()["AvailableBalance"])
            assert balance == Decimal("10000.00") - Decimal("1.32")

            # The export reconciles to the cent with GetAccountBalance.
            page.goto(f"{base}/requester/money")
            expect(page.locator("#balance")).to_have_text(f"${balance:,.2f}")
            with page.expect_download() as download:
                page.click("#ledger-export")
            entries = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
            assert sum(Decimal(e["amount"]) for e in entries) == balance
            assert Decimal(entries[-1]["balance_after"]) == balance
            assert sum(1 for e in entries if e["kind"] == "release") == 120
            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=str(tmp_path / "console-money-390.png"), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 900})

            # A reviewed file whose every row fails is not called "applied".
            reviewed = tmp_path / "reviewed.csv"
            reviewed.write_text("AssignmentId,Approve,Reject\nNOSUCHASSIGNMENT1,X,\nNOSUCHASSIGNMENT2,X,\n")
            page.goto(f"{base}/requester/batches/{batch_id}")
            page.set_input_files("#reviewed-file", str(reviewed))
            page.click("#upload-reviewed")
            expect(page.locator("h1")).to_have_text("Reviewed file not applied")
            expect(page.locator("#review-summary")).to_contain_text("0 applied · 0 skipped (already done) · 2 failed")

            # A semicolon file (Excel in much of Europe) whose first rows were published before.
            again = tmp_path / "again.csv"
            again.write_bytes(
                "\ufeffimage_url;person_id\r\n".encode()
                + "".join(f"https://img.example.org/{i}.jpg;P{i}\r\n" for i in (1, 2, 3, 500)).encode()
            )
            page.goto(f"{base}/requester/projects/{layout_id}/publish")
            page.fill("#batch-name", "again")
            page.set_input_files("#csv-file", str(again))
            page.click("#upload")
            page.wait_for_url(f"{base}/requester/batches/*/confirm")
            expect(page.locator("#delimiter")).to_have_text("semicolon")
            expect(page.locator("#duplicate-warning")).to_contain_text("3 of 4 rows were published before")
            expect(page.locator("#duplicate-warning")).to_contain_text(f"batch #{batch_id}")
            expect(page.locator("#new-cost")).to_have_text("$0.36")
            expect(page.locator("#publish-new")).to_be_checked()
            page.screenshot(path=str(tmp_path / "console-duplicates-1280.png"), full_page=True)
            page.click("#publish")
            page.wait_for_url(f"{base}/requester/batches/*")
            expect(page.locator("#p-status")).to_have_text("published")
            expect(page.locator("#p-created")).to_have_text("1")
            expect(page.locator("#p-rows")).to_have_text("1")
            expect(page.locator("#plan")).to_contain_text("3 row(s) left out as already published")
        finally:
            browser.close()
