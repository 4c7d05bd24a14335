from __future__ import annotations

from hitflow.publish.batch_config import PARAM_SPECS
from hitflow.publish.runlog import params_line

DEFAULTS = {name: spec["default"] for name, spec in PARAM_SPECS.items()}


def test_a_form_posting_every_param_names_only_those_that_differ() -> None:
    """The Trigger form posts all sixteen params; the line names the two the user changed."""
    conf = DEFAULTS | {"reward": "0.15", "chunk_size": 1}
    line = params_line("manual", "manual__x", PARAM_SPECS, conf, conf)
    expected = "params changed from the defaults: reward='0.15', chunk_size=1 (from the run's conf)"
    assert line == f"manual run manual__x: {expected}"


def test_every_default_posted_says_so() -> None:
    line = params_line("manual", "m", PARAM_SPECS, DEFAULTS, DEFAULTS)
    assert "every param at its default (from the run's conf)" in line and "max_assignments" not in line


def test_a_backfill_without_conf_says_why_in_its_first_line() -> None:
    line = params_line("backfill", "backfill__d", PARAM_SPECS, DEFAULTS, {})
    assert line.startswith("backfill run backfill__d: every param at its default")
    assert "'Override parameters on existing runs'" in line
    scheduled = params_line("scheduled", "scheduled__d", PARAM_SPECS, DEFAULTS, {})
    assert "Override" not in scheduled and "the run has no conf" in scheduled
