"""Chromium (Debian's, driven by Playwright) for the worker-site tests, and screenshots of what it saw.

Screenshots go to ``$HITFLOW_SCREENSHOT_DIR`` when set (to look at them), else to pytest's
temporary directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the module."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run `make browser` (Debian's chromium)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where this test's screenshots go."""
    configured = os.environ.get("HITFLOW_SCREENSHOT_DIR")
    directory = Path(configured) if configured else tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class Offline:
    """Block every request that leaves the service (and the test's own servers); remember them."""

    def __init__(self, *allowed_urls: str) -> None:
        self.allowed = {urlsplit(url).netloc for url in allowed_urls}
        self.blocked: list[str] = []

    def route(self, route: Any) -> None:
        url = route.request.url
        netloc = urlsplit(url).netloc
        if url.startswith(("data:", "about:", "blob:")) or netloc in self.allowed:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()


def new_page(browser: Any, offline: Offline, viewport: dict[str, int] = DESKTOP) -> Any:
    """A page in a fresh context whose requests beyond ``offline.allowed`` fail (and are recorded)."""
    context = browser.new_context(viewport=viewport)
    context.route("**/*", offline.route)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def sign_in(page: Any, base_url: str, worker: dict[str, str]) -> None:
    """Sign in through the form, by keyboard."""
    page.goto(f"{base_url}/worker/login")
    page.locator("#name").focus()
    page.keyboard.type(worker["name"])
    page.keyboard.press("Tab")
    page.keyboard.type(worker["password"])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base_url}/worker")
