"""The CSV round trip in a real browser: publish DAG (mode=csv) → console → workers → review → results.

Chromium (Debian's, driven by Playwright) signs in to the requester console, makes a project from
the age-guess starter, uploads the ``input.csv`` the publish DAG exported in csv mode, checks the
cost, publishes, reviews what simulated workers answered, downloads MTurk's results CSV, uploads
it reviewed — and boto3 confirms every status. Screenshots at 1280 and 390 px go to
``$HITFLOW_SCREENSHOTS`` (or the test's temp dir).
"""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from hitflow_support.crowd_client import submit_answer_over_http
from tests.integration.helpers import ACCESS_KEY, good_rows, run, seed, service_hits

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
DAY = datetime(2026, 11, 25, tzinfo=UTC)


def _worker(service: Any, name: str) -> dict[str, str]:
    password = f"pw-{name}-secret"
    response = requests.post(
        f"{service.url}/_test/workers", json={"name": name, "password": password, "locale": "US"}, timeout=10
    )
    response.raise_for_status()
    return {**response.json(), "password": password}


def _shots(page: Any, directory: Path, name: str) -> None:
    """The current page at desktop and phone width (then back to desktop)."""
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(directory / f"console-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_csv_round_trip_in_the_browser(
    dag: Any, source_db: str, mturk: Any, hit_service: Any, clean_state: None, tmp_path: Path
) -> None:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run `make browser` (Debian's chromium)"
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("HITFLOW_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    seed(source_db, good_rows(1, 4, DAY - timedelta(hours=3)))
    state, summary = run(dag, None, mode="csv")
    assert state == "success" and summary is not None and service_hits(mturk) == []
    assert summary["console_url"] == f"{hit_service.url}/requester/projects"
    input_csv = Path(summary["files"]["input_csv"])

    password = "console-journey-pw"
    requests.post(
        f"{hit_service.url}/_test/requester-users",
        json={"account": ACCESS_KEY, "name": "journey", "password": password},
        timeout=10,
    ).raise_for_status()
    base = hit_service.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page.set_default_timeout(20_000)
            # Sign in (the console sends an unknown visitor to its sign-in page).
            page.goto(f"{base}/requester/batches")
            page.wait_for_url(f"{base}/requester/login*")
            page.fill("#name", "journey")
            page.fill("#password", "wrong password")
            page.click("#signin")
            expect(page.locator(".error")).to_contain_text("Wrong user name or password")
            page.fill("#name", "journey")
            page.fill("#password", password)
            page.click("#signin")
            page.wait_for_url(f"{base}/requester/batches")

            # A project from the age-guess starter.
            page.get_by_role("link", name="Projects", exact=True).click()
            _shots(page, shots, "projects")
            page.click("text=Age guess (plain HTML form)")
            _shots(page, shots, "project-form")
            page.click("#save-project")
            expect(page.locator(".note")).to_contain_text("Project created")
            layout_id = page.locator("#layout-id").inner_text()

            # Preview as a worker sees it: the task renders, Submit is blocked.
            page.get_by_role("link", name="Preview", exact=True).click()
            frame = page.frame_locator("#preview-frame")
            expect(frame.locator("h1")).to_have_text("How old is this person?")
            expect(frame.locator("#submitButton")).to_be_disabled()
            _shots(page, shots, "preview")

            # Upload the DAG's file; check the cost; publish.
            page.get_by_role("link", name="Publish batch").click()
            page.fill("#batch-name", "November photos")
            page.set_input_files("#csv-file", str(input_csv))
            page.click("#upload")
            page.wait_for_url(f"{base}/requester/batches/*/confirm")
            expect(page.locator("#row-count")).to_have_text("4")
            expect(page.locator("#total-cost")).to_have_text("$1.44")  # 4 HITs × 3 × ($0.10 + $0.02)
            expect(page.locator("#balance")).to_have_text("$10,000.00")
            expect(page.frame_locator("iframe").first.locator("figcaption")).to_have_text("Person P1")
            _shots(page, shots, "confirm")
            page.click("#publish")
            page.wait_for_url(f"{base}/requester/batches/*")
            batch_id = int(page.url.split("/")[-1].split("?")[0])
            expect(page.locator("#p-status")).to_have_text("published", timeout=30_000)
            expect(page.locator("#p-created")).to_have_text("4")
            expect(page.locator("#p-available")).to_have_text("12")

            hits = service_hits(mturk)
            assert len(hits) == 4 and {h["RequesterAnnotation"] for h in hits} == {f"BatchId:{batch_id};"}
            assert {h["HITLayoutId"] for h in hits} == {layout_id}

            # Simulated workers answer every HIT, two each.
            ana, ben = _worker(hit_service, "journey-ana"), _worker(hit_service, "journey-ben")
            ages: dict[str, str] = {}
            for i, hit in enumerate(sorted(hits, key=lambda h: h["CreationTime"])):
                for j, worker in enumerate((ana, ben)):
                    age = str(30 + 2 * i + j)
                    assignment = submit_answer_over_http(
                        base, worker["name"], worker["password"], hit["HITId"], {"age": age}
                    )
                    ages[assignment] = age

            # Review in the console: approve one, reject one (feedback required).
            page.reload()
            expect(page.locator("#p-submitted")).to_have_text("8")
            rows = page.locator("#assignments tbody tr")
            expect(rows).to_have_count(8)
            approved_id = rows.nth(0).get_attribute("data-assignment")
            rejected_id = rows.nth(1).get_attribute("data-assignment")
            _shots(page, shots, "batch")
            rows.nth(0).locator("input[type=checkbox]").check()
            page.click("#approve-selected")
            expect(page.locator("#review-summary")).to_contain_text("1 applied")
            page.get_by_role("link", name="Back to the batch").click()
            page.locator(f'tr[data-assignment="{rejected_id}"] input[type=checkbox]').check()
            page.click("#reject-selected")
            expect(page.locator(".note")).to_contain_text("needs feedback")
            page.locator(f'tr[data-assignment="{rejected_id}"] input[type=checkbox]').check()
            page.fill("#feedback", "Please look at the photo before answering.")
            page.click("#reject-selected")
            expect(page.locator("#review-summary")).to_contain_text("1 applied")
            page.get_by_role("link", name="Back to the batch").click()
            expect(page.locator("#p-approved")).to_have_text("1")
            expect(page.locator("#p-rejected")).to_have_text("1")

            # Download MTurk's results CSV.
            with page.expect_download() as info:
                page.click("#download")
            download = info.value
            assert download.suggested_filename == f"Batch_{batch_id}_batch_results.csv"
            text = Path(download.path()).read_text(encoding="utf-8")
        finally:
            browser.close()

        table = list(csv.DictReader(io.StringIO(text)))
        assert len(table) == 8
        header = list(table[0])
        assert header[:3] == ["HITId", "HITTypeId", "Title"] and header[-2:] == ["Approve", "Reject"]
        for column in (
            "Reward",
            "CreationTime",
            "MaxAssignments",
            "RequesterAnnotation",
            "AssignmentId",
            "WorkerId",
            "AssignmentStatus",
            "AcceptTime",
            "SubmitTime",
            "AutoApprovalTime",
            "ApprovalTime",
            "RejectionTime",
            "RequesterFeedback",
            "WorkTimeInSeconds",
            "Input.person_id",
            "Input.image_url",
            "Answer.age",
        ):
            assert column in header, column
        by_id = {r["AssignmentId"]: r for r in table}
        assert set(by_id) == set(ages)
        for assignment_id, age in ages.items():
            assert by_id[assignment_id]["Answer.age"] == age
        assert by_id[approved_id]["AssignmentStatus"] == "Approved" and by_id[approved_id]["ApprovalTime"]
        assert by_id[rejected_id]["AssignmentStatus"] == "Rejected"
        assert by_id[rejected_id]["RequesterFeedback"] == "Please look at the photo before answering."
        assert {r["Input.person_id"] for r in table} == {"P1", "P2", "P3", "P4"}
        assert {r["Reward"] for r in table} == {"$0.10"} and {r["MaxAssignments"] for r in table} == {"3"}
        assert {r["WorkerId"] for r in table} == {ana["worker_id"], ben["worker_id"]}

        # Review offline: X under Approve for the submitted ones, a reason under Reject for one.
        expected = {approved_id: "Approved", rejected_id: "Rejected"}
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=header, quoting=csv.QUOTE_ALL)
        writer.writeheader()
        submitted = [r for r in table if r["AssignmentStatus"] == "Submitted"]
        for r in table:
            if r is submitted[0]:
                r["Reject"], expected[r["AssignmentId"]] = "Not an age in years.", "Rejected"
            elif r["AssignmentStatus"] == "Submitted":
                r["Approve"], expected[r["AssignmentId"]] = "X", "Approved"
            writer.writerow(r)
        reviewed = tmp_path / "reviewed.csv"
        reviewed.write_text(out.getvalue(), encoding="utf-8")

        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)
            page.goto(f"{base}/requester/login?next=/requester/batches/{batch_id}")
            page.fill("#name", "journey")
            page.fill("#password", password)
            page.click("#signin")
            page.wait_for_url(f"{base}/requester/batches/{batch_id}")
            page.set_input_files("#reviewed-file", str(reviewed))
            page.click("#upload-reviewed")
            expect(page.locator("#review-summary")).to_have_text("6 applied · 0 skipped (already done) · 0 failed")
            _shots(page, shots, "reviewed")
            page.get_by_role("link", name="Back to the batch").click()
            page.set_input_files("#reviewed-file", str(reviewed))  # the same file again: nothing twice
            page.click("#upload-reviewed")
            expect(page.locator("#review-summary")).to_have_text("0 applied · 6 skipped (already done) · 0 failed")
            page.goto(f"{base}/requester/workers")
            expect(page.locator("#workers tbody tr")).to_have_count(2)
            _shots(page, shots, "workers")
            page.goto(f"{base}/requester/money")
            _shots(page, shots, "money")
        finally:
            browser.close()

    for hit in hits:
        for a in mturk.list_assignments_for_hit(HITId=hit["HITId"], MaxResults=100)["Assignments"]:
            assert a["AssignmentStatus"] == expected[a["AssignmentId"]], a["AssignmentId"]
    assert sorted(expected.values()).count("Rejected") == 2 and len(expected) == 8
