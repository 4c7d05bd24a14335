from __future__ import annotations

import xml.etree.ElementTree as ET
from string import Template

import pytest

from hitflow.publish import question_html


def test_bundled_template_variables() -> None:
    assert set(question_html.template_variables(question_html.load_template())) == {"person_id", "image_url"}


def test_html_question_escapes_every_value_and_is_valid_xml() -> None:
    question = question_html.html_question(
        question_html.load_template(),
        {"person_id": 'P1"><script>alert(1)</script>', "image_url": "https://x.example.org/a.jpg?a=1&b=2"},
    )
    root = ET.fromstring(question)
    assert root.tag.endswith("HTMLQuestion")
    page = root.find("{*}HTMLContent").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page and "a=1&amp;b=2" in page
    assert 'min="1"' in page and 'max="120"' in page and "externalSubmit" in page


def test_cdata_cannot_be_closed_by_a_value() -> None:
    page = question_html.html_question(Template("<p>${person_id}</p>"), {"person_id": "]]><x>"})
    assert "]]><x>" not in page


def test_oversized_question_is_refused() -> None:
    with pytest.raises(question_html.QuestionError, match="65535"):
        question_html.html_question(Template("${person_id}"), {"person_id": "x" * 70000})


def test_missing_value_is_refused() -> None:
    with pytest.raises(question_html.QuestionError, match="image_url"):
        question_html.html_question(question_html.load_template(), {"person_id": "P1"})


def test_layout_parameters_keep_raw_values() -> None:
    assert question_html.layout_parameters({"person_id": "P1", "image_url": "https://x.org/a.jpg"}) == [
        {"Name": "person_id", "Value": "P1"},
        {"Name": "image_url", "Value": "https://x.org/a.jpg"},
    ]


def test_crowd_template_is_the_same_task_in_crowd_html() -> None:
    """task_ui=crowd: the Crowd HTML Elements page with the same variables, and its bundled layout."""
    from hitflow.paths import include_dir
    from hitflow.publish.batch_config import AGE_GUESS_CROWD_LAYOUT_ID, resolve_config

    crowd = question_html.template_for("crowd")
    assert set(question_html.template_variables(crowd)) == {"person_id", "image_url"}
    assert question_html.template_for("plain").template == question_html.load_template().template
    question = question_html.html_question(crowd, {"person_id": "P7", "image_url": "https://x.example.org/7.jpg"})
    page = ET.fromstring(question).find(f"{{{question_html.HTML_QUESTION_XMLNS}}}HTMLContent").text
    assert "https://assets.crowd.aws/crowd-html-elements.js" in page
    assert '<crowd-input name="age" type="number"' in page and "<crowd-form>" in page
    layout = include_dir() / "layouts" / f"{AGE_GUESS_CROWD_LAYOUT_ID}.html"
    assert layout.read_text(encoding="utf-8") == crowd.template
    assert resolve_config({"task_ui": "crowd"}).task_ui == "crowd"
    assert resolve_config({}).task_ui == "plain"
    with pytest.raises(ValueError, match="task_ui"):
        resolve_config({"task_ui": "fancy"})
