"""The requester console by keyboard alone, in Chromium: sign in, make a project, publish, review.

Every page on the way is swept with Tab: each control it offers must be reached, must have an
accessible name and must show where the focus is. The flow itself then goes only by Tab,
Shift+Tab, Enter, Space and typing — the way a requester without a mouse works. Screenshots of
the home, projects, project and batch pages at 1280 and 390 px go to ``$HITFLOW_SCREENSHOT_DIR``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from hitflow_support.crowd_client import submit_answer_over_http
from tests.hit_service.browser import DESKTOP, PHONE, Offline, chromium, new_page, shots

__all__ = ["chromium", "shots"]  # fixtures
pytestmark = pytest.mark.integration

CONTROLS = (
    "a[href], button, input:not([type=hidden]), select, textarea, summary, iframe, [tabindex]:not([tabindex='-1'])"
)

# What has the focus: its tag, whether the console draws a focus ring on it (2 px or more of a
# solid outline or a shadow: not the browser's thin "auto" ring, which is dark on dark in the
# header), and whether it is the keyboard's focus (:focus-visible). Each element seen gets a
# number, so a sweep knows when Tab has come round again.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  if (!el.dataset.kb) el.dataset.kb = String(document.querySelectorAll('[data-kb]').length + 1);
  const style = getComputedStyle(el);
  const outline = !['none', 'auto'].includes(style.outlineStyle) && parseFloat(style.outlineWidth) >= 2;
  const ring = style.boxShadow !== 'none';
  const box = el.getBoundingClientRect();
  return {
    kb: el.dataset.kb, tag: el.tagName.toLowerCase(), id: el.id, outline: outline || ring,
    visible: el.matches(':focus-visible'), width: box.width, height: box.height,
    html: el.outerHTML.slice(0, 120),
  };
}"""

HAS_FOCUS = "() => ![null, document.body, document.documentElement].includes(document.activeElement)"

# Every control a sweep should have reached: shown, enabled, and not yet focused.
MISSED = """(selector) => [...document.querySelectorAll(selector)]
  .filter((el) => !el.dataset.kb && !el.disabled && el.checkVisibility())
  .map((el) => el.outerHTML.slice(0, 120))"""

FIELDS = ("textbox", "spinbutton", "combobox", "listbox", "checkbox", "radio", "slider", "searchbox")
ROLE_AND_NAME = re.compile(r'(?P<role>[\w-]+)(?: "(?P<name>(?:[^"\\]|\\.)*)")?')


def role_and_name(snapshot: str) -> tuple[str, str]:
    """The role and accessible name at the top of Playwright's ARIA snapshot (YAML) of one element."""
    top = yaml.safe_load(snapshot)[0]
    match = ROLE_AND_NAME.match(next(iter(top)) if isinstance(top, dict) else str(top))
    assert match is not None, snapshot
    return match["role"], (match["name"] or "").replace('\\"', '"').strip()


def focused(page: Any) -> dict[str, Any] | None:
    """The focused element, checked: it is named, and the focus on it can be seen."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    info: dict[str, Any] | None = page.evaluate(FOCUSED)
    if info is None:
        # The document itself, or focus on its way into a task frame (another process): wait a moment.
        try:
            page.wait_for_function(HAS_FOCUS, timeout=300)
        except PlaywrightTimeout:
            return None
        info = page.evaluate(FOCUSED)
    if info is None:
        return None
    if info["tag"] == "iframe":  # the focus is inside the task (the requester's own HTML): its title names it
        title = page.locator(f"[data-kb='{info['kb']}']").get_attribute("title") or ""
        assert title.strip(), f"a task frame without a title: {info['html']}"
        info["name"] = title
        return info
    element = page.locator(f"[data-kb='{info['kb']}']")
    if info["tag"] == "summary":  # Chromium names a <summary> by its text; Playwright's snapshot gives it no role
        info["role"], info["name"] = "summary", " ".join(element.inner_text().split())
    else:
        info["role"], info["name"] = role_and_name(element.aria_snapshot())
    assert info["name"], f"no accessible name: {info['html']}"
    assert info["visible"] and info["outline"], f"focus not shown on {info['role']} {info['name']!r}: {info['html']}"
    assert info["width"] > 0 and info["height"] > 0, f"focus on an element that takes no room: {info['html']}"
    return info


def sweep(page: Any) -> list[str]:
    """Tab through the whole page once: every control is reached, and no two fields share a name.

    Returns the names, in tab order.
    """
    page.wait_for_load_state()  # the stylesheets too: a ring is checked against the console's CSS
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    names: list[str] = []
    fields: list[str] = []
    seen: set[str] = set()
    for _ in range(400):
        page.keyboard.press("Tab")
        info = focused(page)
        if info is None:
            continue  # the document itself (past the last control): the next Tab starts again
        if info["tag"] == "iframe":
            if info["kb"] not in seen:
                names.append(info["name"])
                seen.add(info["kb"])
            continue  # Tab walks through the task's own fields, then out of the frame
        if info["kb"] in seen:
            break  # round again
        seen.add(info["kb"])
        names.append(info["name"])
        if info["role"] in FIELDS:
            fields.append(info["name"])
    else:
        pytest.fail(f"Tab never came round on {page.url}")
    missed = page.evaluate(MISSED, CONTROLS)
    assert missed == [], f"not reachable by Tab on {page.url}: {missed}"
    twice = sorted({name for name in fields if fields.count(name) > 1})
    assert twice == [], f"fields that a screen reader cannot tell apart on {page.url}: {twice}"
    return names


def tab_to(page: Any, selector: str, *, back: bool = False, limit: int = 150) -> None:
    """Press Tab (Shift+Tab with ``back``) until ``selector`` has the focus, checking each stop."""
    page.wait_for_load_state()
    target = page.locator(selector)
    target.wait_for(state="attached")
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focused(page)
        if target.evaluate("el => el === document.activeElement"):
            return
    pytest.fail(f"{'Shift+' if back else ''}Tab never reached {selector} on {page.url}")


def enter_on(page: Any, selector: str) -> None:
    """Tab to a link or button and press Enter."""
    tab_to(page, selector)
    page.keyboard.press("Enter")


def sign_in_by_keyboard(page: Any, account: dict[str, Any]) -> None:
    """The console's sign-in form (on screen) filled in and sent by keyboard."""
    tab_to(page, "#name")
    page.keyboard.type(account["user"])
    page.keyboard.press("Tab")
    page.keyboard.type(account["password"])
    enter_on(page, "#signin")


def replace_text(page: Any, selector: str, text: str) -> None:
    """Tab to a text field, select what it holds, type ``text`` over it."""
    tab_to(page, selector)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def choose(page: Any, selector: str, label: str) -> None:
    """Tab to a closed menu and type the start of an option's label: the browser picks that option."""
    tab_to(page, selector)
    page.keyboard.type(label)
    chosen = page.locator(selector).evaluate("el => el.selectedOptions[0].textContent")
    assert chosen == label, (selector, chosen)


# Table cells that end beyond the window: cut off, or left to a sideways scroll nobody sees coming.
CUT_CELLS = """(width) => [...document.querySelectorAll('th, td')]
  .filter((cell) => cell.checkVisibility() && cell.getBoundingClientRect().right > width + 1)
  .map((cell) => cell.textContent.trim().slice(0, 40))"""


def screenshots(page: Any, directory: Path, name: str) -> None:
    """The page at 1280 and 390 px; at either width the page and its tables fit the window."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        page.screenshot(path=str(directory / f"console-{name}-{size['width']}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name} scrolls sideways at {size['width']} px: {width} px wide"
        cut = page.evaluate(CUT_CELLS, size["width"])
        assert cut == [], f"{name} at {size['width']} px: table cells beyond the window: {cut}"
    page.set_viewport_size(DESKTOP)


def test_console_journey_by_keyboard(
    account: dict[str, Any], service: Any, new_worker: Any, chromium: Any, shots: Path, tmp_path: Path
) -> None:
    """Sign in → project from a starter → upload → publish → batch → approve one, reject one."""
    from playwright.sync_api import expect

    base = service.url
    client = account["client"]
    photo = f"{base}/static/console/sample-photo.svg"
    csv_file = tmp_path / "photos.csv"
    csv_file.write_text(f"person_id,image_url\nK1,{photo}\nK2,{photo}\n")
    offline = Offline(base)
    page = new_page(chromium, offline)
    # File choosers are caught from the start: asked for only around the key press, the browser
    # may get the key first and open nothing (seen under load).
    page.on("filechooser", lambda chooser: None)

    # Sign in: the form's fields in order, Enter on the button.
    page.goto(f"{base}/requester")
    page.wait_for_url(f"{base}/requester/login*")
    assert sweep(page)[:3] == ["hitflow requester", "User name", "Password"]
    sign_in_by_keyboard(page, account)
    page.wait_for_url(f"{base}/requester")
    sweep(page)

    # A project from the age-guess starter, with one assignment per HIT.
    enter_on(page, "nav >> text=Projects")
    page.wait_for_url(f"{base}/requester/projects")
    sweep(page)
    enter_on(page, "text=Age guess (plain HTML form)")
    page.wait_for_url(f"{base}/requester/projects/new*")
    names = sweep(page)
    assert {"Project name", "Reward per assignment ($)", "Qualification 1", "Sign out"} <= set(names), names
    replace_text(page, "input[name=max_assignments]", "1")
    enter_on(page, "#save-project")
    expect(page.locator(".note")).to_contain_text("Project created")
    layout_id = page.locator("#layout-id").inner_text()
    sweep(page)
    screenshots(page, shots, "project")

    # Upload the CSV: Space on the file field opens the file chooser.
    enter_on(page, "#publish-batch")
    page.wait_for_url(f"{base}/requester/projects/{layout_id}/publish")
    sweep(page)
    tab_to(page, "#batch-name")
    page.keyboard.type("Keyboard photos")
    tab_to(page, "#csv-file")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(csv_file))
    enter_on(page, "#upload")
    page.wait_for_url(f"{base}/requester/batches/*/confirm")
    expect(page.locator("#row-count")).to_have_text("2")
    # The first row's task, loaded (focus inside a frame that is still loading would be lost).
    expect(page.frame_locator("iframe").first.locator("figcaption")).to_have_text("Person K1")
    assert "Row 1" in sweep(page)  # the task frame is a stop of its own, named by its title

    # Publish, then the batch page fills in as HITs are made.
    enter_on(page, "#publish")
    page.wait_for_url(re.compile(r".*/requester/batches/\d+$"))
    batch_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#p-status")).to_have_text("published", timeout=30_000)

    # Two workers answer (through the worker site's forms); the page shows their work.
    hits = [h["HITId"] for h in client.list_hits()["HITs"]]
    assert len(hits) == 2
    for hit_id, age in zip(hits, ("41", "7"), strict=True):
        worker = new_worker()
        submit_answer_over_http(base, worker["name"], worker["password"], hit_id, {"age": age})
    page.reload()
    expect(page.locator("#assignments tbody tr")).to_have_count(2)
    names = sweep(page)
    assert {"Select all shown", "Approve selected", "Reject selected", "Reviewed CSV"} <= set(names), names

    # Approve the first: Space ticks its box, Enter on "Approve selected".
    first, second = page.locator("#assignments tbody tr").evaluate_all("rows => rows.map(r => r.dataset.assignment)")
    tab_to(page, f"input[name=assignment][value='{first}']")
    page.keyboard.press("Space")
    assert page.locator(f"input[name=assignment][value='{first}']").is_checked()
    enter_on(page, "#approve-selected")
    expect(page.locator("#review-summary")).to_contain_text("1 applied")
    sweep(page)
    enter_on(page, "text=Back to the batch")
    page.wait_for_url(f"{base}/requester/batches/{batch_id}")

    # Reject the second: a rejection needs feedback, so back up from the button with Shift+Tab.
    tab_to(page, f"input[name=assignment][value='{second}']")
    page.keyboard.press("Space")
    tab_to(page, "#reject-selected")
    tab_to(page, "#feedback", back=True)
    page.keyboard.type("The photo shows an adult.")
    enter_on(page, "#reject-selected")
    expect(page.locator("#review-summary")).to_contain_text("1 applied")
    enter_on(page, "text=Back to the batch")
    page.wait_for_url(f"{base}/requester/batches/{batch_id}")
    expect(page.locator("#p-approved")).to_have_text("1")
    expect(page.locator("#p-rejected")).to_have_text("1")

    # "More" opens with Enter; what it holds is reachable and named too.
    enter_on(page, "details.card > summary")
    expect(page.locator("#cancel-batch")).to_be_visible()
    assert "Cancel batch (expire its HITs now, give back the money of untaken assignments)" in sweep(page)
    screenshots(page, shots, "batch")
    enter_on(page, "a.brand")
    page.wait_for_url(f"{base}/requester")
    expect(page.locator("#batches tbody tr")).to_have_count(1)
    screenshots(page, shots, "home")
    enter_on(page, "nav >> text=Projects")
    expect(page.locator("#projects tbody tr")).to_have_count(1)
    screenshots(page, shots, "projects")

    # The API says the same.
    statuses = {
        a["AssignmentId"]: (a["AssignmentStatus"], a.get("RequesterFeedback"))
        for hit_id in hits
        for a in client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    }
    assert statuses == {first: ("Approved", None), second: ("Rejected", "The photo shows an adult.")}
    assert offline.blocked == []
    page.context.close()


def test_project_edited_and_copied_by_keyboard(
    account: dict[str, Any], service: Any, chromium: Any, shots: Path
) -> None:
    """Edit a project (a refused value first, kept in the form), copy it; the copy's HITs carry the edits."""
    from playwright.sync_api import expect

    from hit_service.core.requirements import APPROVAL_RATE, LOCALE
    from tests.hit_service.helpers import CONSOLE_CSV

    base = service.url
    console = account["console"]
    layout_id = account["console"].create_project("age_guess", max_assignments="1")
    page = new_page(chromium, Offline(base))
    page.goto(f"{base}/requester/login?next=/requester/projects/{layout_id}")
    sign_in_by_keyboard(page, account)
    page.wait_for_url(f"{base}/requester/projects/{layout_id}")
    template = page.input_value("#template")

    # Edit: a new name and reward, a Locale requirement and an approval rate that is not a number.
    replace_text(page, "input[name=name]", "Age guess (adults)")
    replace_text(page, "#reward", "0.25")
    choose(page, "select[name=q0_type]", "Worker Locale")
    choose(page, "select[name=q0_comparator]", "In")
    replace_text(page, "input[name=q0_values]", "US, us-ca")
    choose(page, "select[name=q1_type]", "Worker PercentAssignmentsApproved")
    replace_text(page, "input[name=q1_values]", "high")
    enter_on(page, "#save-project")
    expect(page.locator("#form-error")).to_contain_text("Requirement 2: values must be whole numbers")
    assert page.input_value("input[name=name]") == "Age guess (adults)"  # nothing typed is lost
    assert page.input_value("#reward") == "0.25"
    screenshots(page, shots, "project-error")
    replace_text(page, "input[name=q1_values]", "95")
    enter_on(page, "#save-project")
    expect(page.locator(".note")).to_contain_text("Saved")
    assert page.url.startswith(f"{base}/requester/projects/{layout_id}?")
    expect(page.locator("h1")).to_have_text("Age guess (adults)")
    assert page.input_value("select[name=q0_type]") == LOCALE
    assert page.input_value("input[name=q0_values]") == "US, US-CA"
    assert page.input_value("select[name=q1_type]") == APPROVAL_RATE

    # Copy: a new project with every setting and the same template; the original stays.
    enter_on(page, "form[action$='/copy'] button")
    page.wait_for_url(re.compile(rf".*/requester/projects/(?!{layout_id})\w+\?note=Copied\.&ok=[\w-]+$"))
    copy_id = page.locator("#layout-id").inner_text()
    expect(page.locator("h1")).to_have_text("Copy of Age guess (adults)")
    assert page.input_value("#reward") == "0.25"
    assert page.input_value("input[name=q0_values]") == "US, US-CA"
    assert page.input_value("input[name=q1_values]") == "95"
    assert page.input_value("#template") == template
    enter_on(page, "nav >> text=Projects")
    expect(page.locator("#projects tbody tr")).to_have_count(2)
    expect(page.locator("#projects")).to_contain_text("Copy of Age guess (adults)")
    page.context.close()

    # The copy's HITs: the edited reward and both requirements, as the API reports them.
    batch_id = console.upload(copy_id, CONSOLE_CSV)
    console.publish(batch_id)
    console.wait_published(batch_id)
    hits = account["client"].list_hits()["HITs"]
    assert len(hits) == 2 and {h["Reward"] for h in hits} == {"0.25"}
    requirements = {r["QualificationTypeId"]: r for r in hits[0]["QualificationRequirements"]}
    assert requirements[LOCALE]["Comparator"] == "In"
    assert requirements[LOCALE]["LocaleValues"] == [{"Country": "US"}, {"Country": "US", "Subdivision": "CA"}]
    assert requirements[APPROVAL_RATE]["IntegerValues"] == [95]
