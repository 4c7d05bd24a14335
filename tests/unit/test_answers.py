from __future__ import annotations

import pytest

from hitflow.collect.answers import parse_age

NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"


def qfa(**fields: str) -> str:
    answers = "".join(
        f"<Answer><QuestionIdentifier>{k}</QuestionIdentifier><FreeText>{v}</FreeText></Answer>"
        for k, v in fields.items()
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><QuestionFormAnswers xmlns="{NS}">{answers}</QuestionFormAnswers>'


def test_valid_answer() -> None:
    parsed = parse_age(qfa(age="34", person_id="P1"))
    assert parsed.age == 34 and parsed.problem is None and parsed.fields["person_id"] == "P1"


def test_whitespace_is_tolerated() -> None:
    assert parse_age(qfa(age=" 7 ")).age == 7


@pytest.mark.parametrize(
    ("xml", "needle"),
    [
        (None, "no answer"),
        ("", "no answer"),
        ("<QuestionFormAnswers><Answer>", "malformed answer XML"),
        ("<Other/>", "not QuestionFormAnswers"),
        (qfa(person_id="P1"), "no age in the answer"),
        (qfa(age=""), "age left empty"),
        (qfa(age="thirty"), "not a whole number"),
        (qfa(age="34.5"), "not a whole number"),
        (qfa(age="-3"), "not a whole number"),
        (qfa(age="0"), "outside 1–120"),
        (qfa(age="121"), "outside 1–120"),
        (qfa(age="9999"), "outside 1–120"),
        (qfa(age="x" * 500), "not a whole number"),
    ],
)
def test_bad_answers_are_flagged_not_raised(xml: str | None, needle: str) -> None:
    parsed = parse_age(xml)
    assert parsed.age is None and needle in parsed.problem
    assert len(parsed.problem) < 120  # a 500-character answer is not echoed whole


def test_answer_without_namespace_still_parses() -> None:
    xml = (
        "<QuestionFormAnswers><Answer><QuestionIdentifier>age</QuestionIdentifier>"
        "<FreeText>40</FreeText></Answer></QuestionFormAnswers>"
    )
    assert parse_age(xml).age == 40


def test_crowd_form_task_answers() -> None:
    """The Crowd HTML version posts one taskAnswers field: a JSON array holding one object."""
    from html import escape

    def crowd(json_text: str) -> str:
        return qfa(taskAnswers=escape(json_text, quote=False))

    assert parse_age(crowd('[{"age":"34"}]')).age == 34
    assert parse_age(crowd('[{"age": 41}]')).age == 41
    assert parse_age(crowd('[{"age": 41.0}]')).age == 41
    assert parse_age(crowd('{"age": " 7 "}')).age == 7
    assert parse_age(crowd('[{"age":"34","note":"a <b> & c"}]')).fields["taskAnswers"].startswith("[{")
    assert parse_age(qfa(age="20", taskAnswers="[]")).age == 20  # a plain field wins
    for body, needle in (
        ('[{"age":""}]', "left empty"),
        ('[{"age":"fifty"}]', "not a whole number"),
        ('[{"age": 41.5}]', "not a whole number"),
        ('[{"age": true}]', "not a whole number"),
        ('[{"age": 300}]', "outside"),
        ('[{"other": 1}]', "no age in taskAnswers"),
        ("[]", "no age in taskAnswers"),
        ("not json", "not JSON"),
    ):
        parsed = parse_age(crowd(body))
        assert parsed.age is None and needle in (parsed.problem or ""), (body, parsed)
