"""``/_test/*``: endpoints that only tests, the demo and the bench use, mounted in test mode only.

``hit_service.app`` imports this module only when ``HITFLOW_HIT_SERVICE_TEST_MODE`` is on, so in any
real deployment these paths are 404 and this code is not even loaded. They let a test inject
faults, set a balance, add keys, workers and console users, reset the state and move the clock.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hit_service.api.auth import KeyRing
from hit_service.api.faults import FaultConfig, Faults
from hit_service.core import identity
from hit_service.core.clock import Clock, OffsetClock
from hit_service.core.database import Store
from hit_service.core.models import MONEY_LIMIT, MTurkBackend
from hit_service.settings import ACCESS_KEY_RE, SECRET_KEY_RE, Settings
from mturk_money import cents, format_money, is_money


def test_router(store: Store, backend: MTurkBackend, faults: Faults, keys: KeyRing, settings: Settings) -> APIRouter:
    """``/_test/*``: mounted only in test mode, so they are 404 in any real deployment."""
    test = APIRouter(prefix="/_test")

    def bad(message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=400)

    async def json_body(request: Request) -> Any:
        raw = await request.body()
        if not raw.strip():
            return {}
        return await request.json()

    @test.get("/faults")
    def get_faults() -> dict[str, Any]:
        return faults.snapshot()

    @test.post("/faults")
    async def set_faults(request: Request) -> JSONResponse:
        try:
            config = FaultConfig.from_json(await json_body(request))
        except (ValueError, TypeError) as exc:
            return bad(str(exc))
        faults.replace(config)
        return JSONResponse(faults.snapshot())

    @test.post("/balance")
    async def set_balance(request: Request) -> JSONResponse:
        try:
            data = await json_body(request)
        except ValueError:
            return bad("the body must be JSON")
        if not isinstance(data, dict):
            return bad("the body must be a JSON object")
        requester = data.get("requester")
        balance = data.get("balance")
        if requester is not None and (not isinstance(requester, str) or not requester):
            return bad("requester must be a non-empty string or omitted")
        if not isinstance(balance, str) or not is_money(balance):
            return bad('balance must be a string like "1.00"')
        amount = cents(Decimal(balance))
        if amount > MONEY_LIMIT:
            return bad(f"balance must be at most {MONEY_LIMIT}")
        if requester is not None:
            found = await run_in_threadpool(backend.resolve_requester, requester)
            if found is None:
                return bad(f"no requester {requester!r} (give an ID, a name or an access key ID)")
            requester = found
        updated = await run_in_threadpool(backend.set_balance, requester, amount)
        return JSONResponse({"requester": requester, "balance": format_money(amount), "accounts": updated})

    @test.post("/reset")
    def reset() -> dict[str, str]:
        store.truncate_all()
        faults.reset()
        keys.forget()
        identity.apply_keys(store, settings.requester_keys, settings.initial_balance)
        return {"status": "reset"}

    @test.post("/requesters")
    async def add_requester_key(request: Request) -> JSONResponse:
        """Make an access key valid (its own account unless the key exists): tests sign with it."""
        try:
            data = await json_body(request)
        except ValueError:
            return bad("the body must be JSON")
        access_key = data.get("access_key_id") if isinstance(data, dict) else None
        secret = data.get("secret_access_key") if isinstance(data, dict) else None
        if not isinstance(access_key, str) or not ACCESS_KEY_RE.match(access_key):
            return bad("access_key_id must be 16-128 upper-case letters or digits")
        if not isinstance(secret, str) or not SECRET_KEY_RE.match(secret):
            return bad("secret_access_key must be 16-128 printable characters without spaces")
        pair = ((access_key, secret),)
        await run_in_threadpool(identity.apply_keys, store, pair, settings.initial_balance, "test")
        keys.forget()
        return JSONResponse({"access_key_id": access_key, "requester_id": access_key})

    @test.post("/workers")
    async def add_worker(request: Request) -> JSONResponse:
        """``{"name", "password", "locale"?}`` → a worker account (as ``worker add`` makes one)."""
        try:
            data = await json_body(request)
        except ValueError:
            return bad("the body must be JSON")
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("name"), str)
            or not isinstance(data.get("password"), str)
        ):
            return bad("name and password are required strings")
        country, _, subdivision = str(data.get("locale") or "US").partition("-")
        try:
            created = await run_in_threadpool(
                identity.add_worker,
                store,
                data["name"],
                data["password"],
                backend.clock.now(),
                country,
                subdivision or None,
            )
        except identity.IdentityError as exc:
            return bad(str(exc))
        return JSONResponse(created)

    @test.post("/requester-users")
    async def add_requester_user(request: Request) -> JSONResponse:
        """``{"account", "name", "password"}`` → a console user (as ``requester add-user`` makes one)."""
        try:
            data = await json_body(request)
        except ValueError:
            return bad("the body must be JSON")
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("account", "name", "password")):
            return bad("account, name and password are required strings")
        try:
            created = await run_in_threadpool(
                identity.add_requester_user, store, data["account"], data["name"], data["password"], backend.clock.now()
            )
        except identity.IdentityError as exc:
            return bad(str(exc))
        return JSONResponse(created)

    @test.get("/clock")
    def get_clock() -> dict[str, Any]:
        return {"now": backend.clock.now().isoformat(), "offset_seconds": _offset(backend.clock)}

    @test.post("/clock")
    async def move_clock(request: Request) -> JSONResponse:
        """``{"advance_seconds": N}`` moves this process's clock forward (or back if negative)."""
        try:
            data = await json_body(request)
        except ValueError:
            return bad("the body must be JSON")
        seconds = data.get("advance_seconds") if isinstance(data, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            return bad("advance_seconds must be a number")
        clock = backend.clock
        if not isinstance(clock, OffsetClock):
            return bad("this process's clock cannot be moved")
        clock.advance(float(seconds))
        return JSONResponse({"now": clock.now().isoformat(), "offset_seconds": clock.offset_seconds})

    return test


def _offset(clock: Clock) -> float:
    return clock.offset_seconds if isinstance(clock, OffsetClock) else 0.0
