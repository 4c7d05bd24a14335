"""The console's Money page: the balance, the name workers see, the whole ledger and its CSV export."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from hit_service.console import ledger
from hit_service.console.web import Helpers
from hit_service.site.templating import PAGE_HEADERS


def add(site: APIRouter, web: Helpers) -> None:
    """Add this module's routes to the console's router."""
    console = web.console
    store = web.backend.store
    page = web.page
    signed_in = web.signed_in
    posted = web.posted
    back = web.back

    @site.get("/money", response_class=HTMLResponse)
    async def money(request: Request, before: int | None = None) -> Response:
        user = await signed_in(request)
        await run_in_threadpool(console.balance, user.requester)  # opens the account, as the API does
        filters = ledger.Filters.parse(dict(request.query_params))
        if filters.errors:
            data = await run_in_threadpool(ledger.page, store, user.requester, ledger.Filters(), None)
            return page(request, "money.html", user, 400, filters=filters, errors=filters.errors, before=None, **data)
        before = before if before is not None and 0 < before < 2**63 else None
        data = await run_in_threadpool(ledger.page, store, user.requester, filters, before)
        return page(request, "money.html", user, filters=filters, errors=[], before=before, **data)

    @site.post("/account/name")
    async def account_name(request: Request) -> Response:
        user, fields = await posted(request)
        problem = await run_in_threadpool(ledger.rename, store, user.requester, str(fields.get("name", "")))
        return back(user, "/requester/money", problem or "Saved: workers now see this name.")

    @site.get("/money/ledger.csv")
    async def ledger_csv(request: Request) -> Response:
        user = await signed_in(request)
        await run_in_threadpool(console.balance, user.requester)
        filters = ledger.Filters.parse(dict(request.query_params))
        if filters.errors:
            return back(user, "/requester/money", "The ledger export was refused: " + "; ".join(filters.errors))
        return StreamingResponse(
            ledger.export(store, user.requester, filters),
            media_type="text/csv; charset=utf-8",
            headers={**PAGE_HEADERS, "Content-Disposition": 'attachment; filename="ledger.csv"'},
        )
