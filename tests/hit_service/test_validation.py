"""validation.py against botocore's model, without HTTP or a database."""

from __future__ import annotations

from typing import Any

import pytest

from hit_service.api import validation
from hit_service.core.exceptions import MISSING_PARAMETERS, PARAMETER_OUT_OF_RANGE, RequestError
from tests.hit_service.helpers import hit_args, hit_type_args


def rejects(operation: str, params: Any) -> RequestError:
    with pytest.raises(RequestError) as info:
        validation.validate(operation, params)
    return info.value


def test_model_has_all_39_operations() -> None:
    names = validation.operation_names()
    assert len(names) == 39
    assert {"CreateHIT", "CreateHITWithHITType", "GetHIT", "ListHITs", "GetAccountBalance"} <= set(names)


@pytest.mark.parametrize("operation", validation.operation_names())
def test_every_operation_can_be_validated(operation: str) -> None:
    """Generic: each operation either takes {} or names its missing required members."""
    shape = validation.operation_model(operation).input_shape
    required = shape.required_members if shape is not None else []
    if required:
        error = rejects(operation, {})
        assert error.turk_error_code == MISSING_PARAMETERS
        for name in required:
            assert f"'{name}'" in error.message
    else:
        assert validation.validate(operation, {}) == {}


def test_valid_create_hit_passes_and_drops_nulls() -> None:
    params = hit_args(RequesterAnnotation=None)
    cleaned = validation.validate("CreateHIT", params)
    assert "RequesterAnnotation" not in cleaned
    assert cleaned["Reward"] == "0.10"


@pytest.mark.parametrize("reward", ["$0.10", "0.105", "-1", "1,00", "0.10\n", ""])
def test_reward_pattern(reward: str) -> None:
    error = rejects("CreateHIT", hit_args(Reward=reward))
    assert error.turk_error_code == PARAMETER_OUT_OF_RANGE
    assert "'Reward'" in error.message
    assert "^[0-9]+(\\.)?[0-9]{0,2}$" in error.message


@pytest.mark.parametrize("reward", ["0.10", "1", "1.", "12.5", "0.00"])
def test_reward_pattern_accepts(reward: str) -> None:
    validation.validate("CreateHIT", hit_args(Reward=reward))


def test_missing_title_is_missing_parameters() -> None:
    params = hit_args()
    del params["Title"]
    error = rejects("CreateHIT", params)
    assert error.turk_error_code == MISSING_PARAMETERS
    assert "'Title'" in error.message


def test_unknown_member() -> None:
    error = rejects("GetHIT", {"HITId": "3ABC", "HitId": "3ABC"})
    assert error.turk_error_code == PARAMETER_OUT_OF_RANGE
    assert "'HitId' is not a member of GetHITRequest" in error.message


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"MaxResults": "10"}, "Member must be an integer"),
        ({"MaxResults": True}, "Member must be an integer"),
        ({"MaxResults": 0}, "greater than or equal to 1"),
        ({"MaxResults": 101}, "less than or equal to 100"),
        ({"NextToken": ""}, "length greater than or equal to 1"),
        ({"NextToken": 5}, "Member must be a string"),
    ],
)
def test_list_hits_types_and_ranges(params: dict[str, Any], fragment: str) -> None:
    error = rejects("ListHITs", params)
    assert fragment in error.message
    assert error.turk_error_code == PARAMETER_OUT_OF_RANGE


def test_entity_id_pattern_and_length() -> None:
    assert "regular expression" in rejects("GetHIT", {"HITId": "3abc"}).message
    assert "less than or equal to 64" in rejects("GetHIT", {"HITId": "3" * 65}).message


def test_nested_structures_enums_and_booleans() -> None:
    requirement = {"QualificationTypeId": "00000000000000000071", "Comparator": "Roughly"}
    error = rejects("CreateHITType", hit_type_args(QualificationRequirements=[requirement]))
    assert "QualificationRequirements[0].Comparator" in error.message
    assert "enum value set" in error.message
    requirement = {"QualificationTypeId": "X", "Comparator": "Exists", "RequiredToPreview": "yes"}
    error = rejects("CreateHITType", hit_type_args(QualificationRequirements=[requirement]))
    assert "Member must be a boolean" in error.message
    error = rejects("CreateHITType", hit_type_args(QualificationRequirements=[{"Comparator": "Exists"}]))
    assert error.turk_error_code == MISSING_PARAMETERS
    assert "QualificationRequirements[0].QualificationTypeId" in error.message
    error = rejects("CreateHITType", hit_type_args(QualificationRequirements={"a": 1}))
    assert "Member must be a list" in error.message


def test_timestamps_accept_epoch_and_iso_only() -> None:
    validation.validate("UpdateExpirationForHIT", {"HITId": "3A", "ExpireAt": 1700000000.5})
    validation.validate("UpdateExpirationForHIT", {"HITId": "3A", "ExpireAt": "2026-11-28T12:00:00Z"})
    assert "timestamp" in rejects("UpdateExpirationForHIT", {"HITId": "3A", "ExpireAt": "tomorrow"}).message
    assert "timestamp" in rejects("UpdateExpirationForHIT", {"HITId": "3A", "ExpireAt": [1]}).message


def test_integer_and_long_width() -> None:
    assert "32-bit" in rejects("CreateHIT", hit_args(MaxAssignments=2**31)).message
    assert "64-bit" in rejects("CreateHIT", hit_args(LifetimeInSeconds=2**63)).message


@pytest.mark.parametrize(
    ("member", "value", "fragment"),
    [
        ("Title", "t" * 129, "less than or equal to 128"),
        ("Title", "", "greater than or equal to 1"),
        ("Description", "d" * 2001, "less than or equal to 2000"),
        ("Keywords", "k" * 1001, "less than or equal to 1000"),
        ("LifetimeInSeconds", 29, "greater than or equal to 30"),
        ("LifetimeInSeconds", 31_536_001, "less than or equal to 31536000"),
        ("AssignmentDurationInSeconds", 10, "greater than or equal to 30"),
        ("AutoApprovalDelayInSeconds", 2_592_001, "less than or equal to 2592000"),
        ("MaxAssignments", 0, "greater than or equal to 1"),
        ("Question", "é" * 40_000, "at most 65535 bytes"),
        ("RequesterAnnotation", "a" * 256, "less than or equal to 255"),
    ],
)
def test_documented_mturk_limits(member: str, value: Any, fragment: str) -> None:
    error = rejects("CreateHIT", hit_args(**{member: value}))
    assert f"'{member}'" in error.message
    assert fragment in error.message


def test_at_most_ten_qualification_requirements() -> None:
    requirement = {"QualificationTypeId": "00000000000000000071", "Comparator": "Exists"}
    error = rejects("CreateHITType", hit_type_args(QualificationRequirements=[requirement] * 11))
    assert "less than or equal to 10" in error.message


def test_several_errors_are_all_reported() -> None:
    error = rejects("CreateHIT", hit_args(Reward="$1", MaxAssignments=0))
    assert error.message.startswith("2 validation errors detected")


def test_operation_without_input_rejects_members() -> None:
    error = rejects("GetAccountBalance", {"Foo": 1})
    assert "'Foo' is not a member of GetAccountBalanceRequest" in error.message


def test_long_values_are_truncated_in_messages() -> None:
    error = rejects("CreateHIT", hit_args(Reward="9" * 500 + "x"))
    assert len(error.message) < 400


def test_every_operation_has_a_handler() -> None:
    from decimal import Decimal
    from pathlib import Path

    from hit_service.core.clock import SystemClock
    from hit_service.core.models import MTurkBackend

    backend = MTurkBackend(None, SystemClock(), Path("."), Decimal("1"))  # type: ignore[arg-type]
    from hit_service.api.validation import operation_names

    assert sorted(backend.handlers()) == sorted(operation_names())
