"""The worker site and the operator pages: Jinja2 templates (``templates/site``, ``templates/operator``).

Worker site (accounts made by the operator with ``python -m hit_service worker add``, or by invitation,
open sign-up or a panel link: ``hit_service/workforce``):

* ``/worker/login`` — sign in; the session is a row on the server named by an HttpOnly,
  SameSite=Lax cookie signed with the service's key (``identity.Sessions``; ``Secure`` with an
  https public URL and in production), ended by sign-out or a password change; every form
  (the sign-in form too) carries a CSRF token. Failed sign-ins are throttled per account and
  per client address (``identity.SignInThrottle``); so are wrong operator passwords.
* ``/worker`` — HIT groups the worker may discover (reward, time allotted, expiry, keywords,
  requirements met or not, "Accept & work" = ``POST /worker/groups/<HITGroupId>/accept``, which
  takes the group's next HIT), and work in progress;
  ``/worker/dashboard`` — submitted/approved/rejected work, earnings, bonuses, messages;
  ``/worker/quals`` — requestable qualifications.
* ``/worker/hits/<HITId>`` — preview (as MTurk: the HIT with
  ``assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE``) and Accept; ``/work/<AssignmentId>`` — the
  HIT being worked on, with a live countdown and Return; once submitted, the same URL shows
  the submitted state and the next HIT of the group (the frame's "submitted" page tells this
  page by ``postMessage``).
* The HIT's HTML goes through ``taskhtml.task_page``: MTurk's script, the crowd elements and
  MTurk's externalSubmit URLs point at this service, and an in-memory ``localStorage`` comes
  first (the sandboxed frame has none).
* HIT content is shown as MTurk showed it. An HTMLQuestion (and a rendered layout) is served
  at ``/work/<AssignmentId>/frame?assignmentId=…&hitId=…&turkSubmitTo=…&workerId=…`` inside an
  ``<iframe sandbox>`` without ``allow-same-origin`` and with a ``Content-Security-Policy:
  sandbox`` header, so the requester's scripts never run with the service's origin. An
  ExternalQuestion's URL gets the same four parameters. A QuestionForm is rendered as a plain
  HTML form. Forms post to ``<turkSubmitTo>/mturk/externalSubmit``.
* ``POST /mturk/externalSubmit`` — ``assignmentId`` plus the answer fields; stored as
  QuestionFormAnswers XML. The assignment ID (30 random characters, known only to the
  worker's browser) is the capability: the sandboxed frame has no cookies to send.

Operator (HTTP Basic auth, any user name, password ``HITFLOW_HIT_SERVICE_OPERATOR_PASSWORD``;
without that variable they are open in local mode — bound to 127.0.0.1 by default — and answer
403 in production mode): ``/operator`` (requesters, key IDs —
never secrets —, balances, workers, HIT progress), ``/hits`` and ``/hits/<HITId>/preview``.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hit_service.core import identity, question_xml
from hit_service.core.models import MTurkBackend
from hit_service.core.workers import SiteError
from hit_service.settings import Settings
from hit_service.site import mturk_links, pages
from hit_service.site.templating import FRAME_HEADERS, PAGE_HEADERS, frame_message, render, render_text
from hit_service.site.web import COOKIE, Worker, current_worker, set_session_cookie, to_login_at
from hit_service.site.web import base_url as public_base_url

PREVIEW_ID = "ASSIGNMENT_ID_NOT_AVAILABLE"
# No allow-top-navigation of any kind, sandboxed popups: no task sends the worker's tab away (frame-links.js)
HTML_SANDBOX = "allow-scripts allow-forms allow-popups allow-modals"
EXTERNAL_SANDBOX = HTML_SANDBOX + " allow-same-origin"  # its own origin, not ours
FRAME_CSP = "sandbox " + HTML_SANDBOX
_HEADERS = PAGE_HEADERS
LOGIN_COOKIE = "hitflow_login"  # the sign-in form's CSRF nonce (double submit)
with_query = pages.with_query


def router(
    backend: MTurkBackend,
    settings: Settings,
    sessions: identity.Sessions,
    completion_for: Callable[[str], str | None] | None = None,
) -> APIRouter:
    """The worker site, externalSubmit and the operator pages.

    ``completion_for(assignment_id)``: where a submitted assignment's worker goes next instead of
    the group's next HIT (a panel participant's completion URL), or None.
    """
    site = APIRouter()

    def base_url(request: Request) -> str:
        return public_base_url(settings, request)

    def page(name: str, worker: Worker, status: int = 200, **context: Any) -> HTMLResponse:
        """A worker-site page; the header shows the signed-in worker (if any)."""
        context.setdefault("nav", "")
        return render(name, status, None, worker=worker.row, csrf=worker.csrf, **context)

    throttle = identity.SignInThrottle(backend.store)

    async def current(request: Request) -> Worker:
        return await current_worker(backend, sessions, request)

    def too_many(seconds: int) -> str:
        return f"Too many failed sign-ins. Try again in {seconds} seconds."

    def to_login(request: Request) -> RedirectResponse:
        return to_login_at(request.url.path + (f"?{request.url.query}" if request.url.query else ""))

    def problem(worker: Worker, error: SiteError) -> HTMLResponse:
        return page("site/problem.html", worker, error.status, heading="Sorry", message=error.message, top=False)

    async def form_fields(request: Request) -> list[tuple[str, str]]:
        form = await request.form()
        return [
            (key, value if isinstance(value, str) else getattr(value, "filename", "") or "")
            for key, value in form.multi_items()
        ]

    async def checked_post(request: Request) -> tuple[Worker, list[tuple[str, str]]] | Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        fields = await form_fields(request)
        token = next((value for key, value in fields if key == "csrf"), None)
        if not sessions.check_csrf(worker.cookie, token):
            return page(
                "site/message.html",
                Worker(None, None, ""),
                403,
                heading="Expired form",
                message="This form has expired; go back and try again.",
            )
        return worker, fields

    # -- sign in / out --------------------------------------------------------------------

    def login_page(next_url: str, message: str = "", status: int = 200) -> HTMLResponse:
        """The sign-in form with a CSRF token bound to a fresh nonce cookie (login CSRF: a page
        elsewhere cannot sign this browser in to someone else's account)."""
        nonce = secrets.token_urlsafe(18)
        response = page(
            "site/login.html",
            Worker(None, None, sessions.csrf("login:" + nonce)),
            status,
            next_url=next_url,
            message=message,
        )
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            max_age=3600,
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies,
            path="/worker/login",
        )
        return response

    @site.get("/worker/login", response_class=HTMLResponse)
    def login_form(next: str = "/worker") -> HTMLResponse:
        return login_page(next)

    @site.post("/worker/login")
    async def login(request: Request) -> Response:
        fields = dict(await form_fields(request))
        next_url = fields.get("next") or "/worker"
        if not next_url.startswith("/") or next_url.startswith("//"):
            next_url = "/worker"
        nonce = request.cookies.get(LOGIN_COOKIE)
        if not nonce or not sessions.check_csrf("login:" + nonce, fields.get("csrf")):
            return login_page(next_url, "This sign-in form has expired. Please sign in again.", 403)
        name = fields.get("name", "").strip()
        keys = throttle.keys(f"worker:{name.lower()}", request.client.host if request.client else None)
        now = backend.clock.now()
        wait = await run_in_threadpool(throttle.wait, keys, now)
        if wait:
            refused = login_page(next_url, too_many(wait), 429)
            refused.headers["Retry-After"] = str(wait)
            return refused
        row = await run_in_threadpool(identity.authenticate_worker, backend.store, name, fields.get("password", ""))
        if row is None:
            wait = await run_in_threadpool(throttle.failed, keys, now)
            message = "Wrong worker name or password." + (f" {too_many(wait)}" if wait else "")
            return login_page(next_url, message, 401)
        await run_in_threadpool(throttle.succeeded, f"worker:{name.lower()}")
        cookie = await run_in_threadpool(identity.open_session, backend.store, sessions, row["worker_id"], now)
        response = RedirectResponse(next_url, status_code=303)
        response.delete_cookie(LOGIN_COOKIE, path="/worker/login")
        return set_session_cookie(response, cookie, settings, request)

    @site.post("/worker/logout")
    async def logout(request: Request) -> Response:
        checked = await checked_post(request)
        if isinstance(checked, Response):
            return checked
        worker, _fields = checked
        await run_in_threadpool(identity.close_session, backend.store, sessions, worker.cookie)
        response = RedirectResponse("/worker/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # -- finding and previewing work ------------------------------------------------------

    @site.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/worker", status_code=303)

    @site.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @site.get("/worker", response_class=HTMLResponse)
    async def worker_home(request: Request, returned: str = "") -> Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        groups = await run_in_threadpool(backend.site.hit_groups, worker.row)
        board = await run_in_threadpool(backend.site.dashboard, worker.row["worker_id"])
        running = [a for a in board["assignments"] if a["status"] == "Accepted"]
        # A fixed text: the flag only says which notice to show, nothing from the URL is echoed.
        notice = "You returned the HIT; it is available to other workers again." if returned else ""
        return page("site/hits.html", worker, groups=groups, running=running, notice=notice, nav="hits")

    @site.post("/worker/groups/{hit_group_id}/accept")
    async def accept_in_group(request: Request, hit_group_id: str) -> Response:
        """ "Accept & work": the next HIT of the group the worker can take."""
        checked = await checked_post(request)
        if isinstance(checked, Response):
            return checked
        worker, _fields = checked
        assert worker.row is not None
        try:
            assignment_id = await run_in_threadpool(backend.site.accept_next_in_group, worker.row, hit_group_id)
        except SiteError as error:
            return problem(worker, error)
        return RedirectResponse(f"/work/{assignment_id}", status_code=303)

    def hit_frame(hit: dict[str, Any], frame_url: str, external_params: dict[str, str]) -> dict[str, Any]:
        parsed = question_xml.parse_question(hit["question"], allow_http=True)
        height = parsed.frame_height or pages.DEFAULT_FRAME_HEIGHT
        if parsed.external_url is not None:
            src = with_query(parsed.external_url, external_params)
            return {"sandbox": EXTERNAL_SANDBOX, "height": height, "src": src}
        return {"sandbox": HTML_SANDBOX, "height": height, "src": frame_url}

    @site.get("/worker/hits/{hit_id}", response_class=HTMLResponse)
    async def preview(request: Request, hit_id: str) -> Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        try:
            hit, allowed, mine = await run_in_threadpool(backend.site.hit_for_worker, worker.row, hit_id)
        except SiteError as error:
            return problem(worker, error)
        if not allowed["preview"]:
            unmet = "; ".join(e["text"] for e in allowed["explained"] if not e["met"])
            return problem(
                worker,
                SiteError(f"You do not meet the qualification requirements to preview this HIT: {unmet}.", 403),
            )
        status = backend.status(hit)
        if mine is not None and mine["status"] == "Accepted":
            action = "continue"
        elif mine is not None:
            action = "submitted"
        elif status != "Assignable":
            action = "gone"
        elif not allowed["accept"]:
            action = "unqualified"
        else:
            action = "accept"
        params = {"assignmentId": PREVIEW_ID, "hitId": hit_id}
        frame = hit_frame(hit, with_query(f"/worker/hits/{quote(hit_id)}/frame", params), params)
        return page(
            "site/preview.html",
            worker,
            hit=hit,
            action=action,
            mine=mine,
            frame=frame,
            requirements=allowed["explained"],
            nav="hits",
        )

    mturk_links.add_routes(site, backend, current=current, to_login=to_login, problem=problem)

    def frame_response(hit: dict[str, Any], base: str) -> Response:
        headers = {**FRAME_HEADERS, "Content-Security-Policy": FRAME_CSP}
        return HTMLResponse(pages.frame_content(hit["question"], base), headers=headers)

    @site.get("/worker/hits/{hit_id}/frame")
    async def preview_frame(request: Request, hit_id: str) -> Response:
        worker = await current(request)
        if worker.row is None:
            return frame_message("Sign in first.", 401)
        try:
            hit, allowed, _mine = await run_in_threadpool(backend.site.hit_for_worker, worker.row, hit_id)
        except SiteError as error:
            return frame_message(error.message, error.status)
        if not allowed["preview"]:
            return frame_message("Not qualified to preview.", 403)
        return frame_response(hit, base_url(request))

    @site.post("/worker/hits/{hit_id}/accept")
    async def accept(request: Request, hit_id: str) -> Response:
        checked = await checked_post(request)
        if isinstance(checked, Response):
            return checked
        worker, _fields = checked
        assert worker.row is not None
        try:
            assignment_id = await run_in_threadpool(backend.accept, worker.row, hit_id)
        except SiteError as error:
            return problem(worker, error)
        return RedirectResponse(f"/work/{assignment_id}", status_code=303)

    # -- working --------------------------------------------------------------------------

    @site.get("/work/{assignment_id}", response_class=HTMLResponse)
    async def work(request: Request, assignment_id: str) -> Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        try:
            assignment, hit = await run_in_threadpool(
                backend.site.assignment_for_worker, worker.row["worker_id"], assignment_id
            )
        except SiteError as error:
            return problem(worker, error)
        if assignment["status"] in ("Submitted", "Approved", "Rejected"):
            following = await run_in_threadpool(backend.site.next_in_group, worker.row, hit["hit_group_id"])
            completion = await run_in_threadpool(completion_for, assignment_id) if completion_for else None
            return page(
                "site/work_done.html",
                worker,
                hit=hit,
                assignment=assignment,
                has_next=following is not None,
                completion=completion,
            )
        if assignment["status"] != "Accepted":
            return problem(worker, backend.site._not_open(assignment))
        params = {
            "assignmentId": assignment_id,
            "hitId": hit["hit_id"],
            "turkSubmitTo": base_url(request),
            "workerId": worker.row["worker_id"],
        }
        frame = hit_frame(hit, with_query(f"/work/{quote(assignment_id)}/frame", params), params)
        return page(
            "site/work.html", worker, hit=hit, assignment=assignment, frame=frame, now=backend.clock.now(), nav="hits"
        )

    @site.get("/work/{assignment_id}/frame")
    async def work_frame(request: Request, assignment_id: str) -> Response:
        found = await run_in_threadpool(backend.site.assignment_by_id, assignment_id)
        if found is None:
            return frame_message("No such assignment.", 404)
        assignment, hit = found
        if assignment["status"] != "Accepted":
            return frame_message(backend.site._not_open(assignment).message, 409)
        return frame_response(hit, base_url(request))

    @site.post("/work/{assignment_id}/return")
    async def return_work(request: Request, assignment_id: str) -> Response:
        checked = await checked_post(request)
        if isinstance(checked, Response):
            return checked
        worker, _fields = checked
        assert worker.row is not None
        try:
            await run_in_threadpool(backend.site.return_assignment, worker.row["worker_id"], assignment_id)
        except SiteError as error:
            return problem(worker, error)
        return RedirectResponse("/worker?returned=1", status_code=303)

    @site.post("/mturk/externalSubmit")
    async def external_submit(request: Request) -> Response:
        fields = await form_fields(request)
        assignment_id = next((value for key, value in fields if key == "assignmentId"), "").strip()
        # These pages show inside the HIT's frame (the form posts there): framable, unlike the site's own.
        if not assignment_id or assignment_id == PREVIEW_ID:
            text = render_text(
                "site/not_submitted.html", message="Accept the HIT before submitting an answer.", back=False
            )
            return HTMLResponse(text, status_code=400, headers=FRAME_HEADERS)
        # The assignment ID is the capability (task pages on other origins post without our
        # cookie); a signed-in worker may still submit only their own assignments.
        worker = await current(request)
        worker_id = worker.row["worker_id"] if worker.row is not None else None
        try:
            assignment, hit = await run_in_threadpool(backend.submit_assignment, assignment_id, fields, worker_id)
        except SiteError as error:
            text = render_text("site/not_submitted.html", message=error.message, back=True)
            return HTMLResponse(text, status_code=error.status, headers=FRAME_HEADERS)
        text = render_text("site/submitted.html", assignment=assignment, hit=hit, base=base_url(request))
        return HTMLResponse(text, headers=FRAME_HEADERS)

    # -- dashboard and qualifications -----------------------------------------------------

    @site.get("/worker/dashboard", response_class=HTMLResponse)
    async def dashboard(request: Request) -> Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        board = await run_in_threadpool(backend.site.dashboard, worker.row["worker_id"])
        return page("site/dashboard.html", worker, board=board, nav="dashboard")

    # -- operator -------------------------------------------------------------------------

    async def operator_denied(request: Request) -> Response | None:
        if not settings.operator_password:
            if settings.mode != "production":
                return None  # local use without a password: open (a warning is logged at startup)
            return render(
                "operator/message.html",
                403,
                message="The operator pages are off: set HITFLOW_HIT_SERVICE_OPERATOR_PASSWORD.",
            )
        header = request.headers.get("authorization", "")
        challenge = {**_HEADERS, "WWW-Authenticate": 'Basic realm="hitflow operator", charset="UTF-8"'}
        if not header.lower().startswith("basic "):
            return Response("Operator password required.", status_code=401, headers=challenge)
        keys = throttle.keys("operator", request.client.host if request.client else None)
        now = backend.clock.now()
        wait = await run_in_threadpool(throttle.wait, keys, now)
        if wait:
            return Response(too_many(wait), status_code=429, headers={**_HEADERS, "Retry-After": str(wait)})
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        password = decoded.partition(":")[2]
        if hmac.compare_digest(password.encode(), settings.operator_password.encode()):
            return None
        await run_in_threadpool(throttle.failed, keys, now)
        return Response("Operator password required.", status_code=401, headers=challenge)

    site.operator_denied = operator_denied  # type: ignore[attr-defined]  # the workforce's operator pages use it

    @site.get("/operator", response_class=HTMLResponse)
    async def operator(request: Request) -> Response:
        denied = await operator_denied(request)
        if denied is not None:
            return denied
        data = await run_in_threadpool(backend.site.operator_overview)
        return render("operator/overview.html", data=data)

    @site.get("/hits", response_class=HTMLResponse)
    async def hits(
        request: Request, offset: int = Query(0, ge=0), limit: int = Query(pages.PAGE_SIZE, ge=1, le=500)
    ) -> Response:
        denied = await operator_denied(request)
        if denied is not None:
            return denied
        return await run_in_threadpool(pages.hits_page, backend, offset, limit)

    @site.get("/hits/{hit_id}/preview", response_class=HTMLResponse)
    async def hit_preview(request: Request, hit_id: str) -> Response:
        denied = await operator_denied(request)
        if denied is not None:
            return denied
        return await run_in_threadpool(pages.preview_page, backend, hit_id, base_url(request))

    return site
