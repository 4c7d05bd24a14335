"""HIT layouts: HTML templates with ``${name}`` placeholders.

On MTurk a layout was a project made in the requester UI. Here a layout is either a project
made in the requester console (``mturk.projects``, visible to its own requester only) or a file
``$HITFLOW_LAYOUTS_DIR/<LayoutId>.html`` (every requester may use it). A file read (and a project
lookup) is reused for ``LAYOUT_CACHE_SECONDS`` (reading it for every CreateHIT was a quarter of
the service's CPU), so a layout added or edited while the service runs is used within that time.
Values are HTML-escaped when inserted: they come from data (CSV rows, URLs) and end up inside a
page a worker opens.
"""

from __future__ import annotations

import html
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hit_service.core.exceptions import (
    HIT_LAYOUT_DOES_NOT_EXIST,
    MISSING_PARAMETERS,
    PARAMETER_OUT_OF_RANGE,
    RequestError,
)

if TYPE_CHECKING:
    from hit_service.core.database import Store

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
LAYOUT_ID = re.compile(r"^[A-Z0-9]{1,64}\Z")
LAYOUT_CACHE_SECONDS = 2.0

_cache: dict[Path, tuple[float, str]] = {}
_cache_lock = threading.Lock()
_projects: dict[tuple[str, str], tuple[float, str | None]] = {}


def project_template(store: Store, requester: str, layout_id: str, *, now: float | None = None) -> str | None:
    """The template of the requester's console project ``layout_id``, or None (cached 2 s)."""
    key = (requester, layout_id)
    now = time.monotonic() if now is None else now
    with _cache_lock:
        cached = _projects.get(key)
    if cached is not None and now - cached[0] < LAYOUT_CACHE_SECONDS:
        return cached[1]
    with store.transaction() as conn:
        row = store.console.project_template(conn, (layout_id, requester)).fetchone()
    template = None if row is None else str(row["template"])
    with _cache_lock:
        if len(_projects) > 10_000:
            _projects.clear()
        _projects[key] = (now, template)
    return template


def forget_project(requester: str, layout_id: str) -> None:
    """Drop a cached project template (this process edited it)."""
    with _cache_lock:
        _projects.pop((requester, layout_id), None)


def load_layout(layouts_dir: Path, layout_id: str, *, now: float | None = None) -> str:
    """The template text of ``layout_id``, or ``RequestError`` when there is none."""
    path = layouts_dir / f"{layout_id}.html"
    if not LAYOUT_ID.match(layout_id):
        raise _no_layout(layout_id)
    now = time.monotonic() if now is None else now
    with _cache_lock:
        cached = _cache.get(path)
    if cached is not None and now - cached[0] < LAYOUT_CACHE_SECONDS:
        return cached[1]
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        with _cache_lock:
            _cache.pop(path, None)
        raise _no_layout(layout_id) from None
    with _cache_lock:
        _cache[path] = (now, text)
    return text


def _no_layout(layout_id: str) -> RequestError:
    return RequestError(
        f"HITLayoutId {layout_id} does not exist (no project of yours, no {layout_id}.html in the layouts directory).",
        HIT_LAYOUT_DOES_NOT_EXIST,
    )


def placeholders(template: str) -> list[str]:
    """Placeholder names in order of first appearance."""
    return list(dict.fromkeys(PLACEHOLDER.findall(template)))


def parameters_dict(layout_id: str, parameters: list[dict[str, str]]) -> dict[str, str]:
    """``HITLayoutParameters`` (a list of Name/Value) as a dict; duplicate names are an error."""
    values: dict[str, str] = {}
    for item in parameters:
        name = item["Name"]
        if name in values:
            raise RequestError(
                f"HITLayoutParameters names {name!r} more than once for layout {layout_id}.",
                PARAMETER_OUT_OF_RANGE,
            )
        values[name] = item["Value"]
    return values


def render(layout_id: str, template: str, values: dict[str, str]) -> str:
    """Fill every placeholder with its escaped value; every name must match a placeholder."""
    names = placeholders(template)
    missing = [name for name in names if name not in values]
    if missing:
        listed = ", ".join(f"${{{name}}}" for name in missing)
        raise RequestError(
            f"HITLayoutParameters has no value for {listed} of layout {layout_id}.",
            MISSING_PARAMETERS,
        )
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise RequestError(
            f"HITLayoutParameters names {', '.join(unknown)}, which layout {layout_id} does not use.",
            PARAMETER_OUT_OF_RANGE,
        )
    return PLACEHOLDER.sub(lambda m: html.escape(values[m.group(1)], quote=True), template)
