"""Issue 13's findings on the worker site, the operator pages and the CLI (each failed before its fix)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from hit_service.settings import REPO_ROOT, Settings, SettingsError
from hitflow_support.crowd_client import CrowdError, accept_hit, sign_in
from tests.hit_service.browser import chromium, shots
from tests.hit_service.helpers import OPERATOR_PASSWORD, hit_args

pytestmark = pytest.mark.integration
__all__ = ["chromium", "shots"]  # fixtures


def cli(
    db_url: str, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "HITFLOW_WORKER_PASSWORD"}
    environment.update({"HITFLOW_HIT_SERVICE_DB_URL": db_url, **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "hit_service", *args],
        cwd=REPO_ROOT,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def login(browser: httpx.Client, name: str, password: str) -> httpx.Response:
    """Sign in as a browser does: the form first (its CSRF token and nonce cookie), then the post."""
    form = browser.get("/worker/login").text
    token = form.split("name='csrf' value='")[1].split("'")[0]
    return browser.post("/worker/login", data={"name": name, "password": password, "csrf": token})


def signed_in_as(service: Any, worker: dict[str, str]) -> httpx.Client:
    client = httpx.Client(base_url=service.url, timeout=10)
    response = login(client, worker["name"], worker["password"])
    assert response.status_code == 303, response.text[:300]
    return client


# -- sessions -------------------------------------------------------------------------------------


def test_sign_out_revokes_the_session_on_the_server(service: Any, new_worker: Any) -> None:
    worker = new_worker()
    with closing(signed_in_as(service, worker)) as browser:
        cookie = browser.cookies["hitflow_worker"]
        page = browser.get("/worker").text
        csrf = page.split("name='csrf' value='")[1].split("'")[0]
        assert browser.post("/worker/logout", data={"csrf": csrf}).status_code == 303
    # The copied cookie (stolen, or kept by a shared computer) no longer signs anyone in.
    replay = httpx.get(f"{service.url}/worker", cookies={"hitflow_worker": cookie}, timeout=10)
    assert replay.status_code == 303 and replay.headers["location"].startswith("/worker/login")


def test_password_change_revokes_every_session(service: Any, db_url: str, new_worker: Any) -> None:
    worker = new_worker()
    with closing(signed_in_as(service, worker)) as first, closing(signed_in_as(service, worker)) as second:
        assert first.get("/worker").status_code == 200
        done = cli(db_url, "worker", "set-password", worker["name"], stdin="a new password 1\n")
        assert done.returncode == 0, done.stderr
        for browser in (first, second):
            assert browser.get("/worker").status_code == 303
    with pytest.raises(CrowdError):
        sign_in(service.url, worker["name"], worker["password"])
    sign_in(service.url, worker["name"], "a new password 1").close()


# -- the CLI never takes a password in argv ------------------------------------------------------


def test_worker_add_reads_the_password_from_stdin_a_file_or_the_environment(
    service: Any, db_url: str, tmp_path: Path
) -> None:
    refused = cli(db_url, "worker", "add", "argv-worker", "--password", "correct horse")
    assert refused.returncode == 2 and "--password" in refused.stderr
    done = cli(db_url, "worker", "add", "stdin-worker", stdin="correct horse battery\n")
    assert done.returncode == 0, done.stderr
    assert "correct horse" not in done.stdout + done.stderr
    sign_in(service.url, "stdin-worker", "correct horse battery").close()
    secret = tmp_path / "pw"
    secret.write_text("file password 1\n", encoding="utf-8")
    assert cli(db_url, "worker", "add", "file-worker", "--password-file", str(secret)).returncode == 0
    sign_in(service.url, "file-worker", "file password 1").close()
    env = {"HITFLOW_WORKER_PASSWORD": "env password 1"}
    assert cli(db_url, "worker", "add", "env-worker", env=env).returncode == 0
    sign_in(service.url, "env-worker", "env password 1").close()
    assert cli(db_url, "worker", "add", "empty-worker", stdin="").returncode == 2


# -- production cookies ---------------------------------------------------------------------------


def test_production_needs_an_https_public_url_or_an_explicit_opt_out() -> None:
    base = {"HITFLOW_HIT_SERVICE_DB_URL": "postgresql://x@y/z", "HITFLOW_HIT_SERVICE_MODE": "production"}
    for public_url in ("", "http://hits.example.org"):
        with pytest.raises(SettingsError, match="https"):
            Settings.from_env({**base, "HITFLOW_HIT_SERVICE_PUBLIC_URL": public_url})
    assert Settings.from_env({**base, "HITFLOW_HIT_SERVICE_PUBLIC_URL": "https://hits.example.org"}).secure_cookies
    opted_out = Settings.from_env({**base, "HITFLOW_HIT_SERVICE_INSECURE_COOKIES": "1"})
    assert not opted_out.secure_cookies


# -- the access log -------------------------------------------------------------------------------


def test_access_log_has_no_query_strings_and_no_assignment_ids(service: Any, client: Any, new_worker: Any) -> None:
    worker = new_worker()
    hit_id = client.create_hit(**hit_args())["HIT"]["HITId"]
    with sign_in(service.url, worker["name"], worker["password"]) as session:
        assignment_id = accept_hit(session, service.url, hit_id)
        frame = session.get(
            f"{service.url}/work/{assignment_id}/frame",
            params={"assignmentId": assignment_id, "hitId": hit_id, "workerId": worker["worker_id"]},
        )
        assert frame.status_code == 200
        session.get(f"{service.url}/work/{assignment_id}")
    log = Path(service.log_path).read_text(encoding="utf-8", errors="replace")
    assert "/frame" in log  # the request was logged ...
    assert assignment_id not in log  # ... without what authorizes a submission
    assert "workerId=" not in log and "?next=" not in log


# -- sign-in: equal work, throttling -------------------------------------------------------------

FORGET = 24 * 3600 + 60  # sign-in failures are forgotten a day after the last one


@pytest.fixture(autouse=True)
def forget_sign_in_failures(service: Any, db: Any) -> Iterator[None]:
    """Clear throttling state after each test: failures are stamped with the service's clock,
    which ``advance`` moves back at teardown, so a day-long block would outlive the test and
    refuse the operator (or an address) in whichever test runs next. It needs the running
    service, which also makes sure the schema exists for the tests that only use its database."""
    yield
    db.execute("DELETE FROM mturk.signin_failures")


def from_address() -> dict[str, str]:
    """A client address of the test's own (uvicorn takes X-Forwarded-For from 127.0.0.1, a local proxy)."""
    return {"X-Forwarded-For": f"198.51.100.{secrets.randbelow(250) + 1}"}


def test_unknown_and_known_names_cost_the_same_scrypt_work(db_url: str, monkeypatch: Any) -> None:
    import hashlib

    from hit_service.core import identity
    from hit_service.core.database import Store

    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    store = Store(db_url, max_size=1)
    store.open()
    try:
        identity.add_worker(store, "timing-known", "a long password", __import__("datetime").datetime.now())
        identity.authenticate_worker(store, "nobody-at-all", "a long password")  # warm any one-time setup
        monkeypatch.setattr(identity.hashlib, "scrypt", counting)
        identity.authenticate_worker(store, "timing-known", "wrong password")
        known = len(calls)
        calls.clear()
        identity.authenticate_worker(store, "nobody-at-all", "wrong password")
        assert len(calls) == known == 1
    finally:
        store.close()


def test_worker_sign_in_is_throttled_per_account_with_growing_delays(
    service: Any, new_worker: Any, advance: Any
) -> None:
    worker = new_worker()
    statuses = []
    advance(FORGET)
    with httpx.Client(base_url=service.url, timeout=10, headers=from_address()) as browser:
        for _ in range(8):
            answer = login(browser, worker["name"], "wrong guess")
            statuses.append(answer.status_code)
        assert statuses[:5] == [401] * 5 and 429 in statuses[5:]
        refused = login(browser, worker["name"], worker["password"])
        assert refused.status_code == 429  # even the right password waits: guesses cannot go on
        first_wait = int(refused.headers["retry-after"])
        assert 0 < first_wait <= 900 and "Try again" in refused.text
        advance(first_wait + 1)
        assert login(browser, worker["name"], "wrong").status_code == 401
        second = login(browser, worker["name"], worker["password"])
        assert second.status_code == 429 and int(second.headers["retry-after"]) > first_wait  # it grows
        advance(FORGET)  # never for good
        ok = login(browser, worker["name"], worker["password"])
        assert ok.status_code == 303


def test_sign_in_is_throttled_per_client_address(service: Any, advance: Any, new_worker: Any) -> None:
    """Guessing many names from one address: throttled though no single account is."""
    advance(FORGET)
    bystander = new_worker()
    with httpx.Client(base_url=service.url, timeout=10, headers=from_address()) as browser:
        statuses = [login(browser, f"guess-{n}", "x").status_code for n in range(50)]
    assert statuses[0] == 401 and statuses[-1] == 429
    with httpx.Client(base_url=service.url, timeout=10, headers=from_address()) as elsewhere:
        ok = login(elsewhere, bystander["name"], bystander["password"])
        assert ok.status_code == 303  # other addresses and the accounts themselves are unaffected
    advance(FORGET)


def test_operator_sign_in_is_throttled(service: Any, advance: Any) -> None:
    advance(FORGET)
    with httpx.Client(base_url=service.url, timeout=10, headers=from_address()) as browser:
        statuses = [browser.get("/operator", auth=("operator", f"guess {n}")).status_code for n in range(10)]
        assert statuses[0] == 401 and statuses[-1] == 429
        assert browser.get("/operator", auth=("operator", OPERATOR_PASSWORD)).status_code == 429
        advance(FORGET)
        assert browser.get("/operator", auth=("operator", OPERATOR_PASSWORD)).status_code == 200


# -- pages: sign-in CSRF, framing, notices -------------------------------------------------------


def test_sign_in_form_carries_a_csrf_token(service: Any, new_worker: Any) -> None:
    """A cross-site form cannot sign a victim's browser in to the attacker's account (login CSRF)."""
    worker = new_worker()
    forged = httpx.post(
        f"{service.url}/worker/login",
        data={"name": worker["name"], "password": worker["password"]},
        headers=from_address(),
        timeout=10,
    )
    assert forged.status_code == 403 and "hitflow_worker" not in forged.cookies
    with httpx.Client(base_url=service.url, timeout=10, headers=from_address()) as browser:
        form = browser.get("/worker/login").text
        token = form.split("name='csrf' value='")[1].split("'")[0]
        wrong = browser.post("/worker/login", data={"name": worker["name"], "password": worker["password"]})
        assert wrong.status_code == 403 and "expired" in wrong.text
        token = wrong.text.split("name='csrf' value='")[1].split("'")[0]  # the form shown again, fresh
        ok = browser.post("/worker/login", data={"name": worker["name"], "password": worker["password"], "csrf": token})
        assert ok.status_code == 303 and "hitflow_worker" in browser.cookies


def test_own_pages_refuse_to_be_framed_but_hit_frames_do_not(
    service: Any, client: Any, new_worker: Any, operator: httpx.Client
) -> None:
    worker = new_worker()
    hit_id = client.create_hit(**hit_args())["HIT"]["HITId"]
    with sign_in(service.url, worker["name"], worker["password"]) as session:
        own = [
            session.get(f"{service.url}/worker/login"),
            session.get(f"{service.url}/worker"),
            session.get(f"{service.url}/worker/hits/{hit_id}"),
            operator.get("/operator"),
            httpx.get(f"{service.url}/requester/login", timeout=10),
        ]
        for response in own:
            assert response.status_code == 200, response.url
            assert response.headers["x-frame-options"] == "DENY", response.url
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"], response.url
        assignment_id = accept_hit(session, service.url, hit_id)
        frames = [
            session.get(f"{service.url}/worker/hits/{hit_id}/frame"),
            session.get(f"{service.url}/work/{assignment_id}/frame", params={"assignmentId": assignment_id}),
        ]
        submitted = session.post(
            f"{service.url}/mturk/externalSubmit", data={"assignmentId": assignment_id, "age": "40"}
        )
        for response in [*frames, submitted]:
            assert response.status_code == 200, response.url
            assert "x-frame-options" not in response.headers, response.url
            assert "frame-ancestors" not in response.headers.get("content-security-policy", ""), response.url
        for response in frames:
            assert response.headers["content-security-policy"].startswith("sandbox"), response.url


def test_a_page_elsewhere_cannot_frame_the_sign_in_page(service: Any, chromium: Any, shots: Path) -> None:
    """In Chromium: a page elsewhere framing /worker/login gets nothing (no clickjacking), while the
    worker site's own pages still show HIT frames (the browser journeys in test_crowd_worker_site)."""
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.set_content(f"<p>elsewhere</p><iframe id='f' src='{service.url}/worker/login' width=600 height=400></iframe>")
    page.wait_for_timeout(2000)
    framed = [frame for frame in page.frames if frame != page.main_frame]
    assert framed, "the iframe was not created"
    try:
        text = framed[0].evaluate("document.body ? document.body.innerText : ''")
    except Exception:  # Chromium replaced the blocked frame with its error page
        text = ""
    assert "Worker name" not in text and "Sign in" not in text
    page.screenshot(path=str(shots / "framed-sign-in-blocked-1280.png"))
    page.close()


def test_qualification_notice_shows_only_messages_the_server_made(service: Any, new_worker: Any) -> None:
    worker = new_worker()
    with sign_in(service.url, worker["name"], worker["password"]) as session:
        forged = session.get(f"{service.url}/worker/quals", params={"note": "Your account is suspended: call 555-0100"})
        assert forged.status_code == 200 and "555-0100" not in forged.text
        made = session.get(f"{service.url}/worker/quals", params={"note": "sent"})
        assert "Request sent to the requester." in made.text
