"""QuestionForm in full: Binary and FormattedContent shown, the answer specification enforced in
the worker's page (Chromium) and again on submit (plain HTTP, as a script would post), and
OtherSelection answered as MTurk's ``OtherSelectionText``.

The form is written for these tests in the shape of MTurk's tic-tac-toe example: an overview with
a picture of the board, a move typed as a square name, and two questions about the game.
"""

from __future__ import annotations

import html
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

from hit_service.core import formatted, question_xml
from hit_service.site.templating import render_text
from hitflow_support.crowd_client import accept_hit, sign_in
from tests.hit_service.browser import DESKTOP, Offline, chromium
from tests.hit_service.browser import sign_in as browser_sign_in
from tests.hit_service.crowd_site import CORPUS_DIR, CrowdSite, crowd_site, fill_liquid
from tests.hit_service.helpers import make_client

pytestmark = pytest.mark.integration
__all__ = ["chromium"]  # a fixture
NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2017-11-06/QuestionForm.xsd"
ANSWER_NS = "{http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd}"


def board_form(image_url: str) -> str:
    return f"""<QuestionForm xmlns="{NS}">
<Overview>
  <Title>Tic-tac-toe: the next move</Title>
  <Text>X plays next. Look at the board.</Text>
  <Binary><MimeType><Type>image</Type><SubType>png</SubType></MimeType>
    <DataURL>{image_url}</DataURL><AltText>The board after four moves</AltText></Binary>
  <FormattedContent><![CDATA[<p>Squares are named <b>A1</b> to <b>C3</b>:</p>
    <table border="1"><tr><th>A1</th><th>B1</th><th>C1</th></tr></table>
    <script>window.__formattedRan = true;</script>
    <p onclick="window.__formattedRan = true"><a href="javascript:alert(1)">no link</a>
    <img src="{image_url}" alt="tiny board" width="40" onerror="window.__formattedRan = true"></p>]]></FormattedContent>
</Overview>
<Question>
  <QuestionIdentifier>move</QuestionIdentifier><DisplayName>Your move</DisplayName><IsRequired>true</IsRequired>
  <QuestionContent><Text>Which square should X take?</Text></QuestionContent>
  <AnswerSpecification><FreeTextAnswer><Constraints><Length minLength="2" maxLength="2"/>
    <AnswerFormatRegex regex="^[a-c][1-3]$" flags="i" errorText="Name a square: a letter A–C and a digit 1–3."/>
  </Constraints></FreeTextAnswer></AnswerSpecification>
</Question>
<Question>
  <QuestionIdentifier>moves</QuestionIdentifier><DisplayName>Moves so far</DisplayName><IsRequired>true</IsRequired>
  <QuestionContent><Text>How many moves have been played?</Text></QuestionContent>
  <AnswerSpecification><FreeTextAnswer><Constraints><IsNumeric minValue="0" maxValue="9"/></Constraints>
  </FreeTextAnswer></AnswerSpecification>
</Question>
<Question>
  <QuestionIdentifier>opening</QuestionIdentifier><DisplayName>Opening</DisplayName><IsRequired>true</IsRequired>
  <QuestionContent><Text>What was X's opening?</Text></QuestionContent>
  <AnswerSpecification><SelectionAnswer><StyleSuggestion>radiobutton</StyleSuggestion><Selections>
    <Selection><SelectionIdentifier>corner</SelectionIdentifier><Text>A corner</Text></Selection>
    <Selection><SelectionIdentifier>centre</SelectionIdentifier><Text>The centre</Text></Selection>
    <OtherSelection><Constraints><Length maxLength="20"/></Constraints></OtherSelection>
  </Selections></SelectionAnswer></AnswerSpecification>
</Question>
<Question>
  <QuestionIdentifier>threats</QuestionIdentifier><DisplayName>Threats</DisplayName><IsRequired>false</IsRequired>
  <QuestionContent><Text>Which lines does O threaten? (one or two)</Text></QuestionContent>
  <AnswerSpecification><SelectionAnswer><MinSelectionCount>1</MinSelectionCount><MaxSelectionCount>2</MaxSelectionCount>
    <StyleSuggestion>checkbox</StyleSuggestion><Selections>
    <Selection><SelectionIdentifier>row1</SelectionIdentifier><Text>Row 1</Text></Selection>
    <Selection><SelectionIdentifier>col2</SelectionIdentifier><Text>Column 2</Text></Selection>
    <Selection><SelectionIdentifier>diag</SelectionIdentifier><Text>A diagonal</Text></Selection>
  </Selections></SelectionAnswer></AnswerSpecification>
</Question>
</QuestionForm>"""


@pytest.fixture(scope="module")
def images() -> Iterator[CrowdSite]:
    with crowd_site() as running:
        yield running


def create(service: Any, images: CrowdSite) -> tuple[Any, str]:
    client = make_client(service.url)
    hit = client.create_hit(
        Title=f"Tic-tac-toe {uuid.uuid4().hex[:8]}",
        Description="The next move",
        Reward="0.05",
        AssignmentDurationInSeconds=600,
        LifetimeInSeconds=3600,
        MaxAssignments=1,
        Question=board_form(images.image_url),
    )["HIT"]
    return client, hit["HITId"]


def answers(client: Any, hit_id: str) -> dict[str, list[tuple[str, str]]]:
    (assignment,) = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    out = {}
    for answer in ET.fromstring(assignment["Answer"]):
        ident = answer.find(f"{ANSWER_NS}QuestionIdentifier").text
        out[ident] = [(child.tag.removeprefix(ANSWER_NS), child.text or "") for child in answer][1:]
    return out


def test_formatted_content_keeps_the_xhtml_subset_and_nothing_else() -> None:
    cleaned = formatted.sanitize(
        '<h2 onclick="x()">Hi</h2><script>bad()</script><style>p{}</style><a href="javascript:x">l</a>'
        '<a href="https://example.org/?a=1&b=2">ok</a><img src="data:image/png;base64,AA" alt="d"><iframe>f</iframe>'
        "<table><tr><td colspan=2>c</td></tr></table><p>a < b &amp; c<blink>!</blink>"
    )
    assert cleaned == (
        "<h2>Hi</h2><a>l</a>"
        '<a href="https://example.org/?a=1&amp;b=2" rel="noopener noreferrer" target="_blank">ok</a><img alt="d">'
        '<table><tr><td colspan="2">c</td></tr></table><p>a &lt; b &amp; c!</p>'
    )


def test_tic_tac_toe_in_the_worker_page(service: Any, chromium: Any, images: CrowdSite, new_worker: Any) -> None:
    client, hit_id = create(service, images)
    worker = new_worker()
    offline = Offline(service.url, images.url)
    context = chromium.new_context(viewport=DESKTOP)
    context.route("**/*", offline.route)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        browser_sign_in(page, service.url, worker)
        page.goto(f"{service.url}/worker/hits/{hit_id}")
        page.click("#accept")
        page.wait_for_url(f"{service.url}/work/*")
        frame = page.locator("#hit-frame").element_handle().content_frame()
        # Binary: the picture with its alt text; FormattedContent as markup, its script never run.
        board = frame.get_by_role("img", name="The board after four moves")
        board.wait_for()
        frame.wait_for_function("document.querySelector('.binary img').naturalWidth === 400")
        assert frame.get_by_role("columnheader", name="B1").is_visible()
        assert frame.locator(".formatted b").first.inner_text() == "A1"
        assert frame.get_by_role("img", name="tiny board").is_visible()
        assert frame.evaluate("window.__formattedRan === undefined")
        assert frame.locator(".formatted a").first.get_attribute("href") is None

        move = frame.get_by_label("Your move")
        submit = frame.get_by_role("button", name="Submit")

        def refused(field: Any) -> str:
            submit.click()
            message = field.evaluate("el => el.validationMessage")
            assert message, "the page let a broken answer through"
            assert page.locator("#work-submitted").count() == 0
            return message

        move.fill("C33")  # the example: three characters for a 2..2 answer
        assert move.input_value() == "C3"  # the third cannot be typed
        move.evaluate("el => { el.value = 'C33'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
        assert "at most 2" in refused(move)  # nor put there by a script
        move.fill("Z9")
        assert refused(move) == "Name a square: a letter A–C and a digit 1–3."
        move.fill("b2")
        moves = frame.get_by_label("Moves so far")
        moves.fill("ten")
        assert refused(moves) == "Enter a number."
        moves.fill("12")
        assert "at most 9" in refused(moves)
        moves.fill("4")
        frame.get_by_label("Other:").check()
        other = frame.get_by_label("Opening: other answer")
        assert refused(other) == "Type your other answer."
        other.fill("an edge")
        for name in ("Row 1", "Column 2", "A diagonal"):
            frame.get_by_label(name).check()
        assert refused(frame.get_by_label("Row 1")) == "Choose at most 2."
        frame.get_by_label("A diagonal").uncheck()
        submit.click()
        page.locator("#work-submitted").wait_for()
    finally:
        context.close()
    assert not offline.blocked, offline.blocked
    assert answers(client, hit_id) == {
        "move": [("FreeText", "b2")],
        "moves": [("FreeText", "4")],
        "opening": [("OtherSelectionText", "an edge")],
        "threats": [("SelectionIdentifier", "row1"), ("SelectionIdentifier", "col2")],
    }


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (
            [("move", "C33"), ("moves", "4"), ("opening", "corner")],
            "Your move: the answer must be at most 2 characters",
        ),
        ([("move", "D4"), ("moves", "4"), ("opening", "corner")], "Name a square"),
        ([("move", "A1"), ("moves", "x"), ("opening", "corner")], "Moves so far: the answer must be a number"),
        ([("move", "A1"), ("moves", "4")], "Opening: choose at least 1"),
        ([("move", "A1"), ("moves", "4"), ("opening", "edge")], "edge is not one of the choices"),
        ([("move", "A1"), ("moves", "4"), ("opening", "__other__")], "Opening: type your other answer"),
        (
            [
                ("move", "A1"),
                ("moves", "4"),
                ("opening", "corner"),
                ("threats", "row1"),
                ("threats", "col2"),
                ("threats", "diag"),
            ],
            "Threats: choose at most 2",
        ),
    ],
)
def test_answers_that_break_the_specification_are_refused_on_submit(
    service: Any, images: CrowdSite, new_worker: Any, fields: list[tuple[str, str]], problem: str
) -> None:
    """A script posting straight to externalSubmit gets the same rules; nothing is stored."""
    client, hit_id = create(service, images)
    worker = new_worker()
    with sign_in(service.url, worker["name"], worker["password"]) as session:
        assignment_id = accept_hit(session, service.url, hit_id)

        def post(answer: list[tuple[str, str]]) -> Any:
            data = [("assignmentId", assignment_id), *answer]
            return session.post(f"{service.url}/mturk/externalSubmit", data=data, timeout=10)

        response = post(fields)
        assert response.status_code == 400
        assert problem in html.unescape(response.text)
        assert client.list_assignments_for_hit(HITId=hit_id)["Assignments"] == []  # still being worked on
        assert post([("move", "A1"), ("moves", "4"), ("opening", "corner")]).status_code == 200
    assert answers(client, hit_id) == {
        "move": [("FreeText", "A1")],
        "moves": [("FreeText", "4")],
        "opening": [("SelectionIdentifier", "corner")],
    }


def test_amti_examples_unchanged(service: Any, chromium: Any, new_worker: Any) -> None:
    """allenai/amti's own examples (corpus/amti): its QuestionForm (FormattedContent with
    italics and bold, a List, two required radio questions) and its HTMLQuestion (MTurk's
    externalHIT script, a Jinja variable filled) are created with boto3, worked and answered."""
    client = make_client(service.url)
    form_xml = (CORPUS_DIR / "amti" / "qualification-test.xml").read_text(encoding="utf-8")
    html_xml = fill_liquid(
        (CORPUS_DIR / "amti" / "html-question.xml.j2").read_text(encoding="utf-8"), {"example_word": "ocelot"}
    )
    hit_ids = []
    for question in (form_xml, html_xml):
        hit_ids.append(
            client.create_hit(
                Title=f"amti example {uuid.uuid4().hex[:8]}",
                Description="amti's example",
                Reward="0.05",
                AssignmentDurationInSeconds=600,
                LifetimeInSeconds=3600,
                MaxAssignments=1,
                Question=question,
            )["HIT"]["HITId"]
        )
    worker = new_worker()
    offline = Offline(service.url)
    context = chromium.new_context(viewport=DESKTOP)
    context.route("**/*", offline.route)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        browser_sign_in(page, service.url, worker)

        def work(hit_id: str) -> Any:
            page.goto(f"{service.url}/worker/hits/{hit_id}")
            page.click("#accept")
            page.wait_for_url(f"{service.url}/work/*")
            return page.locator("#hit-frame").element_handle().content_frame()

        frame = work(hit_ids[0])
        assert frame.locator(".formatted i").inner_text() == "italics"
        assert frame.locator(".formatted b").inner_text() == "bold"
        assert frame.get_by_role("listitem").all_inner_texts() == ["item 1", "item 2", "item 3"]
        frame.locator("input[name=first_question][value=yes]").check()
        frame.get_by_role("button", name="Submit").click()
        assert page.locator("#work-submitted").count() == 0  # the second question is required
        frame.locator("input[name=second_question][value=no]").check()
        frame.get_by_role("button", name="Submit").click()
        page.locator("#work-submitted").wait_for()

        frame = work(hit_ids[1])
        assert frame.get_by_text("The example word is: ocelot.").is_visible()
        frame.locator("textarea[name=comment]").fill("A wild cat.")
        frame.get_by_role("button", name="Submit").click()
        page.locator("#work-submitted").wait_for()
    finally:
        context.close()
    assert not offline.blocked, offline.blocked
    assert answers(client, hit_ids[0]) == {
        "first_question": [("SelectionIdentifier", "yes")],
        "second_question": [("SelectionIdentifier", "no")],
    }
    assert answers(client, hit_ids[1]) == {"comment": [("FreeText", "A wild cat.")]}


def test_binary_audio_video_and_other_types_render_by_url() -> None:
    """Binary by MIME type: audio and video players with the alt text, other types a link, and a
    URL that is not http(s) a visible note instead of nothing."""

    def binary(kind: str, url: str, alt: str) -> str:
        return (
            f"<Binary><MimeType><Type>{kind}</Type><SubType>x</SubType></MimeType>"
            f"<DataURL>{url}</DataURL><AltText>{alt}</AltText></Binary>"
        )

    xml = (
        f'<QuestionForm xmlns="{NS}"><Overview>'
        + binary("audio", "https://media.example.org/a.mp3", "The first call")
        + binary("video", "https://media.example.org/v.mp4", "The match")
        + binary("application", "https://media.example.org/d.pdf", "The rules")
        + binary("image", "javascript:alert(1)", "A trap")
        + "</Overview><Question><QuestionIdentifier>q</QuestionIdentifier><QuestionContent><Text>?</Text>"
        "</QuestionContent><AnswerSpecification><FreeTextAnswer/></AnswerSpecification></Question></QuestionForm>"
    )
    page = render_text("frame/question_form.html", form=question_xml.question_form(xml), base="", other_value="x")
    assert (
        "<audio controls preload='metadata' src='https://media.example.org/a.mp3' aria-label='The first call'>" in page
    )
    assert "<video controls preload='metadata' src='https://media.example.org/v.mp4' aria-label='The match'>" in page
    assert "<a href='https://media.example.org/d.pdf' target='_blank' rel='noopener noreferrer'>The rules</a>" in page
    assert "javascript:" not in page and "[A trap: its URL cannot be shown here]" in page
