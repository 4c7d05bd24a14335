"""The console's batch pages: the list, one batch, its progress, review, results and the reviewed CSV."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from hit_service.console import csvfiles, hitflow
from hit_service.console.service import FormError, NotFound
from hit_service.console.web import STATUSES, Helpers
from hit_service.core.exceptions import RequestError
from hit_service.limits import MAX_REVIEW_CSV_BYTES
from hit_service.site.templating import PAGE_HEADERS


def add(site: APIRouter, web: Helpers) -> None:
    """Add this module's routes to the console's router."""
    console = web.console
    backend = web.backend
    page = web.page
    current = web.current
    signed_in = web.signed_in
    posted = web.posted
    owned = web.owned
    back = web.back

    # -- managing batches ---------------------------------------------------------------------

    @site.get("/batches", response_class=HTMLResponse)
    async def batches(request: Request) -> Response:
        user = await signed_in(request)
        rows = await run_in_threadpool(console.batches, user.requester)
        api_hits = await run_in_threadpool(console.api_hits, user.requester, 1)
        return page(request, "batches.html", user, batches=rows, has_api=bool(api_hits))

    @site.get("/batches/api", response_class=HTMLResponse)
    async def api_batch(request: Request, status: str = "") -> Response:
        user = await signed_in(request)
        hits = await run_in_threadpool(console.api_hits, user.requester)
        wanted = status if status in STATUSES else None
        assignments = await run_in_threadpool(console.assignments, user.requester, None, wanted)
        airflow_url = web.settings.airflow_url
        hitflow_rows = await run_in_threadpool(hitflow.batches, console.store, user.requester)
        links = [hitflow.report_url(airflow_url, b["batch"]) if airflow_url else "" for b in hitflow_rows]
        return page(
            request,
            "api_hits.html",
            user,
            hits=hits,
            hitflow_batches=list(zip(hitflow_rows, links, strict=True)),
            airflow_url=airflow_url,
            batch=None,
            answers=[(a, csvfiles.answer_fields(a["answer"])) for a in assignments],
            status=wanted or "",
            statuses=STATUSES,
            hit_status=backend.status,
        )

    @site.post("/batches/api/review")
    async def api_review(request: Request) -> Response:
        return await review_post(request, None)

    @site.get("/batches/{batch_id}", response_class=HTMLResponse)
    async def batch_page(request: Request, batch_id: int, status: str = "", offset: int = 0) -> Response:
        user = await signed_in(request)
        batch = await owned(request, user, "That batch", console.batch, batch_id)
        if batch["status"] == "draft":
            return back(user, f"/requester/batches/{batch_id}/confirm")
        progress = await run_in_threadpool(console.progress, user.requester, batch_id)
        wanted = status if status in STATUSES else None
        offset = min(max(offset, 0), 10**9)
        assignments = await run_in_threadpool(console.assignments, user.requester, batch_id, wanted, 200, offset)
        answers = [(a, csvfiles.answer_fields(a["answer"])) for a in assignments]
        return page(
            request,
            "batch.html",
            user,
            batch=batch,
            progress=progress,
            answers=answers,
            status=wanted or "",
            statuses=STATUSES,
            offset=offset,
            cost=console.cost(batch["properties"], batch["row_count"]),
            nonce=secrets.token_hex(8),
        )

    @site.get("/batches/{batch_id}/progress.json")
    async def batch_progress(request: Request, batch_id: int) -> Response:
        user = await current(request)
        if user is None:
            return JSONResponse({"error": "sign in"}, status_code=401)
        try:
            data = await run_in_threadpool(console.progress, user.requester, batch_id)
        except NotFound:
            return JSONResponse({"error": "no such batch"}, status_code=404)
        return JSONResponse(data, headers=PAGE_HEADERS)

    async def review_post(request: Request, batch_id: int | None) -> Response:
        user, _ = await posted(request)
        form = await request.form()
        ids = [str(v) for v in form.getlist("assignment")]
        action = str(form.get("action", ""))
        feedback = str(form.get("feedback", "")).strip()
        target = f"/requester/batches/{batch_id if batch_id is not None else 'api'}"
        if batch_id is not None:
            await owned(request, user, "That batch", console.batch, batch_id)
        if action not in ("approve", "reject", "approve_all"):
            return back(user, target, "Choose Approve or Reject.")
        if action == "approve_all":
            rows = await run_in_threadpool(console.assignments, user.requester, batch_id, "Submitted", 100_000)
            ids, action = [r["assignment_id"] for r in rows], "approve"
        if not ids:
            return back(user, target, "Select at least one assignment.")
        if action == "reject" and not feedback:
            return back(user, target, "A rejection needs feedback for the worker.")
        results = await run_in_threadpool(console.review, user.requester, ids, action, feedback, batch_id=batch_id)
        return page(request, "review_results.html", user, results=results, errors=[], back_url=target, title="Review")

    @site.post("/batches/{batch_id}/review")
    async def batch_review(request: Request, batch_id: int) -> Response:
        return await review_post(request, batch_id)

    @site.get("/batches/{batch_id}/results.csv")
    async def results_csv(request: Request, batch_id: int) -> Response:
        user = await signed_in(request)
        batch = await owned(request, user, "That batch", console.batch, batch_id)
        stream = console.results_csv(user.requester, batch_id)
        filename = f"Batch_{batch['batch_id']}_batch_results.csv"
        return StreamingResponse(
            stream,
            media_type="text/csv; charset=utf-8",
            headers={**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @site.post("/batches/{batch_id}/reviewed")
    async def reviewed(request: Request, batch_id: int) -> Response:
        user, fields = await posted(request)
        await owned(request, user, "That batch", console.batch, batch_id)
        upload_file = fields.get("file")
        if not isinstance(upload_file, UploadFile) or not upload_file.filename:
            return back(user, f"/requester/batches/{batch_id}", "Choose the reviewed CSV file to upload.")
        data = await upload_file.read(MAX_REVIEW_CSV_BYTES + 1)
        decisions, errors = await run_in_threadpool(csvfiles.read_review, data)
        if errors:
            return page(
                request,
                "review_results.html",
                user,
                400,
                results=[],
                errors=errors,
                back_url=f"/requester/batches/{batch_id}",
                title="Reviewed file refused",
            )
        results = await run_in_threadpool(console.apply, user.requester, decisions, batch_id=batch_id)
        return page(
            request,
            "review_results.html",
            user,
            results=results,
            errors=[],
            back_url=f"/requester/batches/{batch_id}",
            title=review_title(results),
        )

    @site.post("/batches/{batch_id}/cancel")
    async def cancel(request: Request, batch_id: int) -> Response:
        user, _fields = await posted(request)
        try:
            await owned(request, user, "That batch", console.cancel, batch_id)
        except FormError as exc:
            return back(user, f"/requester/batches/{batch_id}", str(exc))
        return back(
            user,
            f"/requester/batches/{batch_id}",
            "Cancelled: its HITs are being expired and the money of untaken assignments given back (progress below).",
        )

    @site.post("/batches/{batch_id}/assignments")
    async def more_assignments(request: Request, batch_id: int) -> Response:
        user, fields = await posted(request)
        try:
            extra = int(str(fields.get("extra", "")))
        except ValueError:
            return back(user, f"/requester/batches/{batch_id}", "Give the number of assignments to add to each HIT.")
        nonce = str(fields.get("nonce", ""))[:24] or secrets.token_hex(8)
        try:
            done, problems = await owned(request, user, "That batch", console.add_assignments, batch_id, extra, nonce)
        except RequestError as exc:
            return back(user, f"/requester/batches/{batch_id}", exc.message)
        note = f"Added {extra} assignment(s) to {done} HIT(s)."
        if problems:
            note += f" {len(problems)} not changed: {problems[0]}"
        return back(user, f"/requester/batches/{batch_id}", note)


def review_title(results: list[Any]) -> str:
    """The heading over a reviewed file's outcome: it never says "applied" over failures only."""
    outcomes = {r.outcome for r in results}
    if "failed" in outcomes and "applied" in outcomes:
        return "Reviewed file partly applied"
    if "failed" in outcomes:
        return "Reviewed file not applied"
    if "applied" in outcomes:
        return "Reviewed file applied"
    return "Reviewed file: nothing new to apply"
