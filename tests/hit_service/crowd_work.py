"""How a worker works each corpus template, and the exact answer MTurk's crowd-form would post.

Shared by the static-server tests and the end-to-end tests through the worker site: ``scope`` is
where the task is (a Playwright ``Page``, or the ``Frame`` of the worker site's HIT frame) and
``page`` the tab (its mouse and keyboard); a task inside a frame is worked the same way, because
Playwright's boxes are in the tab's coordinates.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.hit_service.crowd_site import CORPUS_DIR, IMAGE_SIZE, decode_png, fill_liquid, fill_template

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


def stage_point(scope: Any, tag: str, x: float, y: float, part: str = "svg") -> tuple[float, float]:
    """Tab coordinates of image pixel (x, y) in the drawing element ``tag``.

    Measured in the element's own document and offset by the iframe's content box: Playwright's
    bounding boxes of elements in a frame leave out the iframe's border (1 px off).
    """
    stage = scope.locator(f"{tag} {part}")  # the overlay (a canvas for the painting tools)
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
    """One corpus template: its placeholder values, how to work it, and the answer it gives.

    ``file`` names a Liquid template under ``corpus/`` (Ground Truth's samples): ``values`` then
    gives the Liquid context. ``check`` replaces the exact comparison where a value is made by the
    browser (a segmentation PNG): it gets the answer object and asserts on it.
    """

    name: str
    values: Callable[[str], dict[str, Any]]  # image URL → the template's ${variables} (or Liquid context)
    work: Callable[[Any, Any], None]
    answer: dict[str, Any]
    file: str = ""
    check: Callable[[dict[str, Any]], None] | None = None

    def page(self, image_url: str) -> str:
        """The template with its variables filled, as the requester would send it."""
        if self.file:
            return fill_liquid((CORPUS_DIR / self.file).read_text(encoding="utf-8"), self.values(image_url))
        return fill_template((CORPUS_DIR / f"{self.name}.html").read_text(encoding="utf-8"), self.values(image_url))

    def verify(self, answer: dict[str, Any]) -> None:
        if self.check is not None:
            self.check(answer)
        else:
            assert answer == self.answer, answer


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


# ---- Ground Truth's public task-UI samples (corpus/ground_truth, see corpus/README.md) ---------

NEWS = "Amazon opened a new office in Berlin."
TOXIC = "You are all idiots."


def _task(img: str, **extra: Any) -> dict[str, Any]:
    return {"task": {"input": {"taskObject": img, **extra}}}


def _drag(scope: Any, page: Any, tag: str, points: list[tuple[int, int]]) -> None:
    wait_image(scope, tag)
    page.mouse.move(*stage_point(scope, tag, *points[0], part="canvas"))
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(*stage_point(scope, tag, x, y, part="canvas"), steps=4)
    page.mouse.up()


def _paint_square(scope: Any, page: Any, tag: str) -> None:
    # Two strokes with the 20 px brush across the red square's middle (100..180 × 80..160).
    scope.locator(tag).get_by_label("Brush size").select_option("20")
    _drag(scope, page, tag, [(110, 110), (170, 110)])
    _drag(scope, page, tag, [(110, 130), (170, 130)])


def _gt_semantic(scope: Any, page: Any) -> None:
    scope.get_by_role("radio", name="Dog").click()
    _paint_square(scope, page, "crowd-semantic-segmentation")


def _gt_instance(scope: Any, page: Any) -> None:
    scope.get_by_role("button", name="Add Cat instance").click()
    _paint_square(scope, page, "crowd-instance-segmentation")


def _mask_check(key: str, expected_color: str, mappings: Callable[[dict[str, Any]], None]) -> Callable[[dict], None]:
    def check(answer: dict[str, Any]) -> None:
        (name,) = answer
        result = answer[name]
        assert name == key, answer.keys()
        assert result["inputImageProperties"] == IMAGE
        mappings(result)
        width, height, pixels = decode_png(base64.b64decode(result["labeledImage"]["pngImageData"]))
        assert (width, height) == (W, H)
        color = (*(int(expected_color[i : i + 2], 16) for i in (1, 3, 5)), 255)
        assert pixels[120 * W + 140] == color  # painted: the middle of the red square
        assert pixels[110 * W + 110] == color
        assert pixels[10 * W + 10][3] == 0  # never painted: transparent
        assert pixels[200 * W + 300][3] == 0
        painted = {p for p in pixels if p[3]}
        assert painted == {color}, painted  # a pure mask: no blended edge colours

    return check


def _semantic_mappings(result: dict[str, Any]) -> None:
    colors = {"Cat": "#1f77b4", "Dog": "#ff7f0e", "Bird": "#2ca02c"}  # the reference's palette, in label order
    assert result["labelMappings"] == {label: {"color": color} for label, color in colors.items()}


def _instance_mappings(result: dict[str, Any]) -> None:
    assert result["instances"] == [{"color": "#1f77b4", "label": "Cat"}]


def _gt_line(scope: Any, page: Any) -> None:
    wait_image(scope, "crowd-line")
    scope.get_by_role("radio", name="pedestrian").click()
    page.mouse.click(*stage_point(scope, "crowd-line", 100, 80))
    page.mouse.click(*stage_point(scope, "crowd-line", 180, 160))


def _gt_polyline(scope: Any, page: Any) -> None:
    wait_image(scope, "crowd-polyline")
    for x, y in [(100, 80), (180, 80), (180, 160), (180, 160)]:  # the last point tapped again ends it
        page.mouse.click(*stage_point(scope, "crowd-polyline", x, y))


def _gt_moderation(scope: Any, page: Any) -> None:
    hate = scope.get_by_role("checkbox", name="Hate")
    assert hate.is_disabled()  # the template disables them until "Toxic" is chosen
    scope.get_by_label("Toxic", exact=True).check()
    hate.click()  # enabled by the template's own script: el.disabled = false
    scope.get_by_role("checkbox", name="Other").click()


def _gt_ner(scope: Any, page: Any) -> None:
    # The template moves its extra question into the element's own form: above Submit.
    order = scope.evaluate(
        """() => { const root = document.querySelector('crowd-entity-annotation').shadowRoot;
        const q = root.querySelector('#additionalQuestions');
        const submit = root.querySelector('crowd-button[form-action="submit"]');
        return q && submit ? q.compareDocumentPosition(submit) : -1; }"""
    )
    assert order & 4, "the hooked question is not above Submit"  # DOCUMENT_POSITION_FOLLOWING
    text = scope.get_by_role("listbox")
    text.get_by_role("option", name="Amazon", exact=True).click()
    text.get_by_role("option", name="Truth", exact=True).click()
    scope.get_by_role("button", name="Company").click()
    text.get_by_role("option", name="training", exact=True).click()
    scope.get_by_role("button", name="Date").click()  # a wrong label, then removed again
    scope.get_by_role("button", name="Remove Date from “training”").click()
    scope.get_by_role("radio", name="Technology").click()


def _gt_sentiment(scope: Any, page: Any) -> None:
    scope.get_by_role("radio", name="Negative").click()


def _gt_multiselect(scope: Any, page: Any) -> None:
    scope.get_by_role("checkbox", name="Neutral").click()
    scope.get_by_role("checkbox", name="Positive").click()


GT = "ground_truth/"
GROUND_TRUTH = [
    CorpusTask(
        "gt_semantic_segmentation",
        lambda img: _task(img),
        _gt_semantic,
        {},
        file=GT + "semantic-segmentation.liquid.html",
        check=_mask_check("crowd-semantic-segmentation", "#ff7f0e", _semantic_mappings),
    ),
    CorpusTask(
        "gt_instance_segmentation",
        lambda img: _task(img),
        _gt_instance,
        {},
        file=GT + "instance-segmentation.liquid.html",
        check=_mask_check("annotatedResult", "#1f77b4", _instance_mappings),
    ),
    CorpusTask(
        "gt_line",
        lambda img: _task(img),
        _gt_line,
        {
            "lines": {
                "inputImageProperties": IMAGE,
                "lines": [{"label": "pedestrian", "vertices": [{"x": 100, "y": 80}, {"x": 180, "y": 160}]}],
            }
        },
        file=GT + "line.liquid.html",
    ),
    CorpusTask(
        "gt_polyline",
        lambda img: _task(img),
        _gt_polyline,
        {
            "crowdPolyline": {
                "inputImageProperties": IMAGE,
                "polylines": [
                    {"label": "car", "vertices": [{"x": 100, "y": 80}, {"x": 180, "y": 80}, {"x": 180, "y": 160}]}
                ],
            }
        },
        file=GT + "polyline.liquid.html",
    ),
    CorpusTask(
        "gt_content_moderation",
        lambda img: _task(img, source="Write a greeting.", modelResponses=[TOXIC, "Hello there!"]),
        _gt_moderation,
        {
            "toxicity": {"toxic": True, "non-toxic": False},
            "nature-of-toxicity": {
                "toxicity": False,
                "hate": True,
                "identity-attack": False,
                "violence": False,
                "physical-safety": False,
                "sexual-material": False,
                "profanity": False,
                "other": True,
            },
        },
        file=GT + "content-moderation-ai-model-output.liquid.html",
    ),
    CorpusTask(
        "gt_ner_additional_question",
        lambda img: _task(img),
        _gt_ner,
        {
            "crowd-entity-annotation": {"entities": [{"endOffset": 29, "label": "company", "startOffset": 0}]},
            "tech": {"tech": True},
            "politics": {"politics": False},
        },
        file=GT + "named-entity-recognition-with-additional-classification.liquid.html",
    ),
    CorpusTask(
        "gt_sentiment",
        lambda img: _task(NEWS),
        _gt_sentiment,
        {"sentiment": {"label": "Negative"}},
        file=GT + "sentiment-analysis.liquid.html",
    ),
    CorpusTask(
        "gt_text_multiselect",
        lambda img: _task(NEWS),
        _gt_multiselect,
        {"category": {"labels": ["Positive", "Neutral"]}},
        file=GT + "text-classification-multiselect.liquid.html",
    ),
]
