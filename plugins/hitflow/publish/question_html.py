"""Turn a row into what CreateHITWithHITType needs: an HTMLQuestion or layout parameters.

Templates use ``${name}`` placeholders, the syntax of MTurk's HIT layouts and of the requester
UI's bulk-upload CSV, so one template serves the API path and the CSV export alike.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from string import Template

from hitflow.paths import include_dir

HTML_QUESTION_XMLNS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"
MAX_QUESTION_BYTES = 65535
DEFAULT_TEMPLATE = "age_guess.html"
# The publish param ``task_ui`` picks the page: a plain HTML form, or Crowd HTML Elements.
TASK_UI_TEMPLATES = {"plain": DEFAULT_TEMPLATE, "crowd": "age_guess_crowd.html"}
FRAME_HEIGHT = 640


class QuestionError(ValueError):
    """The row's values do not make a question MTurk would accept."""


@lru_cache(maxsize=8)
def load_template(name: str = DEFAULT_TEMPLATE) -> Template:
    path = include_dir() / "templates" / name
    return Template(Path(path).read_text(encoding="utf-8"))


def template_for(task_ui: str = "plain") -> Template:
    """The HTMLQuestion template of a ``task_ui`` param value."""
    return load_template(TASK_UI_TEMPLATES[task_ui])


def template_variables(template: Template) -> list[str]:
    """The ``${name}`` placeholders in order of first use: the bulk-upload CSV's header."""
    if not template.is_valid():
        raise QuestionError("template has a malformed placeholder")
    return template.get_identifiers()


def render_html(template: Template, values: Mapping[str, str]) -> str:
    """Fill the template with every value HTML-escaped (values come from the source table)."""
    missing = [name for name in template_variables(template) if name not in values]
    if missing:
        raise QuestionError(f"no value for template variable(s) {', '.join(missing)}")
    return template.substitute({k: html.escape(str(v), quote=True) for k, v in values.items()})


def html_question(template: Template, values: Mapping[str, str]) -> str:
    """An HTMLQuestion document for ``Question``; refuses one over MTurk's 65,535-byte limit."""
    page = render_html(template, values)
    if "]]>" in page:
        raise QuestionError("rendered page contains ']]>', which cannot sit inside CDATA")
    question = (
        f'<HTMLQuestion xmlns="{HTML_QUESTION_XMLNS}">'
        f"<HTMLContent><![CDATA[{page}]]></HTMLContent>"
        f"<FrameHeight>{FRAME_HEIGHT}</FrameHeight></HTMLQuestion>"
    )
    size = len(question.encode("utf-8"))
    if size > MAX_QUESTION_BYTES:
        raise QuestionError(f"question is {size} bytes, over MTurk's limit of {MAX_QUESTION_BYTES}")
    return question


def layout_parameters(values: Mapping[str, str]) -> list[dict[str, str]]:
    """``HITLayoutParameters`` for a layout; the service escapes them when it renders."""
    return [{"Name": name, "Value": str(value)} for name, value in values.items()]
