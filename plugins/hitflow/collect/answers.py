"""Parse MTurk's QuestionFormAnswers XML into the worker's age guess.

A bad answer is data, not an error: it comes back with a reason that the review policy acts on,
and it is kept, so the run never crashes on what a worker typed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

AGE_FIELD = "age"
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
    if AGE_FIELD not in fields:
        return ParsedAnswer(fields, None, "no age in the answer")
    raw = fields[AGE_FIELD].strip()
    if not raw:
        return ParsedAnswer(fields, None, "age left empty")
    if not _WHOLE_NUMBER.match(raw):
        shown = raw if len(raw) <= 20 else raw[:20] + "…"
        return ParsedAnswer(fields, None, f"age {shown!r} is not a whole number")
    age = int(raw)
    if not MIN_AGE <= age <= MAX_AGE:
        return ParsedAnswer(fields, None, f"age {age} is outside {MIN_AGE}–{MAX_AGE}")
    return ParsedAnswer(fields, age, None)
