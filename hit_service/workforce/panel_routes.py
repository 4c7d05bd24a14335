"""``/panel/<link>?PROLIFIC_PID=…&STUDY_ID=…&SESSION_ID=…``: a panel participant's arrival (see
``hit_service/stores/panels.py`` for the identity rules). Answered with a redirect: to the HIT, or
— the study already done — to the panel's completion URL."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hit_service.core import identity
from hit_service.core.models import MTurkBackend
from hit_service.core.workers import SiteError
from hit_service.settings import Settings
from hit_service.site.templating import render
from hit_service.site.web import set_session_cookie
from hit_service.stores.panels import PanelStore
from hit_service.stores.workforce import IdentityError


def router(backend: MTurkBackend, settings: Settings, sessions: identity.Sessions) -> APIRouter:
    site = APIRouter()
    panels = PanelStore(backend.store)

    def message(heading: str, text: str, status: int) -> Response:
        return render(
            "site/notice.html", status, None, worker=None, csrf="", nav="", heading=heading, message=text, ok=False
        )

    def start_session(request: Request, target: str, cookie: str) -> Response:
        return set_session_cookie(RedirectResponse(target, status_code=303), cookie, settings, request)

    # -- panel links ----------------------------------------------------------------------------------

    @site.get("/panel/{link_id}")
    async def panel_arrival(request: Request, link_id: str) -> Response:
        params = request.query_params
        pid = params.get("PROLIFIC_PID") or params.get("participant_id") or ""
        now = backend.clock.now()
        try:
            worker_row, visit = await run_in_threadpool(
                panels.arrive, link_id, pid, params.get("STUDY_ID", ""), params.get("SESSION_ID", ""), now
            )
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
        return start_session(request, target, cookie)

    return site
