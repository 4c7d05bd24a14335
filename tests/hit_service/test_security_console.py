"""Issue 21's findings on the requester console (each test failed before its fix).

Sign-in CSRF (also in Chromium from a page on another origin), throttling and sign-out of the
console's own sign-in, the status line showing only the server's own notes, and discarding a
batch that is not the account's.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest

from hitflow_support.console_client import ConsoleClient
from hitflow_support.service_process import ServiceProcess
from tests.hit_service.browser import chromium
from tests.hit_service.elsewhere import elsewhere
from tests.hit_service.helpers import CONSOLE_CSV, add_user, make_client, new_access_key

pytestmark = pytest.mark.integration
__all__ = ["chromium"]  # fixtures

FORGET = 24 * 3600 + 60  # sign-in failures are forgotten a day after the last one


@pytest.fixture(autouse=True)
def forget_sign_in_failures(service: ServiceProcess, db: Any) -> Iterator[None]:
    """Throttling state is stamped with the service's clock, which ``advance`` moves back: clear it."""
    yield
    db.execute("DELETE FROM mturk.signin_failures")


def new_account(service: ServiceProcess, db_url: str) -> dict[str, Any]:
    key = new_access_key()
    make_client(service.url, key)
    password = "pw-" + key.lower()
    return {"key": key, "user": add_user(db_url, key, password), "password": password}


def from_address() -> dict[str, str]:
    """A client address of the test's own (uvicorn takes X-Forwarded-For from 127.0.0.1, a local proxy)."""
    return {"X-Forwarded-For": f"198.51.100.{secrets.randbelow(250) + 1}"}


def sign_in(browser: httpx.Client, name: str, password: str, next_url: str = "/requester") -> httpx.Response:
    """Sign in as a browser does: the form first (its token and nonce cookie), then the post."""
    form = browser.get("/requester/login").text
    token = form.split('name="csrf" value="')[1].split('"')[0]
    return browser.post("/requester/login", data={"name": name, "password": password, "csrf": token, "next": next_url})


# -- login CSRF ------------------------------------------------------------------------------------


def test_console_sign_in_needs_the_forms_token(service: ServiceProcess, db_url: str) -> None:
    attacker = new_account(service, db_url)
    forged = httpx.post(
        f"{service.url}/requester/login",
        data={"name": attacker["user"], "password": attacker["password"], "next": "/requester/projects/new"},
        headers=from_address(),
        timeout=10,
    )
    assert forged.status_code == 403 and "expired" in forged.text and "hitflow_requester" not in forged.cookies
    with httpx.Client(base_url=service.url, timeout=10, headers=from_address()) as browser:
        browser.get("/requester/login")  # the nonce cookie alone is not enough: the token must match it
        wrong = browser.post(
            "/requester/login", data={"name": attacker["user"], "password": attacker["password"], "csrf": "x" * 43}
        )
        assert wrong.status_code == 403 and "hitflow_requester" not in browser.cookies
        ok = sign_in(browser, attacker["user"], attacker["password"])
        assert ok.status_code == 303 and "hitflow_requester" in browser.cookies


def test_a_page_on_another_origin_cannot_sign_the_browser_in(
    service: ServiceProcess, db_url: str, chromium: Any
) -> None:
    """In Chromium: a page on 127.0.0.2 auto-submits the console's sign-in form with the attacker's
    name and password; the victim's browser (which even has a sign-in form's nonce) stays signed out."""
    attacker = new_account(service, db_url)
    trap = f"""<!DOCTYPE html><title>Cute cats</title>
<form id="f" method="post" action="{service.url}/requester/login">
<input type="hidden" name="name" value="{attacker["user"]}">
<input type="hidden" name="password" value="{attacker["password"]}">
<input type="hidden" name="next" value="/requester/projects/new">
</form><script>document.getElementById("f").submit()</script>"""
    with elsewhere({"/cats": trap}) as site:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{service.url}/requester/login")  # the victim had the sign-in page open once
        page.goto(f"{site.url}/cats")
        page.wait_for_url(f"{service.url}/requester/**")
        page.wait_for_load_state()
        assert page.url.startswith(f"{service.url}/requester/login"), page.url
        assert "expired" in page.locator("[role=alert]").inner_text()
        assert not [c for c in context.cookies() if c["name"] == "hitflow_requester"]
        # The victim's own sign-in through the same form still works.
        page.fill("#name", attacker["user"])
        page.fill("#password", attacker["password"])
        page.click("#signin")
        page.wait_for_url(f"{service.url}/requester/projects/new")
        assert [c for c in context.cookies() if c["name"] == "hitflow_requester"]
        context.close()


# -- throttling and sign-out -----------------------------------------------------------------------


def test_console_sign_in_is_throttled(service: ServiceProcess, db_url: str, advance: Any) -> None:
    user = new_account(service, db_url)
    advance(FORGET)
    with httpx.Client(base_url=service.url, timeout=10, headers=from_address()) as browser:
        statuses = [sign_in(browser, user["user"], f"guess {n}").status_code for n in range(8)]
        assert statuses[:5] == [401] * 5 and 429 in statuses[5:], statuses
        refused = sign_in(browser, user["user"], user["password"])
        assert refused.status_code == 429 and "hitflow_requester" not in browser.cookies  # the right one waits too
        assert 0 < int(refused.headers["retry-after"]) <= 900 and "Try again" in refused.text
        advance(FORGET)
        assert sign_in(browser, user["user"], user["password"]).status_code == 303


def test_console_sign_out_ends_the_session_on_the_server(service: ServiceProcess, db_url: str) -> None:
    user = new_account(service, db_url)
    console = ConsoleClient(service.url, user["user"], user["password"])
    cookie = console.session.cookies["hitflow_requester"]
    assert console.get("/requester/projects", allow_redirects=False).status_code == 200
    assert console.post("/requester/logout", allow_redirects=False).status_code == 303
    replay = httpx.get(f"{service.url}/requester/projects", cookies={"hitflow_requester": cookie}, timeout=10)
    assert replay.status_code == 303 and replay.headers["location"].startswith("/requester/login")


# -- the status line -------------------------------------------------------------------------------


def test_status_line_shows_only_notes_the_server_made(service: ServiceProcess, db_url: str) -> None:
    user, other = new_account(service, db_url), new_account(service, db_url)
    console = ConsoleClient(service.url, user["user"], user["password"])
    spoof = "Your session expired: re-enter your secret key at evil.example"
    forged = console.get("/requester/projects", params={"note": spoof})
    assert forged.status_code == 200 and "evil.example" not in forged.text
    made = console.post("/requester/quals", {"name": "Careful " + user["key"], "description": "d", "status": "Active"})
    assert made.status_code == 200 and made.history and made.history[0].status_code == 303
    assert "Qualification type created." in made.text  # the server's own note, through its redirect
    signed = made.history[0].headers["location"]
    ok = signed.split("ok=")[1]
    assert "evil.example" not in console.get("/requester/quals", params={"note": spoof, "ok": ok}).text
    with closing(ConsoleClient(service.url, other["user"], other["password"]).session) as other_session:
        replayed = other_session.get(f"{service.url}{signed}")  # another session: not its note
        assert replayed.status_code == 200 and "Qualification type created." not in replayed.text


# -- discarding a batch ----------------------------------------------------------------------------


def test_discarding_a_batch_that_is_not_the_accounts_is_not_found(service: ServiceProcess, db_url: str) -> None:
    owner, stranger = new_account(service, db_url), new_account(service, db_url)
    mine = ConsoleClient(service.url, owner["user"], owner["password"])
    theirs = ConsoleClient(service.url, stranger["user"], stranger["password"])
    layout_id = mine.create_project("age_guess")
    draft = mine.upload(layout_id, CONSOLE_CSV)
    for batch_id in (draft, 987_654_321):
        refused = theirs.post(f"/requester/batches/{batch_id}/discard", allow_redirects=False)
        assert refused.status_code == 404 and "does not exist" in refused.text, batch_id
        assert "discarded" not in refused.text
    assert mine.get(f"/requester/batches/{draft}/confirm").status_code == 200  # still there
    done = mine.post(f"/requester/batches/{draft}/discard")
    assert done.status_code == 200 and "The unpublished batch was discarded." in done.text
    assert mine.post(f"/requester/batches/{draft}/discard", allow_redirects=False).status_code == 404
    published = mine.upload(layout_id, CONSOLE_CSV)
    mine.publish(published, again=True)
    mine.wait_published(published)
    kept = mine.post(f"/requester/batches/{published}/discard")
    assert kept.status_code == 200 and "it can be cancelled, not discarded" in kept.text
    assert mine.progress(published)["status"] != "draft"
