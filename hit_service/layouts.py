"""HIT layouts: HTML templates with ``${name}`` placeholders, one file per layout.

On MTurk a layout was a project made in the requester UI; here it is
``$HITFLOW_LAYOUTS_DIR/<LayoutId>.html``. Files are read on every use, so a layout added while
the service runs is picked up. Values are HTML-escaped when inserted: they come from data
(CSV rows, URLs) and end up inside a page a worker opens.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from hit_service.exceptions import (
    HIT_LAYOUT_DOES_NOT_EXIST,
    MISSING_PARAMETERS,
    PARAMETER_OUT_OF_RANGE,
    RequestError,
)

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
LAYOUT_ID = re.compile(r"^[A-Z0-9]{1,64}\Z")


def load_layout(layouts_dir: Path, layout_id: str) -> str:
    """The template text of ``layout_id``, or ``RequestError`` when there is none."""
    path = layouts_dir / f"{layout_id}.html"
    if not LAYOUT_ID.match(layout_id) or not path.is_file():
        raise RequestError(
            f"HITLayoutId {layout_id} does not exist (no {layout_id}.html in the layouts directory).",
            HIT_LAYOUT_DOES_NOT_EXIST,
        )
    return path.read_text(encoding="utf-8")


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
