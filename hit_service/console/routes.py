"""The requester console's pages under ``/requester`` (Jinja2 templates in ``templates/console/``).

Sign-in is for requester users the operator made (``python -m hit_service requester add-user``);
the session is an HttpOnly, SameSite=Lax cookie signed with the service's key, and every form
carries a CSRF token bound to it — the worker site's rules. A user sees only their account.

Task HTML (a project's template, a batch row) is shown only inside ``<iframe sandbox>`` without
``allow-same-origin``, served with a ``Content-Security-Policy: sandbox`` header, as the worker
site shows it: the requester's scripts never run with the service's origin.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from hit_service.console import batch_routes, csvfiles, duplicates, forms, money_routes, people_routes, starters
from hit_service.console.service import Console, FormError, NotFound
from hit_service.console.web import COOKIE, Helpers, Refusal, User, signed_in_user
from hit_service.core import crowd_support, identity
from hit_service.core.models import MTurkBackend
from hit_service.settings import Settings
from hit_service.site.routes import FRAME_CSP, HTML_SANDBOX
from hit_service.site.taskhtml import task_page
from hit_service.site.templating import FRAME_HEADERS, PAGE_HEADERS, render
from hit_service.site.web import base_url, set_session_cookie

LOGIN = "/requester/login"
LOGIN_COOKIE = "hitflow_requester_login"  # the sign-in form's CSRF nonce (double submit)
PREVIEW_ID = "ASSIGNMENT_ID_NOT_AVAILABLE"
FRAME_SANDBOX = HTML_SANDBOX  # the worker site's: a requester's preview is what a worker gets
HEADERS = PAGE_HEADERS
T = TypeVar("T")


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
        note = request.query_params.get("note", "")
        if user is None or not hmac.compare_digest(request.query_params.get("ok", ""), note_mac(user, note)):
            note = ""  # only the server's own messages, never a link's text
        context.update(user=user, note=note, active=template)
        return render(f"console/{template}", status, None, **context)  # never framed (PAGE_HEADERS)

    throttle = identity.SignInThrottle(backend.store)

    async def current(request: Request) -> User | None:
        return await signed_in_user(backend, sessions, request)

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

    def note_mac(user: User, note: str) -> str:
        """The note's signature, bound to the user's session: only notes this service made for this
        session are shown (a link elsewhere cannot put its own text in the status line)."""
        return sessions.csrf(f"note:{user.cookie}\x00{note}")

    def back(user: User, url: str, note: str = "") -> RedirectResponse:
        """Redirect to ``url`` (post/redirect/get) with ``note`` for the status line there."""
        query = urlencode({"note": note, "ok": note_mac(user, note)}) if note else ""
        return RedirectResponse(url + (("&" if "?" in url else "?") + query if query else ""), 303)

    def frame(html: str) -> HTMLResponse:
        return HTMLResponse(html, headers={**FRAME_HEADERS, "Content-Security-Policy": FRAME_CSP})

    # -- sign in ------------------------------------------------------------------------------

    def login_page(request: Request, next_url: str, error: str = "", status: int = 200) -> HTMLResponse:
        """The sign-in form, its token bound to a fresh SameSite=Strict nonce cookie (login CSRF:
        a page elsewhere cannot sign this browser in to another account), as the worker site's."""
        nonce = secrets.token_urlsafe(18)
        csrf = sessions.csrf("login:" + nonce)
        response = page(request, "login.html", None, status, next=next_url, error=error, csrf=csrf)
        response.set_cookie(
            LOGIN_COOKIE, nonce, 3600, httponly=True, samesite="strict", secure=settings.secure_cookies, path=LOGIN
        )
        return response

    @site.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: str = "/requester") -> Response:
        return login_page(request, next)

    @site.post("/login")
    async def login(request: Request) -> Response:
        fields = await form_of(request)
        next_url = str(fields.get("next") or "/requester")
        if not next_url.startswith("/requester") or next_url.startswith("//"):
            next_url = "/requester"
        nonce, token = request.cookies.get(LOGIN_COOKIE), fields.get("csrf")
        if not nonce or not sessions.check_csrf("login:" + nonce, token if isinstance(token, str) else None):
            return login_page(request, next_url, "This sign-in form has expired. Please sign in again.", 403)
        name = str(fields.get("name", "")).strip()
        keys = throttle.keys(f"requester-user:{name.lower()}", request.client.host if request.client else None)
        now = backend.clock.now()
        wait = await run_in_threadpool(throttle.wait, keys, now)
        if wait:
            refused = login_page(request, next_url, f"Too many failed sign-ins. Try again in {wait} seconds.", 429)
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
            return login_page(request, next_url, error, 401)
        await run_in_threadpool(throttle.succeeded, f"requester-user:{name.lower()}")
        cookie = await run_in_threadpool(
            identity.open_session, backend.store, sessions, identity.REQUESTER_SUBJECT + row["user_id"], now
        )
        response = RedirectResponse(next_url, status_code=303)
        response.delete_cookie(LOGIN_COOKIE, path=LOGIN)
        return set_session_cookie(response, cookie, settings, request, name=COOKIE, path="/requester")

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
        return back(user, f"/requester/projects/{layout_id}", "Project created. Preview it, then publish a batch.")

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
        return back(
            user, f"/requester/projects/{layout_id}", "Saved. Batches published from now on use these settings."
        )

    @site.post("/projects/{layout_id}/copy")
    async def copy_project(request: Request, layout_id: str) -> Response:
        user, _fields = await posted(request)
        project = await owned(request, user, "That project", console.project, layout_id)
        values = forms.project_values({**_flat(forms.project_form(project)), "name": f"Copy of {project['name']}"})
        new_id = await run_in_threadpool(console.save_project, user.requester, None, values)
        return back(user, f"/requester/projects/{new_id}", "Copied.")

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
            unsupported=crowd_support.unsupported_elements(project["template"]),
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
        return frame(task_page(csvfiles.render_page(project["template"], values), base_url(settings, request)))

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
        return back(user, f"/requester/batches/{batch_id}/confirm")

    @site.get("/batches/{batch_id}/confirm", response_class=HTMLResponse)
    async def confirm(request: Request, batch_id: int) -> Response:
        user = await signed_in(request)
        batch = await owned(request, user, "That batch", console.batch, batch_id)
        if batch["status"] != "draft":
            return back(user, f"/requester/batches/{batch_id}")
        rows = await run_in_threadpool(console.batch_rows, batch_id, 3)
        found = await run_in_threadpool(duplicates.find, backend.store, user.requester, batch)
        balance = await run_in_threadpool(console.balance, user.requester)
        cost = console.cost(batch["properties"], batch["row_count"])
        new_rows = batch["row_count"] - found["count"]
        new_cost = console.cost(batch["properties"], new_rows)
        return page(
            request,
            "confirm.html",
            user,
            batch=batch,
            rows=rows,
            duplicates=found,
            new_rows=new_rows,
            new_cost=new_cost,
            balance=balance,
            cost=cost,
            enough=balance >= (new_cost if found["count"] else cost)["total"],
            delimiter=csvfiles.DELIMITERS.get(batch["delimiter"], batch["delimiter"]),
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
        return frame(task_page(csvfiles.render_page(batch["template"], row["values"]), base_url(settings, request)))

    @site.post("/batches/{batch_id}/publish")
    async def publish(request: Request, batch_id: int) -> Response:
        user, fields = await posted(request)
        batch = await owned(request, user, "That batch", console.batch, batch_id)
        choice = fields.get("publish_again")
        if batch["status"] == "draft":
            found = await run_in_threadpool(duplicates.find, backend.store, user.requester, batch)
            if found["count"] and choice not in ("yes", "new"):
                return back(
                    user,
                    f"/requester/batches/{batch_id}/confirm",
                    f"{found['count']:,} of these rows were published before: choose to publish only the "
                    "new rows, or all of them again (a second HIT for each).",
                )
            if found["count"] == batch["row_count"] and choice == "new":
                return back(
                    user, f"/requester/batches/{batch_id}/confirm", "Every row was published before: nothing is new."
                )
            skip = found["rows"] if choice == "new" else []
            await run_in_threadpool(duplicates.leave_out, backend.store, batch_id, skip)
        try:
            await run_in_threadpool(console.publish, user.requester, batch_id)
        except FormError as exc:
            return back(user, f"/requester/batches/{batch_id}", str(exc))
        return back(user, f"/requester/batches/{batch_id}")  # its progress bar shows the publishing

    @site.post("/batches/{batch_id}/discard")
    async def discard(request: Request, batch_id: int) -> Response:
        user, _fields = await posted(request)
        try:
            await owned(request, user, "That batch", console.delete_draft, batch_id)
        except FormError as exc:
            return back(user, f"/requester/batches/{batch_id}", str(exc))
        return back(user, "/requester/batches", "The unpublished batch was discarded.")

    web = Helpers(
        console,
        backend,
        settings,
        page,
        current,
        to_login,
        not_found,
        form_of,
        signed_in,
        posted,
        owned,
        back,
        frame,
    )
    batch_routes.add(site, web)
    people_routes.add(site, web)
    money_routes.add(site, web)

    return site, console


def _flat(form: dict[str, Any]) -> dict[str, str]:
    """A project form (with requirement rows) as posted fields, to copy a project."""
    fields = {k: str(v) for k, v in form.items() if k != "requirements"}
    for i, row in enumerate(form["requirements"]):
        for key in ("type", "comparator", "values", "action"):
            fields[f"q{i}_{key}"] = row[key]
    return fields
