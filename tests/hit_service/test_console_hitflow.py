"""hitflow batches on the requester console's API page, each linked to its report in Airflow.

HITs are published through boto3 with the annotation hitflow's publish DAG writes, for two
requesters; each sees only its own batches with their counts. The session's service has no
``HITFLOW_AIRFLOW_URL`` (the page says how to set it); a second service on the same database
has it (the page links each batch's report at the URL the Airflow plugin serves it).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from hit_service.console.hitflow import report_url as console_report_url
from hit_service.settings import Settings, SettingsError
from hitflow.ui.links import report_url as plugin_report_url
from hitflow_support.crowd_client import submit_answer_over_http
from hitflow_support.service_process import ServiceProcess, start_service
from tests.hit_service.helpers import (
    ACCESS_KEY,
    OPERATOR_PASSWORD,
    SECRET_KEY,
    add_user,
    html_question,
    make_client,
    new_access_key,
)
from tests.hit_service.test_clients import CHROMIUM, CHROMIUM_ARGS

AIRFLOW = "http://airflow.example.test:8080/"


@pytest.mark.parametrize("base", ["http://127.0.0.1:8080", "http://127.0.0.1:8080/", "https://af.example/sub/"])
def test_the_console_builds_the_report_url_the_airflow_plugin_serves(base: str) -> None:
    """The service replicates links.py's rule (it may not import plugins/): they must not drift."""
    batch = str(uuid.uuid4())
    assert console_report_url(base, batch) == plugin_report_url(base, batch)


def test_hitflow_airflow_url_is_read_and_a_bad_one_refused() -> None:
    """Unset means no link; an address without its scheme stops the service rather than making dead links."""
    env = {"HITFLOW_HIT_SERVICE_DB_URL": "postgresql://x/y"}
    assert Settings.from_env(env).airflow_url == ""
    assert (
        Settings.from_env({**env, "HITFLOW_AIRFLOW_URL": " https://af.example/ "}).airflow_url == "https://af.example/"
    )
    with pytest.raises(SettingsError, match="HITFLOW_AIRFLOW_URL must start with http"):
        Settings.from_env({**env, "HITFLOW_AIRFLOW_URL": "af.example:8080"})


def publish(client: Any, batch: str, rows: range) -> list[str]:
    """HITs as hitflow's publish DAG makes them: one per row, annotated with the batch and row."""
    return [
        client.create_hit(
            Title=f"hitflow row {row}",
            Description="How old is this person?",
            Reward="0.05",
            MaxAssignments=2,
            AssignmentDurationInSeconds=300,
            LifetimeInSeconds=3600,
            Question=html_question(),
            RequesterAnnotation=f"hitflow batch {batch} row {row}",
        )["HIT"]["HITId"]
        for row in rows
    ]


def new_account(service: ServiceProcess, db_url: str) -> dict[str, Any]:
    """A requester account (boto3 client made first: it registers the key) and its console user."""
    key = new_access_key()
    client = make_client(service.url, key)
    password = "pw-" + key.lower()
    return {"key": key, "client": client, "user": add_user(db_url, key, password), "password": password}


@pytest.mark.integration
def test_hitflow_batches_and_their_report_links_in_the_browser(
    service: ServiceProcess, db_url: str, layouts_dir: Path, new_worker: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    mine, theirs = new_account(service, db_url), new_account(service, db_url)
    first, second, foreign = (str(uuid.uuid4()) for _ in range(3))
    first_hits = publish(mine["client"], first, range(1, 4))
    publish(mine["client"], second, range(1, 3))
    publish(theirs["client"], foreign, range(1, 6))
    # An API HIT without hitflow's annotation is no hitflow batch.
    mine["client"].create_hit(
        Title="plain", Description="d", Reward="0.05", AssignmentDurationInSeconds=300,
        LifetimeInSeconds=3600, Question=html_question(), RequesterAnnotation="my own note",
    )  # fmt: skip
    # Work on the first batch: 3 submitted (two on one HIT), 1 of them approved.
    worker_a, worker_b = new_worker(), new_worker()
    done = [
        submit_answer_over_http(service.url, worker_a["name"], worker_a["password"], first_hits[0], {"age": "30"}),
        submit_answer_over_http(service.url, worker_b["name"], worker_b["password"], first_hits[0], {"age": "31"}),
        submit_answer_over_http(service.url, worker_a["name"], worker_a["password"], first_hits[1], {"age": "32"}),
    ]
    mine["client"].approve_assignment(AssignmentId=done[0])

    with (
        start_service(
            db_url,
            test_mode=True,
            requester_keys={ACCESS_KEY: SECRET_KEY},
            extra_env={
                "HITFLOW_LAYOUTS_DIR": str(layouts_dir),
                "HITFLOW_HIT_SERVICE_OPERATOR_PASSWORD": OPERATOR_PASSWORD,
                "HITFLOW_AIRFLOW_URL": AIRFLOW,
            },
            log_path=tmp_path / "with_airflow.log",
        ) as linked,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:

            def api_page(base: str, account: dict[str, Any]) -> Any:
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.set_default_timeout(20_000)
                page.goto(f"{base}/requester/login?next=/requester/batches")
                page.fill("#name", account["user"])
                page.fill("#password", account["password"])
                page.click("#signin")
                page.wait_for_url(f"{base}/requester/batches")
                page.click("#api-hits")
                page.wait_for_url(f"{base}/requester/batches/api")
                return page

            def row(page: Any, batch: str) -> Any:
                return page.locator(f'#hitflow-batches tr[data-batch="{batch}"]')

            # Without HITFLOW_AIRFLOW_URL: the batches and their counts, no link, how to set it.
            page = api_page(service.url, mine)
            expect(page.locator("#hitflow-batches tbody tr")).to_have_count(2)
            expect(row(page, foreign)).to_have_count(0)
            for batch, hits, submitted, approved in ((first, "3", "3", "1"), (second, "2", "0", "0")):
                expect(row(page, batch).locator(".hits")).to_have_text(hits)
                expect(row(page, batch).locator(".submitted")).to_have_text(submitted)
                expect(row(page, batch).locator(".approved")).to_have_text(approved)
            expect(page.locator("#hitflow-batches a.report")).to_have_count(0)
            expect(page.locator("#hitflow-no-airflow")).to_contain_text("HITFLOW_AIRFLOW_URL")
            # The newest batch first.
            expect(page.locator("#hitflow-batches tbody tr").first).to_have_attribute("data-batch", second)

            # With it: each batch links its report where the Airflow plugin serves it.
            page = api_page(linked.url, mine)
            expect(page.locator("#hitflow-no-airflow")).to_have_count(0)
            link = row(page, first).get_by_role("link", name="Report in Airflow")
            expect(link).to_have_attribute("href", plugin_report_url(AIRFLOW, first))
            expect(row(page, second).get_by_role("link", name="Report in Airflow")).to_have_attribute(
                "href", plugin_report_url(AIRFLOW, second)
            )
            expect(row(page, foreign)).to_have_count(0)

            # The other requester sees its own batch only.
            page = api_page(linked.url, theirs)
            expect(page.locator("#hitflow-batches tbody tr")).to_have_count(1)
            expect(row(page, foreign).locator(".hits")).to_have_text("5")
            expect(row(page, first)).to_have_count(0)
            expect(row(page, foreign).get_by_role("link", name="Report in Airflow")).to_have_attribute(
                "href", plugin_report_url(AIRFLOW, foreign)
            )
        finally:
            browser.close()
