"""The console's pages for workers and qualification types (money: ``money_routes``)."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from hit_service.console.web import Helpers
from hit_service.core.exceptions import RequestError
from mturk_money import MONEY_PATTERN


def add(site: APIRouter, web: Helpers) -> None:
    """Add this module's routes to the console's router."""
    console = web.console
    page = web.page
    not_found = web.not_found
    signed_in = web.signed_in
    posted = web.posted
    owned = web.owned
    back = web.back

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
                    return back(user, target, "Give a reason for the block.")
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
                    return back(user, target, "Give a reason for the bonus: the worker sees it.")
                amount = str(fields.get("amount", "")).strip().removeprefix("$").strip()
                if not MONEY_PATTERN.fullmatch(amount) or not Decimal(amount):
                    shown = str(fields.get("amount", "")).strip()
                    return back(
                        user,
                        target,
                        f"A bonus is dollars and cents, e.g. 1 or 0.25 (“{shown}” is not); nothing was paid.",
                    )
                await run_in_threadpool(
                    console.call,
                    user.requester,
                    "SendBonus",
                    {
                        "WorkerId": worker_id,
                        "AssignmentId": str(fields.get("assignment", "")),
                        "BonusAmount": amount,
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
                return back(
                    user, target, "That bonus was already paid (the form was sent twice); it was not paid again."
                )
            return back(user, target, exc.message)
        except ValueError:
            return back(user, target, "The score must be a whole number.")
        return back(user, target, note)

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
        return back(user, "/requester/quals", "Qualification type created.")

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
                return back(user, "/requester/quals", f"“{row['name']}” retired.")
            params = {**qual_params(fields, create=False), "QualificationTypeId": type_id}
            await run_in_threadpool(console.call, user.requester, "UpdateQualificationType", params)
        except (RequestError, ValueError) as exc:
            message = exc.message if isinstance(exc, RequestError) else "Numbers must be whole numbers."
            return page(request, "qual.html", user, 400, qual=row, error=message)
        return back(user, f"/requester/quals/{quote(type_id)}", "Saved.")
