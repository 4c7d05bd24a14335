"""The FastAPI application: the MTurk API at ``POST /``, HTML pages, health, test endpoints.

Handlers that touch the database are sync functions (FastAPI runs them in its thread pool);
the API route is async only to read the body and to sleep for injected latency without
holding a thread.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hit_service.api.auth import KeyRing
from hit_service.api.faults import Faults
from hit_service.api.responses import CONTENT_TYPE, MTurkResponses, new_request_id, to_json
from hit_service.console.routes import COOKIE as CONSOLE_COOKIE
from hit_service.console.routes import router as console_router
from hit_service.core import crowd_support, identity
from hit_service.core.clock import Clock, OffsetClock, SystemClock
from hit_service.core.database import Store
from hit_service.core.identity import KeyRecord
from hit_service.core.models import MTurkBackend
from hit_service.limits import MAX_FORM_BYTES, MAX_REQUEST_BYTES, MAX_UPLOAD_BYTES, UPLOAD_PATHS
from hit_service.settings import Settings
from hit_service.site.routes import router as site_router
from hit_service.site.templating import STATIC_PREFIX, static_files

logger = logging.getLogger("hit_service")
_ASSIGNMENT_PATH = re.compile(r"^/work/[^/?]+")


class AccessLogRedaction(logging.Filter):
    """Uvicorn's access log without query strings and without assignment IDs.

    ``/work/<AssignmentId>/frame?assignmentId=…&workerId=…``: the assignment ID is what
    authorizes a submission, and query strings carry IDs and sign-in targets. The path is
    logged as ``/work/…/frame``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = _ASSIGNMENT_PATH.sub("/work/…", args[2].partition("?")[0])
            record.args = (*args[:2], path, *args[3:])
        return True


def _redact_access_log() -> None:
    """Install the filter once per process (each uvicorn worker process builds its own app)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogRedaction) for f in access.filters):
        access.addFilter(AccessLogRedaction())


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """Build the service; the database is opened and migrated when the app starts."""
    _redact_access_log()
    store = Store(settings.db_url, max_size=settings.db_pool_max)
    if clock is None:
        # In test mode the clock can be moved (an OffsetClock starts at the wall-clock time).
        clock = OffsetClock() if settings.test_mode else SystemClock()
    backend = MTurkBackend(store, clock, settings.layouts_dir, settings.initial_balance)
    backend.allow_http_external_urls = settings.test_mode
    faults = Faults(
        enabled=settings.test_mode,
        initial_latency_ms=settings.latency_ms,
        initial_rate_limit=settings.rate_limit_per_second,
    )
    env_keys = dict(settings.requester_keys)

    def load_key(access_key_id: str) -> KeyRecord | None:
        record = identity.load_key(store, access_key_id)
        if record is None and access_key_id in env_keys:
            # Configured for this process but gone from the database (a test reset by another
            # process): put it back.
            identity.apply_keys(store, ((access_key_id, env_keys[access_key_id]),), settings.initial_balance)
            record = identity.load_key(store, access_key_id)
        return record

    keys = KeyRing(load_key)
    sessions = identity.Sessions(b"")  # keyed from the database at startup
    responses = MTurkResponses(backend, faults, keys)
    executor = api_executor()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(store.open)
        applied = await run_in_threadpool(store.migrate)
        if applied:
            logger.info("applied schema migrations %s", applied)
        await run_in_threadpool(identity.apply_keys, store, settings.requester_keys, settings.initial_balance)
        service_key = await run_in_threadpool(identity.session_key, store)
        sessions.rekey(service_key)
        backend.install_key(service_key)
        if settings.requester_keys:
            logger.info(
                "requester keys from the environment: %s",
                ", ".join(access_key for access_key, _ in settings.requester_keys),
            )
        if settings.latency_ms:
            logger.warning("adding %d ms of latency to every API call", settings.latency_ms)
        if settings.test_mode:
            logger.warning("test mode: fault injection and /_test endpoints are on")
        if not settings.operator_password and settings.mode != "production":
            logger.warning(
                "no HITFLOW_HIT_SERVICE_OPERATOR_PASSWORD: the operator pages (/operator, /hits) are open to "
                "anyone who reaches this port"
            )
        try:
            yield
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            await run_in_threadpool(store.close)

    app = FastAPI(
        title="hitflow HIT service",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.backend = backend
    app.state.faults = faults
    app.state.clock = clock

    app.add_middleware(ApiFastPath, responses=responses, faults=faults, sessions=sessions, executor=executor)

    @app.get("/health/live")
    def live() -> JSONResponse:
        """Liveness: the process answers HTTP (restart it only when this fails)."""
        return JSONResponse({"status": "ok"})

    @app.get("/health/ready")
    @app.get("/health")
    def ready() -> JSONResponse:
        """Readiness: the database answers and accepts writes (send traffic only when this is 200)."""
        try:
            store.ready()
        except Exception as exc:
            logger.warning("readiness check failed: %s", type(exc).__name__)
            return JSONResponse(
                {"status": "error", "detail": "database unreachable or not accepting writes"}, status_code=503
            )
        return JSONResponse({"status": "ok"})

    app.state.sessions = sessions
    app.mount(STATIC_PREFIX, static_files(), name="static")
    app.include_router(site_router(backend, settings, sessions))
    console_routes, console = console_router(backend, settings, sessions)
    app.include_router(console_routes)
    app.state.console = console
    if settings.test_mode:
        from hit_service.api.testmode import test_router  # imported only when mounted

        app.include_router(test_router(store, backend, faults, keys, settings))
    return app


API_THREADS = 40  # threads answering API calls per worker process (anyio's default limit)


def api_executor() -> ThreadPoolExecutor:
    """The API's own threads. Handing a call to a plain executor costs about a third of the CPU
    of Starlette's ``run_in_threadpool`` (anyio's limiter and context copy: 74 vs 26 µs per call
    measured here), on the path every API call takes."""
    return ThreadPoolExecutor(max_workers=API_THREADS, thread_name_prefix="hitflow-api")


class ApiFastPath:
    """``POST /`` (the requester API) straight from ASGI, skipping FastAPI's routing.

    The API is the hot path: a pure ASGI handler saves a good part of the framework's CPU per
    call. It also bounds what any client can make the process hold: a body over
    ``MAX_REQUEST_BYTES`` (declared in ``Content-Length`` or counted while it streams) is
    refused with 413 before the signature is checked. Every other request with a body (the
    site's forms) is read here up to ``MAX_FORM_BYTES`` and handed on; larger ones get 413 — except
    the console's two file uploads (``UPLOAD_PATHS``) by a signed-in requester user, up to
    ``MAX_UPLOAD_BYTES``, so a too-large CSV gets the console's own message.
    """

    def __init__(
        self,
        app: Any,
        responses: MTurkResponses,
        faults: Faults,
        sessions: identity.Sessions | None = None,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self.app = app
        self.responses = responses
        self.faults = faults
        self.sessions = sessions
        self.executor = executor or api_executor()

    def _form_limit(self, scope: Any) -> int:
        """How much a form post may carry: more for a console user's upload (checked by its cookie)."""
        if self.sessions is None or not UPLOAD_PATHS.match(scope["path"]):
            return MAX_FORM_BYTES
        cookies = b"; ".join(v for n, v in scope["headers"] if n == b"cookie").decode("latin-1")
        for part in cookies.split(";"):
            name, _, value = part.strip().partition("=")
            # A validly signed console cookie (no database read here; the route checks the session).
            if name == CONSOLE_COOKIE and self.sessions.check(value.strip('"')) is not None:
                return MAX_UPLOAD_BYTES
        return MAX_FORM_BYTES

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"] == "/" and scope["method"] == "POST"
        if not api and scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = MAX_REQUEST_BYTES if api else self._form_limit(scope)
        body = await _bounded_body(scope, receive, limit)
        if body is None:
            return  # the client went away
        if isinstance(body, _TooLarge):
            await (_api_too_large(send, scope, limit) if api else _form_too_large(send, limit))
            return
        if not api:
            await self.app(scope, _replay(body, receive), send)
            return
        latency = self.faults.latency_seconds
        if latency > 0:
            await asyncio.sleep(latency)
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        request_id = new_request_id()
        call = functools.partial(
            self.responses.handle_http,
            "POST",
            (scope.get("raw_path") or b"/").decode("latin-1"),
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            body,
            request_id,
        )
        status, payload = await asyncio.get_running_loop().run_in_executor(self.executor, call)
        extra = _create_hit_warning(headers, status, payload)
        await _send_json(send, status, payload, request_id, extra)


def _create_hit_warning(headers: list[tuple[str, str]], status: int, payload: bytes) -> list[tuple[bytes, bytes]]:
    """A header naming the crowd elements a new HIT uses that this service lacks (boto3 callers
    find it in ``ResponseMetadata["HTTPHeaders"]``); logged too. The response body stays MTurk's."""
    target = next((value for name, value in headers if name.lower() == "x-amz-target"), "")
    if status != 200 or not target.endswith((".CreateHIT", ".CreateHITWithHITType")):
        return []
    try:
        hit = json.loads(payload)["HIT"]
    except (ValueError, KeyError, TypeError):
        return []
    missing = crowd_support.unsupported_elements(hit.get("Question") or "")
    if not missing:
        return []
    logger.warning("HIT %s uses crowd elements this service does not support: %s", hit.get("HITId"), ", ".join(missing))
    return [(crowd_support.WARNING_HEADER.encode(), ", ".join(missing).encode())]


class _TooLarge:
    """Marker: the body went over the limit (nothing past the limit was kept)."""


def _declared_length(scope: Any) -> int:
    """The request's Content-Length, or -1."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return -1


async def _bounded_body(scope: Any, receive: Any, limit: int) -> bytes | _TooLarge | None:
    """The request body if it fits ``limit``; ``_TooLarge`` as soon as it cannot; None on disconnect."""
    if _declared_length(scope) > limit:
        return _TooLarge()
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return _TooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Any) -> Any:
    """A ``receive`` that hands the app the body already read, then waits for the disconnect."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_json(
    send: Any, status: int, payload: bytes, request_id: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", CONTENT_TYPE.encode()),
                (b"content-length", str(len(payload)).encode()),
                (b"x-amzn-requestid", request_id.encode()),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _api_too_large(send: Any, scope: Any, limit: int) -> None:
    """413 in AWS's JSON error shape (botocore maps ``__type`` to the error code; no retry)."""
    target = next((v.decode("latin-1") for n, v in scope["headers"] if n == b"x-amz-target"), "")
    operation = target.partition(".")[2] or "this"
    body = {
        "__type": "RequestEntityTooLargeException",
        "Message": f"Request must be smaller than {limit} bytes for the {operation} operation",
    }
    await _send_json(send, 413, to_json(body), new_request_id())


async def _form_too_large(send: Any, limit: int) -> None:
    text = f"The form is too large: this site takes at most {limit} bytes per request.\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(text)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": text})
