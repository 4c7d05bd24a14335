"""How a worker works each corpus template, and the exact answer MTurk's crowd-form would post.

Shared by the static-server tests and the end-to-end tests through the worker site: ``scope`` is
where the task is (a Playwright ``Page``, or the ``Frame`` of the worker site's HIT frame) and
``page`` the tab (its mouse and keyboard); a task inside a frame is worked the same way, because
Playwright's boxes are in the tab's coordinates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.hit_service.crowd_site import IMAGE_SIZE

W, H = IMAGE_SIZE
ENTITY_TEXT = "Ada Lovelace visited London on 5 June 1833."
REVIEW = "Arrived quickly and works as described."
PRODUCT = "the Kettle 3000"
IMAGE = {"height": H, "width": W}


_RECT = "el => { const r = el.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; }"
_CONTENT_OFFSET = (
    "el => { const s = getComputedStyle(el); "
    "return [el.clientLeft + parseFloat(s.paddingLeft), el.clientTop + parseFloat(s.paddingTop)]; }"
)


def stage_point(scope: Any, tag: str, x: float, y: float) -> tuple[float, float]:
    """Tab coordinates of image pixel (x, y) in the drawing element ``tag``.

    Measured in the element's own document and offset by the iframe's content box: Playwright's
    bounding boxes of elements in a frame leave out the iframe's border (1 px off).
    """
    stage = scope.locator(f"{tag} svg")
    stage.scroll_into_view_if_needed()
    left, top, width, height = stage.evaluate(_RECT)
    frame = scope if getattr(scope, "parent_frame", None) is not None else None
    while frame is not None and frame.parent_frame is not None:
        element = frame.frame_element()
        outer_left, outer_top, _, _ = element.evaluate(_RECT)
        border_left, border_top = element.evaluate(_CONTENT_OFFSET)
        left += outer_left + border_left
        top += outer_top + border_top
        frame = frame.parent_frame
    return left + x * width / W, top + y * height / H


def wait_image(scope: Any, tag: str) -> None:
    scope.wait_for_function(f"document.querySelector('{tag}') && document.querySelector('{tag}').W > 0")


def _image_classification(scope: Any, page: Any) -> None:
    scope.get_by_role("radio", name="Animal").click()


def _image_multilabel(scope: Any, page: Any) -> None:
    scope.get_by_role("checkbox", name="Sky").click()
    scope.get_by_role("checkbox", name="Red square").click()


def _bounding_box(scope: Any, page: Any) -> None:
    wait_image(scope, "crowd-bounding-box")
    page.mouse.move(*stage_point(scope, "crowd-bounding-box", 100, 80))
    page.mouse.down()
    page.mouse.move(*stage_point(scope, "crowd-bounding-box", 180, 160), steps=5)
    page.mouse.up()


def _keypoint(scope: Any, page: Any) -> None:
    wait_image(scope, "crowd-keypoint")
    page.mouse.click(*stage_point(scope, "crowd-keypoint", 100, 80))
    scope.get_by_role("radio", name="Bottom right").click()
    page.mouse.click(*stage_point(scope, "crowd-keypoint", 180, 160))


def _polygon(scope: Any, page: Any) -> None:
    wait_image(scope, "crowd-polygon")
    for x, y in [(100, 80), (180, 80), (180, 160), (100, 160), (100, 80)]:
        page.mouse.click(*stage_point(scope, "crowd-polygon", x, y))


def _sentiment(scope: Any, page: Any) -> None:
    scope.get_by_role("radio", name="Positive").click()


def _entity_annotation(scope: Any, page: Any) -> None:
    text = scope.get_by_role("listbox")
    text.get_by_role("option", name="Ada", exact=True).click()
    text.get_by_role("option", name="Lovelace", exact=True).click()
    scope.get_by_role("button", name="Person").click()
    text.get_by_role("option", name="London", exact=True).click()
    scope.get_by_role("button", name="Place").click()


def _survey(scope: Any, page: Any) -> None:
    scope.get_by_label("What would you call it, in one word?").fill("Steamy")
    scope.get_by_role("radio", name="Every week").click()
    scope.get_by_role("checkbox", name="The price").click()
    scope.get_by_role("slider", name="Happiness from 1 to 10").focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")


@dataclass(frozen=True)
class CorpusTask:
    """One corpus template: its placeholder values, how to work it, and the answer it gives."""

    name: str
    values: Callable[[str], dict[str, str]]  # image URL → the template's ${variables}
    work: Callable[[Any, Any], None]
    answer: dict[str, Any]


CORPUS = [
    CorpusTask(
        "image_classification", lambda img: {"image_url": img}, _image_classification, {"category": {"label": "Animal"}}
    ),
    CorpusTask(
        "image_multilabel",
        lambda img: {"image_url": img},
        _image_multilabel,
        {"contents": {"labels": ["Sky", "Red square"]}},
    ),
    CorpusTask(
        "bounding_box",
        lambda img: {"image_url": img},
        _bounding_box,
        {
            "annotatedResult": {
                "boundingBoxes": [{"height": 80, "label": "Square", "left": 100, "top": 80, "width": 80}],
                "inputImageProperties": IMAGE,
            }
        },
    ),
    CorpusTask(
        "keypoint",
        lambda img: {"image_url": img},
        _keypoint,
        {
            "corners": {
                "inputImageProperties": IMAGE,
                "keypoints": [{"label": "Top left", "x": 100, "y": 80}, {"label": "Bottom right", "x": 180, "y": 160}],
            }
        },
    ),
    CorpusTask(
        "polygon",
        lambda img: {"image_url": img},
        _polygon,
        {
            "regions": {
                "inputImageProperties": IMAGE,
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
        },
    ),
    CorpusTask("sentiment", lambda img: {"review": REVIEW}, _sentiment, {"sentiment.label": "Positive"}),
    CorpusTask(
        "entity_annotation",
        lambda img: {"text": ENTITY_TEXT},
        _entity_annotation,
        {
            "entities": {
                "entities": [
                    {"endOffset": 12, "label": "person", "startOffset": 0},
                    {"endOffset": 27, "label": "place", "startOffset": 21},
                ]
            }
        },
    ),
    CorpusTask(
        "survey",
        lambda img: {"product": PRODUCT},
        _survey,
        {
            "nickname": "Steamy",
            "daily.daily": False,
            "weekly.weekly": True,
            "rarely.rarely": False,
            "likes.price": True,
            "likes.looks": False,
            "likes.quality": False,
            "recommend.yes": False,
            "happiness": 5,
        },
    ),
]
