"""``/panel/<link>?PROLIFIC_PID=…&STUDY_ID=…&SESSION_ID=…``: a panel participant's arrival (see
``hit_service/stores/panels.py`` for the identity rules).

The GET only shows the study and a *Start* button: it changes nothing. Signing a browser in as a
panel ID on a plain GET would let any page elsewhere navigate a visitor there and sign them in as
a panel ID of its choosing (login CSRF). Only the POST of the Start form — its CSRF token bound to
the ``SameSite=Strict`` nonce cookie that the workforce's other anonymous forms use — makes or
resumes the account, signs in and accepts; it answers with a redirect to the HIT or, the study
already done, to the panel's completion URL."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hit_service.core import identity
from hit_service.core.models import MTurkBackend
from hit_service.core.workers import SiteError
from hit_service.settings import Settings
from hit_service.site.routes import COOKIE
from hit_service.site.templating import render
from hit_service.stores.panels import PANEL_ID_RE, PanelStore
from hit_service.stores.workforce import IdentityError
from hit_service.workforce.site_routes import FORM_COOKIE


def router(backend: MTurkBackend, settings: Settings, sessions: identity.Sessions) -> APIRouter:
    site = APIRouter()
    panels = PanelStore(backend.store)

    def message(heading: str, text: str, status: int) -> Response:
        return render(
            "site/notice.html", status, None, worker=None, csrf="", nav="", heading=heading, message=text, ok=False
        )

    async def start_page(link_id: str, pid: str, study_id: str, session_id: str, error: str = "") -> Response:
        """The study's Start form, its token bound to a fresh Strict nonce cookie (as sign-up's)."""
        if not PANEL_ID_RE.match(pid):
            return message("Study link", "The link lacks a valid participant ID (PROLIFIC_PID).", 400)
        study = await run_in_threadpool(panels.study, link_id)
        if study is None:
            return message("Study link", "This study link is not valid.", 400)
        nonce = secrets.token_urlsafe(18)
        response: HTMLResponse = render(
            "site/panel_start.html",
            403 if error else 200,
            None,
            worker=None,
            csrf="",
            nav="",
            study=study,
            pid=pid,
            study_id=study_id,
            session_id=session_id,
            form_csrf=sessions.csrf("form:" + nonce),
            error=error,
        )
        response.set_cookie(
            FORM_COOKIE, nonce, max_age=3600, httponly=True, samesite="strict", secure=settings.secure_cookies, path="/"
        )
        return response

    def start_session(request: Request, target: str, cookie: str) -> Response:
        response = RedirectResponse(target, status_code=303)
        base = settings.public_url or str(request.base_url)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=identity.SESSION_SECONDS,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies or base.startswith("https://"),
            path="/",
        )
        return response

    # -- panel links ----------------------------------------------------------------------------------

    @site.get("/panel/{link_id}")
    async def panel_arrival(request: Request, link_id: str) -> Response:
        params = request.query_params
        pid = params.get("PROLIFIC_PID") or params.get("participant_id") or ""
        return await start_page(link_id, pid, params.get("STUDY_ID", ""), params.get("SESSION_ID", ""))

    @site.post("/panel/{link_id}")
    async def panel_start(request: Request, link_id: str) -> Response:
        form = await request.form()
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        pid, study_id, session_id = (fields.get(k, "") for k in ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID"))
        nonce = request.cookies.get(FORM_COOKIE)
        if not nonce or not sessions.check_csrf("form:" + nonce, fields.get("csrf")):
            return await start_page(
                link_id, pid, study_id, session_id, "This page has expired. Press Start again to begin the study."
            )
        now = backend.clock.now()
        try:
            worker_row, visit = await run_in_threadpool(panels.arrive, link_id, pid, study_id, session_id, now)
        except IdentityError as exc:
            return message("Study link", str(exc), 400)
        link = visit["link"]
        if visit["assignment_id"] and visit["assignment_status"] in ("Submitted", "Approved", "Rejected"):
            completion = await run_in_threadpool(panels.completion_for, visit["assignment_id"])
            return RedirectResponse(completion or "/worker", status_code=303)
        target = f"/work/{visit['assignment_id']}" if visit["assignment_status"] == "Accepted" else None
        if target is None:
            try:
                assignment_id = await run_in_threadpool(
                    backend.site.accept_next_in_group, worker_row, link["hit_group_id"]
                )
            except SiteError as error:
                return message("Study", f"{error.message} The study may be full.", error.status)
            await run_in_threadpool(panels.record_assignment, link_id, pid, assignment_id)
            target = f"/work/{assignment_id}"
        cookie = await run_in_threadpool(identity.open_session, backend.store, sessions, worker_row["worker_id"], now)
        response = start_session(request, target, cookie)
        response.delete_cookie(FORM_COOKIE, path="/")
        return response

    return site
