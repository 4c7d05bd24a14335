"""What the console's route modules share: the signed-in user, the refusal that ends a route,
and the helpers ``routes.router`` builds once per app (``Helpers``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hit_service.console.service import Console
from hit_service.core import identity
from hit_service.core.models import MTurkBackend
from hit_service.settings import Settings

COOKIE = "hitflow_requester"
STATUSES = ("Submitted", "Approved", "Rejected")


class User:
    """The signed-in requester user of a request."""

    def __init__(self, row: dict[str, Any], cookie: str, csrf: str) -> None:
        self.row = row
        self.cookie = cookie
        self.csrf = csrf

    @property
    def requester(self) -> str:
        return str(self.row["requester"])


async def signed_in_user(backend: MTurkBackend, sessions: identity.Sessions, request: Request) -> User | None:
    """The requester user whose live console session the request's cookie names, else None."""
    cookie = request.cookies.get(COOKIE)
    if cookie is None or sessions.check(cookie) is None:
        return None
    subject = await run_in_threadpool(identity.session_subject, backend.store, sessions, cookie, backend.clock.now())
    if not subject or not subject.startswith(identity.REQUESTER_SUBJECT):
        return None
    row = await run_in_threadpool(identity.requester_user, backend.store, subject[len(identity.REQUESTER_SUBJECT) :])
    return None if row is None else User(row, cookie, sessions.csrf(cookie))


class Refusal(Exception):
    """Ends a console route with ``response``: the sign-in redirect, an expired form, "not found"."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(frozen=True)
class Helpers:
    """The console, its settings and the request helpers every route module uses."""

    console: Console
    backend: MTurkBackend
    settings: Settings
    page: Callable[..., HTMLResponse]
    current: Callable[[Request], Awaitable[User | None]]
    to_login: Callable[[Request], RedirectResponse]
    not_found: Callable[..., HTMLResponse]
    form_of: Callable[[Request], Awaitable[dict[str, Any]]]
    signed_in: Callable[[Request], Awaitable[User]]
    posted: Callable[[Request], Awaitable[tuple[User, dict[str, Any]]]]
    owned: Callable[..., Awaitable[Any]]
    back: Callable[..., RedirectResponse]
    frame: Callable[[str], HTMLResponse]
