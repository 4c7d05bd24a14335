"""Work HITs through the worker site's real HTTP forms, as a person's browser would.

For simulated crowds (the demo) and tests: sign in, open the HIT, press Accept, post the
answer to ``/mturk/externalSubmit`` — the same requests a browser sends, with ``requests``.

    assignment_id = submit_answer_over_http(url, "ana", "pw-of-ana", hit_id, {"age": "34"})
"""

from __future__ import annotations

import re
from html import unescape

import requests

_CSRF = re.compile(r"name='csrf' value='([^']*)'")
_WORK_LINK = re.compile(r"href='/work/([A-Z0-9]+)'")
_ERROR = re.compile(r"class='error'>(.*?)</(?:p|span)>", re.DOTALL)


class CrowdError(RuntimeError):
    """The site refused a step; the message is the page's own explanation."""


def _page_error(response: requests.Response) -> str:
    match = _ERROR.search(response.text)
    detail = unescape(match.group(1)) if match else response.text[:200]
    return f"HTTP {response.status_code}: {detail}"


def sign_in(base_url: str, worker_name: str, password: str, *, timeout: float = 10.0) -> requests.Session:
    """A session signed in to the worker site (raises CrowdError on a wrong name/password)."""
    session = requests.Session()
    form = session.get(f"{base_url.rstrip('/')}/worker/login", timeout=timeout)  # its CSRF token and nonce cookie
    token = _CSRF.search(form.text)
    response = session.post(
        f"{base_url.rstrip('/')}/worker/login",
        data={
            "name": worker_name,
            "password": password,
            "next": "/worker",
            "csrf": unescape(token.group(1)) if token else "",
        },
        timeout=timeout,
    )
    if response.status_code != 200 or "hitflow_worker" not in session.cookies:
        raise CrowdError(f"signing in as {worker_name!r} failed: {_page_error(response)}")
    return session


def accept_hit(session: requests.Session, base_url: str, hit_id: str, *, timeout: float = 10.0) -> str:
    """Accept ``hit_id`` through its preview page; the assignment ID."""
    base = base_url.rstrip("/")
    preview = session.get(f"{base}/worker/hits/{hit_id}", timeout=timeout)
    if preview.status_code != 200:
        raise CrowdError(f"previewing HIT {hit_id} failed: {_page_error(preview)}")
    running = _WORK_LINK.search(preview.text)
    if running and "Continue working" in preview.text:
        return running.group(1)
    if f"/worker/hits/{hit_id}/accept" not in preview.text:
        raise CrowdError(f"HIT {hit_id} cannot be accepted: {_page_error(preview)}")
    csrf = _CSRF.search(preview.text)
    if csrf is None:  # pragma: no cover - every signed-in page carries the token
        raise CrowdError("the preview page has no form token")
    accepted = session.post(
        f"{base}/worker/hits/{hit_id}/accept",
        data={"csrf": unescape(csrf.group(1))},
        allow_redirects=False,
        timeout=timeout,
    )
    location = accepted.headers.get("location", "")
    if accepted.status_code != 303 or not location.startswith("/work/"):
        raise CrowdError(f"accepting HIT {hit_id} failed: {_page_error(accepted)}")
    return location.rsplit("/", 1)[1]


def submit_fields(
    session: requests.Session, base_url: str, assignment_id: str, fields: dict[str, str], *, timeout: float = 10.0
) -> None:
    """Post the answer form of an accepted assignment to ``/mturk/externalSubmit``."""
    response = session.post(
        f"{base_url.rstrip('/')}/mturk/externalSubmit",
        data={"assignmentId": assignment_id, **fields},
        timeout=timeout,
    )
    if response.status_code != 200 or "id='submitted'" not in response.text:
        raise CrowdError(f"submitting assignment {assignment_id} failed: {_page_error(response)}")


def submit_answer_over_http(
    base_url: str, worker_name: str, password: str, hit_id: str, fields: dict[str, str], *, timeout: float = 10.0
) -> str:
    """Sign in, accept ``hit_id`` and submit ``fields``; the assignment ID."""
    with sign_in(base_url, worker_name, password, timeout=timeout) as session:
        assignment_id = accept_hit(session, base_url, hit_id, timeout=timeout)
        submit_fields(session, base_url, assignment_id, fields, timeout=timeout)
    return assignment_id
