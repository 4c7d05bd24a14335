"""Operator HTML pages: the HIT list and a preview of one HIT (routes in ``site.routes``, behind the operator password).

The pages show every requester's HITs (this is the operator's view of a local service, not
MTurk's per-requester UI). Templates: ``templates/operator/``. HIT content, which is the
requester's HTML and may hold scripts, is shown only inside a sandboxed ``<iframe srcdoc>``
without ``allow-same-origin``, so it cannot reach this page or the service's origin.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import HTTPException
from fastapi.responses import HTMLResponse

from hit_service.core import answer_rules, question_xml
from hit_service.core.models import MTurkBackend
from hit_service.site.taskhtml import task_page
from hit_service.site.templating import render, render_text

PAGE_SIZE = 50
IFRAME_SANDBOX = "allow-scripts allow-forms"
DEFAULT_FRAME_HEIGHT = 600


def with_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` appended to its query string."""
    return url + ("&" if "?" in url else "?") + urlencode(params)


def frame_content(question: str, base: str) -> str:
    """What a HIT's frame shows: its HTML (MTurk's URLs rewritten) or its QuestionForm as a form."""
    parsed = question_xml.parse_question(question, allow_http=True)
    if parsed.html is not None:
        return task_page(parsed.html, base)
    if parsed.kind == "QuestionForm":
        form = question_xml.question_form(question)
        return render_text("frame/question_form.html", form=form, base=base, other_value=answer_rules.OTHER)
    return render_text("site/frame_message.html", message="This HIT is shown from its external URL.")


def hits_page(backend: MTurkBackend, offset: int, limit: int) -> HTMLResponse:
    """The newest HITs first, ``limit`` per page."""
    rows, total = backend.recent_hits(offset, limit)
    shown = [{**row, "status": backend.status(row)} for row in rows]
    return render("operator/hits.html", rows=shown, total=total, offset=offset, limit=limit)


def preview_page(backend: MTurkBackend, hit_id: str, base: str) -> HTMLResponse:
    """One HIT as a worker would see it before accepting it."""
    row = backend.find_hit(hit_id)
    if row is None:
        raise HTTPException(status_code=404, detail=f"HIT {hit_id} does not exist")
    parsed = question_xml.parse_question(row["question"], allow_http=True)
    srcdoc = src = None
    if parsed.html is not None:
        srcdoc = task_page(parsed.html, base)
    elif parsed.external_url is not None:
        # As MTurk does for a preview: no assignment yet.
        src = with_query(parsed.external_url, {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "hitId": hit_id})
    return render(
        "operator/preview.html",
        row=row,
        status=backend.status(row),
        srcdoc=srcdoc,
        src=src,
        sandbox=IFRAME_SANDBOX,
        height=parsed.frame_height or DEFAULT_FRAME_HEIGHT,
    )
