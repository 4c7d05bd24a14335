"""What the HIT service holds, read as a client sees it; and its test-mode fault switch.

The bench and the integration tests check "exactly one HIT per row" against the service's own
ListHITs, never against hitflow's tables, so a bug in hitflow cannot vouch for itself.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import requests


def set_faults(service: Any, **faults: Any) -> None:
    """Switch the service's injected faults (``/_test/faults``: test mode only)."""
    requests.post(f"{service.url}/_test/faults", json=faults, timeout=10).raise_for_status()


def service_hits(client: Any) -> list[dict[str, Any]]:
    """Every HIT of the client's requester, all pages of ListHITs."""
    hits, kwargs = [], {"MaxResults": 100}
    while True:
        page = client.list_hits(**kwargs)
        hits += page["HITs"]
        if not page.get("NextToken"):
            return hits
        kwargs["NextToken"] = page["NextToken"]


def hits_per_row(client: Any) -> Counter[int]:
    """HITs per source row in the service's own ListHITs (the row each RequesterAnnotation names)."""
    return Counter(int(hit["RequesterAnnotation"].rsplit(" ", 1)[1]) for hit in service_hits(client))
