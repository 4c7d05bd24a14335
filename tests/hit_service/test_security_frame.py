"""Issue 21: a task may never navigate the worker's tab; links it opens go to a new tab (Chromium)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.hit_service.browser import Offline, chromium, new_page, sign_in
from tests.hit_service.elsewhere import elsewhere
from tests.hit_service.test_worker_site import accept_from_preview, answer_of, create, html_question, wait_submitted

pytestmark = pytest.mark.integration
__all__ = ["chromium"]  # fixtures


def malicious_task(evil: str) -> str:
    """A task whose button sends ``top`` away and whose links point at the attacker's site."""
    return f"""<!DOCTYPE html><html><head>
<script src='https://s3.amazonaws.com/mturk-public/externalHIT_v1.js'></script></head><body>
<form id='mturk_form' method='post' action='https://www.mturk.com/mturk/externalSubmit'>
<input type='hidden' name='assignmentId' id='assignmentId'>
<p><button type='button' id='go'>Start the task</button> <span id='out'></span></p>
<p><a id='top-link' href='{evil}/top-link' target='_top'>Instructions</a>
<a id='plain-link' href='{evil}/plain-link'>Examples</a>
<a id='jump' href='#answer'>Jump to the answer</a></p>
<p><input name='age' id='answer' value='33'> <input type='submit' id='submitButton' value='Submit'></p>
</form>
<script>
document.getElementById('go').addEventListener('click', function () {{
  var out = document.getElementById('out');
  try {{ top.location.href = '{evil}/script'; out.textContent = 'asked'; }}
  catch (error) {{ out.textContent = 'refused: ' + error.name; }}
}});
turkSetAssignmentID();
</script></body></html>"""


def test_a_task_cannot_send_the_workers_tab_away(
    service: Any, requester: tuple[str, Any], new_worker: Any, chromium: Any
) -> None:
    _, client = requester
    base = service.url
    with elsewhere({}) as evil:
        hit = create(client, html_question(malicious_task(evil.url)), "Looks harmless")
        worker = new_worker()
        page = new_page(chromium, Offline(base, evil.url))
        sign_in(page, base, worker)
        assignment_id = accept_from_preview(page, base, hit["HITId"])
        work_url = page.url
        frame = page.frame_locator("#hit-frame")

        # A click inside the task (user activation) and a script that sends top away: refused.
        frame.locator("#go").click()
        try:
            frame.locator("#out").filter(has_text="e").wait_for()  # "asked" or "refused: …"
        except PlaywrightTimeoutError:
            pytest.fail(f"the task's script sent the worker's tab to {page.url}")
        # Links, even target=_top or no target at all, open a new tab; the worker's tab stays.
        for link, path in (("#top-link", "/top-link"), ("#plain-link", "/plain-link")):
            with page.context.expect_page() as opened:
                frame.locator(link).click()
            tab = opened.value
            tab.wait_for_url(f"{evil.url}{path}")
            assert tab.evaluate("() => window.opener") is None  # no way back to the worker's tab
            tab.close()
        assert page.url == work_url, page.url
        assert "/script" not in evil.requests, evil.requests
        frame.locator("#jump").click()  # a jump inside the task stays in the task
        assert page.url == work_url and len(page.context.pages) == 1

        # The task still works: the worker submits it and the requester reads the answer.
        frame.locator("#submitButton").click()
        wait_submitted(page, base, assignment_id)
        assert "<FreeText>33</FreeText>" in answer_of(client, hit["HITId"])
        page.context.close()
