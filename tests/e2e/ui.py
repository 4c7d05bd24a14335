"""Driving Airflow 3.3's React UI with Playwright (Debian's chromium): the steps a user takes.

Selectors are the UI's own labels and the ids its param form gives every field
(``#element_<param>`` for text fields, ``input[name=element_<param>]`` for number fields);
found by looking at screenshots of the pages, which :meth:`AirflowUI.shot` keeps next to the
e2e logs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeout

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-sync"]


class AirflowUI:
    """One signed-in browser page on the api-server."""

    def __init__(self, page: Any, base_url: str, shots: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.shots = shots
        self._n = 0

    def shot(self, name: str) -> Path:
        self._n += 1
        path = self.shots / f"{self._n:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def sign_in(self, username: str, password: str) -> None:
        self.page.goto(f"{self.base_url}/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(lambda url: "/auth/login" not in url, timeout=120_000)

    def open(self, path: str) -> None:
        self.page.goto(f"{self.base_url}{path}")
        self.page.wait_for_load_state("networkidle")

    @property
    def dialog(self) -> Any:
        return self.page.locator("[role=dialog][data-scope=dialog][data-state=open]")

    def open_trigger_dialog(self, dag_id: str, backfill: bool = False) -> Any:
        """The DAG page's Trigger button; the dialog's Single Run or Backfill mode."""
        self.open(f"/dags/{dag_id}")
        self.page.get_by_role("button", name="Trigger").first.click()
        self.dialog.wait_for()
        if backfill:
            self.dialog.get_by_text("Backfill", exact=True).click()
            self.dialog.get_by_text("Date Range").wait_for()
        return self.dialog

    def close_dialog(self) -> None:
        """Escape, as a user would; the next :meth:`open` loads a fresh page either way."""
        self.page.keyboard.press("Escape")
        with contextlib.suppress(PlaywrightTimeout):
            self.dialog.wait_for(state="hidden", timeout=10_000)

    def open_section(self, title: str) -> None:
        """Unfold one of the param form's sections (all but the first start folded)."""
        trigger = self.dialog.get_by_role("button", name=title, exact=True)
        if trigger.get_attribute("aria-expanded") != "true":
            trigger.click()

    def param_field(self, name: str) -> Any:
        """A param's field, its section unfolded first (hitflow's params name their section)."""
        from hitflow.publish.batch_config import PARAM_SPECS

        section = PARAM_SPECS.get(name, {}).get("section")
        if section:
            self.open_section(section)
        return self.dialog.locator(f"#element_{name}, input[name=element_{name}]").first

    def fill_param(self, name: str, value: str) -> None:
        self.param_field(name).fill(value)

    def pick_datetime(self, index: int, day: date, time: str = "00:00") -> None:
        """The Backfill dialog's From (0) / To (1) pickers: type the date and time, close the popover."""
        self.dialog.get_by_test_id("datetime-input").nth(index).click()
        popover = self.page.locator("[data-scope=popover][data-part=content][data-state=open]")
        popover.get_by_placeholder("YYYY/MM/DD").fill(day.strftime("%Y/%m/%d"))
        popover.get_by_placeholder("HH:mm").fill(time)
        self.dialog.get_by_text("Date Range").click()  # outside the popover: closes it
        popover.wait_for(state="hidden")


@contextmanager
def signed_in(base_url: str, username: str, password: str, shots: Path) -> Iterator[AirflowUI]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run `make browser` (Debian's chromium)"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            # Generous: on a loaded 2-core box the React app can take tens of seconds to respond.
            page.set_default_timeout(120_000)
            page.set_default_navigation_timeout(120_000)
            ui = AirflowUI(page, base_url, shots)
            ui.sign_in(username, password)
            yield ui
        finally:
            browser.close()
