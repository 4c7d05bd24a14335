"""The workforce's pure parts: AnswerKey scoring, completion URLs, CSV cells, settings, form parsing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hit_service.core.identity import IdentityError
from hit_service.settings import SettingsError
from hit_service.stores.panels import completion_target
from hit_service.workforce.mailer import Mail, Mailer, WorkforceSettings
from hit_service.workforce.manage_routes import parse_invitation_form
from hit_service.workforce.payouts import payout_csv
from hit_service.workforce.qualtests import answers_xml, score

NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/AnswerKey.xsd"


def key(questions: str, mapping: str = "") -> str:
    return f'<AnswerKey xmlns="{NS}">{questions}{mapping}</AnswerKey>'


def question(ident: str, options: list[tuple[list[str], int]], default: int | None = None) -> str:
    parts = "".join(
        "<AnswerOption>"
        + "".join(f"<SelectionIdentifier>{s}</SelectionIdentifier>" for s in selections)
        + f"<AnswerScore>{points}</AnswerScore></AnswerOption>"
        for selections, points in options
    )
    extra = f"<DefaultScore>{default}</DefaultScore>" if default is not None else ""
    return f"<Question><QuestionIdentifier>{ident}</QuestionIdentifier>{parts}{extra}</Question>"


TWO = question("a", [(["x"], 10), (["y"], 4)], default=1) + question("b", [(["p", "q"], 5)])


def test_scores_sum_the_matching_options_with_defaults() -> None:
    assert score(key(TWO), {"a": ["x"], "b": ["q", "p"]}) == 15  # a multi-selection matches as a set
    assert score(key(TWO), {"a": ["y"], "b": ["p"]}) == 4  # a subset is not the option
    assert score(key(TWO), {"a": ["z"]}) == 1  # DefaultScore; b has none: 0
    assert score(key(TWO), {}) == 1


def test_percentage_scale_and_range_mappings() -> None:
    percent = "<QualificationValueMapping><PercentageMapping><MaximumSummedScore>15</MaximumSummedScore>"
    percent += "</PercentageMapping></QualificationValueMapping>"
    assert score(key(TWO, percent), {"a": ["x"], "b": ["p", "q"]}) == 100
    assert score(key(TWO, percent), {"a": ["x"]}) == 67  # 10/15 = 66.7 %, rounded half up
    assert score(key(TWO, percent), {"a": ["z"]}) == 7  # 1/15 = 6.67 %
    scale = "<QualificationValueMapping><ScaleMapping><SummedScoreMultiplier>2.5</SummedScoreMultiplier>"
    scale += "</ScaleMapping></QualificationValueMapping>"
    assert score(key(TWO, scale), {"a": ["y"]}) == 10
    ranges = (
        "<QualificationValueMapping><RangeMapping>"
        "<SummedScoreRange><InclusiveLowerBound>0</InclusiveLowerBound><InclusiveUpperBound>5</InclusiveUpperBound>"
        "<QualificationValue>1</QualificationValue></SummedScoreRange>"
        "<SummedScoreRange><InclusiveLowerBound>6</InclusiveLowerBound><InclusiveUpperBound>14</InclusiveUpperBound>"
        "<QualificationValue>2</QualificationValue></SummedScoreRange>"
        "<OutOfRangeQualificationValue>9</OutOfRangeQualificationValue></RangeMapping></QualificationValueMapping>"
    )
    assert score(key(TWO, ranges), {"a": ["y"]}) == 1
    assert score(key(TWO, ranges), {"a": ["x"]}) == 2
    assert score(key(TWO, ranges), {"a": ["x"], "b": ["p", "q"]}) == 9  # 15: out of every range


def test_answers_are_question_form_answers_xml_escaped() -> None:
    xml = answers_xml([("choice", "a"), ("choice", "b"), ("note", "<b> & 'c'")], {"choice"})
    assert "<SelectionIdentifier>a</SelectionIdentifier><SelectionIdentifier>b</SelectionIdentifier>" in xml
    assert "<FreeText>&lt;b&gt; &amp; 'c'</FreeText>" in xml


def test_the_completion_url_gets_the_code_as_cc() -> None:
    assert completion_target("https://p.example/done?src=x&cc=OLD", "C0DE") == "https://p.example/done?src=x&cc=C0DE"
    assert completion_target("https://p.example/done", "C0DE") == "https://p.example/done?cc=C0DE"


def test_the_payout_csv_has_every_column_and_no_formula() -> None:
    line = {
        "payout_id": 1,
        "worker_id": "AW1",
        "worker_name": "@ana",
        "email": "=x@example.org",
        "requester_id": "AR1",
        "requester_name": "Lab",
        "items": 2,
        "amount": Decimal("0.3"),
    }
    (row,) = list(csv.DictReader(io.StringIO(payout_csv([line]))))
    assert row == {
        **{k: str(v) for k, v in line.items()},
        "email": "'=x@example.org",
        "worker_name": "'@ana",
        "amount": "0.30",
    }


def test_settings_default_to_no_email_and_no_open_sign_up() -> None:
    settings = WorkforceSettings.from_env({})
    assert not settings.email_on and not settings.open_signup
    assert Mailer(settings).send([Mail("a@example.org", "s", "b")]) == {0: "e-mail is off (no HITFLOW_SMTP_HOST)"}
    on = WorkforceSettings.from_env(
        {"HITFLOW_SMTP_HOST": "mail", "HITFLOW_SMTP_FROM": "h@example.org", "HITFLOW_SMTP_TLS": "ssl"}
    )
    assert on.email_on and on.smtp_port == 465
    assert WorkforceSettings.from_env({"HITFLOW_HIT_SERVICE_OPEN_SIGNUP": "1"}).open_signup


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HITFLOW_SMTP_HOST": "mail"}, "HITFLOW_SMTP_FROM"),
        ({"HITFLOW_SMTP_HOST": "mail", "HITFLOW_SMTP_FROM": "h@x.org", "HITFLOW_SMTP_TLS": "maybe"}, "TLS"),
        ({"HITFLOW_SMTP_HOST": "mail", "HITFLOW_SMTP_FROM": "h@x.org", "HITFLOW_SMTP_PORT": "99999"}, "PORT"),
    ],
)
def test_bad_smtp_settings_refuse_to_start(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        WorkforceSettings.from_env(env)


def test_an_unreachable_smtp_server_fails_each_message_without_raising() -> None:
    from hitflow_support.service_process import free_port

    settings = WorkforceSettings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_from="h@example.org")
    failed = Mailer(settings).send([Mail("a@example.org", "s", "b"), Mail("b@example.org", "s", "b")])
    assert set(failed) == {0, 1} and "unreachable" in failed[0]


def test_invitation_forms_are_checked() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    parsed = parse_invitation_form({"max_uses": "3", "days": "2", "grant_type": "T1", "grant_value": "-2"}, now)
    assert parsed["max_uses"] == 3 and parsed["expires_at"] == datetime(2026, 12, 3, tzinfo=UTC)
    assert [(g.type_id, g.value) for g in parsed["grants"]] == [("T1", -2)]
    assert parse_invitation_form({}, now) == {"label": "", "max_uses": None, "expires_at": None, "grants": []}
    for bad in ({"max_uses": "1.5"}, {"days": "0"}, {"days": "x"}, {"grant_type": "T", "grant_value": "y"}):
        with pytest.raises(IdentityError):
            parse_invitation_form(bad, now)
