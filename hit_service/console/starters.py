"""Starter projects, as MTurk's "Create → New project" offered them: properties, template, sample values.

The plain age-guess task is hitflow's own (``include/templates/age_guess.html``, the one the
publish DAG uses); the others are written with Crowd HTML Elements, which the worker site serves
itself, so they run offline unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hit_service.settings import REPO_ROOT

HERE = Path(__file__).resolve().parent / "starter_templates"
SAMPLE_IMAGE = "/static/console/sample-photo.svg"  # served by this service: previews load nothing from outside

_COMMON: dict[str, Any] = {
    "keywords": "",
    "reward": "0.10",
    "max_assignments": 3,
    "assignment_duration_seconds": 600,
    "lifetime_seconds": 3 * 86400,
    "auto_approval_delay_seconds": 3 * 86400,
    "qualification_requirements": [],
}

STARTERS: dict[str, dict[str, Any]] = {
    "age_guess": {
        "label": "Age guess (plain HTML form)",
        "file": REPO_ROOT / "include" / "templates" / "age_guess.html",
        "name": "Age guess",
        "title": "How old is this person?",
        "description": "Look at a photo and guess the person's age.",
        "keywords": "age, photo, guess",
        "sample_values": {"person_id": "42", "image_url": SAMPLE_IMAGE},
    },
    "image_classification": {
        "label": "Image classification",
        "file": HERE / "image_classification.html",
        "name": "Image classification",
        "title": "Choose the category that best describes an image",
        "description": "Look at one image and pick its category.",
        "keywords": "image, classification, categorize",
        "reward": "0.05",
        "sample_values": {"image_url": SAMPLE_IMAGE},
    },
    "bounding_box": {
        "label": "Bounding box",
        "file": HERE / "bounding_box.html",
        "name": "Bounding boxes",
        "title": "Draw boxes around objects in an image",
        "description": "Draw a tight box around every object of one kind.",
        "keywords": "image, bounding box, annotation",
        "reward": "0.15",
        "sample_values": {"image_url": SAMPLE_IMAGE, "object_name": "car"},
    },
    "sentiment": {
        "label": "Sentiment of a text",
        "file": HERE / "sentiment.html",
        "name": "Sentiment",
        "title": "What feeling does this short text express?",
        "description": "Read a sentence and choose its sentiment.",
        "keywords": "text, sentiment, classification",
        "reward": "0.03",
        "sample_values": {"text": "The delivery was late, but the staff were lovely."},
    },
    "survey": {
        "label": "Survey",
        "file": HERE / "survey.html",
        "name": "Product survey",
        "title": "A three-minute survey about a product",
        "description": "Answer four short questions about a product you use.",
        "keywords": "survey, opinion",
        "reward": "0.25",
        "max_assignments": 5,
        "sample_values": {"question": "Your opinion", "product": "the office coffee machine"},
    },
}


def starter(key: str) -> dict[str, Any] | None:
    """A starter as project values (template text read from its file), or None."""
    spec = STARTERS.get(key)
    if spec is None:
        return None
    values = {**_COMMON, **{k: v for k, v in spec.items() if k not in ("file", "label")}}
    values["template"] = Path(spec["file"]).read_text(encoding="utf-8")
    return values


def choices() -> list[tuple[str, str]]:
    return [(key, spec["label"]) for key, spec in STARTERS.items()]
