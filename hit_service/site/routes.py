"""The worker site and the operator page: server-rendered HTML, no JavaScript framework.

Worker site (accounts made by the operator with ``python -m hit_service worker add``):

* ``/worker/login`` — sign in; the session is an HttpOnly, SameSite=Lax cookie signed with
  the service's key (``identity.Sessions``); every form carries a CSRF token bound to it.
* ``/worker`` — HIT groups the worker may discover, and work in progress;
  ``/worker/dashboard`` — submitted/approved/rejected work, earnings, bonuses, messages;
  ``/worker/quals`` — requestable qualifications.
* ``/worker/hits/<HITId>`` — preview (as MTurk: the HIT with
  ``assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE``) and Accept; ``/work/<AssignmentId>`` — the
  HIT being worked on, with Return.
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
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hit_service.config import Settings
from hit_service.core import identity, questions
from hit_service.core.models import MTurkBackend, format_money
from hit_service.core.workers import SiteError
from hit_service.site import pages

COOKIE = "hitflow_worker"
PREVIEW_ID = "ASSIGNMENT_ID_NOT_AVAILABLE"
HTML_SANDBOX = "allow-scripts allow-forms allow-popups allow-modals allow-top-navigation-by-user-activation"
EXTERNAL_SANDBOX = HTML_SANDBOX + " allow-same-origin"  # its own origin, not ours
FRAME_CSP = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-top-navigation-by-user-activation"
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1f2328; }
header { background: #232f3e; color: #fff; padding: .6rem 1.2rem; display: flex; gap: 1.2rem; align-items: center; }
header a, header button { color: #fff; text-decoration: none; background: none; border: 0; font: inherit;
                          cursor: pointer; }
header .who { margin-left: auto; opacity: .85; }
main { padding: 1rem 1.5rem; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.2rem; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
iframe { width: 100%; border: 1px solid #bbb; }
.bar { display: flex; gap: 1.5rem; align-items: center; flex-wrap: wrap; background: #f6f8fa; padding: .5rem .8rem;
       border: 1px solid #ddd; margin-bottom: .6rem; }
.error { color: #b42318; } .ok { color: #067647; } .muted { color: #59636e; }
button.primary { background: #ff9900; border: 1px solid #c77700; padding: .4rem 1rem; font-size: 1rem;
                 cursor: pointer; }
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _html(title: str, body: str, status: int = 200, nav: str = "") -> HTMLResponse:
    page = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>{_STYLE}</style></head><body>{nav}<main>{body}</main></body></html>"
    )
    return HTMLResponse(page, status_code=status, headers=_HEADERS)


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


class _Worker:
    """The signed-in worker of a request (or None) with what pages need."""

    def __init__(self, row: dict[str, Any] | None, cookie: str | None, csrf: str) -> None:
        self.row = row
        self.cookie = cookie
        self.csrf = csrf


def router(backend: MTurkBackend, settings: Settings, sessions: identity.Sessions) -> APIRouter:
    """The worker site, externalSubmit and the operator pages."""
    site = APIRouter()

    def base_url(request: Request) -> str:
        return settings.public_url.rstrip("/") if settings.public_url else str(request.base_url).rstrip("/")

    def nav(worker: _Worker) -> str:
        if worker.row is None:
            return "<header><strong>hitflow</strong><span>worker site</span></header>"
        return (
            "<header><strong>hitflow</strong><a href='/worker'>HITs</a><a href='/worker/dashboard'>Dashboard</a>"
            "<a href='/worker/quals'>Qualifications</a>"
            f"<span class='who'>{_e(worker.row['name'])} · <code>{_e(worker.row['worker_id'])}</code></span>"
            f"<form method='post' action='/worker/logout' style='margin:0'><input type='hidden' name='csrf' "
            f"value='{_e(worker.csrf)}'><button type='submit'>Sign out</button></form></header>"
        )

    async def current(request: Request) -> _Worker:
        cookie = request.cookies.get(COOKIE)
        worker_id = sessions.check(cookie)
        if worker_id is None:
            return _Worker(None, None, "")
        row = await run_in_threadpool(backend.worker, worker_id)
        if row is None:
            return _Worker(None, None, "")
        return _Worker(row, cookie, sessions.csrf(cookie or ""))

    def to_login(request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/worker/login?next={quote(target, safe='')}", status_code=303)

    def problem(worker: _Worker, error: SiteError) -> HTMLResponse:
        body = f"<h1>Sorry</h1><p class='error'>{_e(error.message)}</p><p><a href='/worker'>Back to HITs</a></p>"
        return _html("Sorry", body, error.status, nav(worker))

    async def form_fields(request: Request) -> list[tuple[str, str]]:
        form = await request.form()
        return [
            (key, value if isinstance(value, str) else getattr(value, "filename", "") or "")
            for key, value in form.multi_items()
        ]

    async def checked_post(request: Request) -> tuple[_Worker, list[tuple[str, str]]] | Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        fields = await form_fields(request)
        token = next((value for key, value in fields if key == "csrf"), None)
        if not sessions.check_csrf(worker.cookie, token):
            return _html("Expired form", "<p class='error'>This form has expired; go back and try again.</p>", 403)
        return worker, fields

    # -- sign in / out --------------------------------------------------------------------

    def login_page(next_url: str, message: str = "", status: int = 200) -> HTMLResponse:
        note = f"<p class='error'>{_e(message)}</p>" if message else ""
        body = (
            "<h1>Sign in</h1>"
            f"{note}<form method='post' action='/worker/login'>"
            f"<input type='hidden' name='next' value='{_e(next_url)}'>"
            "<p><label>Worker name<br><input name='name' id='name' autocomplete='username' required></label></p>"
            "<p><label>Password<br><input type='password' name='password' id='password' "
            "autocomplete='current-password' required></label></p>"
            "<p><button class='primary' type='submit' id='signin'>Sign in</button></p></form>"
            "<p class='muted'>Accounts are created by the operator.</p>"
        )
        return _html("Sign in", body, status, nav(_Worker(None, None, "")))

    @site.get("/worker/login", response_class=HTMLResponse)
    def login_form(next: str = "/worker") -> HTMLResponse:
        return login_page(next)

    @site.post("/worker/login")
    async def login(request: Request) -> Response:
        fields = dict(await form_fields(request))
        next_url = fields.get("next") or "/worker"
        if not next_url.startswith("/") or next_url.startswith("//"):
            next_url = "/worker"
        row = await run_in_threadpool(
            identity.authenticate_worker, backend.store, fields.get("name", ""), fields.get("password", "")
        )
        if row is None:
            return login_page(next_url, "Wrong worker name or password.", 401)
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(
            COOKIE,
            sessions.issue(row["worker_id"]),
            max_age=identity.SESSION_SECONDS,
            httponly=True,
            samesite="lax",
            secure=base_url(request).startswith("https://"),
            path="/",
        )
        return response

    @site.post("/worker/logout")
    async def logout(request: Request) -> Response:
        checked = await checked_post(request)
        if isinstance(checked, Response):
            return checked
        response = RedirectResponse("/worker/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # -- finding and previewing work ------------------------------------------------------

    @site.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/worker", status_code=303)

    @site.get("/worker", response_class=HTMLResponse)
    async def worker_home(request: Request) -> Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        groups = await run_in_threadpool(backend.hit_groups, worker.row)
        board = await run_in_threadpool(backend.dashboard, worker.row["worker_id"])
        running = [a for a in board["assignments"] if a["status"] == "Accepted"]
        rows = "".join(
            "<tr>"
            f"<td><a href='/worker/hits/{_e(g['first_hit'])}'>{_e(g['title'])}</a>"
            f"<div class='muted'>{_e(g['description'])}</div></td>"
            f"<td>{_e(g['requester_name'])}</td><td>${_e(format_money(g['reward']))}</td>"
            f"<td>{_e(g['available'])}</td><td>{_e(round(g['duration'] / 60))} min</td>"
            f"<td>{'' if g['accept'] else '<span class=muted>not qualified to accept</span>'}</td>"
            "</tr>"
            for g in groups
        )
        in_progress = "".join(
            f"<li><a href='/work/{_e(a['assignment_id'])}'>{_e(a['title'])}</a> "
            f"<span class='muted'>due {_e(_when(a['deadline']))}</span></li>"
            for a in running
        )
        body = (
            (f"<h2>Work in progress</h2><ul>{in_progress}</ul>" if in_progress else "")
            + f"<h1>HIT groups ({len(groups)})</h1>"
            + (
                "<table id='groups'><thead><tr><th>Title</th><th>Requester</th><th>Reward</th><th>HITs available</th>"
                f"<th>Time allotted</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
                if groups
                else "<p class='muted'>No HITs available for you right now.</p>"
            )
        )
        return _html("HITs", body, nav=nav(worker))

    def hit_frame(hit: dict[str, Any], frame_url: str, external_params: dict[str, str]) -> str:
        parsed = questions.parse_question(hit["question"])
        height = parsed.frame_height or pages.DEFAULT_FRAME_HEIGHT
        if parsed.external_url is not None:
            src = _with_query(parsed.external_url, external_params)
            return (
                f"<iframe id='hit-frame' title='HIT' sandbox='{EXTERNAL_SANDBOX}' height='{height}' "
                f"src='{_e(src)}'></iframe>"
            )
        return (
            f"<iframe id='hit-frame' title='HIT' sandbox='{HTML_SANDBOX}' height='{height}' "
            f"src='{_e(frame_url)}'></iframe>"
        )

    @site.get("/worker/hits/{hit_id}", response_class=HTMLResponse)
    async def preview(request: Request, hit_id: str) -> Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        try:
            hit, allowed, mine = await run_in_threadpool(backend.hit_for_worker, worker.row, hit_id)
        except SiteError as error:
            return problem(worker, error)
        if not allowed["preview"]:
            return problem(
                worker, SiteError("You do not meet the qualification requirements to preview this HIT.", 403)
            )
        status = backend.status(hit)
        if mine is not None and mine["status"] == "Accepted":
            action = f"<a class='primary' href='/work/{_e(mine['assignment_id'])}'>Continue working</a>"
        elif mine is not None:
            action = "<span class='muted'>You have already submitted this HIT.</span>"
        elif status != "Assignable":
            action = "<span class='muted'>This HIT is not available any more.</span>"
        elif not allowed["accept"]:
            action = "<span class='error'>You do not meet the qualification requirements to accept this HIT.</span>"
        else:
            action = (
                f"<form method='post' action='/worker/hits/{_e(hit_id)}/accept' style='margin:0'>"
                f"<input type='hidden' name='csrf' value='{_e(worker.csrf)}'>"
                "<button class='primary' type='submit' id='accept'>Accept</button></form>"
            )
        params = {"assignmentId": PREVIEW_ID, "hitId": hit_id}
        frame = hit_frame(hit, _with_query(f"/worker/hits/{quote(hit_id)}/frame", params), params)
        body = (
            f"<div class='bar'><strong>{_e(hit['title'])}</strong><span>Requester: {_e(hit['requester_name'])}</span>"
            f"<span>Reward: ${_e(format_money(hit['reward']))}</span>"
            f"<span>Time allotted: {_e(round(hit['assignment_duration_seconds'] / 60))} min</span>{action}</div>"
            f"<p class='muted'>{_e(hit['description'])}</p>{frame}"
        )
        return _html(f"Preview: {hit['title']}", body, nav=nav(worker))

    def frame_response(hit: dict[str, Any], base: str) -> Response:
        parsed = questions.parse_question(hit["question"])
        if parsed.html is not None:
            content = parsed.html
        elif parsed.kind == "QuestionForm":
            content = questions.render_question_form(hit["question"], base)
        else:
            content = "<p>This HIT is shown from its external URL.</p>"
        headers = {**_HEADERS, "Content-Security-Policy": FRAME_CSP}
        return HTMLResponse(content, headers=headers)

    @site.get("/worker/hits/{hit_id}/frame")
    async def preview_frame(request: Request, hit_id: str) -> Response:
        worker = await current(request)
        if worker.row is None:
            return HTMLResponse("Sign in first.", status_code=401, headers=_HEADERS)
        try:
            hit, allowed, _mine = await run_in_threadpool(backend.hit_for_worker, worker.row, hit_id)
        except SiteError as error:
            return HTMLResponse(_e(error.message), status_code=error.status, headers=_HEADERS)
        if not allowed["preview"]:
            return HTMLResponse("Not qualified to preview.", status_code=403, headers=_HEADERS)
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
                backend.assignment_for_worker, worker.row["worker_id"], assignment_id
            )
        except SiteError as error:
            return problem(worker, error)
        if assignment["status"] != "Accepted":
            return problem(worker, backend._not_open(assignment))
        params = {
            "assignmentId": assignment_id,
            "hitId": hit["hit_id"],
            "turkSubmitTo": base_url(request),
            "workerId": worker.row["worker_id"],
        }
        frame = hit_frame(hit, _with_query(f"/work/{quote(assignment_id)}/frame", params), params)
        body = (
            f"<div class='bar'><strong>{_e(hit['title'])}</strong>"
            f"<span>Reward: ${_e(format_money(hit['reward']))}</span>"
            f"<span>Submit by: <time id='deadline' datetime='{_e(assignment['deadline'].isoformat())}'>"
            f"{_e(_when(assignment['deadline']))}</time></span>"
            f"<form method='post' action='/work/{_e(assignment_id)}/return' style='margin:0'>"
            f"<input type='hidden' name='csrf' value='{_e(worker.csrf)}'>"
            "<button type='submit' id='return'>Return HIT</button></form></div>"
            f"{frame}"
        )
        return _html(f"Working: {hit['title']}", body, nav=nav(worker))

    @site.get("/work/{assignment_id}/frame")
    async def work_frame(request: Request, assignment_id: str) -> Response:
        found = await run_in_threadpool(backend.assignment_by_id, assignment_id)
        if found is None:
            return HTMLResponse("No such assignment.", status_code=404, headers=_HEADERS)
        assignment, hit = found
        if assignment["status"] != "Accepted":
            return HTMLResponse(_e(backend._not_open(assignment).message), status_code=409, headers=_HEADERS)
        return frame_response(hit, base_url(request))

    @site.post("/work/{assignment_id}/return")
    async def return_work(request: Request, assignment_id: str) -> Response:
        checked = await checked_post(request)
        if isinstance(checked, Response):
            return checked
        worker, _fields = checked
        assert worker.row is not None
        try:
            await run_in_threadpool(backend.return_assignment, worker.row["worker_id"], assignment_id)
        except SiteError as error:
            return problem(worker, error)
        return RedirectResponse("/worker", status_code=303)

    @site.post("/mturk/externalSubmit")
    async def external_submit(request: Request) -> Response:
        fields = await form_fields(request)
        assignment_id = next((value for key, value in fields if key == "assignmentId"), "").strip()
        if not assignment_id or assignment_id == PREVIEW_ID:
            body = "<h1>Not submitted</h1><p class='error'>Accept the HIT before submitting an answer.</p>"
            return _html("Not submitted", body, 400)
        # The assignment ID is the capability (task pages on other origins post without our
        # cookie); a signed-in worker may still submit only their own assignments.
        worker = await current(request)
        worker_id = worker.row["worker_id"] if worker.row is not None else None
        try:
            assignment, hit = await run_in_threadpool(backend.submit_assignment, assignment_id, fields, worker_id)
        except SiteError as error:
            body = f"<h1>Not submitted</h1><p class='error'>{_e(error.message)}</p>"
            body += "<p><a href='/worker' target='_top'>Back to HITs</a></p>"
            return _html("Not submitted", body, error.status)
        body = (
            "<h1 id='submitted'>Thank you — your work was submitted</h1>"
            f"<p>Assignment <code>{_e(assignment['assignment_id'])}</code> of “{_e(hit['title'])}”.</p>"
            "<p><a href='/worker' target='_top'>Find more HITs</a> · "
            "<a href='/worker/dashboard' target='_top'>Dashboard</a></p>"
        )
        return _html("Submitted", body)

    # -- dashboard and qualifications -----------------------------------------------------

    @site.get("/worker/dashboard", response_class=HTMLResponse)
    async def dashboard(request: Request) -> Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        board = await run_in_threadpool(backend.dashboard, worker.row["worker_id"])
        counts = board["counts"]
        history = "".join(
            "<tr>"
            f"<td>{_e(a['title'])}</td><td>{_e(a['requester_name'])}</td><td>${_e(format_money(a['reward']))}</td>"
            f"<td class='status'>{_e(a['status'])}</td><td>{_e(_when(a['submit_time'] or a['accept_time']))}</td>"
            f"<td>{_e(a['requester_feedback'])}</td></tr>"
            for a in board["assignments"]
        )
        bonuses = "".join(
            f"<tr><td>${_e(format_money(b['amount']))}</td><td>{_e(b['requester_name'])}</td>"
            f"<td>{_e(b['reason'])}</td><td>{_e(_when(b['grant_time']))}</td></tr>"
            for b in board["bonuses"]
        )
        messages = "".join(
            f"<li><strong>{_e(m['subject'])}</strong> <span class='muted'>from {_e(m['requester_name'])}, "
            f"{_e(_when(m['sent_at']))}</span><p>{_e(m['body'])}</p></li>"
            for m in board["messages"]
        )
        body = (
            "<h1>Dashboard</h1>"
            f"<p id='earnings'>Earned: <strong>${_e(format_money(board['earned']))}</strong> "
            f"(rewards ${_e(format_money(board['rewards']))} + bonuses ${_e(format_money(board['bonus_total']))}); "
            f"awaiting approval: ${_e(format_money(board['pending']))}</p>"
            f"<p>Submitted {counts['Submitted']} · Approved {counts['Approved']} · Rejected {counts['Rejected']}</p>"
            "<h2>Messages</h2>"
            + (f"<ul id='messages'>{messages}</ul>" if messages else "<p class='muted'>None.</p>")
            + "<h2>Work</h2><table id='history'><thead><tr><th>HIT</th><th>Requester</th><th>Reward</th>"
            f"<th>Status</th><th>When</th><th>Feedback</th></tr></thead><tbody>{history}</tbody></table>"
            + "<h2>Bonuses</h2>"
            + (
                "<table><thead><tr><th>Amount</th><th>Requester</th><th>Reason</th><th>When</th></tr></thead>"
                f"<tbody>{bonuses}</tbody></table>"
                if bonuses
                else "<p class='muted'>None.</p>"
            )
        )
        return _html("Dashboard", body, nav=nav(worker))

    @site.get("/worker/quals", response_class=HTMLResponse)
    async def quals(request: Request, note: str = "") -> Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        rows = await run_in_threadpool(backend.requestable_types, worker.row["worker_id"])
        items = []
        for row in rows:
            if row["score_status"] == "Granted":
                state = f"<span class='ok'>granted ({_e(row['integer_value'])})</span>"
            elif row["request_status"] == "Pending":
                state = "<span class='muted'>requested</span>"
            else:
                state = (
                    f"<form method='post' action='/worker/quals/{_e(row['qualification_type_id'])}/request' "
                    f"style='margin:0'><input type='hidden' name='csrf' value='{_e(worker.csrf)}'>"
                    "<button type='submit'>Request</button></form>"
                )
            items.append(f"<tr><td>{_e(row['name'])}</td><td>{_e(row['description'])}</td><td>{state}</td></tr>")
        notice = f"<p class='ok'>{_e(note)}</p>" if note else ""
        body = (
            f"<h1>Qualifications</h1>{notice}<table><thead><tr><th>Name</th><th>Description</th><th></th></tr>"
            f"</thead><tbody>{''.join(items)}</tbody></table>"
        )
        return _html("Qualifications", body, nav=nav(worker))

    @site.post("/worker/quals/{type_id}/request")
    async def request_qual(request: Request, type_id: str) -> Response:
        checked = await checked_post(request)
        if isinstance(checked, Response):
            return checked
        worker, _fields = checked
        assert worker.row is not None
        try:
            note = await run_in_threadpool(backend.request_qualification, worker.row["worker_id"], type_id)
        except Exception as exc:  # RequestError from the rules: show its message
            return problem(worker, SiteError(getattr(exc, "message", "This qualification cannot be requested.")))
        return RedirectResponse(f"/worker/quals?note={quote(note)}", status_code=303)

    # -- operator -------------------------------------------------------------------------

    def operator_denied(request: Request) -> Response | None:
        if not settings.operator_password:
            if settings.mode != "production":
                return None  # local use without a password: open (a warning is logged at startup)
            return _html(
                "Operator",
                "<p class='error'>The operator pages are off: set HITFLOW_HIT_SERVICE_OPERATOR_PASSWORD.</p>",
                403,
            )
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            password = decoded.partition(":")[2]
            if hmac.compare_digest(password.encode(), settings.operator_password.encode()):
                return None
        return Response(
            "Operator password required.",
            status_code=401,
            headers={**_HEADERS, "WWW-Authenticate": 'Basic realm="hitflow operator", charset="UTF-8"'},
        )

    @site.get("/operator", response_class=HTMLResponse)
    async def operator(request: Request) -> Response:
        denied = operator_denied(request)
        if denied is not None:
            return denied
        data = await run_in_threadpool(backend.operator_overview)
        requesters = "".join(
            f"<tr><td>{_e(r['name'])}</td><td><code>{_e(r['requester_id'])}</code></td>"
            f"<td>{'<br>'.join(f'<code>{_e(k)}</code>' for k in r['access_key_ids'])}</td>"
            f"<td>${_e(r['balance'])}</td></tr>"
            for r in data["requesters"]
        )
        workers = "".join(
            f"<tr><td>{_e(w['name'])}</td><td><code>{_e(w['worker_id'])}</code></td>"
            f"<td>{_e(w['locale_country'])}{'-' + _e(w['locale_subdivision']) if w['locale_subdivision'] else ''}</td>"
            f"<td>{w['submitted']}</td><td>{w['approved']}</td><td>{w['rejected']}</td></tr>"
            for w in data["workers"]
        )
        hits = "".join(
            f"<tr><td><a href='/hits/{_e(h['hit_id'])}/preview'><code>{_e(h['hit_id'])}</code></a></td>"
            f"<td>{_e(h['title'])}</td><td>{_e(h['requester_name'])}</td><td>{_e(h['live_status'])}</td>"
            f"<td>{h['max_assignments']}</td><td>{h['assignments_pending']}</td><td>{h['assignments_submitted']}</td>"
            f"<td>{h['assignments_completed']}</td><td>{_e(_when(h['expiration']))}</td></tr>"
            for h in data["hits"]
        )
        body = (
            "<h1>Operator</h1><h2>Requesters</h2><table id='requesters'><thead><tr><th>Name</th><th>ID</th>"
            f"<th>Access key IDs</th><th>Balance</th></tr></thead><tbody>{requesters}</tbody></table>"
            "<h2>Workers</h2><table id='workers'><thead><tr><th>Name</th><th>ID</th><th>Locale</th>"
            f"<th>Submitted</th><th>Approved</th><th>Rejected</th></tr></thead><tbody>{workers}</tbody></table>"
            f"<h2>HITs ({data['hit_count']}; newest 200)</h2><table id='hits'><thead><tr><th>HIT</th><th>Title</th>"
            "<th>Requester</th><th>Status</th><th>Max</th><th>Working</th><th>Submitted</th><th>Reviewed</th>"
            f"<th>Expires</th></tr></thead><tbody>{hits}</tbody></table>"
        )
        return _html("Operator", body, nav="<header><strong>hitflow</strong><span>operator</span></header>")

    @site.get("/hits", response_class=HTMLResponse)
    async def hits(
        request: Request, offset: int = Query(0, ge=0), limit: int = Query(pages.PAGE_SIZE, ge=1, le=500)
    ) -> Response:
        denied = operator_denied(request)
        if denied is not None:
            return denied
        return await run_in_threadpool(pages.hits_page, backend, offset, limit)

    @site.get("/hits/{hit_id}/preview", response_class=HTMLResponse)
    async def hit_preview(request: Request, hit_id: str) -> Response:
        denied = operator_denied(request)
        if denied is not None:
            return denied
        return await run_in_threadpool(pages.preview_page, backend, hit_id)

    return site
