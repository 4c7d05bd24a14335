"""Parse MTurk's QuestionFormAnswers XML into the worker's age guess.

The age comes either from a plain form field ``age`` (the HTML template and layout) or, for the
Crowd HTML version, from the ``taskAnswers`` field: the JSON array holding one object that
``<crowd-form>`` posts, whose ``age`` member is the ``<crowd-input name="age">``.

A bad answer is data, not an error: it comes back with a reason that the review policy acts on,
and it is kept, so the run never crashes on what a worker typed.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

AGE_FIELD = "age"
TASK_ANSWERS = "taskAnswers"
MIN_AGE, MAX_AGE = 1, 120
_WHOLE_NUMBER = re.compile(r"^[0-9]{1,4}$")


@dataclass(frozen=True)
class ParsedAnswer:
    """The answer's fields, and either the age or the reason there is none."""

    fields: dict[str, str]
    age: int | None
    problem: str | None


def answer_fields(xml: str) -> dict[str, str]:
    """``{QuestionIdentifier: FreeText}`` of a QuestionFormAnswers document; raises ValueError."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as err:
        raise ValueError(f"malformed answer XML ({err})") from err
    if root.tag.rpartition("}")[2] != "QuestionFormAnswers":
        raise ValueError(f"answer XML root is {root.tag.rpartition('}')[2]!r}, not QuestionFormAnswers")
    fields: dict[str, str] = {}
    for answer in root:
        if answer.tag.rpartition("}")[2] != "Answer":
            continue
        name = value = None
        for child in answer:
            local = child.tag.rpartition("}")[2]
            if local == "QuestionIdentifier":
                name = (child.text or "").strip()
            elif local == "FreeText":
                value = child.text or ""
        if name:
            fields[name] = value if value is not None else ""
    return fields


def parse_age(xml: str | None) -> ParsedAnswer:
    """The age guess in an assignment's ``Answer``, validated as a whole number 1–120."""
    if xml is None or not xml.strip():
        return ParsedAnswer({}, None, "no answer")
    try:
        fields = answer_fields(xml)
    except ValueError as err:
        return ParsedAnswer({}, None, str(err))
    if AGE_FIELD in fields:
        raw = fields[AGE_FIELD].strip()
    elif TASK_ANSWERS in fields:
        raw, problem = crowd_age(fields[TASK_ANSWERS])
        if problem is not None:
            return ParsedAnswer(fields, None, problem)
    else:
        return ParsedAnswer(fields, None, "no age in the answer")
    if not raw:
        return ParsedAnswer(fields, None, "age left empty")
    if not _WHOLE_NUMBER.match(raw):
        shown = raw if len(raw) <= 20 else raw[:20] + "…"
        return ParsedAnswer(fields, None, f"age {shown!r} is not a whole number")
    age = int(raw)
    if not MIN_AGE <= age <= MAX_AGE:
        return ParsedAnswer(fields, None, f"age {age} is outside {MIN_AGE}–{MAX_AGE}")
    return ParsedAnswer(fields, age, None)


def crowd_age(task_answers: str) -> tuple[str, str | None]:
    """The ``age`` of a crowd-form's ``taskAnswers`` JSON as text, or ``("", reason)``."""
    try:
        decoded = json.loads(task_answers)
    except ValueError:
        return "", "taskAnswers is not JSON"
    answers = decoded if isinstance(decoded, list) else [decoded]
    found = next((item for item in answers if isinstance(item, dict) and AGE_FIELD in item), None)
    if found is None:
        return "", "no age in taskAnswers"
    value = found[AGE_FIELD]
    if isinstance(value, bool) or value is None:
        return "", f"age {value!r} is not a whole number"
    if isinstance(value, int):
        return str(value), None
    if isinstance(value, float):
        return (str(int(value)), None) if value.is_integer() else ("", f"age {value!r} is not a whole number")
    if isinstance(value, str):
        return value.strip(), None
    return "", "age in taskAnswers is not a number"
