"""Qualification tests on the worker site: a type's ``Test`` (a QuestionForm) taken within
``TestDurationInSeconds``, scored from its ``AnswerKey`` and granted at once; without an
``AnswerKey`` the answers become a pending request the requester reads with
``ListQualificationRequests`` and decides with ``AcceptQualificationRequest`` /
``RejectQualificationRequest``. ``RetryDelayInSeconds`` is counted from the last scored attempt
or rejection; a type without one cannot be retaken once failed or rejected.

Scoring (MTurk's AnswerKey): each ``Question`` of the key gives the ``AnswerScore`` of the
``AnswerOption`` whose ``SelectionIdentifier`` set equals the worker's selection, else its
``DefaultScore`` (0 when absent); the scores are summed. ``QualificationValueMapping`` then maps
the sum: ``PercentageMapping`` → sum × 100 / ``MaximumSummedScore`` (rounded half up),
``ScaleMapping`` → sum × ``SummedScoreMultiplier`` (rounded half up), ``RangeMapping`` → the
``QualificationValue`` of the first ``SummedScoreRange`` holding the sum, else
``OutOfRangeQualificationValue``. Without a mapping the value is the sum.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

ANSWER_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"


class TestRefused(Exception):
    """The worker cannot take (or hand in) the test now; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _local(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


def _kids(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child) == name]


def _text(element: ET.Element, name: str, default: str = "") -> str:
    found = _kids(element, name)
    return (found[0].text or "").strip() if found else default


def _int(text: str, default: int = 0) -> int:
    try:
        return int(Decimal(text))
    except (ArithmeticError, ValueError):
        return default


def score(answer_key: str, answers: dict[str, list[str]]) -> int:
    """The qualification value the AnswerKey gives these answers (question ID → selections)."""
    root = ET.fromstring(answer_key)
    total = 0
    for question in _kids(root, "Question"):
        ident = _text(question, "QuestionIdentifier")
        chosen = set(answers.get(ident, []))
        points = _int(_text(question, "DefaultScore", "0"))
        for option in _kids(question, "AnswerOption"):
            wanted = {(s.text or "").strip() for s in _kids(option, "SelectionIdentifier")}
            if wanted and wanted == chosen:
                points = _int(_text(option, "AnswerScore", "0"))
                break
        total += points
    mapping = _kids(root, "QualificationValueMapping")
    if not mapping:
        return total
    for kind in mapping[0]:
        name = _local(kind)
        if name == "PercentageMapping":
            maximum = _int(_text(kind, "MaximumSummedScore", "0"))
            if maximum <= 0:
                return 0
            return int((Decimal(total) * 100 / maximum).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if name == "ScaleMapping":
            multiplier = Decimal(_text(kind, "SummedScoreMultiplier", "1") or "1")
            return int((Decimal(total) * multiplier).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if name == "RangeMapping":
            for span in _kids(kind, "SummedScoreRange"):
                low = _int(_text(span, "InclusiveLowerBound", "0"))
                high = _int(_text(span, "InclusiveUpperBound", "0"))
                if low <= total <= high:
                    return _int(_text(span, "QualificationValue", "0"))
            return _int(_text(kind, "OutOfRangeQualificationValue", "0"))
    return total


def answers_xml(fields: list[tuple[str, str]], selections: set[str]) -> str:
    """QuestionFormAnswers XML, as ``ListQualificationRequests`` returns in ``Answer``."""
    grouped: dict[str, list[str]] = {}
    for key, value in fields:
        grouped.setdefault(key, []).append(value)
    parts = [f'<QuestionFormAnswers xmlns="{ANSWER_NS}">']
    for key, values in grouped.items():
        parts.append(f"<Answer><QuestionIdentifier>{escape(key)}</QuestionIdentifier>")
        if key in selections:
            parts.extend(f"<SelectionIdentifier>{escape(v)}</SelectionIdentifier>" for v in values if v)
        else:
            parts.append(f"<FreeText>{escape('|'.join(values))}</FreeText>")
        parts.append("</Answer>")
    parts.append("</QuestionFormAnswers>")
    return "".join(parts)
