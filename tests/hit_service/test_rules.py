"""Pure rules without HTTP or a database: tokens, questions, layouts, config, faults (fees: test_fees)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest

from hit_service.api.auth import KeyRing
from hit_service.api.faults import FaultConfig, Faults
from hit_service.api.responses import MTurkResponses
from hit_service.core import layouts, question_xml
from hit_service.core.exceptions import (
    HIT_LAYOUT_DOES_NOT_EXIST,
    MISSING_PARAMETERS,
    PARAMETER_OUT_OF_RANGE,
    XML_PARSE_ERROR,
    RequestError,
    ServiceFault,
    ThrottlingException,
    stamp,
)
from hit_service.core.models import decode_next_token, encode_next_token, new_id
from hit_service.settings import Settings, SettingsError
from tests.hit_service.helpers import external_question, html_question

D = Decimal


def test_ids_look_like_mturk() -> None:
    ids = {new_id() for _ in range(200)}
    assert len(ids) == 200
    for value in ids:
        assert len(value) == 30
        assert value.isalnum() and value.upper() == value


def test_next_token_round_trip_and_garbage() -> None:
    key = b"k" * 32
    moment = datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC)
    token = encode_next_token(key, moment, "3ABC")
    assert decode_next_token(key, token) == (moment, "3ABC")
    forged = token.partition(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAA"
    for bad in ["x", "!!!!", "eyJ2IjoyfQ", token[:-3], forged, token + "A"]:
        with pytest.raises(RequestError) as info:
            decode_next_token(key, bad)
        assert info.value.turk_error_code == PARAMETER_OUT_OF_RANGE
    with pytest.raises(RequestError):
        decode_next_token(b"another key" * 3, token)  # signed with the service's key only


def test_error_bodies() -> None:
    body = RequestError("Hit 3X does not exist.", "AWS.MechanicalTurk.HITDoesNotExist").to_body()
    assert body["__type"] == "RequestError"
    assert body["TurkErrorCode"] == "AWS.MechanicalTurk.HITDoesNotExist"
    assert body["Message"].startswith("Hit 3X does not exist. (")
    assert stamp("m", 1624047673969) == "m (1624047673969)"
    assert ServiceFault("x", "y").status_code == 500
    assert ThrottlingException().to_body() == {"__type": "ThrottlingException", "Message": "Rate exceeded"}
    assert ThrottlingException().status_code == 400


# -- questions --------------------------------------------------------------------------------


def test_questions_parse() -> None:
    parsed = question_xml.parse_question(html_question("<b>hi</b>", height=300))
    assert parsed.kind == "HTMLQuestion"
    assert "<b>hi</b>" in (parsed.html or "")
    assert parsed.frame_height == 300
    parsed = question_xml.parse_question(external_question())
    assert parsed.kind == "ExternalQuestion"
    assert parsed.external_url == "https://example.org/task?x=1"
    form = (
        '<QuestionForm xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/'
        '2017-11-06/QuestionForm.xsd"><Question/></QuestionForm>'
    )
    assert question_xml.parse_question(form).kind == "QuestionForm"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<HTMLQuestion", "not well-formed"),
        ("just text", "not well-formed"),
        ("<html><body/></html>", "root element is <html>"),
        ("<HTMLQuestion><HTMLContent>x</HTMLContent></HTMLQuestion>", "namespace"),
        (html_question().replace("HTMLQuestion.xsd", "ExternalQuestion.xsd"), "namespace"),
        (html_question().replace("<FrameHeight>450</FrameHeight>", ""), "FrameHeight"),
        (html_question().replace("450", "tall"), "FrameHeight"),
        (external_question("http://example.org/"), "https://"),
        ('<!DOCTYPE x [<!ENTITY a "b">]>' + html_question(), "DOCTYPE"),
    ],
)
def test_bad_questions(text: str, fragment: str) -> None:
    with pytest.raises(RequestError) as info:
        question_xml.parse_question(text)
    assert info.value.turk_error_code == XML_PARSE_ERROR
    assert fragment in info.value.message
    assert info.value.message.startswith("The Question parameter is not valid")


def test_html_question_wraps_cdata_terminators() -> None:
    wrapped = question_xml.html_question("<p>a]]>b</p>", 10)
    assert question_xml.parse_question(wrapped).html == "<p>a]]>b</p>"


# -- layouts ----------------------------------------------------------------------------------


def test_layout_render_escapes_and_checks(tmp_path: Path) -> None:
    (tmp_path / "3L.html").write_text("<p>${a}</p><img src='${b}'>${a}")
    template = layouts.load_layout(tmp_path, "3L")
    assert layouts.placeholders(template) == ["a", "b"]
    out = layouts.render("3L", template, {"a": "<script>x</script>", "b": "it's"})
    assert out == "<p>&lt;script&gt;x&lt;/script&gt;</p><img src='it&#x27;s'>&lt;script&gt;x&lt;/script&gt;"
    with pytest.raises(RequestError) as info:
        layouts.render("3L", template, {"a": "1"})
    assert info.value.turk_error_code == MISSING_PARAMETERS
    assert "${b}" in info.value.message
    with pytest.raises(RequestError) as info:
        layouts.render("3L", template, {"a": "1", "b": "2", "c": "3"})
    assert "c" in info.value.message
    with pytest.raises(RequestError) as info:
        layouts.parameters_dict("3L", [{"Name": "a", "Value": "1"}, {"Name": "a", "Value": "2"}])
    assert "more than once" in info.value.message
    for bad in ["3NOPE", "../3L", "3l"]:
        with pytest.raises(RequestError) as info:
            layouts.load_layout(tmp_path, bad)
        assert info.value.turk_error_code == HIT_LAYOUT_DOES_NOT_EXIST


def test_layout_edits_and_removals_are_seen_after_the_cache_window(tmp_path: Path) -> None:
    layout = tmp_path / "3EDIT.html"
    layout.write_text("v1 ${a}")
    assert layouts.load_layout(tmp_path, "3EDIT", now=100.0) == "v1 ${a}"
    layout.write_text("v2 ${a}")
    assert layouts.load_layout(tmp_path, "3EDIT", now=101.0) == "v1 ${a}"  # still cached
    later = 101.0 + layouts.LAYOUT_CACHE_SECONDS
    assert layouts.load_layout(tmp_path, "3EDIT", now=later) == "v2 ${a}"
    layout.unlink()
    with pytest.raises(RequestError) as info:
        layouts.load_layout(tmp_path, "3EDIT", now=later + layouts.LAYOUT_CACHE_SECONDS)
    assert info.value.turk_error_code == HIT_LAYOUT_DOES_NOT_EXIST
    (tmp_path / "3DIR.html").mkdir()
    with pytest.raises(RequestError):
        layouts.load_layout(tmp_path, "3DIR")


# -- config and faults ------------------------------------------------------------------------


def test_settings_from_env(tmp_path: Path) -> None:
    settings = Settings.from_env({"HITFLOW_HIT_SERVICE_DB_URL": "postgresql://u@h/db"})
    assert settings.port == 8100
    assert settings.host == "127.0.0.1"
    assert settings.test_mode is False
    assert settings.initial_balance == D("10000.00")
    assert settings.layouts_dir.parts[-2:] == ("include", "layouts")
    settings = Settings.from_env(
        {
            "HITFLOW_HIT_SERVICE_DB_URL": "postgresql://u@h/db",
            "HITFLOW_HIT_SERVICE_PORT": "9000",
            "HITFLOW_HIT_SERVICE_TEST_MODE": "1",
            "HITFLOW_LAYOUTS_DIR": str(tmp_path),
            "HITFLOW_HIT_SERVICE_INITIAL_BALANCE": "5.5",
            "HITFLOW_HIT_SERVICE_LATENCY_MS": "25",
        }
    )
    assert (settings.port, settings.test_mode, settings.layouts_dir) == (9000, True, tmp_path)
    assert settings.initial_balance == D("5.50")
    assert settings.latency_ms == 25
    for env in [
        {},
        {"HITFLOW_HIT_SERVICE_DB_URL": "mysql://x"},
        {"HITFLOW_HIT_SERVICE_DB_URL": "postgresql://x/y", "HITFLOW_HIT_SERVICE_PORT": "http"},
        {"HITFLOW_HIT_SERVICE_DB_URL": "postgresql://x/y", "HITFLOW_HIT_SERVICE_INITIAL_BALANCE": "$5"},
    ]:
        with pytest.raises(SettingsError):
            Settings.from_env(env)


def test_fault_config_validation() -> None:
    assert FaultConfig.from_json({}) == FaultConfig()
    for bad in [{"throttle_rate": 2}, {"latency_ms": -1}, {"nope": 1}, {"fail_creates_after": "3"}, []]:
        with pytest.raises((ValueError, TypeError)):
            FaultConfig.from_json(bad)


def test_faults_off_outside_test_mode() -> None:
    faults = Faults(enabled=False, initial_latency_ms=5)
    faults.replace(FaultConfig(service_fault_rate=1.0, fail_creates_after=0, fail_creates_count=5))
    faults.before_call()
    faults.before_create("CreateHIT")
    faults.after_create("CreateHIT")
    assert faults.latency_seconds == 0.0  # replaced; the env latency applies at startup only


def test_fail_creates_after_is_deterministic() -> None:
    faults = Faults(enabled=True)
    faults.replace(FaultConfig(fail_creates_after=2, fail_creates_count=2))
    outcomes = []
    for _ in range(5):
        try:
            faults.before_create("CreateHITWithHITType")
        except ServiceFault:
            outcomes.append("fault")
            continue
        faults.after_create("CreateHITWithHITType")
        outcomes.append("ok")
    assert outcomes == ["ok", "ok", "fault", "fault", "ok"]
    faults.before_create("GetHIT")  # other operations are never failed this way


def test_rate_limit_bucket_refills_per_requester(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token bucket on a clock the test moves: burst, refill, cap and per-requester buckets."""
    from hit_service.api import faults as faults_module

    now = [1000.0]
    monkeypatch.setattr(faults_module.time, "monotonic", lambda: now[0])
    faults = Faults(enabled=True)
    faults.replace(FaultConfig(rate_limit_per_second=2))

    def calls(requester: str, n: int) -> list[str]:
        seen = []
        for _ in range(n):
            try:
                faults.check_rate(requester)
                seen.append("ok")
            except ThrottlingException:
                seen.append("throttled")
        return seen

    assert calls("A", 3) == ["ok", "ok", "throttled"]  # burst: one second's worth
    assert calls("B", 1) == ["ok"]  # B's bucket is its own
    now[0] += 0.5  # half a second refills one token at 2 per second
    assert calls("A", 2) == ["ok", "throttled"]
    now[0] += 60  # a long pause refills no more than the burst
    assert calls("A", 3) == ["ok", "ok", "throttled"]
    faults.replace(FaultConfig())  # no limit
    assert calls("A", 5) == ["ok"] * 5


def test_seeded_rates_repeat() -> None:
    def run() -> list[bool]:
        faults = Faults(enabled=True)
        faults.replace(FaultConfig(service_fault_rate=0.5, seed=7))
        seen = []
        for _ in range(40):
            try:
                faults.before_call()
                seen.append(True)
            except ServiceFault:
                seen.append(False)
        return seen

    first = run()
    assert first == run()
    assert 5 < first.count(False) < 35


class _Broken:
    """A backend whose every method fails unexpectedly."""

    def handlers(self) -> dict[str, Any]:
        return {"GetHIT": self.get_hit}

    def __getattr__(self, name: str) -> Any:
        def fail(*_args: Any, **_kwargs: Any) -> Any:
            raise RuntimeError("internal detail that must not reach the client")

        return fail


def test_unexpected_errors_become_a_generic_service_fault(caplog: pytest.LogCaptureFixture) -> None:
    responses = MTurkResponses(cast(Any, _Broken()), Faults(enabled=False), KeyRing(lambda _key: None))
    with caplog.at_level(logging.ERROR, logger="hit_service.api"):
        status, body = responses.handle(
            "MTurkRequesterServiceV20170117.GetHIT", b'{"HITId": "3A"}', "AKIADONOTLOGME000001"
        )
    assert status == 500
    data = json.loads(body)
    assert data["__type"] == "ServiceFault"
    assert data["TurkErrorCode"] == "AWS.MechanicalTurk.InternalError"
    assert "internal detail" not in data["Message"]
    assert "RuntimeError" in caplog.text and "GetHIT" in caplog.text
    assert "AKIADONOTLOGME" not in caplog.text
