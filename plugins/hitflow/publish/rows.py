"""Row validation: decide, row by row, whether a source row can become a HIT.

Every rule returns a human-readable reason; a row with a reason goes to quarantine and the rest
of the batch goes on. Duplicates are found in SQL (see ``store``), since they need the whole
table.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
PERSON_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_HOST_PATTERN = re.compile(r"^[A-Za-z0-9.-]+$")


@dataclass(frozen=True)
class SourceRow:
    id: int
    person_id: str | None
    image_url: str | None
    created_at: datetime | None


def _has_control_or_space(value: str) -> bool:
    return any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in value)


def url_problem(url: str | None) -> str | None:
    """Why ``url`` cannot be shown to workers as an image, or None when it can."""
    if url is None or not url.strip():
        return "missing image_url"
    if len(url) > MAX_URL_LENGTH:
        return f"image_url longer than {MAX_URL_LENGTH} characters ({len(url)})"
    if _has_control_or_space(url) or any(ch in url for ch in "<>\"'`\\"):
        return "image_url contains whitespace, control or markup characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a malformed port
    except ValueError as err:
        return f"malformed image_url ({err})"
    if parts.scheme.lower() != "https":
        if not parts.scheme:
            return "image_url is not an absolute https URL"
        return f"image_url scheme is {parts.scheme.lower()!r}, not https"
    host = parts.hostname or ""
    if not host or not _HOST_PATTERN.match(host) or "." not in host or host.startswith(".") or ".." in host:
        return "malformed image_url (no valid host name)"
    if parts.username or parts.password:
        return "image_url carries credentials"
    if port is not None and not 0 < port < 65536:
        return "malformed image_url (bad port)"
    return None


def person_id_problem(person_id: str | None) -> str | None:
    if person_id is None or not person_id.strip():
        return "missing person_id"
    if len(person_id) > 64:
        return f"person_id longer than 64 characters ({len(person_id)})"
    if not PERSON_ID_PATTERN.match(person_id):
        return "malformed person_id (allowed: letters, digits and . _ : -)"
    return None


def row_problem(row: SourceRow) -> str | None:
    """The first reason ``row`` cannot be published, or None when it is good."""
    return (
        person_id_problem(row.person_id)
        or url_problem(row.image_url)
        or ("missing created_at" if row.created_at is None else None)
    )
