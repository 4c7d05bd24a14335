"""The one place the service's HTML comes from: the Jinja2 environment and the static files.

Pages are Jinja2 templates under ``hit_service/templates/`` (autoescape on, so every value is
HTML-escaped unless a template says otherwise); CSS, JavaScript and MTurk's task script are files
under ``hit_service/static/``, served at ``/static``. Anything that renders a page — the worker
site, the operator pages, the requester console — uses ``render`` and ``static_url`` from here.

Caching: ``static_url("css/site.css")`` gives ``/static/css/site.css?v=<content hash>``; a
request carrying the current ``v`` is cached for a year (``immutable``), any other is
``no-cache`` and revalidated with the ETag StaticFiles sends. Static files also answer
``Access-Control-Allow-Origin: *``: HIT frames are sandboxed (an opaque origin), and a module
script or ``import()`` from such a frame is a CORS request.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from mturk_money import format_money

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
STATIC_PREFIX = "/static"
LONG_CACHE = "public, max-age=31536000, immutable"
# Every response that is HTML: the HIT frames (which the worker site's pages embed) get these.
FRAME_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# The service's own pages (worker site, operator pages, requester console) cannot be framed by
# anyone, not even by each other: no clickjacking of Accept, Sign out or a console's Publish.
NO_FRAMING = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}
PAGE_HEADERS = {**FRAME_HEADERS, **NO_FRAMING}


@cache
def _version(relative: str) -> str:
    """A short hash of a static file's content (computed once per process)."""
    path = STATIC_DIR / relative
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return "missing"


def static_url(relative: str, base: str = "") -> str:
    """The versioned URL of a static file, e.g. ``/static/css/site.css?v=1a2b3c…``."""
    relative = relative.lstrip("/")
    return f"{base.rstrip('/')}{STATIC_PREFIX}/{relative}?v={_version(relative)}"


def when(moment: datetime | None, seconds: bool = False) -> str:
    """A UTC timestamp as the pages print it."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def duration(seconds: int | float | None) -> str:
    """A duration for people: "30 s", "1 min 30 s", "2 h 5 min", "3 days"."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} day" + ("s" if days != 1 else ""))
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if secs or not parts:
        parts.append(f"{secs} s")
    return " ".join(parts[:2])


def money(amount: Decimal | str | None) -> str:
    """Dollars for people, with thousands separators: "$0.10", "$7,199.64", "−$0.36"."""
    if amount is None:
        return ""
    value = Decimal(format_money(Decimal(str(amount))))
    return ("−$" if value < 0 else "$") + f"{abs(value):,.2f}"


def number(count: int | None) -> str:
    """A count for people, with thousands separators: "20,000"."""
    return "" if count is None else f"{int(count):,}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals["static_url"] = static_url
    env.filters["when"] = when
    env.filters["duration"] = duration
    env.filters["money"] = money
    env.filters["number"] = number
    return env


ENV = _environment()


def render_text(name: str, /, **context: Any) -> str:
    """A template rendered to a string (for HTML that is not a whole response)."""
    return ENV.get_template(name).render(**context)


def render(name: str, status: int = 200, headers: dict[str, str] | None = None, /, **context: Any) -> HTMLResponse:
    """A page: ``templates/<name>`` with ``context``, the pages' safety headers, HTTP ``status``.

    The first three are positional-only, so ``status=…`` or ``headers=…`` can be template values.
    """
    return HTMLResponse(render_text(name, **context), status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


class CachedStaticFiles(StaticFiles):
    """StaticFiles with Cache-Control (long for versioned URLs) and CORS for sandboxed frames."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        relative = scope.get("path", "")[len(scope.get("root_path", "")) :].lstrip("/")
        versioned = query.get("v", [""])[0] == _version(relative) if relative else False

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if message.get("status") in (200, 304):
                    cache_control = LONG_CACHE if versioned else "no-cache"
                    headers.append((b"cache-control", cache_control.encode()))
                headers.append((b"access-control-allow-origin", b"*"))
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


def static_files() -> CachedStaticFiles:
    """The ASGI app to mount at ``/static``."""
    return CachedStaticFiles(directory=str(STATIC_DIR))


def frame_message(text: str, status: int) -> HTMLResponse:
    """A short plain message for the HIT frame (no page around it)."""
    return HTMLResponse(render_text("site/frame_message.html", message=text), status_code=status, headers=FRAME_HEADERS)
