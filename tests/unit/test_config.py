from __future__ import annotations

import pytest

from hitflow.publish.batch_config import PARAM_SPECS, ConfigError, PublishConfig, resolve_config


def test_defaults_resolve() -> None:
    config = resolve_config({name: spec["default"] for name, spec in PARAM_SPECS.items()})
    assert config == PublishConfig()
    assert config.creates_hits and not config.exports_csv


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"reward": "$0.10"}, "reward"),
        ({"reward": "0.105"}, "reward"),
        ({"reward": "0.00"}, "at least 0.01"),
        ({"max_assignments": 0}, "max_assignments"),
        ({"lifetime_seconds": 10}, "lifetime_seconds"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"mode": "ftp"}, "mode"),
        ({"layout_id": "not a layout"}, "layout_id"),
        ({"max_rows": -5}, "max_rows"),
        ({"dry_run": "yes"}, "dry_run"),
        ({"title": "x" * 129}, "title"),
    ],
)
def test_bad_values_are_refused_with_the_parameter_named(params: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        resolve_config(params)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        resolve_config({"reward": "abc", "max_assignments": 0})
    assert "reward" in str(err.value) and "max_assignments" in str(err.value)


def test_modes() -> None:
    assert resolve_config({"mode": "csv"}).exports_csv and not resolve_config({"mode": "csv"}).creates_hits
    both = resolve_config({"mode": "both"})
    assert both.exports_csv and both.creates_hits
    dry = resolve_config({"mode": "both", "dry_run": True})
    assert not dry.exports_csv and not dry.creates_hits


def test_scope_is_decided_by_the_run_type_not_by_the_interval() -> None:
    from datetime import UTC, datetime

    from hitflow.publish.batch_store import Scope, ScopeError

    day = (datetime(2026, 11, 29, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    # The UI's Trigger dialog gives a manual run an inferred interval: it still takes every pending row.
    assert Scope.for_run("manual", "pending", *day) == Scope()
    assert Scope.for_run("manual", "interval", *day) == Scope(*day)
    with pytest.raises(ScopeError, match="scope=pending"):
        Scope.for_run("manual", "interval", None, None)
    for run_type in ("scheduled", "backfill"):
        assert Scope.for_run(run_type, "pending", *day) == Scope(*day)  # the param is for manual runs
    assert Scope.for_run("asset_triggered", "interval", None, None) == Scope()


def test_scope_param_is_an_enum() -> None:
    assert resolve_config({"scope": "interval"}).scope == "interval"
    with pytest.raises(ConfigError, match="scope"):
        resolve_config({"scope": "yesterday"})
