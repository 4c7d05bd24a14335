"""The console's worker, qualification and money pages in Chromium (Debian's, driven by Playwright).

The CSV round trip itself runs in the browser in ``tests/integration/test_console_journey.py``.
Every effect is checked through boto3: the console's buttons are the API's operations.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hitflow_support.console_client import ConsoleClient
from hitflow_support.crowd_client import submit_answer_over_http
from hitflow_support.service_process import ServiceProcess
from tests.hit_service.helpers import CONSOLE_CSV as GOOD
from tests.hit_service.test_clients import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.integration


def test_workers_quals_and_money_in_the_browser(
    account: dict[str, Any],
    service: ServiceProcess,
    new_worker: Any,
    tmp_path: Path,
) -> None:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run `make browser` (Debian's chromium)"
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("HITFLOW_SCREENSHOTS") or tmp_path)
    client = account["client"]
    console: ConsoleClient = account["console"]
    layout_id = console.create_project("age_guess", max_assignments="1")
    batch_id = console.upload(layout_id, GOOD)
    console.publish(batch_id)
    console.wait_published(batch_id)
    worker = new_worker()
    hit_id = client.list_hits()["HITs"][0]["HITId"]
    assignment_id = submit_answer_over_http(service.url, worker["name"], worker["password"], hit_id, {"age": "41"})
    base = service.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            page.goto(f"{base}/requester/login")
            page.fill("#name", account["user"])
            page.fill("#password", account["password"])
            page.click("#signin")
            page.wait_for_url(f"{base}/requester")

            # A qualification type: create, edit, then grant it to the worker.
            page.get_by_role("link", name="Qualifications").click()
            page.fill("#qual-name", "Careful age guesser")
            page.fill("textarea[name=description]", "Guesses within five years.")
            page.click("#create-qual")
            expect(page.locator(".note")).to_contain_text("created")
            page.get_by_role("link", name="Careful age guesser").click()
            page.fill("textarea[name=description]", "Guesses within three years.")
            page.get_by_role("button", name="Save").click()
            expect(page.locator(".note")).to_contain_text("Saved")
            types = client.list_qualification_types(MustBeRequestable=False, MustBeOwnedByCaller=True)
            (qual,) = types["QualificationTypes"]
            assert qual["Description"] == "Guesses within three years."

            # The worker: figures, a bonus paid once whatever the clicks, a block, a qualification.
            page.get_by_role("link", name="Workers").click()
            row = page.locator("#workers tbody tr")
            expect(row).to_have_count(1)
            expect(row).to_contain_text("1")
            row.locator("a").click()
            page.fill("#bonus-amount", "0.50")
            page.fill("#bonus-reason", "Thanks for the careful answer.")
            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=str(shots / "console-worker-390.png"), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 900})
            page.screenshot(path=str(shots / "console-worker-1280.png"), full_page=True)
            form = {
                "csrf": page.input_value("#pay-bonus >> xpath=.. >> input[name=csrf]"),
                "nonce": page.input_value("#pay-bonus >> xpath=.. >> input[name=nonce]"),
                "assignment": assignment_id,
                "amount": "0.50",
                "reason": "Thanks for the careful answer.",
            }
            # Two clicks before the first answer arrives, then the same form sent once more (a
            # retry, a resent POST): the form's token makes every repeat a no-op.
            page.evaluate(
                "(() => { const f = document.querySelector('#pay-bonus').form;"
                " f.requestSubmit(); f.requestSubmit(); })()"
            )
            expect(page.locator(".note")).to_contain_text("paid")
            resent = page.request.post(f"{base}/requester/workers/{worker['worker_id']}/bonus", form=form)
            assert "not paid again" in resent.text()
            bonuses = client.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"]
            assert [b["BonusAmount"] for b in bonuses] == ["0.50"]

            page.select_option("#grant-type", qual["QualificationTypeId"])
            page.fill("#grant-score", "87")
            page.click("#grant")
            expect(page.locator("#worker-quals")).to_contain_text("Careful age guesser: 87")
            score = client.get_qualification_score(
                QualificationTypeId=qual["QualificationTypeId"], WorkerId=worker["worker_id"]
            )["Qualification"]
            assert score["IntegerValue"] == 87 and score["Status"] == "Granted"
            page.click("#revoke")
            expect(page.locator(".note")).to_contain_text("revoked")

            page.fill("#block-reason", "Answers without looking.")
            page.click("#block")
            expect(page.locator("#blocked")).to_contain_text("Answers without looking.")
            blocks = client.list_worker_blocks()["WorkerBlocks"]
            assert blocks == [{"WorkerId": worker["worker_id"], "Reason": "Answers without looking."}]
            page.click("#unblock")
            expect(page.locator(".note")).to_contain_text("Unblocked")
            assert client.list_worker_blocks()["WorkerBlocks"] == []

            # Money: the balance GetAccountBalance reports and the ledger behind it.
            page.get_by_role("link", name="Money").click()
            balance = client.get_account_balance()["AvailableBalance"]
            expect(page.locator("#balance")).to_have_text(f"${Decimal(balance):,.2f}")  # thousands separated
            expect(page.locator("#ledger tbody tr")).to_have_count(4)  # the opening balance, 2 HITs and 1 bonus
            page.screenshot(path=str(shots / "console-money-1280.png"), full_page=True)

            # Retire the qualification type.
            page.get_by_role("link", name="Qualifications").click()
            page.get_by_role("link", name="Careful age guesser").click()
            page.click("#retire")
            expect(page.locator(".note")).to_contain_text("retired")
        finally:
            browser.close()
    assert (
        client.list_qualification_types(MustBeRequestable=False, MustBeOwnedByCaller=True)["QualificationTypes"] == []
    )


def test_crowd_starter_is_previewed_worked_and_flattened_in_the_results(
    account: dict[str, Any], service: ServiceProcess, new_worker: Any
) -> None:
    """The sentiment starter (Crowd HTML Elements): preview blocks Submit, a worker answers, the CSV flattens it."""
    import csv
    import io
    import time

    from playwright.sync_api import expect, sync_playwright

    client = account["client"]
    console: ConsoleClient = account["console"]
    layout_id = console.create_project("sentiment", max_assignments="1")
    batch_id = console.upload(layout_id, b'text\n"The soup was cold, but the waiter was kind."\n')
    console.publish(batch_id)
    console.wait_published(batch_id)
    (hit,) = client.list_hits()["HITs"]
    worker = new_worker()
    base = service.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            page.goto(f"{base}/requester/login?next=/requester/projects/{layout_id}/preview")
            page.fill("#name", account["user"])
            page.fill("#password", account["password"])
            page.click("#signin")
            preview = page.frame_locator("#preview-frame")
            expect(preview.get_by_role("radio", name="Positive")).to_be_visible()
            expect(preview.get_by_role("button", name="Submit")).to_be_disabled()

            worker_page = browser.new_page(viewport={"width": 390, "height": 844})
            worker_page.set_default_timeout(15_000)
            worker_page.goto(f"{base}/worker/login")
            worker_page.fill("#name", worker["name"])
            worker_page.fill("#password", worker["password"])
            worker_page.click("#signin")
            worker_page.goto(f"{base}/worker/hits/{hit['HITId']}")
            worker_page.click("#accept")
            frame = worker_page.frame_locator("#hit-frame")
            expect(frame.get_by_text("The soup was cold, but the waiter was kind.")).to_be_visible()
            frame.get_by_role("radio", name="Mixed").click()
            frame.get_by_role("button", name="Submit").click()
            deadline = time.monotonic() + 15
            while not client.list_assignments_for_hit(HITId=hit["HITId"])["Assignments"]:
                assert time.monotonic() < deadline, "the crowd-form answer never arrived"
                time.sleep(0.2)
        finally:
            browser.close()
    (row,) = list(csv.DictReader(io.StringIO(console.results_csv(batch_id))))
    assert row["Input.text"] == "The soup was cold, but the waiter was kind."
    assert row["Answer.sentiment.label"] == "Mixed"
    assert '"sentiment.label":"Mixed"' in row["Answer.taskAnswers"].replace(" ", "")
