"""A QuestionForm's answer specification, enforced when the worker submits.

MTurk's documentation says answers always conform to the answer specification: a FreeTextAnswer's
``Constraints`` (``Length``, ``IsNumeric`` with its bounds, ``AnswerFormatRegex``), a
SelectionAnswer's ``MinSelectionCount`` / ``MaxSelectionCount`` and options, ``IsRequired``, and
``OtherSelection`` (a free-text choice with constraints of its own). The worker's page checks the
same rules as they type (``static/mturk/question-form.js``); this is the check that counts.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

logger = logging.getLogger(__name__)
OTHER = "__other__"  # the value of the "Other" choice; its text comes in the field ``<id>.other``
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def other_field(ident: str) -> str:
    return f"{ident}.other"


@dataclass(frozen=True)
class TextRules:
    """A FreeTextAnswer's (or OtherSelection's) Constraints."""

    min_length: int | None = None
    max_length: int | None = None
    numeric: bool = False
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    regexes: tuple[tuple[str, str, str], ...] = ()  # (pattern, errorText, flags)

    def problems(self, value: str) -> list[str]:
        """What is wrong with ``value`` (an empty answer is the caller's business)."""
        found = []
        if self.min_length is not None and len(value) < self.min_length:
            found.append(f"at least {self.min_length} characters")
        if self.max_length is not None and len(value) > self.max_length:
            found.append(f"at most {self.max_length} characters")
        if self.numeric:
            number = _number(value)
            if number is None:
                found.append("a number")
            elif self.min_value is not None and number < self.min_value:
                found.append(f"a number of at least {self.min_value}")
            elif self.max_value is not None and number > self.max_value:
                found.append(f"a number of at most {self.max_value}")
        for pattern, error, flags in self.regexes:
            try:
                compiled = re.compile(pattern, re.IGNORECASE if "i" in flags else 0)
            except re.error:
                logger.warning("AnswerFormatRegex %r does not compile here; not checked on submit", pattern)
                continue
            if not compiled.search(value):
                found.append(error or f"in the form {pattern}")
        return found

    def attrs(self) -> dict[str, Any]:
        """The form field's attributes for the page's own checks."""
        out: dict[str, Any] = {}
        if self.min_length is not None:
            out["minlength"] = self.min_length
        if self.max_length is not None:
            out["maxlength"] = self.max_length
        if self.numeric:
            out["inputmode"] = "decimal"
            out["data-numeric"] = ""
            if self.min_value is not None:
                out["data-min"] = str(self.min_value)
            if self.max_value is not None:
                out["data-max"] = str(self.max_value)
        if self.regexes:
            out["data-regex"] = "\n".join(f"{flags}/{pattern}" for pattern, _error, flags in self.regexes)
            out["data-regex-error"] = "\n".join(error for _pattern, error, _flags in self.regexes)
        return out


def _number(text: str) -> Decimal | None:
    if not NUMBER.match(text.strip()):
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.strip().lstrip("-").isdigit() else None


def text_rules(element: ET.Element | None) -> TextRules:
    """TextRules from a FreeTextAnswer / OtherSelection element (its ``Constraints`` child)."""
    if element is None:
        return TextRules()
    constraints = next((c for c in element if c.tag.rpartition("}")[2] == "Constraints"), None)
    if constraints is None:
        return TextRules()
    fields: dict[str, Any] = {}
    regexes = []
    for rule in constraints:
        name = rule.tag.rpartition("}")[2]
        if name == "Length":
            fields["min_length"] = _int(rule.get("minLength"))
            fields["max_length"] = _int(rule.get("maxLength"))
        elif name == "IsNumeric":
            fields["numeric"] = True
            low, high = _int(rule.get("minValue")), _int(rule.get("maxValue"))
            fields["min_value"] = None if low is None else Decimal(low)
            fields["max_value"] = None if high is None else Decimal(high)
        elif name == "AnswerFormatRegex" and rule.get("regex"):
            regexes.append((rule.get("regex", ""), rule.get("errorText", ""), rule.get("flags", "")))
    return TextRules(regexes=tuple(regexes), **fields)


class AnswerProblems(ValueError):
    """The submitted answers break the answer specification; ``problems`` says how."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def conform(form: Any, fields: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Check a QuestionForm's submitted fields; (fields to store, OtherSelection texts by question).

    Raises AnswerProblems listing every broken rule; nothing is stored then.
    """
    values: dict[str, list[str]] = {}
    for name, value in fields:
        values.setdefault(name, []).append(value)
    problems: list[str] = []
    others: dict[str, str] = {}
    drop = set()
    for q in form.questions:
        label = q.label
        if q.answer in ("text", "textarea"):
            text = "".join(values.get(q.ident, [""]))
            if not text.strip():
                if q.required:
                    problems.append(f"{label}: an answer is required")
                continue
            problems += [f"{label}: the answer must be {p}" for p in q.text_rules.problems(text)]
        elif q.answer in ("radio", "checkbox", "select", "multiselect"):
            chosen = [v for v in values.get(q.ident, []) if v]
            other_text = "".join(values.get(other_field(q.ident), [""]))
            drop.add(other_field(q.ident))
            picked_other = OTHER in chosen
            chosen = [v for v in chosen if v != OTHER]
            known = {value for value, _ in q.options}
            unknown = [v for v in chosen if v not in known]
            if unknown:
                problems.append(f"{label}: {', '.join(unknown)} is not one of the choices")
            if picked_other and q.other is not None:
                if not other_text.strip():
                    problems.append(f"{label}: type your other answer")
                else:
                    problems += [f"{label}: the other answer must be {p}" for p in q.other.problems(other_text)]
                    others[q.ident] = other_text
            count = len(chosen) + (1 if q.ident in others else 0)
            if q.answer in ("radio", "select") and count > 1:
                problems.append(f"{label}: choose only one")
            if count == 0:  # skipped: fine unless the question is required
                if q.required:
                    problems.append(f"{label}: choose at least {max(1, q.min_selections or 1)}")
                continue
            if q.min_selections is not None and count < q.min_selections:
                problems.append(f"{label}: choose at least {q.min_selections}")
            if q.max_selections is not None and count > q.max_selections:
                problems.append(f"{label}: choose at most {q.max_selections}")
    if problems:
        raise AnswerProblems(problems)
    kept = [(name, value) for name, value in fields if name not in drop and value != OTHER]
    return kept, others
