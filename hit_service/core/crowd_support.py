"""Which Crowd HTML Elements this service implements, and which ones a task uses that it does not.

The list is read from the element modules themselves (every ``customElements.define("crowd-…")``
under ``static/crowd/``), so it cannot drift from what a worker's browser gets. A task that uses
another ``<crowd-…>`` element cannot be submitted here (the page says so and refuses); CreateHIT
and the console's preview tell the requester which elements those are.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

CROWD_DIR = Path(__file__).resolve().parent.parent / "static" / "crowd"
_DEFINE = re.compile(r"""customElements\.define\(\s*["']([a-z][a-z0-9]*-[a-z0-9-]*)["']""")
_TAG = re.compile(r"<\s*(crowd-[a-z0-9-]+)", re.IGNORECASE)
WARNING_HEADER = "x-hitflow-unsupported-elements"


@lru_cache(maxsize=1)
def supported_elements() -> frozenset[str]:
    """Every custom element the crowd modules define (crowd-… and the region elements)."""
    names: set[str] = set()
    for path in sorted(CROWD_DIR.glob("*.js")):
        names.update(_DEFINE.findall(path.read_text(encoding="utf-8")))
    return frozenset(names)


def unsupported_elements(html: str) -> list[str]:
    """The ``<crowd-…>`` elements ``html`` uses that this service does not implement, sorted."""
    used = {name.lower() for name in _TAG.findall(html or "")}
    return sorted(used - supported_elements())


def warning(html: str) -> str:
    """A sentence for the requester, or "" when every element the task uses works here."""
    missing = unsupported_elements(html)
    if not missing:
        return ""
    names = ", ".join(f"<{name}>" for name in missing)
    return (
        f"This task uses {names}, which this service does not support: workers will see a notice and cannot submit it."
    )
