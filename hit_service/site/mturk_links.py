"""MTurk's worker URLs on the worker site: the links MTurk tools and scripts print work once the
host is swapped.

``/mturk/preview?hitId=`` opens the HIT's preview; ``/mturk/preview?groupId=`` and the newer
``/projects/<groupId>/tasks`` (and ``…/tasks/accept_random``) open the group's next HIT this worker
can take — its preview, where Accept is (accepting stays a POST with the worker's form token).
A worker who is not signed in signs in first and comes back to the link.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hit_service.core.models import MTurkBackend
from hit_service.core.workers import SiteError


def add_routes(
    site: APIRouter,
    backend: MTurkBackend,
    *,
    current: Callable[[Request], Awaitable[Any]],
    to_login: Callable[[Request], Response],
    problem: Callable[[Any, SiteError], Response],
) -> None:
    """Register the links on the worker site's router (its session, sign-in and error page)."""

    def to_hit(hit_id: str) -> RedirectResponse:
        return RedirectResponse(f"/worker/hits/{quote(hit_id, safe='')}", status_code=303)

    async def group_preview(request: Request, hit_group_id: str) -> Response:
        worker = await current(request)
        if worker.row is None:
            return to_login(request)
        hit_id = await run_in_threadpool(backend.site.next_in_group, worker.row, hit_group_id)
        if hit_id is None:
            return problem(worker, SiteError("There are no HITs in this group that you can take now.", 404))
        return to_hit(hit_id)

    @site.get("/mturk/preview", include_in_schema=False)
    async def mturk_preview(request: Request, groupId: str = "", hitId: str = "") -> Response:
        if hitId:
            return to_hit(hitId)
        if groupId:
            return await group_preview(request, groupId)
        return RedirectResponse("/worker", status_code=303)

    @site.get("/projects/{hit_group_id}/tasks", include_in_schema=False)
    @site.get("/projects/{hit_group_id}/tasks/accept_random", include_in_schema=False)
    async def mturk_project(request: Request, hit_group_id: str) -> Response:
        return await group_preview(request, hit_group_id)
