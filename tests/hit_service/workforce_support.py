"""Helpers for the workforce tests: forms over plain HTTP, a store on the service's database."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hit_service.core.database import Store

QUESTION_FORM_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2017-11-06/QuestionForm.xsd"
ANSWER_KEY_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/AnswerKey.xsd"


def choice(ident: str, prompt: str, options: list[tuple[str, str]]) -> str:
    selections = "".join(
        f"<Selection><SelectionIdentifier>{value}</SelectionIdentifier><Text>{text}</Text></Selection>"
        for value, text in options
    )
    return (
        f"<Question><QuestionIdentifier>{ident}</QuestionIdentifier><DisplayName>{ident}</DisplayName>"
        f"<IsRequired>true</IsRequired><QuestionContent><Text>{prompt}</Text></QuestionContent>"
        "<AnswerSpecification><SelectionAnswer><StyleSuggestion>radiobutton</StyleSuggestion>"
        f"<Selections>{selections}</Selections></SelectionAnswer></AnswerSpecification></Question>"
    )


TEST_FORM = (
    f'<QuestionForm xmlns="{QUESTION_FORM_NS}"><Overview><Text>Two questions on reading photos.</Text></Overview>'
    + choice("blur", "A blurred face: guess the age?", [("skip", "Skip it"), ("guess", "Guess anyway")])
    + choice("child", "Someone who looks 12: what do you enter?", [("12", "12"), ("18", "18")])
    + "</QuestionForm>"
)
ANSWER_KEY = (
    f'<AnswerKey xmlns="{ANSWER_KEY_NS}">'
    "<Question><QuestionIdentifier>blur</QuestionIdentifier>"
    "<AnswerOption><SelectionIdentifier>skip</SelectionIdentifier><AnswerScore>1</AnswerScore></AnswerOption>"
    "</Question>"
    "<Question><QuestionIdentifier>child</QuestionIdentifier>"
    "<AnswerOption><SelectionIdentifier>12</SelectionIdentifier><AnswerScore>1</AnswerScore></AnswerOption>"
    "</Question>"
    "<QualificationValueMapping><PercentageMapping><MaximumSummedScore>2</MaximumSummedScore>"
    "</PercentageMapping></QualificationValueMapping></AnswerKey>"
)


_FORM_TOKEN = re.compile(r"name='csrf' value='([^']*)'")


def from_address() -> dict[str, str]:
    """A client address of the test's own (uvicorn takes X-Forwarded-For from 127.0.0.1, a local proxy)."""
    return {"X-Forwarded-For": f"203.0.113.{secrets.randbelow(250) + 1}"}


def form_token(page: str) -> str:
    found = _FORM_TOKEN.search(page)
    assert found, "no csrf field on the page"
    return found.group(1)


def post_form(browser: httpx.Client, path: str, fields: dict[str, str], **kwargs: Any) -> httpx.Response:
    """GET the form at ``path`` (for its token and nonce cookie), then POST ``fields`` to it; a refused
    GET (no form shown) is returned as it is."""
    page = browser.get(path)
    if page.status_code != 200:
        return page
    return browser.post(path, data={"csrf": form_token(page.text), **fields}, **kwargs)


def join(base_url: str, token: str, name: str, password: str = "a good password", **headers: str) -> httpx.Response:
    """Join through an invitation in a fresh cookie jar; the POST's response (303 on success)."""
    with httpx.Client(base_url=base_url, timeout=10, headers=headers or from_address()) as browser:
        return post_form(browser, f"/join/{token}", {"name": name, "password": password, "password2": password})


@pytest.fixture
def wf_store(db_url: str) -> Iterator[Store]:
    """The service's database through the product's own store (setup and checks)."""
    store = Store(db_url, max_size=2)
    store.open()
    try:
        yield store
    finally:
        store.close()
