"""Bad input the pipeline must survive: each row kind with the reason hitflow gives it.

Used by the unit tests of the row rules and by the DAG run that pushes the whole corpus through
Postgres, so the two can never disagree about what is bad.
"""

from __future__ import annotations

OK_URL = "https://img.example.org/ok.jpg"

#: (label, person_id, image_url, has_created_at, reason fragment)
BAD_ROWS: list[tuple[str, str | None, str | None, bool, str]] = [
    ("null person_id", None, OK_URL, True, "missing person_id"),
    ("empty person_id", "", OK_URL, True, "missing person_id"),
    ("blank person_id", "   ", OK_URL, True, "missing person_id"),
    ("10 kB person_id", "P" * 10_000, OK_URL, True, "person_id longer than 64"),
    ("markup in person_id", "P1<script>alert(1)</script>", OK_URL, True, "malformed person_id"),
    ("quote in person_id", 'P1" onmouseover="x', OK_URL, True, "malformed person_id"),
    ("right-to-left override in person_id", "P1\u202etxt.exe", OK_URL, True, "malformed person_id"),
    ("zero-width space in person_id", "P1\u200b", OK_URL, True, "malformed person_id"),
    ("replacement character in person_id", "P\ufffd1", OK_URL, True, "malformed person_id"),
    ("null image_url", "P100", None, True, "missing image_url"),
    ("empty image_url", "P101", "", True, "missing image_url"),
    ("relative URL", "P102", "/images/a.jpg", True, "not an absolute https URL"),
    ("protocol-relative URL", "P103", "//img.example.org/a.jpg", True, "not an absolute https URL"),
    ("javascript: URL", "P104", "javascript:alert(document.cookie)", True, "'javascript', not https"),
    ("data: URL", "P105", "data:image/png;base64,iVBORw0KGgo=", True, "'data', not https"),
    ("http URL", "P106", "http://img.example.org/a.jpg", True, "'http', not https"),
    ("ftp URL", "P107", "ftp://img.example.org/a.jpg", True, "'ftp', not https"),
    ("file URL", "P108", "file:///etc/passwd", True, "'file', not https"),
    ("https without host", "P109", "https:///a.jpg", True, "no valid host"),
    ("single-label host", "P110", "https://intranet/a.jpg", True, "no valid host"),
    ("10 kB URL", "P111", "https://img.example.org/" + "a" * 10_000, True, "longer than 2048"),
    ("space in URL", "P112", "https://img.example.org/a b.jpg", True, "whitespace"),
    ("attribute injection in URL", "P113", 'https://img.example.org/a.jpg" onerror="alert(1)', True, "markup"),
    ("script tag in URL", "P114", "https://img.example.org/<script>.jpg", True, "markup"),
    ("credentials in URL", "P115", "https://user:secret@img.example.org/a.jpg", True, "credentials"),
    ("bad port", "P116", "https://img.example.org:99999/a.jpg", True, "malformed image_url"),
    ("control character in URL", "P117", "https://img.example.org/a\x07.jpg", True, "control"),
    ("missing created_at", "P118", "https://img.example.org/118.jpg", False, "missing created_at"),
]
