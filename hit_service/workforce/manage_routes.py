"""The workforce's management pages: the requester console's ``/requester/workforce`` (invitations,
panel links) and the operator's ``/operator/workforce`` (e-mail status, operator invitations,
open sign-up approvals, payout runs and their CSV, the ledger's reconciliation).

Console pages use the console's session and CSRF rules. Operator pages sit behind the operator
password (HTTP Basic); a browser sends Basic credentials with any request, so every operator
form also carries a token only a page of this service can read (``sessions.csrf("operator-forms")``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hit_service.console.web import User, signed_in_user
from hit_service.core import identity
from hit_service.core.models import MTurkBackend
from hit_service.settings import Settings
from hit_service.site.templating import render
from hit_service.site.web import base_url
from hit_service.stores.panels import PanelStore
from hit_service.stores.payouts import Payouts
from hit_service.stores.workforce import Grant, IdentityError, WorkforceStore
from hit_service.workforce.mailer import WorkforceSettings
from hit_service.workforce.payouts import payout_csv

OperatorGate = Callable[[Request], Awaitable[Response | None]]


def parse_invitation_form(fields: dict[str, str], now: datetime) -> dict[str, Any]:
    """Uses, days valid and grants (``grant_type`` / ``grant_value`` pairs) from a form."""
    uses = fields.get("max_uses", "").strip()
    days = fields.get("days", "").strip()
    if uses and not uses.isdigit():
        raise IdentityError("Uses must be a whole number (or empty for no limit).")
    if days and not days.isdigit():
        raise IdentityError("Days must be a whole number (or empty for no expiry).")
    if days and not 1 <= int(days) <= 3650:
        raise IdentityError("Days must be between 1 and 3650.")
    grants: list[Grant] = []
    type_id = fields.get("grant_type", "").strip()
    if type_id:
        value = fields.get("grant_value", "1").strip() or "1"
        if not value.lstrip("-").isdigit():
            raise IdentityError("The granted value must be a whole number.")
        grants.append(Grant(type_id, int(value)))
    return {
        "label": fields.get("label", ""),
        "max_uses": int(uses) if uses else None,
        "expires_at": now + timedelta(days=int(days)) if days else None,
        "grants": grants,
    }


def router(
    backend: MTurkBackend,
    settings: Settings,
    sessions: identity.Sessions,
    workforce: WorkforceSettings,
    operator_denied: OperatorGate,
) -> APIRouter:
    site = APIRouter()
    store = WorkforceStore(backend.store)
    panels = PanelStore(backend.store)
    payouts = Payouts(backend.store)

    async def console_user(request: Request) -> User | None:
        return await signed_in_user(backend, sessions, request)

    async def console_page(request: Request, user: User, status: int = 200, **context: Any) -> HTMLResponse:
        invitations = await run_in_threadpool(store.invitations, user.requester)
        links = await run_in_threadpool(panels.links, user.requester)
        groups = await run_in_threadpool(panels.groups, user.requester)
        types = await run_in_threadpool(store.qualification_types, user.requester)
        context.setdefault("error", "")
        context.setdefault("new_link", "")
        return render(
            "console/workforce.html",
            status,
            None,
            user=user,
            note="",
            active="workforce.html",
            invitations=invitations,
            links=links,
            groups=groups,
            types=types,
            base=base_url(settings, request),
            **context,
        )

    async def console_post(request: Request) -> tuple[User, dict[str, str]] | Response:
        user = await console_user(request)
        if user is None:
            return RedirectResponse("/requester/login?next=/requester/workforce", status_code=303)
        form = await request.form()
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        if not sessions.check_csrf(user.cookie, fields.get("csrf")):
            return render(
                "console/problem.html",
                403,
                None,
                user=user,
                note="",
                active="",
                title="Expired form",
                message="This form has expired (or came from another site). Go back, reload the page and try again.",
            )
        return user, fields

    @site.get("/requester/workforce", response_class=HTMLResponse)
    async def workforce_page(request: Request) -> Response:
        user = await console_user(request)
        if user is None:
            return RedirectResponse("/requester/login?next=/requester/workforce", status_code=303)
        return await console_page(request, user)

    @site.post("/requester/workforce/invitations")
    async def console_invite(request: Request) -> Response:
        posted = await console_post(request)
        if isinstance(posted, Response):
            return posted
        user, fields = posted
        now = backend.clock.now()
        try:
            options = parse_invitation_form(fields, now)
            _id, token = await run_in_threadpool(lambda: store.create_invitation(user.requester, now, **options))
        except IdentityError as exc:
            return await console_page(request, user, 400, error=str(exc))
        return await console_page(request, user, new_link=f"{base_url(settings, request)}/join/{token}")

    @site.post("/requester/workforce/invitations/{invitation_id}/revoke")
    async def console_revoke(request: Request, invitation_id: str) -> Response:
        posted = await console_post(request)
        if isinstance(posted, Response):
            return posted
        user, _fields = posted
        await run_in_threadpool(store.revoke_invitation, user.requester, invitation_id)
        return RedirectResponse("/requester/workforce", status_code=303)

    @site.post("/requester/workforce/panel-links")
    async def console_panel_link(request: Request) -> Response:
        posted = await console_post(request)
        if isinstance(posted, Response):
            return posted
        user, fields = posted
        try:
            await run_in_threadpool(
                panels.create_link,
                user.requester,
                fields.get("hit_group_id", ""),
                fields.get("completion_url", ""),
                fields.get("completion_code", ""),
                backend.clock.now(),
            )
        except IdentityError as exc:
            return await console_page(request, user, 400, error=str(exc))
        return RedirectResponse("/requester/workforce", status_code=303)

    # -- operator -----------------------------------------------------------------------------------

    operator_token = lambda: sessions.csrf("operator-forms")  # noqa: E731 - read after the key is installed

    async def operator_page(request: Request, status: int = 200, **context: Any) -> Response:
        summary = await run_in_threadpool(store.mail_summary)
        signups = await run_in_threadpool(store.signups)
        invitations = await run_in_threadpool(store.invitations, None)
        runs = await run_in_threadpool(payouts.runs)
        owed = await run_in_threadpool(payouts.owed)
        ledger = await run_in_threadpool(payouts.reconcile)
        context.setdefault("error", "")
        context.setdefault("new_link", "")
        return render(
            "operator/workforce.html",
            status,
            None,
            workforce=workforce,
            summary=summary,
            signups=signups,
            invitations=invitations,
            runs=runs,
            owed_total=sum((r["amount"] for r in owed), 0),
            owed_workers=len({r["worker_id"] for r in owed}),
            ledger=ledger,
            token=operator_token(),
            **context,
        )

    async def operator_post(request: Request) -> dict[str, str] | Response:
        denied = await operator_denied(request)
        if denied is not None:
            return denied
        form = await request.form()
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        if not sessions.check_csrf("operator-forms", fields.get("csrf")):
            return render("operator/message.html", 403, None, message="This form has expired; reload the page.")
        return fields

    @site.get("/operator/workforce", response_class=HTMLResponse)
    async def operator_workforce(request: Request) -> Response:
        denied = await operator_denied(request)
        if denied is not None:
            return denied
        return await operator_page(request)

    @site.post("/operator/workforce/invitations")
    async def operator_invite(request: Request) -> Response:
        fields = await operator_post(request)
        if isinstance(fields, Response):
            return fields
        now = backend.clock.now()
        try:
            options = parse_invitation_form(fields, now)
            _id, token = await run_in_threadpool(lambda: store.create_invitation(None, now, **options))
        except IdentityError as exc:
            return await operator_page(request, 400, error=str(exc))
        return await operator_page(request, new_link=f"{base_url(settings, request)}/join/{token}")

    @site.post("/operator/workforce/signups/{request_id}")
    async def operator_signup(request: Request, request_id: str) -> Response:
        fields = await operator_post(request)
        if isinstance(fields, Response):
            return fields
        try:
            await run_in_threadpool(
                store.decide_signup, request_id, fields.get("decision") == "approve", backend.clock.now()
            )
        except IdentityError as exc:
            return await operator_page(request, 409, error=str(exc))
        return RedirectResponse("/operator/workforce", status_code=303)

    @site.post("/operator/workforce/payouts")
    async def operator_payout(request: Request) -> Response:
        fields = await operator_post(request)
        if isinstance(fields, Response):
            return fields
        payout_id, _lines = await run_in_threadpool(payouts.run_payout, backend.clock.now())
        if not payout_id:
            return await operator_page(request, 409, error="Nothing is owed: no payout run was made.")
        return RedirectResponse(f"/operator/workforce?run={payout_id}", status_code=303)

    @site.get("/operator/workforce/payouts/{payout_id}.csv")
    async def operator_payout_csv(request: Request, payout_id: int) -> Response:
        denied = await operator_denied(request)
        if denied is not None:
            return denied
        lines = await run_in_threadpool(payouts.run_lines, payout_id)
        if lines is None:
            return render("operator/message.html", 404, None, message=f"No payout run {payout_id}.")
        return Response(
            payout_csv(lines).encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="payout_{payout_id}.csv"'},
        )

    return site
