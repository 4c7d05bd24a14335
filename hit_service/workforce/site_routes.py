"""The workforce's worker-site pages: joining, e-mail, password reset, tests, earnings, panel links.

* ``/join/<secret>`` — an invitation: choose a name and password, land on the HIT list signed in.
* ``/worker/signup`` — open sign-up (``HITFLOW_HIT_SERVICE_OPEN_SIGNUP``, off by default): the
  request waits for the operator's approval.
* ``/worker/account`` — e-mail address (verified by a link), e-mail opt-out;
  ``/worker/verify/<secret>``; ``/worker/forgot`` and ``/worker/reset/<secret>``.
* ``/worker/quals/<QualificationTypeId>/test`` — a qualification test; ``/worker/earnings``.
* ``/panel/<link>?PROLIFIC_PID=…&STUDY_ID=…&SESSION_ID=…`` — a panel participant's arrival (``panel_routes.py``).

Forms for people not signed in (join, sign-up, forgot, reset) carry a CSRF token bound to a
``SameSite=Strict`` nonce cookie, as the sign-in form does; join, sign-up and reset requests are
throttled like sign-in: failed joins per client address; every open sign-up request per address;
every password-reset or confirmation e-mail per account and per address.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hit_service.core import identity, question_xml
from hit_service.core.exceptions import RequestError
from hit_service.core.models import MTurkBackend
from hit_service.core.quals import REQUEST_NOTES
from hit_service.settings import Settings
from hit_service.site.templating import render
from hit_service.site.web import Worker, current_worker, set_session_cookie, to_login_at
from hit_service.site.web import base_url as public_base_url
from hit_service.stores.payouts import Payouts
from hit_service.stores.qualification_tests import QualTests
from hit_service.stores.workforce import IdentityError, WorkforceStore
from hit_service.workforce.mailer import Mail, Mailer
from hit_service.workforce.qualtests import TestRefused

FORM_COOKIE = "hitflow_form"  # the nonce that anonymous forms' CSRF tokens are bound to
JOIN_RULE = identity.ThrottleRule(free=10, first=timedelta(seconds=30))  # per address: failed joins, sign-ups
RESET_RULE = identity.ThrottleRule(free=3, first=timedelta(minutes=1))  # per account and address: reset mails


def router(
    backend: MTurkBackend,
    settings: Settings,
    sessions: identity.Sessions,
    store: WorkforceStore,
    mailer: Mailer,
) -> APIRouter:
    """The worker-facing pages; ``store`` and ``mailer`` are shared with NotifyWorkers' delivery."""
    site = APIRouter()
    workforce = mailer.settings
    tests = QualTests(backend.store)
    payouts = Payouts(backend.store)
    throttle = identity.SignInThrottle(backend.store)

    def base_url(request: Request) -> str:
        return public_base_url(settings, request)

    def page(template: str, worker: Worker | None, status: int = 200, /, **context: Any) -> HTMLResponse:
        context.setdefault("nav", "")
        return render(
            template, status, None, worker=worker.row if worker else None, csrf=worker.csrf if worker else "", **context
        )

    def message(worker: Worker | None, heading: str, text: str, status: int = 200, ok: bool = False) -> HTMLResponse:
        return page("site/notice.html", worker, status, heading=heading, message=text, ok=ok)

    async def current(request: Request) -> Worker:
        return await current_worker(backend, sessions, request)

    def to_login(request: Request) -> RedirectResponse:
        return to_login_at(request.url.path)

    async def fields_of(request: Request) -> list[tuple[str, str]]:
        form = await request.form()
        return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]

    def anonymous_form(template: str, status: int = 200, /, **context: Any) -> HTMLResponse:
        """A form for someone not signed in, its token bound to a fresh Strict nonce cookie."""
        nonce = secrets.token_urlsafe(18)
        response = page(template, None, status, form_csrf=sessions.csrf("form:" + nonce), **context)
        response.set_cookie(
            FORM_COOKIE, nonce, max_age=3600, httponly=True, samesite="strict", secure=settings.secure_cookies, path="/"
        )
        return response

    def anonymous_ok(request: Request, fields: dict[str, str]) -> bool:
        nonce = request.cookies.get(FORM_COOKIE)
        return bool(nonce) and sessions.check_csrf("form:" + (nonce or ""), fields.get("csrf"))

    async def signed_post(request: Request) -> tuple[Worker, dict[str, str]] | Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        fields = await fields_of(request)
        values = dict(fields)
        if not sessions.check_csrf(worker.cookie, values.get("csrf")):
            return message(None, "Expired form", "This form has expired; go back and try again.", 403)
        return worker, values

    def address(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    async def throttled(keys: dict[str, identity.ThrottleRule], *, count: bool = True) -> int:
        """The seconds ``keys`` must wait (0: go on); ``count`` also counts this attempt against them."""
        now = backend.clock.now()
        wait = await run_in_threadpool(throttle.wait, keys, now)
        if wait or not count:
            return wait
        await run_in_threadpool(throttle.failed, keys, now)
        return 0

    async def failed(keys: dict[str, identity.ThrottleRule]) -> None:
        await run_in_threadpool(throttle.failed, keys, backend.clock.now())

    def start_session(request: Request, response: Response, worker_id: str, cookie: str) -> Response:
        set_session_cookie(response, cookie, settings, request)
        response.delete_cookie(FORM_COOKIE, path="/")
        return response

    def send_now(worker_id: str | None, kind: str, mail: Mail) -> bool:
        failed = mailer.send([mail])
        status = "off" if not mailer.on else ("failed" if failed else "sent")
        store.log_mail([(worker_id, kind, status, failed.get(0, ""))], backend.clock.now())
        return not failed

    # -- joining ----------------------------------------------------------------------------------

    @site.get("/join/{token}", response_class=HTMLResponse)
    async def join_form(token: str) -> Response:
        _row, problem = await run_in_threadpool(store.invitation_problem, token, backend.clock.now())
        if problem:
            return message(None, "Invitation", problem, 410)
        return anonymous_form("site/join.html", token=token, error="", name="")

    @site.post("/join/{token}")
    async def join(request: Request, token: str) -> Response:
        fields = dict(await fields_of(request))
        name = fields.get("name", "")
        if not anonymous_ok(request, fields):
            return anonymous_form(
                "site/join.html", 403, token=token, name=name, error="This form has expired. Try again."
            )
        # Failed joins count (a wrong or spent link, a taken name), as failed sign-ins do; a class
        # joining from one address behind a NAT is not held up by its own successes.
        keys = {f"join:addr:{address(request)}": JOIN_RULE}
        wait = await throttled(keys, count=False)
        if wait:
            refused = anonymous_form(
                "site/join.html", 429, token=token, name=name, error=f"Too many tries. Try again in {wait} seconds."
            )
            refused.headers["Retry-After"] = str(wait)
            return refused
        if fields.get("password", "") != fields.get("password2", ""):
            return anonymous_form("site/join.html", 400, token=token, name=name, error="The two passwords differ.")
        now = backend.clock.now()
        try:
            worker_id = await run_in_threadpool(store.join, token, name, fields.get("password", ""), now)
        except IdentityError as exc:
            await failed(keys)
            return anonymous_form("site/join.html", 400, token=token, name=name, error=str(exc))
        cookie = await run_in_threadpool(identity.open_session, backend.store, sessions, worker_id, now)
        return start_session(request, RedirectResponse("/worker", status_code=303), worker_id, cookie)

    @site.get("/worker/signup", response_class=HTMLResponse)
    def signup_form() -> Response:
        if not workforce.open_signup:
            return message(None, "Sign-up", "This site takes new workers by invitation only.", 404)
        return anonymous_form("site/signup.html", error="", name="", email="")

    @site.post("/worker/signup")
    async def signup(request: Request) -> Response:
        if not workforce.open_signup:
            return message(None, "Sign-up", "This site takes new workers by invitation only.", 404)
        fields = dict(await fields_of(request))
        kept = {"name": fields.get("name", ""), "email": fields.get("email", "")}
        if not anonymous_ok(request, fields):
            return anonymous_form("site/signup.html", 403, error="This form has expired. Try again.", **kept)
        wait = await throttled({f"signup:addr:{address(request)}": JOIN_RULE})
        if wait:
            refused = anonymous_form(
                "site/signup.html", 429, error=f"Too many tries. Try again in {wait} seconds.", **kept
            )
            refused.headers["Retry-After"] = str(wait)
            return refused
        if fields.get("password", "") != fields.get("password2", ""):
            return anonymous_form("site/signup.html", 400, error="The two passwords differ.", **kept)
        try:
            await run_in_threadpool(
                store.request_signup, kept["name"], fields.get("password", ""), kept["email"], backend.clock.now()
            )
        except IdentityError as exc:
            return anonymous_form("site/signup.html", 400, error=str(exc), **kept)
        return message(
            None,
            "Request sent",
            "Thank you. The operator reviews new accounts; once yours is approved you can sign in.",
            ok=True,
        )

    # -- e-mail, verification, password reset ---------------------------------------------------------

    @site.get("/worker/account", response_class=HTMLResponse)
    async def account(request: Request, note: str = "") -> Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        profile = await run_in_threadpool(store.profile, worker.row["worker_id"])
        notes = {
            "sent": "We sent a link to your address: open it to confirm the address.",
            "unsent": "Your address is saved, but the confirmation e-mail could not be sent now. Try again later.",
            "optout": "Saved.",
        }
        return page(
            "site/account.html",
            worker,
            profile=profile,
            note=notes.get(note, ""),
            error="",
            email_on=mailer.on,
            nav="account",
        )

    @site.post("/worker/account/email")
    async def set_email(request: Request) -> Response:
        checked = await signed_post(request)
        if isinstance(checked, Response):
            return checked
        worker, fields = checked
        assert worker.row is not None
        worker_id = worker.row["worker_id"]
        wait = await throttled({f"verify:{worker_id}": RESET_RULE, f"verify:addr:{address(request)}": JOIN_RULE})
        if wait:
            return message(worker, "Too many requests", f"Try again in {wait} seconds.", 429)
        try:
            token = await run_in_threadpool(store.set_email, worker_id, fields.get("email", ""), backend.clock.now())
        except IdentityError as exc:
            profile = await run_in_threadpool(store.profile, worker_id)
            return page(
                "site/account.html",
                worker,
                400,
                profile=profile,
                error=str(exc),
                note="",
                email_on=mailer.on,
                nav="account",
            )
        link = f"{base_url(request)}/worker/verify/{token}"
        mail = Mail(
            fields.get("email", "").strip(),
            "Confirm your e-mail address for hitflow",
            f"Hello {worker.row['name']},\n\nopen this link to confirm this address for your worker account:\n\n"
            f"{link}\n\nThe link works for three days. If you did not ask for this, ignore this message.\n",
        )
        sent = await run_in_threadpool(send_now, worker_id, "verify", mail)
        return RedirectResponse(f"/worker/account?note={'sent' if sent else 'unsent'}", status_code=303)

    @site.post("/worker/account/optout")
    async def opt_out(request: Request) -> Response:
        checked = await signed_post(request)
        if isinstance(checked, Response):
            return checked
        worker, fields = checked
        assert worker.row is not None
        await run_in_threadpool(store.set_opt_out, worker.row["worker_id"], fields.get("optout") == "1")
        return RedirectResponse("/worker/account?note=optout", status_code=303)

    @site.get("/worker/verify/{token}", response_class=HTMLResponse)
    async def verify(request: Request, token: str) -> Response:
        worker = await current(request)
        done = await run_in_threadpool(store.verify_email, token, backend.clock.now())
        if done is None:
            return message(worker, "E-mail address", "This confirmation link is not valid any more.", 410)
        return message(worker, "E-mail address confirmed", "Thank you: your e-mail address is confirmed.", ok=True)

    @site.get("/worker/forgot", response_class=HTMLResponse)
    def forgot_form() -> Response:
        return anonymous_form("site/forgot.html", error="", email_on=mailer.on)

    @site.post("/worker/forgot")
    async def forgot(request: Request) -> Response:
        fields = dict(await fields_of(request))
        if not anonymous_ok(request, fields):
            return anonymous_form(
                "site/forgot.html", 403, error="This form has expired. Try again.", email_on=mailer.on
            )
        ref = fields.get("name", "").strip().lower()[:200]
        wait = await throttled({f"reset:{ref}": RESET_RULE, f"reset:addr:{address(request)}": JOIN_RULE})
        if wait:
            refused = anonymous_form(
                "site/forgot.html", 429, error=f"Too many requests. Try again in {wait} seconds.", email_on=mailer.on
            )
            refused.headers["Retry-After"] = str(wait)
            return refused
        found = await run_in_threadpool(store.reset_token, ref, backend.clock.now()) if ref else None
        if found is not None:
            token, email, name = found
            link = f"{base_url(request)}/worker/reset/{token}"
            mail = Mail(
                email,
                "Reset your hitflow password",
                f"Hello {name},\n\nsomeone (we hope you) asked to reset the password of your worker account.\n"
                f"Choose a new one here within an hour:\n\n{link}\n\nIf it was not you, ignore this message.\n",
            )
            await run_in_threadpool(send_now, None, "reset", mail)
        # The same answer whether or not the account exists or has an address: it tells nothing.
        return message(
            None,
            "Check your e-mail",
            "If that account has a confirmed e-mail address, a link to reset the password is on its way.",
            ok=True,
        )

    @site.get("/worker/reset/{token}", response_class=HTMLResponse)
    async def reset_form(token: str) -> Response:
        if not await run_in_threadpool(store.reset_valid, token, backend.clock.now()):
            return message(None, "Reset password", "This reset link is not valid any more; ask for a new one.", 410)
        return anonymous_form("site/reset.html", token=token, error="")

    @site.post("/worker/reset/{token}")
    async def reset(request: Request, token: str) -> Response:
        fields = dict(await fields_of(request))
        if not anonymous_ok(request, fields):
            return anonymous_form("site/reset.html", 403, token=token, error="This form has expired. Try again.")
        if fields.get("password", "") != fields.get("password2", ""):
            return anonymous_form("site/reset.html", 400, token=token, error="The two passwords differ.")
        try:
            await run_in_threadpool(store.reset_password, token, fields.get("password", ""), backend.clock.now())
        except IdentityError as exc:
            return anonymous_form("site/reset.html", 400, token=token, error=str(exc))
        response = RedirectResponse("/worker/login?next=/worker", status_code=303)
        response.delete_cookie(FORM_COOKIE, path="/")
        return response

    # -- qualifications: the page, requests, tests ------------------------------------------------

    @site.get("/worker/quals", response_class=HTMLResponse)
    async def quals(request: Request, note: str = "") -> Response:
        note = REQUEST_NOTES.get(note, "")  # only the server's own messages, never a link's text
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        rows = await run_in_threadpool(backend.quals.requestable_types, worker.row["worker_id"])
        tested = [row["qualification_type_id"] for row in rows if row["test"]]
        why_not = await run_in_threadpool(tests.standing, worker.row["worker_id"], tested, backend.clock.now())
        return page("site/quals.html", worker, rows=rows, note=note, why_not=why_not, nav="quals")

    @site.post("/worker/quals/{type_id}/request")
    async def request_qual(request: Request, type_id: str) -> Response:
        checked = await signed_post(request)
        if isinstance(checked, Response):
            return checked
        worker, _fields = checked
        assert worker.row is not None
        if await run_in_threadpool(tests.has_test, type_id):
            # A type with a Test is requested by taking it (the answers travel with the request).
            return RedirectResponse(f"/worker/quals/{quote(type_id)}/test", status_code=303)
        try:
            note = await run_in_threadpool(backend.quals.request_qualification, worker.row["worker_id"], type_id)
        except RequestError as exc:  # the rules' refusal: show its message (anything else is a real fault)
            return page("site/problem.html", worker, 400, heading="Sorry", message=exc.message, top=False)
        return RedirectResponse(f"/worker/quals?note={quote(note)}", status_code=303)

    # -- qualification tests ---------------------------------------------------------------------

    @site.get("/worker/quals/{type_id}/test", response_class=HTMLResponse)
    async def take_test(request: Request, type_id: str) -> Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        try:
            type_row, attempt = await run_in_threadpool(
                tests.start, worker.row["worker_id"], type_id, backend.clock.now()
            )
        except TestRefused as refused:
            return message(worker, "Qualification test", refused.message, 409)
        form = question_xml.question_form(type_row["test"])
        return page(
            "site/qual_test.html",
            worker,
            qual=type_row,
            attempt=attempt,
            form=form,
            now=backend.clock.now(),
            nav="quals",
        )

    @site.post("/worker/quals/{type_id}/test")
    async def hand_in(request: Request, type_id: str) -> Response:
        checked = await signed_post(request)
        if isinstance(checked, Response):
            return checked
        worker, values = checked
        assert worker.row is not None
        fields = [(k, v) for k, v in await fields_of(request) if k not in ("csrf", "attempt")]
        attempt_id = values.get("attempt", "")
        try:
            selections = await run_in_threadpool(tests.selection_fields, type_id)
            outcome, value = await run_in_threadpool(
                tests.hand_in, worker.row["worker_id"], attempt_id, fields, selections, backend.clock.now()
            )
        except TestRefused as refused:
            return message(worker, "Qualification test", refused.message, 409)
        if outcome == "late":
            return message(
                worker, "Qualification test", "The time for this test ran out; your answers were not scored.", 409
            )
        if outcome == "granted":
            return message(
                worker,
                "Qualification test",
                f"Your test is scored: qualification granted with the value {value}.",
                ok=True,
            )
        return message(
            worker, "Qualification test", "Your answers were sent to the requester, who decides on them.", ok=True
        )

    # -- earnings -------------------------------------------------------------------------------------

    @site.get("/worker/earnings", response_class=HTMLResponse)
    async def earnings(request: Request, since: str = "", until: str = "") -> Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        try:
            start = _day(since)
            end = _day(until)
        except ValueError:
            return message(worker, "Earnings", "Dates look like 2026-12-01.", 400)
        statement = await run_in_threadpool(
            payouts.statement, worker.row["worker_id"], start, end + timedelta(days=1) if end else None
        )
        return page("site/earnings.html", worker, statement=statement, since=since, until=until, nav="earnings")

    return site


def _day(text: str) -> datetime | None:
    """``YYYY-MM-DD`` as midnight UTC (None when empty); ValueError otherwise."""
    if not text.strip():
        return None
    return datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
