"""The requester console's pages under ``/requester`` (Jinja2 templates in ``templates/console/``).

Sign-in is for requester users the operator made (``python -m hit_service requester add-user``);
the session is an HttpOnly, SameSite=Lax cookie signed with the service's key, and every form
carries a CSRF token bound to it — the worker site's rules. A user sees only their account.

Task HTML (a project's template, a batch row) is shown only inside ``<iframe sandbox>`` without
``allow-same-origin``, served with a ``Content-Security-Policy: sandbox`` header, as the worker
site shows it: the requester's scripts never run with the service's origin.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from hit_service.console import csvfiles, forms, starters
from hit_service.console.service import Console, FormError, NotFound
from hit_service.core import identity
from hit_service.core.exceptions import RequestError
from hit_service.core.models import MTurkBackend
from hit_service.limits import MAX_REVIEW_CSV_BYTES
from hit_service.settings import Settings
from hit_service.site.routes import FRAME_CSP, HTML_SANDBOX
from hit_service.site.taskhtml import task_page
from hit_service.site.templating import FRAME_HEADERS, PAGE_HEADERS, render

COOKIE = "hitflow_requester"
PREVIEW_ID = "ASSIGNMENT_ID_NOT_AVAILABLE"
FRAME_SANDBOX = HTML_SANDBOX  # the worker site's: a requester's preview is what a worker gets
HEADERS = PAGE_HEADERS
STATUSES = ("Submitted", "Approved", "Rejected")
T = TypeVar("T")


class User:
    """The signed-in requester user of a request."""

    def __init__(self, row: dict[str, Any], cookie: str, csrf: str) -> None:
        self.row = row
        self.cookie = cookie
        self.csrf = csrf

    @property
    def requester(self) -> str:
        return str(self.row["requester"])


class Refusal(Exception):
    """Ends a console route with ``response``: the sign-in redirect, an expired form, "not found"."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class ConsoleRoute(APIRoute):
    """A route whose handler may raise ``Refusal``, so each states only what is its own."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def refusable(request: Request) -> Response:
            try:
                return await handler(request)
            except Refusal as refusal:
                return refusal.response

        return refusable


def router(backend: MTurkBackend, settings: Settings, sessions: identity.Sessions) -> tuple[APIRouter, Console]:
    """The console's routes and the ``Console`` behind them."""
    console = Console(backend)
    site = APIRouter(prefix="/requester", route_class=ConsoleRoute)

    def page(request: Request, template: str, user: User | None, status: int = 200, /, **context: Any) -> HTMLResponse:
        """``templates/console/<template>`` through the service's one Jinja2 environment."""
        context.update(user=user, note=request.query_params.get("note", ""), active=template)
        return render(f"console/{template}", status, None, **context)  # never framed (PAGE_HEADERS)

    def base_url(request: Request) -> str:
        return settings.public_url.rstrip("/") if settings.public_url else str(request.base_url).rstrip("/")

    throttle = identity.SignInThrottle(backend.store)

    async def current(request: Request) -> User | None:
        cookie = request.cookies.get(COOKIE)
        if cookie is None or sessions.check(cookie) is None:
            return None
        subject = await run_in_threadpool(
            identity.session_subject, backend.store, sessions, cookie, backend.clock.now()
        )
        if not subject or not subject.startswith(identity.REQUESTER_SUBJECT):
            return None
        row = await run_in_threadpool(
            identity.requester_user, backend.store, subject[len(identity.REQUESTER_SUBJECT) :]
        )
        return None if row is None else User(row, cookie, sessions.csrf(cookie))

    def to_login(request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/requester/login?next={quote(target, safe='')}", status_code=303)

    def not_found(request: Request, user: User, what: str = "That page") -> HTMLResponse:
        return page(
            request, "problem.html", user, 404, title="Not found", message=f"{what} does not exist in your account."
        )

    async def form_of(request: Request) -> dict[str, Any]:
        form = await request.form()
        return {key: value for key, value in form.multi_items()}

    async def signed_in(request: Request) -> User:
        """The signed-in user; anyone else is sent to sign in (and back here afterwards)."""
        user = await current(request)
        if user is None:
            raise Refusal(to_login(request))
        return user

    async def posted(request: Request) -> tuple[User, dict[str, Any]]:
        """The signed-in user and the form of a post whose CSRF token is good; any other post is refused."""
        user = await signed_in(request)
        fields = await form_of(request)
        if not sessions.check_csrf(user.cookie, fields.get("csrf") if isinstance(fields.get("csrf"), str) else None):
            expired = "This form has expired (or came from another site). Go back, reload the page and try again."
            raise Refusal(page(request, "problem.html", user, 403, title="Expired form", message=expired))
        return user, fields

    async def owned(request: Request, user: User, what: str, call: Callable[..., T], *args: Any) -> T:
        """``call(user.requester, *args)`` in a thread; the "not found" page naming ``what`` when it is not theirs."""
        try:
            return await run_in_threadpool(call, user.requester, *args)
        except NotFound:
            raise Refusal(not_found(request, user, what)) from None

    def back(url: str, note: str = "") -> RedirectResponse:
        return RedirectResponse(url + (("&" if "?" in url else "?") + urlencode({"note": note}) if note else ""), 303)

    def frame(html: str) -> HTMLResponse:
        return HTMLResponse(html, headers={**FRAME_HEADERS, "Content-Security-Policy": FRAME_CSP})

    # -- sign in ------------------------------------------------------------------------------

    @site.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: str = "/requester") -> Response:
        return page(request, "login.html", None, next=next, error="")

    @site.post("/login")
    async def login(request: Request) -> Response:
        fields = await form_of(request)
        next_url = str(fields.get("next") or "/requester")
        if not next_url.startswith("/requester") or next_url.startswith("//"):
            next_url = "/requester"
        name = str(fields.get("name", "")).strip()
        keys = throttle.keys(f"requester-user:{name.lower()}", request.client.host if request.client else None)
        now = backend.clock.now()
        wait = await run_in_threadpool(throttle.wait, keys, now)
        if wait:
            refused = page(
                request,
                "login.html",
                None,
                429,
                next=next_url,
                error=f"Too many failed sign-ins. Try again in {wait} seconds.",
            )
            refused.headers["Retry-After"] = str(wait)
            return refused
        row = await run_in_threadpool(
            identity.authenticate_requester_user, backend.store, name, str(fields.get("password", ""))
        )
        if row is None:
            wait = await run_in_threadpool(throttle.failed, keys, now)
            error = "Wrong user name or password." + (
                f" Too many failed sign-ins. Try again in {wait} seconds." if wait else ""
            )
            return page(request, "login.html", None, 401, next=next_url, error=error)
        await run_in_threadpool(throttle.succeeded, f"requester-user:{name.lower()}")
        cookie = await run_in_threadpool(
            identity.open_session, backend.store, sessions, identity.REQUESTER_SUBJECT + row["user_id"], now
        )
        response = RedirectResponse(next_url, status_code=303)
        base = settings.public_url or str(request.base_url)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=identity.SESSION_SECONDS,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies or base.startswith("https://"),
            path="/requester",
        )
        return response

    @site.post("/logout")
    async def logout(request: Request) -> Response:
        user, _fields = await posted(request)
        await run_in_threadpool(identity.close_session, backend.store, sessions, user.cookie)
        response = RedirectResponse("/requester/login", status_code=303)
        response.delete_cookie(COOKIE, path="/requester")
        return response

    # -- home ---------------------------------------------------------------------------------

    @site.get("", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        user = await signed_in(request)
        balance = await run_in_threadpool(console.balance, user.requester)
        batches = await run_in_threadpool(console.batches, user.requester)
        projects = await run_in_threadpool(console.projects, user.requester)
        return page(request, "home.html", user, balance=balance, batches=batches[:10], projects=projects[:10])

    # -- projects -----------------------------------------------------------------------------

    @site.get("/projects", response_class=HTMLResponse)
    async def projects(request: Request) -> Response:
        user = await signed_in(request)
        rows = await run_in_threadpool(console.projects, user.requester)
        return page(request, "projects.html", user, projects=rows, starters=starters.choices())

    async def project_page(
        request: Request, user: User, form: dict[str, Any], layout_id: str | None, error: str = "", status: int = 200
    ) -> HTMLResponse:
        choices = await run_in_threadpool(console.qualification_choices, user.requester)
        return page(
            request,
            "project_form.html",
            user,
            status,
            form=form,
            layout_id=layout_id,
            error=error,
            qual_choices=choices,
            comparators=forms.COMPARATORS,
            actions=forms.ACTIONS,
            units=list(forms.UNITS),
        )

    @site.get("/projects/new", response_class=HTMLResponse)
    async def new_project(request: Request, starter: str = "age_guess") -> Response:
        user = await signed_in(request)
        values = starters.starter(starter) or starters.starter("age_guess")
        assert values is not None
        return await project_page(request, user, forms.project_form(values), None)

    @site.post("/projects/new")
    async def create_project(request: Request) -> Response:
        user, fields = await posted(request)
        try:
            values = forms.project_values(fields)
            layout_id = await run_in_threadpool(console.save_project, user.requester, None, values)
        except FormError as exc:
            return await project_page(request, user, forms.raw_form(fields), None, str(exc), 400)
        return back(f"/requester/projects/{layout_id}", "Project created. Preview it, then publish a batch.")

    @site.get("/projects/{layout_id}", response_class=HTMLResponse)
    async def edit_project(request: Request, layout_id: str) -> Response:
        user = await signed_in(request)
        project = await owned(request, user, "That project", console.project, layout_id)
        return await project_page(request, user, forms.project_form(project), layout_id)

    @site.post("/projects/{layout_id}")
    async def save_project(request: Request, layout_id: str) -> Response:
        user, fields = await posted(request)
        await owned(request, user, "That project", console.project, layout_id)
        try:
            values = forms.project_values(fields)
            await run_in_threadpool(console.save_project, user.requester, layout_id, values)
        except FormError as exc:
            return await project_page(request, user, forms.raw_form(fields), layout_id, str(exc), 400)
        return back(f"/requester/projects/{layout_id}", "Saved. Batches published from now on use these settings.")

    @site.post("/projects/{layout_id}/copy")
    async def copy_project(request: Request, layout_id: str) -> Response:
        user, _fields = await posted(request)
        project = await owned(request, user, "That project", console.project, layout_id)
        values = forms.project_values({**_flat(forms.project_form(project)), "name": f"Copy of {project['name']}"})
        new_id = await run_in_threadpool(console.save_project, user.requester, None, values)
        return back(f"/requester/projects/{new_id}", "Copied.")

    @site.get("/projects/{layout_id}/preview", response_class=HTMLResponse)
    async def preview_project(request: Request, layout_id: str) -> Response:
        user = await signed_in(request)
        project = await owned(request, user, "That project", console.project, layout_id)
        variables = csvfiles.layouts.placeholders(project["template"])
        samples = project["sample_values"] or {}
        values = {name: request.query_params.get(name, samples.get(name, "")) for name in variables}
        query = urlencode({**values, "assignmentId": PREVIEW_ID})
        return page(
            request,
            "project_preview.html",
            user,
            project=project,
            variables=variables,
            values=values,
            frame_src=f"/requester/projects/{quote(layout_id)}/frame?{query}",
            sandbox=FRAME_SANDBOX,
        )

    @site.get("/projects/{layout_id}/frame")
    async def project_frame(request: Request, layout_id: str) -> Response:
        user = await current(request)
        if user is None:
            return HTMLResponse("Sign in first.", status_code=401, headers=HEADERS)
        try:
            project = await run_in_threadpool(console.project, user.requester, layout_id)
        except NotFound:
            return HTMLResponse("No such project.", status_code=404, headers=HEADERS)
        values = {k: v for k, v in request.query_params.items() if k != "assignmentId"}
        return frame(task_page(csvfiles.render_page(project["template"], values), base_url(request)))

    # -- publishing a batch ------------------------------------------------------------------

    @site.get("/projects/{layout_id}/publish", response_class=HTMLResponse)
    async def upload_form(request: Request, layout_id: str) -> Response:
        user = await signed_in(request)
        project = await owned(request, user, "That project", console.project, layout_id)
        variables = csvfiles.layouts.placeholders(project["template"])
        return page(request, "upload.html", user, project=project, variables=variables, checked=None, name="")

    @site.post("/projects/{layout_id}/publish")
    async def upload(request: Request, layout_id: str) -> Response:
        user, fields = await posted(request)
        project = await owned(request, user, "That project", console.project, layout_id)
        variables = csvfiles.layouts.placeholders(project["template"])
        upload_file = fields.get("file")
        name = str(fields.get("name") or "").strip()
        if not isinstance(upload_file, UploadFile) or not upload_file.filename:
            checked = csvfiles.CheckedFile(sha256="")
            checked.error(0, 0, "choose a CSV file to upload")
        else:
            data = await upload_file.read(csvfiles.MAX_CSV_BYTES + 1)
            too_big = len(data) > csvfiles.MAX_CSV_BYTES
            checked = await run_in_threadpool(csvfiles.check_input, data, project["template"], too_big=too_big)
        if not checked.ok:
            return page(
                request, "upload.html", user, 400, project=project, variables=variables, checked=checked, name=name
            )
        file_name = Path(str(upload_file.filename)).name if isinstance(upload_file, UploadFile) else ""
        batch_id = await run_in_threadpool(
            console.create_draft, user.requester, project, name or file_name or project["name"], file_name, checked
        )
        return back(f"/requester/batches/{batch_id}/confirm")

    @site.get("/batches/{batch_id}/confirm", response_class=HTMLResponse)
    async def confirm(request: Request, batch_id: int) -> Response:
        user = await signed_in(request)
        batch = await owned(request, user, "That batch", console.batch, batch_id)
        if batch["status"] != "draft":
            return back(f"/requester/batches/{batch_id}")
        rows = await run_in_threadpool(console.batch_rows, batch_id, 3)
        duplicates = await run_in_threadpool(console.same_file, user.requester, batch["file_sha256"], batch_id)
        balance = await run_in_threadpool(console.balance, user.requester)
        cost = console.cost(batch["properties"], batch["row_count"])
        return page(
            request,
            "confirm.html",
            user,
            batch=batch,
            rows=rows,
            duplicates=duplicates,
            balance=balance,
            cost=cost,
            enough=balance >= cost["total"],
            sandbox=FRAME_SANDBOX,
        )

    @site.get("/batches/{batch_id}/rows/{row_number}/frame")
    async def row_frame(request: Request, batch_id: int, row_number: int) -> Response:
        user = await current(request)
        if user is None:
            return HTMLResponse("Sign in first.", status_code=401, headers=HEADERS)
        try:
            batch = await run_in_threadpool(console.batch, user.requester, batch_id)
            row = await run_in_threadpool(console.batch_row, user.requester, batch_id, row_number)
        except NotFound:
            return HTMLResponse("No such row.", status_code=404, headers=HEADERS)
        return frame(task_page(csvfiles.render_page(batch["template"], row["values"]), base_url(request)))

    @site.post("/batches/{batch_id}/publish")
    async def publish(request: Request, batch_id: int) -> Response:
        user, fields = await posted(request)
        batch = await owned(request, user, "That batch", console.batch, batch_id)
        duplicates = await run_in_threadpool(console.same_file, user.requester, batch["file_sha256"], batch_id)
        if duplicates and fields.get("publish_again") != "yes":
            return back(
                f"/requester/batches/{batch_id}/confirm",
                "This file was published before: tick “Publish it again” to create a second set of HITs.",
            )
        try:
            await run_in_threadpool(console.publish, user.requester, batch_id)
        except FormError as exc:
            return back(f"/requester/batches/{batch_id}", str(exc))
        return back(f"/requester/batches/{batch_id}")  # its progress bar shows the publishing

    @site.post("/batches/{batch_id}/discard")
    async def discard(request: Request, batch_id: int) -> Response:
        user, _fields = await posted(request)
        await run_in_threadpool(console.delete_draft, user.requester, batch_id)
        return back("/requester/batches", "The unpublished batch was discarded.")

    # -- managing batches ---------------------------------------------------------------------

    @site.get("/batches", response_class=HTMLResponse)
    async def batches(request: Request) -> Response:
        user = await signed_in(request)
        rows = await run_in_threadpool(console.batches, user.requester)
        api_hits = await run_in_threadpool(console.api_hits, user.requester, 1)
        return page(request, "batches.html", user, batches=rows, has_api=bool(api_hits))

    @site.get("/batches/api", response_class=HTMLResponse)
    async def api_batch(request: Request, status: str = "") -> Response:
        user = await signed_in(request)
        hits = await run_in_threadpool(console.api_hits, user.requester)
        wanted = status if status in STATUSES else None
        assignments = await run_in_threadpool(console.assignments, user.requester, None, wanted)
        return page(
            request,
            "api_hits.html",
            user,
            hits=hits,
            batch=None,
            answers=[(a, csvfiles.answer_fields(a["answer"])) for a in assignments],
            status=wanted or "",
            statuses=STATUSES,
            hit_status=backend.status,
        )

    @site.post("/batches/api/review")
    async def api_review(request: Request) -> Response:
        return await review_post(request, None)

    @site.get("/batches/{batch_id}", response_class=HTMLResponse)
    async def batch_page(request: Request, batch_id: int, status: str = "", offset: int = 0) -> Response:
        user = await signed_in(request)
        batch = await owned(request, user, "That batch", console.batch, batch_id)
        if batch["status"] == "draft":
            return back(f"/requester/batches/{batch_id}/confirm")
        progress = await run_in_threadpool(console.progress, user.requester, batch_id)
        wanted = status if status in STATUSES else None
        offset = min(max(offset, 0), 10**9)
        assignments = await run_in_threadpool(console.assignments, user.requester, batch_id, wanted, 200, offset)
        answers = [(a, csvfiles.answer_fields(a["answer"])) for a in assignments]
        return page(
            request,
            "batch.html",
            user,
            batch=batch,
            progress=progress,
            answers=answers,
            status=wanted or "",
            statuses=STATUSES,
            offset=offset,
            cost=console.cost(batch["properties"], batch["row_count"]),
            nonce=secrets.token_hex(8),
        )

    @site.get("/batches/{batch_id}/progress.json")
    async def batch_progress(request: Request, batch_id: int) -> Response:
        user = await current(request)
        if user is None:
            return JSONResponse({"error": "sign in"}, status_code=401)
        try:
            data = await run_in_threadpool(console.progress, user.requester, batch_id)
        except NotFound:
            return JSONResponse({"error": "no such batch"}, status_code=404)
        return JSONResponse(data, headers=HEADERS)

    async def review_post(request: Request, batch_id: int | None) -> Response:
        user, _ = await posted(request)
        form = await request.form()
        ids = [str(v) for v in form.getlist("assignment")]
        action = str(form.get("action", ""))
        feedback = str(form.get("feedback", "")).strip()
        target = f"/requester/batches/{batch_id if batch_id is not None else 'api'}"
        if batch_id is not None:
            await owned(request, user, "That batch", console.batch, batch_id)
        if action not in ("approve", "reject", "approve_all"):
            return back(target, "Choose Approve or Reject.")
        if action == "approve_all":
            rows = await run_in_threadpool(console.assignments, user.requester, batch_id, "Submitted", 100_000)
            ids, action = [r["assignment_id"] for r in rows], "approve"
        if not ids:
            return back(target, "Select at least one assignment.")
        if action == "reject" and not feedback:
            return back(target, "A rejection needs feedback for the worker.")
        results = await run_in_threadpool(console.review, user.requester, ids, action, feedback, batch_id=batch_id)
        return page(request, "review_results.html", user, results=results, errors=[], back_url=target, title="Review")

    @site.post("/batches/{batch_id}/review")
    async def batch_review(request: Request, batch_id: int) -> Response:
        return await review_post(request, batch_id)

    @site.get("/batches/{batch_id}/results.csv")
    async def results_csv(request: Request, batch_id: int) -> Response:
        user = await signed_in(request)
        batch = await owned(request, user, "That batch", console.batch, batch_id)
        stream = console.results_csv(user.requester, batch_id)
        filename = f"Batch_{batch['batch_id']}_batch_results.csv"
        return StreamingResponse(
            stream,
            media_type="text/csv; charset=utf-8",
            headers={**HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @site.post("/batches/{batch_id}/reviewed")
    async def reviewed(request: Request, batch_id: int) -> Response:
        user, fields = await posted(request)
        await owned(request, user, "That batch", console.batch, batch_id)
        upload_file = fields.get("file")
        if not isinstance(upload_file, UploadFile) or not upload_file.filename:
            return back(f"/requester/batches/{batch_id}", "Choose the reviewed CSV file to upload.")
        data = await upload_file.read(MAX_REVIEW_CSV_BYTES + 1)
        decisions, errors = await run_in_threadpool(csvfiles.read_review, data)
        if errors:
            return page(
                request,
                "review_results.html",
                user,
                400,
                results=[],
                errors=errors,
                back_url=f"/requester/batches/{batch_id}",
                title="Reviewed file refused",
            )
        results = await run_in_threadpool(console.apply, user.requester, decisions, batch_id=batch_id)
        return page(
            request,
            "review_results.html",
            user,
            results=results,
            errors=[],
            back_url=f"/requester/batches/{batch_id}",
            title="Reviewed file applied",
        )

    @site.post("/batches/{batch_id}/cancel")
    async def cancel(request: Request, batch_id: int) -> Response:
        user, _fields = await posted(request)
        try:
            expired = await owned(request, user, "That batch", console.cancel, batch_id)
        except RequestError as exc:
            return back(f"/requester/batches/{batch_id}", f"Not every HIT could be expired: {exc.message}")
        return back(f"/requester/batches/{batch_id}", f"Cancelled: {expired} HIT(s) expired.")

    @site.post("/batches/{batch_id}/assignments")
    async def more_assignments(request: Request, batch_id: int) -> Response:
        user, fields = await posted(request)
        try:
            extra = int(str(fields.get("extra", "")))
        except ValueError:
            return back(f"/requester/batches/{batch_id}", "Give the number of assignments to add to each HIT.")
        nonce = str(fields.get("nonce", ""))[:24] or secrets.token_hex(8)
        try:
            done, problems = await owned(request, user, "That batch", console.add_assignments, batch_id, extra, nonce)
        except RequestError as exc:
            return back(f"/requester/batches/{batch_id}", exc.message)
        note = f"Added {extra} assignment(s) to {done} HIT(s)."
        if problems:
            note += f" {len(problems)} not changed: {problems[0]}"
        return back(f"/requester/batches/{batch_id}", note)

    # -- workers --------------------------------------------------------------------------------

    @site.get("/workers", response_class=HTMLResponse)
    async def workers(request: Request) -> Response:
        user = await signed_in(request)
        rows = await run_in_threadpool(console.workers, user.requester)
        return page(request, "workers.html", user, workers=rows)

    @site.get("/workers/{worker_id}", response_class=HTMLResponse)
    async def worker_page(request: Request, worker_id: str) -> Response:
        user = await signed_in(request)
        worker = await owned(request, user, "That worker", console.worker, worker_id)
        types = await run_in_threadpool(console.qualification_types, user.requester)
        return page(request, "worker.html", user, worker=worker, types=types, nonce=secrets.token_hex(8))

    @site.post("/workers/{worker_id}/{action}")
    async def worker_action(request: Request, worker_id: str, action: str) -> Response:
        user, fields = await posted(request)
        target = f"/requester/workers/{quote(worker_id)}"
        await owned(request, user, "That worker", console.worker, worker_id)
        reason = str(fields.get("reason", "")).strip()
        try:
            if action == "block":
                if not reason:
                    return back(target, "Give a reason for the block.")
                await run_in_threadpool(
                    console.call, user.requester, "CreateWorkerBlock", {"WorkerId": worker_id, "Reason": reason}
                )
                note = "Blocked."
            elif action == "unblock":
                await run_in_threadpool(
                    console.call, user.requester, "DeleteWorkerBlock", {"WorkerId": worker_id, "Reason": reason or None}
                )
                note = "Unblocked."
            elif action == "bonus":
                if not reason:
                    return back(target, "Give a reason for the bonus: the worker sees it.")
                await run_in_threadpool(
                    console.call,
                    user.requester,
                    "SendBonus",
                    {
                        "WorkerId": worker_id,
                        "AssignmentId": str(fields.get("assignment", "")),
                        "BonusAmount": str(fields.get("amount", "")).strip().lstrip("$"),
                        "Reason": reason,
                        "UniqueRequestToken": "console-bonus-" + str(fields.get("nonce", ""))[:40],
                    },
                )
                note = "Bonus paid."
            elif action == "grant":
                await run_in_threadpool(
                    console.call,
                    user.requester,
                    "AssociateQualificationWithWorker",
                    {
                        "QualificationTypeId": str(fields.get("type", "")),
                        "WorkerId": worker_id,
                        "IntegerValue": int(str(fields.get("score", "1")) or "1"),
                        "SendNotification": False,
                    },
                )
                note = "Qualification granted."
            elif action == "revoke":
                await run_in_threadpool(
                    console.call,
                    user.requester,
                    "DisassociateQualificationFromWorker",
                    {
                        "QualificationTypeId": str(fields.get("type", "")),
                        "WorkerId": worker_id,
                        "Reason": reason or None,
                    },
                )
                note = "Qualification revoked."
            else:
                return not_found(request, user)
        except RequestError as exc:
            if exc.turk_error_code.endswith("DuplicateRequest"):
                return back(target, "That bonus was already paid (the form was sent twice); it was not paid again.")
            return back(target, exc.message)
        except ValueError:
            return back(target, "The score must be a whole number.")
        return back(target, note)

    # -- qualification types --------------------------------------------------------------------

    @site.get("/quals", response_class=HTMLResponse)
    async def quals(request: Request) -> Response:
        user = await signed_in(request)
        rows = await run_in_threadpool(console.qualification_types, user.requester)
        return page(request, "quals.html", user, types=rows, form={}, error="")

    def qual_params(fields: dict[str, Any], *, create: bool) -> dict[str, Any]:
        params: dict[str, Any] = {
            "Description": str(fields.get("description", "")).strip(),
            "QualificationTypeStatus": "Active" if fields.get("status", "Active") == "Active" else "Inactive",
            "AutoGranted": fields.get("auto_granted") == "yes",
        }
        if create:
            params["Name"] = str(fields.get("name", "")).strip()
            params["Keywords"] = str(fields.get("keywords", "")).strip() or None
        if params["AutoGranted"]:
            params["AutoGrantedValue"] = int(str(fields.get("auto_granted_value") or "1"))
        for key, name in (("Test", "test"), ("AnswerKey", "answer_key")):
            text = str(fields.get(name, "")).strip()
            if text:
                params[key] = text
        if params.get("Test"):
            params["TestDurationInSeconds"] = int(str(fields.get("test_duration") or "600"))
        retry = str(fields.get("retry_delay", "")).strip()
        if retry:
            params["RetryDelayInSeconds"] = int(retry)
        return params

    @site.post("/quals")
    async def create_qual(request: Request) -> Response:
        user, fields = await posted(request)
        try:
            params = qual_params(fields, create=True)
            await run_in_threadpool(console.call, user.requester, "CreateQualificationType", params)
        except (RequestError, ValueError) as exc:
            rows = await run_in_threadpool(console.qualification_types, user.requester)
            message = exc.message if isinstance(exc, RequestError) else "Numbers must be whole numbers."
            return page(request, "quals.html", user, 400, types=rows, form=fields, error=message)
        return back("/requester/quals", "Qualification type created.")

    @site.get("/quals/{type_id}", response_class=HTMLResponse)
    async def qual_page(request: Request, type_id: str) -> Response:
        user = await signed_in(request)
        row = await owned(request, user, "That qualification type", console.qualification_type, type_id)
        return page(request, "qual.html", user, qual=row, error="")

    @site.post("/quals/{type_id}")
    async def update_qual(request: Request, type_id: str) -> Response:
        user, fields = await posted(request)
        row = await owned(request, user, "That qualification type", console.qualification_type, type_id)
        try:
            if fields.get("retire") == "yes":
                await run_in_threadpool(
                    console.call, user.requester, "DeleteQualificationType", {"QualificationTypeId": type_id}
                )
                return back("/requester/quals", f"“{row['name']}” retired.")
            params = {**qual_params(fields, create=False), "QualificationTypeId": type_id}
            await run_in_threadpool(console.call, user.requester, "UpdateQualificationType", params)
        except (RequestError, ValueError) as exc:
            message = exc.message if isinstance(exc, RequestError) else "Numbers must be whole numbers."
            return page(request, "qual.html", user, 400, qual=row, error=message)
        return back(f"/requester/quals/{quote(type_id)}", "Saved.")

    # -- money --------------------------------------------------------------------------------

    @site.get("/money", response_class=HTMLResponse)
    async def money(request: Request) -> Response:
        user = await signed_in(request)
        balance = await run_in_threadpool(console.balance, user.requester)
        ledger = await run_in_threadpool(console.ledger, user.requester)
        return page(request, "money.html", user, balance=balance, ledger=ledger)

    return site, console


def _flat(form: dict[str, Any]) -> dict[str, str]:
    """A project form (with requirement rows) as posted fields, to copy a project."""
    fields = {k: str(v) for k, v in form.items() if k != "requirements"}
    for i, row in enumerate(form["requirements"]):
        for key in ("type", "comparator", "values", "action"):
            fields[f"q{i}_{key}"] = row[key]
    return fields
