"""hitflow's Crowd HTML Elements in a real Chromium: every element worked by pointer and by keyboard.

Each test opens a task page the way the work frame does (MTurk's query parameters, a sandboxed
opaque origin, MTurk's script URL pointed at our copy), works it as a person would, submits, and
checks the exact ``taskAnswers`` JSON that reached ``/mturk/externalSubmit``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hit_service.crowd_site import IMAGE_SIZE, CrowdSite, crowd_site
from tests.hit_service.crowd_work import CORPUS, ENTITY_TEXT, stage_point, wait_image

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
W, H = IMAGE_SIZE
SCRIPT = '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'
HEAD = (
    '<!doctype html><html lang="en"><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
)


@pytest.fixture(scope="module")
def site() -> Iterator[CrowdSite]:
    with crowd_site() as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run `make browser` (Debian's chromium)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True, device_scale_factor=2
    )
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def shot(page: Any, name: str) -> None:
    """Keep a screenshot of a worked page when HITFLOW_SCREENSHOT_DIR names a folder (to look at)."""
    folder = os.environ.get("HITFLOW_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def posts_before(site: CrowdSite) -> int:
    return len(site.posts)


def open_task(page: Any, site: CrowdSite, name: str, **kwargs: Any) -> None:
    page.goto(site.task_url(name, **kwargs))
    page.wait_for_function("window.__hitflowCrowdReady === true")


def submit(page: Any) -> None:
    page.get_by_role("button", name="Submit").click()


def answers_after(site: CrowdSite, before: int) -> list[dict]:
    return site.task_answers(before + 1)


def page_html(body: str) -> str:
    return f"{HEAD}<title>test</title>{SCRIPT}<body>{body}</body></html>"


def missing_message(page: Any) -> str:
    message = page.locator(".crowd-form-message")
    message.wait_for()
    return message.inner_text()


def assert_nothing_posted(site: CrowdSite, before: int, page: Any) -> None:
    page.wait_for_timeout(300)
    assert len(site.posts) == before


# ---- the corpus templates (tests/hit_service/corpus), filled like a batch row ------------------


def test_image_classification_by_pointer_blocks_until_chosen(page: Any, site: CrowdSite) -> None:
    site.add_corpus("image_classification", {"image_url": site.image_url})
    before = posts_before(site)
    open_task(page, site, "image_classification")
    submit(page)
    assert "What does this picture mainly show? is required." in missing_message(page)
    assert_nothing_posted(site, before, page)
    page.get_by_role("radio", name="Animal").click()
    page.get_by_role("radio", name="Building").click()
    submit(page)
    assert answers_after(site, before) == [{"category": {"label": "Building"}}]


def test_image_classification_by_keyboard(page: Any, site: CrowdSite) -> None:
    site.add_corpus("image_classification", {"image_url": site.image_url})
    before = posts_before(site)
    open_task(page, site, "image_classification")
    page.get_by_role("radio", name="Landscape").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    assert page.get_by_role("radio", name="Animal").get_attribute("aria-checked") == "true"
    page.keyboard.press("4")
    page.get_by_role("button", name="Submit").press("Enter")
    assert answers_after(site, before) == [{"category": {"label": "None of these"}}]


def test_image_classifier_overlay_for_verification(page: Any, site: CrowdSite) -> None:
    """A bounding-box verification task: the earlier job's boxes drawn over the image."""
    site.add_page(
        "verify",
        page_html(
            f"""<crowd-form><crowd-image-classifier name="quality" src="{site.image_url}"
              header="Is the box right?" categories="['good', 'bad']"
              overlay='{{"boundingBox": {{labels: ["square"], value: [{{height: 80, label: "square", left: 100,
                top: 80, width: 80}}]}}}}'>
              <worker-comment header="Why?" link-text="Explain your choice" placeholder="What is wrong">
              </worker-comment>
            </crowd-image-classifier></crowd-form>"""
        ),
    )
    before = posts_before(site)
    open_task(page, site, "verify")
    page.wait_for_function("document.querySelector('crowd-image-classifier').shadowRoot.querySelector('svg rect')")
    rect = page.locator("crowd-image-classifier svg rect")
    assert [rect.get_attribute(a) for a in ("x", "y", "width", "height")] == ["100", "80", "80", "80"]
    assert "marked: square: left 100, top 80, width 80, height 80" in page.get_by_role("img").get_attribute("alt")
    page.get_by_role("radio", name="bad").click()
    page.get_by_text("Explain your choice").click()
    page.get_by_label("Why?").fill("Too loose")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shot(page, "worked-verification-1280")
    submit(page)
    assert answers_after(site, before) == [{"quality": {"label": "bad", "workerComment": "Too loose"}}]


def test_image_multilabel_pointer_and_exclusion(page: Any, site: CrowdSite) -> None:
    site.add_corpus("image_multilabel", {"image_url": site.image_url})
    before = posts_before(site)
    open_task(page, site, "image_multilabel")
    page.get_by_role("checkbox", name="Nothing of these").click()
    page.get_by_role("checkbox", name="Red square").click()  # choosing a category clears the exclusion
    page.get_by_role("checkbox", name="Sky").click()
    page.get_by_role("checkbox", name="Grass").click()
    page.get_by_role("checkbox", name="Grass").click()
    shot(page, "worked-multilabel-1280")
    submit(page)
    assert answers_after(site, before) == [{"contents": {"labels": ["Sky", "Red square"]}}]


def test_image_multilabel_keyboard(page: Any, site: CrowdSite) -> None:
    site.add_corpus("image_multilabel", {"image_url": site.image_url})
    before = posts_before(site)
    open_task(page, site, "image_multilabel")
    page.get_by_role("checkbox", name="Sky").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.keyboard.press("3")
    page.get_by_role("button", name="Submit").press("Enter")
    assert answers_after(site, before) == [{"contents": {"labels": ["Sky", "Grass", "Red square"]}}]


def test_bounding_box_by_pointer(page: Any, site: CrowdSite) -> None:
    site.add_corpus("bounding_box", {"image_url": site.image_url})
    before = posts_before(site)
    open_task(page, site, "bounding_box")
    wait_image(page, "crowd-bounding-box")
    page.mouse.move(*stage_point(page, "crowd-bounding-box", 100, 80))
    page.mouse.down()
    page.mouse.move(*stage_point(page, "crowd-bounding-box", 140, 120), steps=4)
    page.mouse.move(*stage_point(page, "crowd-bounding-box", 180, 160), steps=4)
    page.mouse.up()
    page.get_by_role("radio", name="Circle").click()
    page.mouse.move(*stage_point(page, "crowd-bounding-box", 300, 20))
    page.mouse.down()
    page.mouse.move(*stage_point(page, "crowd-bounding-box", 260, 60), steps=5)
    page.mouse.up()
    # Move the first box by dragging it 10 px right.
    page.mouse.move(*stage_point(page, "crowd-bounding-box", 120, 100))
    page.mouse.down()
    page.mouse.move(*stage_point(page, "crowd-bounding-box", 130, 100), steps=3)
    page.mouse.up()
    shot(page, "worked-bounding-box-1280")
    submit(page)
    assert answers_after(site, before) == [
        {
            "annotatedResult": {
                "boundingBoxes": [
                    {"height": 80, "label": "Square", "left": 110, "top": 80, "width": 80},
                    {"height": 40, "label": "Circle", "left": 260, "top": 20, "width": 40},
                ],
                "inputImageProperties": {"height": H, "width": W},
            }
        }
    ]


def test_bounding_box_by_keyboard(page: Any, site: CrowdSite) -> None:
    site.add_corpus("bounding_box", {"image_url": site.image_url})
    before = posts_before(site)
    open_task(page, site, "bounding_box")
    wait_image(page, "crowd-bounding-box")
    page.get_by_role("application").focus()
    page.keyboard.press("2")  # label "Circle"
    page.keyboard.press("Enter")  # a 100 x 75 box in the middle: left 150, top 113
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Alt+ArrowRight")
    page.keyboard.press("Alt+Shift+ArrowUp")
    page.keyboard.press("Enter")  # a second box ...
    page.keyboard.press("Delete")  # ... removed again
    assert page.get_by_role("list", name="Boxes drawn").get_by_role("listitem").count() == 1
    page.get_by_role("button", name="Submit").press("Enter")
    assert answers_after(site, before) == [
        {
            "annotatedResult": {
                "boundingBoxes": [{"height": 65, "label": "Circle", "left": 153, "top": 123, "width": 101}],
                "inputImageProperties": {"height": H, "width": W},
            }
        }
    ]


def test_bounding_box_initial_value_is_tracked(page: Any, site: CrowdSite) -> None:
    site.add_page(
        "bbox-initial",
        page_html(
            f"""<crowd-form><crowd-bounding-box name="b" src="{site.image_url}" labels="['Square']"
              initial-value="[{{'label': 'Square', 'left': 90, 'top': 70, 'width': 100, 'height': 100}}]">
            </crowd-bounding-box></crowd-form>"""
        ),
    )
    expected_box = {"height": 100, "label": "Square", "left": 90, "top": 70, "width": 100}
    for nudge in (False, True):
        before = posts_before(site)
        open_task(page, site, "bbox-initial")
        wait_image(page, "crowd-bounding-box")
        if nudge:
            page.get_by_role("button", name="Select").click()  # from the list of boxes
            page.keyboard.press("Alt+Shift+ArrowLeft")
            expected_box = {**expected_box, "width": 90}
        submit(page)
        assert answers_after(site, before) == [
            {
                "b": {
                    "boundingBoxes": [expected_box],
                    "inputImageProperties": {"height": H, "width": W},
                    "initialValueModified": nudge,
                }
            }
        ]


def test_keypoint_by_pointer_and_keyboard(page: Any, site: CrowdSite) -> None:
    site.add_corpus("keypoint", {"image_url": site.image_url})
    before = posts_before(site)
    open_task(page, site, "keypoint")
    wait_image(page, "crowd-keypoint")
    page.mouse.click(*stage_point(page, "crowd-keypoint", 100, 80))
    page.get_by_role("radio", name="Bottom right").click()
    page.mouse.click(*stage_point(page, "crowd-keypoint", 170, 150))
    # Drag the second point to the real corner.
    page.mouse.move(*stage_point(page, "crowd-keypoint", 170, 150))
    page.mouse.down()
    page.mouse.move(*stage_point(page, "crowd-keypoint", 180, 160), steps=4)
    page.mouse.up()
    # Keyboard: a third point in the middle, nudged, then relabelled through the list.
    page.get_by_role("application").focus()
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("ArrowUp")
    shot(page, "worked-keypoint-1280")
    submit(page)
    assert answers_after(site, before) == [
        {
            "corners": {
                "inputImageProperties": {"height": H, "width": W},
                "keypoints": [
                    {"label": "Top left", "x": 100, "y": 80},
                    {"label": "Bottom right", "x": 180, "y": 160},
                    {"label": "Top left", "x": 190, "y": 149},
                ],
            }
        }
    ]


def test_polygon_by_pointer(page: Any, site: CrowdSite) -> None:
    site.add_corpus("polygon", {"image_url": site.image_url})
    before = posts_before(site)
    open_task(page, site, "polygon")
    wait_image(page, "crowd-polygon")
    for x, y in [(100, 80), (180, 80), (180, 160), (100, 160)]:
        page.mouse.click(*stage_point(page, "crowd-polygon", x, y))
    submit(page)  # an unfinished polygon blocks the submit
    assert "finish (close) or cancel the polygon" in missing_message(page)
    assert_nothing_posted(site, before, page)
    shot(page, "worked-polygon-unfinished-1280")
    page.mouse.click(*stage_point(page, "crowd-polygon", 101, 81))  # the first corner closes it
    submit(page)
    assert answers_after(site, before) == [
        {
            "regions": {
                "inputImageProperties": {"height": H, "width": W},
                "polygons": [
                    {
                        "label": "Square",
                        "vertices": [
                            {"x": 100, "y": 80},
                            {"x": 180, "y": 80},
                            {"x": 180, "y": 160},
                            {"x": 100, "y": 160},
                        ],
                    }
                ],
            }
        }
    ]


def test_polygon_by_keyboard(page: Any, site: CrowdSite) -> None:
    site.add_corpus("polygon", {"image_url": site.image_url})
    before = posts_before(site)
    open_task(page, site, "polygon")
    wait_image(page, "crowd-polygon")
    page.get_by_role("application").focus()
    page.keyboard.press("2")  # Ground
    page.keyboard.press("Space")  # corner at the cross: the middle, (200, 150)
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Space")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Space")
    page.keyboard.press("Backspace")  # undo the last corner
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Submit").press("Enter")
    assert answers_after(site, before) == [
        {
            "regions": {
                "inputImageProperties": {"height": H, "width": W},
                "polygons": [
                    {"label": "Ground", "vertices": [{"x": 200, "y": 150}, {"x": 220, "y": 150}, {"x": 220, "y": 160}]}
                ],
            }
        }
    ]


def test_sentiment_flattened(page: Any, site: CrowdSite) -> None:
    site.add_corpus("sentiment", {"review": 'The kettle boils fast, but the lid <b>"sticks"</b> & burns.'})
    before = posts_before(site)
    open_task(page, site, "sentiment")
    assert page.locator("blockquote").inner_text() == 'The kettle boils fast, but the lid <b>"sticks"</b> & burns.'
    page.get_by_role("radio", name="Negative").click()
    page.keyboard.press("ArrowRight")  # keyboard from there: Neutral
    page.keyboard.press("ArrowRight")  # Mixed
    submit(page)
    assert answers_after(site, before) == [{"sentiment.label": "Mixed"}]


def test_entity_annotation_pointer_and_keyboard(page: Any, site: CrowdSite) -> None:
    site.add_corpus("entity_annotation", {"text": ENTITY_TEXT})
    before = posts_before(site)
    open_task(page, site, "entity_annotation")
    text = page.get_by_role("listbox")
    # Pointer: tap the first and the last word, then the label.
    text.get_by_role("option", name="Ada", exact=True).click()
    text.get_by_role("option", name="Lovelace", exact=True).click()
    page.get_by_role("button", name="Person").click()
    # A wrong label, then removed from the list.
    text.get_by_role("option", name="visited", exact=True).click()
    page.get_by_role("button", name="Place").click()
    page.get_by_role("button", name="Remove Place from “visited”").click()
    # Keyboard: London as a place, the date with Shift+arrows.
    text.get_by_role("option", name="London", exact=True).focus()
    page.keyboard.press("Space")
    page.keyboard.press("2")
    text.get_by_role("option", name="5", exact=True).focus()
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("3")
    shot(page, "worked-entity-1280")
    submit(page)
    start = ENTITY_TEXT.index

    assert answers_after(site, before) == [
        {
            "entities": {
                "entities": [
                    {"endOffset": start("Lovelace") + 8, "label": "person", "startOffset": 0},
                    {"endOffset": start("London") + 6, "label": "place", "startOffset": start("London")},
                    {"endOffset": start("1833") + 4, "label": "date", "startOffset": start("5 June")},
                ]
            }
        }
    ]


def test_entity_annotation_with_extra_questions_moved_into_its_form(page: Any, site: CrowdSite) -> None:
    """AWS's documented pattern: extra questions appended to the element's own crowd-form."""
    site.add_page(
        "entity-extra",
        page_html(
            """<crowd-entity-annotation name="ner" header="Highlight" text="Amazon makes Kindles."
                 labels="[{'label': 'company', 'shortDisplayName': 'com', 'fullDisplayName': 'Company'}]">
              <div id="additionalQuestions"><p>Subject?</p>
                <crowd-radio-group>
                  <crowd-radio-button name="tech" value="tech">Technology</crowd-radio-button>
                  <crowd-radio-button name="politics" value="politics">Politics</crowd-radio-button>
                </crowd-radio-group>
              </div>
            </crowd-entity-annotation>
            <script>
              document.addEventListener('all-crowd-elements-ready', () => {
                document.querySelector('crowd-entity-annotation').shadowRoot.querySelector('crowd-form')
                  .form.appendChild(additionalQuestions);
              });
            </script>"""
        ),
    )
    before = posts_before(site)
    open_task(page, site, "entity-extra")
    page.get_by_role("option", name="Amazon", exact=True).click()
    page.get_by_role("button", name="Company").click()
    page.get_by_role("radio", name="Technology").click()
    submit(page)
    assert answers_after(site, before) == [
        {
            "ner": {"entities": [{"endOffset": 6, "label": "company", "startOffset": 0}]},
            "tech": {"tech": True},
            "politics": {"politics": False},
        }
    ]


def test_native_select_required_like_the_crowd_card_example(page: Any, site: CrowdSite) -> None:
    site.add_page(
        "card-select",
        page_html(
            """<crowd-form><crowd-card><div>Nothing is great.</div></crowd-card>
              <label for="s1">Select an option</label>
              <select id="s1" name="sentiment1" required>
                <option value="">(Please select)</option><option>Negative</option><option>Positive</option>
              </select></crowd-form>"""
        ),
    )
    before = posts_before(site)
    open_task(page, site, "card-select")
    submit(page)
    assert "Select an option:" in missing_message(page)
    assert_nothing_posted(site, before, page)
    page.get_by_label("Select an option").select_option("Negative")
    submit(page)
    assert answers_after(site, before) == [{"sentiment1": "Negative"}]


def test_survey_every_control(page: Any, site: CrowdSite) -> None:
    site.add_corpus("survey", {"product": "the Kettle 3000"})
    before = posts_before(site)
    open_task(page, site, "survey")
    # The instructions dialog opens and closes by keyboard.
    page.get_by_role("button", name="View instructions").press("Enter")
    dialog = page.get_by_role("dialog")
    assert page.get_by_text("Tell us what you think of the Kettle 3000.").is_visible()
    assert not page.get_by_text("too short to help").is_visible()
    page.get_by_role("tab", name="Examples").click()
    assert page.get_by_text("too short to help").is_visible()
    page.keyboard.press("Escape")
    assert not dialog.is_visible()

    submit(page)
    message = missing_message(page)
    assert "What would you call it, in one word? is required." in message
    assert "Happiness from 1 to 10 is required." in message
    assert_nothing_posted(site, before, page)
    shot(page, "worked-survey-missing-1280")

    page.get_by_label("What would you call it, in one word?").fill("Steamy")
    page.get_by_role("radio", name="Every day").click()
    page.keyboard.press("ArrowDown")  # keyboard: Every week
    page.get_by_role("checkbox", name="The price").click()
    page.get_by_role("checkbox", name="The quality").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="I would recommend it").press("Space")
    slider = page.get_by_role("slider", name="Happiness from 1 to 10")
    slider.focus()
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    page.get_by_label("Anything else?").fill("Lid sticks.\nOtherwise fine.")
    shot(page, "worked-survey-1280")
    submit(page)
    assert answers_after(site, before) == [
        {
            "nickname": "Steamy",
            "daily.daily": False,
            "weekly.weekly": True,
            "rarely.rarely": False,
            "likes.price": True,
            "likes.looks": False,
            "likes.quality": True,
            "recommend.yes": True,
            "happiness": 7,
            "comments": "Lid sticks.\nOtherwise fine.",
        }
    ]


# ---- crowd-form's contract ---------------------------------------------------------------------


@pytest.mark.parametrize("assignment_id", ["ASSIGNMENT_ID_NOT_AVAILABLE", None])
def test_preview_cannot_submit(page: Any, site: CrowdSite, assignment_id: str | None) -> None:
    site.add_corpus("image_classification", {"image_url": site.image_url})
    before = posts_before(site)
    open_task(page, site, "image_classification", assignment_id=assignment_id)
    page.get_by_role("radio", name="Animal").click()
    assert page.get_by_role("status").filter(has_text="This is a preview").is_visible()
    assert page.get_by_role("button", name="Submit").is_disabled()
    page.locator("crowd-form").evaluate("form => form.submitNow()")
    assert "accept the HIT before submitting" in missing_message(page)
    assert_nothing_posted(site, before, page)


def test_native_inputs_and_nested_answers_without_flattening(page: Any, site: CrowdSite) -> None:
    site.add_page(
        "native",
        page_html(
            """<crowd-form>
              <label>Age <input name="age" type="number" value="41"></label>
              <select name="colour" aria-label="Colour"><option>red</option><option selected>green</option></select>
              <label><input type="checkbox" name="agree" value="yes"> Agree</label>
              <input type="hidden" name="person_id" value="77">
              <crowd-checkbox name="Stop" value="Red">Red</crowd-checkbox>
              <crowd-checkbox name="Go" value="Green" checked>Green</crowd-checkbox>
              <crowd-input name="empty" label="Left empty"></crowd-input>
              <crowd-text-area name="note" label="Note" value="preset"></crowd-text-area>
              <button type="submit">Send it</button>
            </crowd-form>"""
        ),
    )
    before = posts_before(site)
    open_task(page, site, "native")
    assert page.get_by_role("button", name="Submit").count() == 0  # the template's own button is kept
    page.get_by_label("Agree").check()
    page.get_by_role("button", name="Send it").click()
    assert answers_after(site, before) == [
        {
            "age": "41",
            "colour": "green",
            "agree": {"yes": True},
            "person_id": "77",
            "Stop": {"Red": False},
            "Go": {"Green": True},
            "note": "preset",
        }
    ]


def test_required_radio_group_and_checkbox(page: Any, site: CrowdSite) -> None:
    site.add_page(
        "required",
        page_html(
            """<crowd-form>
              <crowd-radio-group name="size" header="Which size?" required>
                <crowd-radio-button value="s">Small</crowd-radio-button>
                <crowd-radio-button value="l">Large</crowd-radio-button>
              </crowd-radio-group>
              <crowd-checkbox name="consent" required>I agree to the terms</crowd-checkbox>
            </crowd-form>"""
        ),
    )
    before = posts_before(site)
    open_task(page, site, "required")
    submit(page)
    message = missing_message(page)
    assert "2 answers are missing" in message
    assert "Which size? is required." in message and "I agree to the terms is required." in message
    assert page.get_by_role("radio", name="Small").evaluate("el => el === el.getRootNode().activeElement")
    page.keyboard.press("ArrowDown")  # moves and selects: Large
    page.get_by_role("checkbox", name="I agree to the terms").click()
    submit(page)
    assert answers_after(site, before) == [{"size": {"s": False, "l": True}, "consent": {"on": True}}]


def test_template_onsubmit_can_cancel_and_all_ready_event_fires(page: Any, site: CrowdSite) -> None:
    site.add_page(
        "hooks",
        page_html(
            """<crowd-form><crowd-input name="word" label="Word"></crowd-input></crowd-form>
            <script>
              document.addEventListener('all-crowd-elements-ready', () => { window.readyFired = true; });
              document.querySelector('crowd-form').onsubmit = (event) => {
                if (!window.allow) { event.preventDefault(); document.title = 'refused'; }
              };
            </script>"""
        ),
    )
    before = posts_before(site)
    open_task(page, site, "hooks")
    assert page.evaluate("window.readyFired") is True
    page.get_by_label("Word").fill("one")
    page.get_by_label("Word").press("Enter")
    page.wait_for_function("document.title === 'refused'")
    assert_nothing_posted(site, before, page)
    page.evaluate("window.allow = true")
    submit(page)
    assert answers_after(site, before) == [{"word": "one"}]


def test_outer_external_hit_form_keeps_its_fields(page: Any, site: CrowdSite) -> None:
    site.add_page(
        "outer",
        page_html(
            f"""<form id="mturk_form" method="post" action="{site.url}/mturk/externalSubmit">
              <input type="hidden" id="assignmentId" name="assignmentId" value="">
              <input type="hidden" name="source" value="outer">
              <crowd-form><crowd-toggle-button name="ok">OK?</crowd-toggle-button></crowd-form>
            </form>"""
        ),
    )
    before = posts_before(site)
    open_task(page, site, "outer")
    page.get_by_role("button", name="OK?").click()
    submit(page)
    assert site.wait_post(before + 1) == [
        ("assignmentId", "ASSIGN1"),
        ("source", "outer"),
        ("taskAnswers", '[{"ok":{"on":true}}]'),
    ]


def test_unknown_crowd_element_shows_a_notice(page: Any, site: CrowdSite) -> None:
    site.add_page(
        "unknown",
        page_html("<crowd-form><crowd-video-classifier name='v'></crowd-video-classifier></crowd-form>"),
    )
    open_task(page, site, "unknown")
    notice = page.get_by_role("alert").filter(has_text="crowd-video-classifier")
    assert notice.inner_text() == (
        "This task uses <crowd-video-classifier>, which this site does not support yet, so part of the task is missing."
    )
    page.evaluate("document.body.append(document.createElement('crowd-later-thing'))")
    page.get_by_role("alert").filter(has_text="<crowd-later-thing>").wait_for()


def test_layout_elements_render(page: Any, site: CrowdSite) -> None:
    site.add_page(
        "layout",
        page_html(
            f"""<crowd-form>
              <crowd-alert type="warning" dismissible>Check the image first.</crowd-alert>
              <crowd-card heading="A card" image="{site.image_url}"><p>Card body</p></crowd-card>
              <short-instructions>Short words.</short-instructions>
              <full-instructions header="All the rules"><p>Rule one.</p></full-instructions>
              <crowd-button href="#top" variant="link">A link button</crowd-button>
            </crowd-form>"""
        ),
    )
    open_task(page, site, "layout")
    alert = page.get_by_role("alert").filter(has_text="Check the image first.")
    assert alert.is_visible()
    page.get_by_role("button", name="Dismiss").click()
    assert not alert.is_visible()
    assert page.get_by_role("region", name="A card").is_visible()
    assert page.locator("crowd-card img").evaluate("img => img.naturalWidth") == W
    page.get_by_text("All the rules").click()
    assert page.get_by_text("Rule one.").is_visible()
    assert page.get_by_role("button", name="Submit").is_visible()


# ---- phone width -------------------------------------------------------------------------------


def test_phone_touch_keypoints_and_polygon(phone: Any, site: CrowdSite) -> None:
    site.add_page(
        "touch",
        page_html(
            f"""<crowd-form>
              <crowd-keypoint name="kp" src="{site.image_url}" labels="['Corner']" header="Tap a corner">
              </crowd-keypoint>
              <crowd-polygon name="poly" src="{site.image_url}" labels="['Square']" header="Outline"></crowd-polygon>
            </crowd-form>"""
        ),
    )
    before = posts_before(site)
    open_task(phone, site, "touch")
    wait_image(phone, "crowd-keypoint")
    wait_image(phone, "crowd-polygon")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    kp = phone.locator("crowd-keypoint svg")
    kp.scroll_into_view_if_needed()
    phone.touchscreen.tap(*stage_point(phone, "crowd-keypoint", 100, 80))
    poly = phone.locator("crowd-polygon svg")
    poly.scroll_into_view_if_needed()
    for x, y in [(100, 80), (180, 80), (180, 160), (100, 80)]:
        phone.touchscreen.tap(*stage_point(phone, "crowd-polygon", x, y))
    shot(phone, "worked-touch-390")
    phone.get_by_role("button", name="Submit").tap()
    answers = site.task_answers(before + 1)
    # At 390 px the 400 px image is shown smaller: a tap lands within a pixel or two.
    (point,) = answers[0]["kp"]["keypoints"]
    assert point["label"] == "Corner" and abs(point["x"] - 100) <= 2 and abs(point["y"] - 80) <= 2
    (polygon,) = answers[0]["poly"]["polygons"]
    assert len(polygon["vertices"]) == 3
    for got, want in zip(polygon["vertices"], [(100, 80), (180, 80), (180, 160)], strict=True):
        assert abs(got["x"] - want[0]) <= 2 and abs(got["y"] - want[1]) <= 2
    assert answers[0]["poly"]["inputImageProperties"] == {"height": H, "width": W}


def test_phone_touch_drag_draws_and_keyboard_adds_a_box(phone: Any, site: CrowdSite) -> None:
    """At 390 px: a finger drags a box (real touch events), the keyboard adds and nudges another."""
    site.add_corpus("bounding_box", {"image_url": site.image_url})
    before = posts_before(site)
    open_task(phone, site, "bounding_box")
    wait_image(phone, "crowd-bounding-box")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    cdp = phone.context.new_cdp_session(phone)

    def touch(kind: str, x: float, y: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    x0, y0 = stage_point(phone, "crowd-bounding-box", 100, 80)
    x1, y1 = stage_point(phone, "crowd-bounding-box", 180, 160)
    touch("touchStart", x0, y0)
    for step in range(1, 6):
        touch("touchMove", x0 + (x1 - x0) * step / 5, y0 + (y1 - y0) * step / 5)
    touch("touchEnd", x1, y1)
    phone.get_by_role("application").focus()
    phone.keyboard.press("Enter")
    phone.keyboard.press("Shift+ArrowUp")
    shot(phone, "worked-bounding-box-touch-390")
    phone.get_by_role("button", name="Submit").tap()
    answers = site.task_answers(before + 1)
    first, second = answers[0]["annotatedResult"]["boundingBoxes"]
    # The 400 px image is shown about 372 px wide: a finger lands within a pixel or two.
    for key, want in {"left": 100, "top": 80, "width": 80, "height": 80}.items():
        assert abs(first[key] - want) <= 2, (key, first)
    assert first["label"] == "Square"
    assert second == {"height": 75, "label": "Square", "left": 150, "top": 103, "width": 100}


@pytest.mark.parametrize("task", CORPUS, ids=[task.name for task in CORPUS])
def test_corpus_worked_and_submitted(page: Any, site: CrowdSite, task: Any) -> None:
    """The steps the worker-site tests use, checked here against the exact answer too."""
    site.add_corpus(task.name, task.values(site.image_url))
    before = posts_before(site)
    open_task(page, site, task.name)
    task.work(page, page)
    submit(page)
    assert answers_after(site, before) == [task.answer]


@pytest.mark.parametrize("task", CORPUS, ids=[task.name for task in CORPUS])
def test_corpus_fits_desktop_and_phone(browser: Any, site: CrowdSite, task: Any, tmp_path_factory: Any) -> None:
    """Every corpus page renders without errors at 1280 and 390 px, nothing wider than the screen."""
    name = task.name
    site.add_corpus(name, task.values(site.image_url))
    shots = Path(os.environ.get("HITFLOW_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screens"))
    shots.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900}, has_touch=width < 500)
        try:
            tab = context.new_page()
            errors: list[str] = []
            tab.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            open_task(tab, site, name)
            tab.wait_for_load_state("load")
            assert tab.evaluate("document.documentElement.scrollWidth") <= width, f"{name} overflows {width} px"
            assert tab.get_by_role("button", name="Submit").is_visible()
            assert tab.locator(".crowd-unsupported").count() == 0
            tab.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
            assert not errors, errors
        finally:
            context.close()
