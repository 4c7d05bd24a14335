"""What the worker-site route modules share (``site/routes.py`` and ``workforce/site_routes.py``):
the session cookie, the signed-in worker of a request and the redirect to the sign-in form."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hit_service.core import identity
from hit_service.core.models import MTurkBackend
from hit_service.settings import Settings

COOKIE = "hitflow_worker"


class Worker:
    """The signed-in worker of a request (``row`` None: nobody) with what pages need."""

    def __init__(self, row: dict[str, Any] | None, cookie: str | None, csrf: str) -> None:
        self.row = row
        self.cookie = cookie
        self.csrf = csrf


def base_url(settings: Settings, request: Request) -> str:
    """The service's public URL (links in pages and e-mail), else the one the request came to."""
    return settings.public_url.rstrip("/") if settings.public_url else str(request.base_url).rstrip("/")


async def current_worker(backend: MTurkBackend, sessions: identity.Sessions, request: Request) -> Worker:
    """The worker whose live session the request's cookie names, else a ``Worker`` with no row."""
    cookie = request.cookies.get(COOKIE)
    if sessions.check(cookie) is None:
        return Worker(None, None, "")
    row = await run_in_threadpool(identity.session_worker, backend.store, sessions, cookie, backend.clock.now())
    if row is None:
        return Worker(None, None, "")
    return Worker(row, cookie, sessions.csrf(cookie or ""))


def to_login_at(target: str) -> RedirectResponse:
    """To the sign-in form, coming back to ``target`` (a path on this site) afterwards."""
    return RedirectResponse(f"/worker/login?next={quote(target, safe='')}", status_code=303)


def set_session_cookie(
    response: Response, cookie: str, settings: Settings, request: Request, *, name: str = COOKIE, path: str = "/"
) -> Response:
    """Sign the browser in: a session cookie (``Secure`` in production or behind https); the worker's
    by default, the requester console's with its own ``name`` and ``path``."""
    response.set_cookie(
        name,
        cookie,
        max_age=identity.SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies or base_url(settings, request).startswith("https://"),
        path=path,
    )
    return response
