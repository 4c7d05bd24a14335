"""Operator HTML pages: the HIT list and a preview of one HIT (routes in ``site``, behind the operator password).

The pages show every requester's HITs (this is the operator's view of a local service, not
MTurk's per-requester UI). Every value is HTML-escaped; HIT content, which is the requester's
HTML and may hold scripts, is shown only inside a sandboxed ``<iframe srcdoc>`` without
``allow-same-origin``, so it cannot reach this page or the service's origin.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException
from fastapi.responses import HTMLResponse

from hit_service.core import questions
from hit_service.core.models import MTurkBackend, format_money

PAGE_SIZE = 50
IFRAME_SANDBOX = "allow-scripts allow-forms"
DEFAULT_FRAME_HEIGHT = 600
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
code { font-size: .9em; }
iframe { width: 100%; border: 1px solid #bbb; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dt { font-weight: 600; }
.pager a { margin-right: 1rem; }
"""
_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _page(title: str, body: str) -> HTMLResponse:
    html = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return HTMLResponse(html, headers=_HEADERS)


def hits_page(backend: MTurkBackend, offset: int, limit: int) -> HTMLResponse:
    """The newest HITs first, ``limit`` per page."""
    rows, total = backend.recent_hits(offset, limit)
    lines = []
    for row in rows:
        hit_id = row["hit_id"]
        lines.append(
            "<tr>"
            f"<td><a href='/hits/{_e(hit_id)}/preview'><code>{_e(hit_id)}</code></a></td>"
            f"<td>{_e(row['title'])}</td>"
            f"<td>${_e(format_money(row['reward']))}</td>"
            f"<td>{_e(backend.status(row))}</td>"
            f"<td>{_e(row['requester_annotation'])}</td>"
            f"<td>{_e(_when(row['creation_time']))}</td>"
            "</tr>"
        )
    pager = []
    if offset > 0:
        pager.append(f"<a href='/hits?offset={max(offset - limit, 0)}&amp;limit={limit}'>&larr; newer</a>")
    if offset + limit < total:
        pager.append(f"<a href='/hits?offset={offset + limit}&amp;limit={limit}'>older &rarr;</a>")
    shown = f"{offset + 1}–{offset + len(rows)} of {total}" if rows else f"none of {total}"
    body = (
        "<h1>HITs</h1>"
        f"<p>{_e(shown)}</p>"
        "<table><thead><tr><th>HIT ID</th><th>Title</th><th>Reward</th><th>Status</th>"
        "<th>Annotation</th><th>Created</th></tr></thead><tbody>"
        + "".join(lines)
        + "</tbody></table>"
        + f"<p class='pager'>{''.join(pager)}</p>"
    )
    return _page("HITs", body)


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def preview_page(backend: MTurkBackend, hit_id: str) -> HTMLResponse:
    """One HIT as a worker would see it before accepting it."""
    row = backend.find_hit(hit_id)
    if row is None:
        raise HTTPException(status_code=404, detail=f"HIT {hit_id} does not exist")
    parsed = questions.parse_question(row["question"])
    height = parsed.frame_height or DEFAULT_FRAME_HEIGHT
    if parsed.html is not None:
        content = (
            f"<iframe title='HIT content' sandbox='{IFRAME_SANDBOX}' height='{height}' "
            f"srcdoc='{_e(parsed.html)}'></iframe>"
        )
    elif parsed.external_url is not None:
        # As MTurk does for a preview: no assignment yet.
        src = _with_query(parsed.external_url, {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "hitId": hit_id})
        content = f"<iframe title='HIT content' sandbox='{IFRAME_SANDBOX}' height='{height}' src='{_e(src)}'></iframe>"
    else:
        content = f"<p>QuestionForm HITs have no HTML rendering yet; the XML:</p><pre>{_e(row['question'])}</pre>"
    layout = ""
    if row["layout_id"]:
        params = "".join(
            f"<li><code>{_e(p['Name'])}</code> = {_e(p['Value'])}</li>" for p in row["layout_parameters"] or []
        )
        layout = f"<dt>Layout</dt><dd><code>{_e(row['layout_id'])}</code><ul>{params}</ul></dd>"
    body = (
        "<p><a href='/hits'>&larr; all HITs</a></p>"
        f"<h1>{_e(row['title'])}</h1>"
        f"<p>{_e(row['description'])}</p>"
        "<dl>"
        f"<dt>HIT ID</dt><dd><code>{_e(row['hit_id'])}</code></dd>"
        f"<dt>Reward</dt><dd>${_e(format_money(row['reward']))}</dd>"
        f"<dt>Status</dt><dd>{_e(backend.status(row))}</dd>"
        f"<dt>Assignments</dt><dd>{_e(row['max_assignments'])}</dd>"
        f"<dt>Expires</dt><dd>{_e(_when(row['expiration']))}</dd>"
        f"<dt>Annotation</dt><dd>{_e(row['requester_annotation'])}</dd>"
        f"{layout}"
        "</dl>"
        f"{content}"
    )
    return _page(f"Preview: {row['title']}", body)
