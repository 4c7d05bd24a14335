"""Drive the requester console over HTTP through its real forms, as a browser would (demo, tests).

console = ConsoleClient("http://127.0.0.1:8100", "ana", password)
layout_id = console.create_project("age_guess")
batch_id = console.upload(layout_id, Path("input.csv").read_bytes(), "November photos")
console.publish(batch_id)
console.wait_published(batch_id)
"""

from __future__ import annotations

import re
import time
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from hit_service.console import forms, starters

_CSRF = re.compile(r"name=[\"']csrf[\"'] value=[\"']([^\"']*)[\"']")
_BATCH = re.compile(r"/requester/batches/(\d+)/confirm")
_ERROR_ROWS = re.compile(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>")


class ConsoleError(RuntimeError):
    """The console refused a step; the message is the page's own explanation."""


class ConsoleClient:
    """A signed-in requester user's session with the console."""

    def __init__(self, base_url: str, user: str, password: str, *, timeout: float = 30.0) -> None:
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        form = self.session.get(f"{self.base}/requester/login", timeout=timeout)  # its token and nonce cookie
        response = self.session.post(
            f"{self.base}/requester/login",
            data={"name": user, "password": password, "next": "/requester", "csrf": self._csrf(form.text)},
            timeout=timeout,
        )
        if response.status_code != 200 or "hitflow_requester" not in self.session.cookies:
            raise ConsoleError(f"signing in as {user!r} failed: HTTP {response.status_code}")
        self.csrf = self._csrf(response.text)

    @staticmethod
    def _csrf(page: str) -> str:
        match = _CSRF.search(page)
        if match is None:
            raise ConsoleError("the page has no form token (not signed in?)")
        return unescape(match.group(1))

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(f"{self.base}{path}", timeout=self.timeout, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> requests.Response:
        return self.session.post(
            f"{self.base}{path}", data={"csrf": self.csrf, **(data or {})}, timeout=self.timeout, **kwargs
        )

    def create_project(self, starter: str = "age_guess", **overrides: Any) -> str:
        """A project from a starter (fields as the form shows them, ``overrides`` applied); its layout ID."""
        values = starters.starter(starter)
        if values is None:
            raise ConsoleError(f"no starter {starter!r}")
        fields: dict[str, Any] = {}
        for key, value in forms.project_form(values).items():
            if key == "requirements":
                for i, row in enumerate(value):
                    for name in ("type", "comparator", "values", "action"):
                        fields[f"q{i}_{name}"] = row[name]
            else:
                fields[key] = value
        fields.update(overrides)
        response = self.post("/requester/projects/new", fields, allow_redirects=False)
        location = response.headers.get("location", "")
        if response.status_code != 303 or not location.startswith("/requester/projects/"):
            raise ConsoleError(f"creating the project failed: HTTP {response.status_code}")
        return location.split("?")[0].rsplit("/", 1)[1]

    def upload(self, layout_id: str, data: bytes, name: str = "", file_name: str = "input.csv") -> int:
        """Upload a batch file; the draft batch's ID, or ConsoleError listing the row errors."""
        response = self.post(
            f"/requester/projects/{layout_id}/publish",
            {"name": name},
            files={"file": (file_name, data, "text/csv")},
            allow_redirects=False,
        )
        match = _BATCH.search(response.headers.get("location", ""))
        if response.status_code != 303 or match is None:
            rows = [tuple(unescape(c) for c in m) for m in _ERROR_ROWS.findall(response.text)]
            raise ConsoleError(f"the file was refused (HTTP {response.status_code}): {rows}")
        return int(match.group(1))

    def publish(self, batch_id: int, *, again: bool = False, only_new: bool = False) -> str:
        """Confirm a draft batch (all rows again, or only rows not published before); the console's note."""
        data = {"publish_again": "yes"} if again else {"publish_again": "new"} if only_new else {}
        response = self.post(f"/requester/batches/{batch_id}/publish", data, allow_redirects=False)
        if response.status_code != 303:
            raise ConsoleError(f"publishing batch {batch_id} failed: HTTP {response.status_code}")
        query = urlsplit(response.headers.get("location", "")).query
        return parse_qs(query).get("note", [""])[0]

    def progress(self, batch_id: int) -> dict[str, Any]:
        response = self.get(f"/requester/batches/{batch_id}/progress.json")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def wait_published(self, batch_id: int, timeout: float = 120.0) -> dict[str, Any]:
        """Poll the progress until the batch is no longer publishing."""
        deadline = time.monotonic() + timeout
        while True:
            progress = self.progress(batch_id)
            if progress["status"] != "publishing":
                return progress
            if time.monotonic() > deadline:
                raise ConsoleError(f"batch {batch_id} still publishing after {timeout:.0f} s: {progress}")
            time.sleep(0.2)

    def cancel(self, batch_id: int) -> str:
        """Cancel a batch; the note the console answered with (the release runs in the background)."""
        response = self.post(f"/requester/batches/{batch_id}/cancel", allow_redirects=False)
        if response.status_code != 303:
            raise ConsoleError(f"cancelling batch {batch_id} failed: HTTP {response.status_code}")
        return parse_qs(urlsplit(response.headers.get("location", "")).query).get("note", [""])[0]

    def wait_cancelled(self, batch_id: int, timeout: float = 120.0) -> dict[str, Any]:
        """Poll the progress until the cancel has gone through every HIT."""
        deadline = time.monotonic() + timeout
        while True:
            progress = self.progress(batch_id)
            if progress["status"] == "cancelled" and not progress["cancelling"]:
                return progress
            if time.monotonic() > deadline:
                raise ConsoleError(f"batch {batch_id} still cancelling after {timeout:.0f} s: {progress}")
            time.sleep(0.2)

    def results_csv(self, batch_id: int) -> str:
        response = self.get(f"/requester/batches/{batch_id}/results.csv")
        response.raise_for_status()
        return response.content.decode("utf-8")
