"""Panel links and login CSRF: only the study page's own Start form signs a browser in.

A plain GET of ``/panel/<link>?PROLIFIC_PID=…`` once made the panel ID's account, signed the
browser in and accepted a HIT, so any page elsewhere could sign a visitor in as a panel ID of its
choosing. Now the GET shows the study and a Start button; only that form's POST (CSRF token bound
to the ``SameSite=Strict`` nonce cookie) does it. Over HTTP and in Chromium from another origin.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hit_service.core.database import Store
from hit_service.stores.panels import PanelStore
from tests.hit_service.browser import chromium
from tests.hit_service.elsewhere import elsewhere
from tests.hit_service.helpers import html_question, new_access_key
from tests.hit_service.workforce_support import form_token, from_address, wf_store

pytestmark = pytest.mark.integration
__all__ = ["chromium", "wf_store"]  # fixtures

WORKER_COOKIE = "hitflow_worker"


def panel_link(requester: tuple[str, Any], wf_store: Store, service_now: Any) -> tuple[str, str]:
    """A one-HIT group published as a panel link: (link ID, the study's title)."""
    key, client = requester
    title = "Panel CSRF " + key[-6:]
    hit_type = client.create_hit_type(Title=title, Description="d", Reward="0.05", AssignmentDurationInSeconds=600)
    group = client.create_hit_with_hit_type(
        HITTypeId=hit_type["HITTypeId"], MaxAssignments=1, LifetimeInSeconds=600, Question=html_question()
    )["HIT"]["HITGroupId"]
    return PanelStore(wf_store).create_link(key, group, "https://panel.example.org/done", "ABC", service_now()), title


def traces(db: Any, link_id: str, pid: str) -> dict[str, int]:
    """What exists for the panel ID: its account, its visits, assignments of the link's group taken by it."""
    one = lambda sql: db.execute(sql, (pid,)).fetchone()[0]  # noqa: E731
    return {
        "accounts": one("SELECT count(*) FROM mturk.worker_profiles WHERE panel_pid = %s"),
        "visits": one("SELECT count(*) FROM mturk.panel_visits WHERE panel_pid = %s"),
        "assignments": one(
            """SELECT count(*) FROM mturk.assignments a JOIN mturk.worker_profiles p USING (worker_id)
               WHERE p.panel_pid = %s"""
        ),
    }


NOTHING = {"accounts": 0, "visits": 0, "assignments": 0}


def test_the_study_links_get_changes_nothing_and_only_its_own_form_starts(
    service: Any, requester: tuple[str, Any], wf_store: Store, service_now: Any, db: Any
) -> None:
    link, title = panel_link(requester, wf_store, service_now)
    pid = new_access_key()[-24:]
    query = {"PROLIFIC_PID": pid, "STUDY_ID": "study-1", "SESSION_ID": "s-1"}
    with httpx.Client(base_url=service.url, timeout=10, headers=from_address()) as browser:
        page = browser.get(f"/panel/{link}", params=query)
        assert page.status_code == 200 and title in page.text and WORKER_COOKIE not in browser.cookies
        assert traces(db, link, pid) == NOTHING
        # A POST without the page's token (as a form elsewhere would send it) changes nothing either.
        forged = browser.post(f"/panel/{link}", data=query)
        assert forged.status_code == 403 and "expired" in forged.text and WORKER_COOKIE not in browser.cookies
        wrong = browser.post(f"/panel/{link}", data={**query, "csrf": "x" * 43})
        assert wrong.status_code == 403 and WORKER_COOKIE not in browser.cookies
        assert traces(db, link, pid) == NOTHING
        # The page's own Start form does it (the refusal showed a fresh one, with a new nonce cookie):
        # account, visit, HIT accepted, signed in.
        started = browser.post(f"/panel/{link}", data={**query, "csrf": form_token(wrong.text)})
        assert started.status_code == 303 and started.headers["location"].startswith("/work/")
        assert WORKER_COOKIE in browser.cookies
        assert traces(db, link, pid) == {"accounts": 1, "visits": 1, "assignments": 1}


def test_a_page_on_another_origin_cannot_sign_the_browser_in_as_a_panel_id(
    service: Any, requester: tuple[str, Any], wf_store: Store, service_now: Any, db: Any, chromium: Any
) -> None:
    """In Chromium: pages on 127.0.0.2 navigate to the study link, load it as an image, and auto-post
    it as a form; the victim's browser stays signed out and the panel ID gets no account."""
    link, title = panel_link(requester, wf_store, service_now)
    navigated, posted = new_access_key()[-24:], new_access_key()[-24:]
    study = f"{service.url}/panel/{link}"
    go = f"""<!DOCTYPE html><title>Cute cats</title><img src="{study}?PROLIFIC_PID={navigated}&amp;STUDY_ID=x">
<script>setTimeout(() => {{ location.href = "{study}?PROLIFIC_PID={navigated}&STUDY_ID=x" }}, 50)</script>"""
    post = f"""<!DOCTYPE html><title>More cats</title>
<form id="f" method="post" action="{study}">
<input type="hidden" name="PROLIFIC_PID" value="{posted}"><input type="hidden" name="STUDY_ID" value="x">
</form><script>document.getElementById("f").submit()</script>"""
    with elsewhere({"/cats": go, "/more": post}) as site:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        signed_in = lambda: [c for c in context.cookies() if c["name"] == WORKER_COOKIE]  # noqa: E731

        page.goto(f"{site.url}/cats")
        page.wait_for_url(f"{study}?*")
        page.wait_for_load_state()
        assert page.locator("#study-title").inner_text() == title  # only the Start page, nothing done
        assert not signed_in() and traces(db, link, navigated) == NOTHING

        # The victim had a Start page open (a nonce cookie in the jar): a form elsewhere still fails.
        page.goto(f"{site.url}/more")
        page.wait_for_url(study)
        page.wait_for_load_state()
        assert "expired" in page.locator("[role=alert]").inner_text()
        assert not signed_in() and traces(db, link, posted) == NOTHING

        # The participant's own press of Start on the study's page does sign in and accept.
        page.click("#start-study")
        page.wait_for_url(f"{service.url}/work/*")
        assert signed_in() and traces(db, link, posted) == {"accounts": 1, "visits": 1, "assignments": 1}
        assert traces(db, link, navigated) == NOTHING
        context.close()
