"""The worker site's pure parts: task-HTML rewriting, durations, answers, templates."""

from __future__ import annotations

import re

import pytest

from hit_service.core.lifecycle import answer_xml
from hit_service.site import taskhtml
from hit_service.site.templating import ENV, TEMPLATES_DIR, duration, static_url

BASE = "https://hits.example.org"


@pytest.mark.parametrize(
    "url",
    [
        "https://s3.amazonaws.com/mturk-public/externalHIT_v1.js",
        "http://s3.amazonaws.com/mturk-public/externalHIT_v1.js",
        "//s3.amazonaws.com/mturk-public/externalHIT_v1.js",
        "https://mturk-public.s3.amazonaws.com/externalHIT_v1.js",
        "https://s3-external-1.amazonaws.com/mturk-public/externalHIT_v1.js",
        "https://s3.us-east-1.amazonaws.com/mturk-public/externalHIT_v1.js",
        "HTTPS://S3.AMAZONAWS.COM/mturk-public/externalHIT_v1.js",
    ],
)
def test_mturk_script_urls_point_at_the_service(url: str) -> None:
    page = taskhtml.rewrite_urls(f"<script src='{url}'></script>", BASE)
    assert re.fullmatch(rf"<script src='{re.escape(BASE)}/static/mturk/externalHIT_v1\.js\?v=\w+'></script>", page)


def test_crowd_script_and_submit_urls() -> None:
    page = (
        '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'
        '<form action="https://www.mturk.com/mturk/externalSubmit"></form>'
        "<form action='http://workersandbox.mturk.com/mturk/externalSubmit'></form>"
        "<script>f.action = 'https://workersandbox.mturk.com/mturk/externalSubmit';</script>"
        "<a href='https://www.mturk.com/mturk/welcome'>MTurk</a>"
    )
    out = taskhtml.rewrite_urls(page, BASE + "/")
    assert f'src="{BASE}/static/crowd/crowd-html-elements.js?v=' in out
    assert out.count(f"{BASE}/mturk/externalSubmit") == 3
    assert "https://www.mturk.com/mturk/welcome" in out  # only externalSubmit is rewritten


def test_storage_stand_in_goes_first() -> None:
    script = "<script src='x'></script>"
    assert taskhtml.inject_first("<!DOCTYPE html><html><HEAD lang=en><title>t</title>", script) == (
        f"<!DOCTYPE html><html><HEAD lang=en>{script}<title>t</title>"
    )
    assert taskhtml.inject_first("<html><body>x</body></html>", script) == f"<html>{script}<body>x</body></html>"
    assert taskhtml.inject_first("<!doctype html><p>x", script) == f"<!doctype html>{script}<p>x"
    assert taskhtml.inject_first("<crowd-form></crowd-form>", script) == f"{script}<crowd-form></crowd-form>"
    page = taskhtml.task_page(
        "<head></head><script src='https://s3.amazonaws.com/mturk-public/externalHIT_v1.js'>", BASE
    )
    assert page.index("frame-storage.js") < page.index("externalHIT_v1.js")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 s"),
        (30, "30 s"),
        (59, "59 s"),
        (60, "1 min"),
        (90, "1 min 30 s"),
        (600, "10 min"),
        (3600, "1 h"),
        (3725, "1 h 2 min"),
        (86400, "1 day"),
        (3 * 86400 + 7200, "3 days 2 h"),
        (-5, "0 s"),
    ],
)
def test_durations(seconds: int, shown: str) -> None:
    assert duration(seconds) == shown


def test_answers_as_mturk_returns_them() -> None:
    ns = 'xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"'
    crowd = answer_xml([("taskAnswers", '[{"age":"34","note":"<b> & c"}]')])
    assert crowd == (
        f"<QuestionFormAnswers {ns}><Answer><QuestionIdentifier>taskAnswers</QuestionIdentifier>"
        '<FreeText>[{"age":"34","note":"&lt;b&gt; &amp; c"}]</FreeText></Answer></QuestionFormAnswers>'
    )
    form = answer_xml(
        [("mood", "neu"), ("topics", "a"), ("topics", "c"), ("why", "x"), ("none", "")], {"mood", "topics", "none"}
    )
    assert (
        "<Answer><QuestionIdentifier>mood</QuestionIdentifier><SelectionIdentifier>neu</SelectionIdentifier></Answer>"
        in form
    )
    assert (
        "<Answer><QuestionIdentifier>topics</QuestionIdentifier><SelectionIdentifier>a</SelectionIdentifier>"
        "<SelectionIdentifier>c</SelectionIdentifier></Answer>"
    ) in form
    assert "<Answer><QuestionIdentifier>why</QuestionIdentifier><FreeText>x</FreeText></Answer>" in form
    assert "<Answer><QuestionIdentifier>none</QuestionIdentifier></Answer>" in form
    assert answer_xml([("c", "a"), ("c", "b")]).count("<FreeText>a|b</FreeText>") == 1  # HTML forms: joined


def test_every_template_compiles_and_autoescapes() -> None:
    names = [p.relative_to(TEMPLATES_DIR).as_posix() for p in TEMPLATES_DIR.rglob("*.html")]
    assert len(names) >= 15
    for name in names:
        ENV.get_template(name)
    assert ENV.from_string("{{ x }}").render(x="<script>") == "&lt;script&gt;"
    assert ENV.get_template("site/frame_message.html").render(message="<b>").count("&lt;b&gt;") == 1


def test_static_url_is_versioned_by_content() -> None:
    first = static_url("css/site.css")
    assert re.fullmatch(r"/static/css/site\.css\?v=[0-9a-f]{12}", first)
    assert static_url("/css/site.css", BASE) == BASE + first
