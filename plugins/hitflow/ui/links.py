"""Where the hitflow plugin serves things on the api-server (light: tasks import it)."""

from __future__ import annotations

PREFIX = "/hitflow"


def report_url(base_url: str, batch_id: str) -> str:
    """The report page of a batch in the Airflow UI's api-server (``[api] base_url``)."""
    return f"{base_url.rstrip('/')}{PREFIX}/reports/{batch_id}"
