"""Helpers for the workforce tests: forms over plain HTTP, a store on the service's database."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hit_service.core.store import Store

_FORM_TOKEN = re.compile(r"name='csrf' value='([^']*)'")


def from_address() -> dict[str, str]:
    """A client address of the test's own (uvicorn takes X-Forwarded-For from 127.0.0.1, a local proxy)."""
    return {"X-Forwarded-For": f"203.0.113.{secrets.randbelow(250) + 1}"}


def form_token(page: str) -> str:
    found = _FORM_TOKEN.search(page)
    assert found, "no csrf field on the page"
    return found.group(1)


def post_form(browser: httpx.Client, path: str, fields: dict[str, str], **kwargs: Any) -> httpx.Response:
    """GET the form at ``path`` (for its token and nonce cookie), then POST ``fields`` to it; a refused
    GET (no form shown) is returned as it is."""
    page = browser.get(path)
    if page.status_code != 200:
        return page
    return browser.post(path, data={"csrf": form_token(page.text), **fields}, **kwargs)


def join(base_url: str, token: str, name: str, password: str = "a good password", **headers: str) -> httpx.Response:
    """Join through an invitation in a fresh cookie jar; the POST's response (303 on success)."""
    with httpx.Client(base_url=base_url, timeout=10, headers=headers or from_address()) as browser:
        return post_form(browser, f"/join/{token}", {"name": name, "password": password, "password2": password})


@pytest.fixture
def wf_store(db_url: str) -> Iterator[Store]:
    """The service's database through the product's own store (setup and checks)."""
    store = Store(db_url, max_size=2)
    store.open()
    try:
        yield store
    finally:
        store.close()
