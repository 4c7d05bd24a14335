"""The end-to-end layer: a real Airflow (api-server, scheduler, dag-processor, triggerer, a Celery
worker) on PostgreSQL and Redis, plus the HIT service, driven as users drive it.

It takes about five minutes, so it runs from ``make e2e`` (which ``make test`` runs) rather than
from every ``pytest`` call: ``HITFLOW_E2E=1`` turns it on. Without it, the module is not
collected and a line in the summary says so. Nothing here skips for a missing service: Redis
is started if nothing answers on 127.0.0.1:6379, PostgreSQL comes from ``HITFLOW_TEST_PG_URL``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hitflow_support.airflow_stack import Stack
from tests.e2e import plan as e2e_plan
from tests.stages import keep_file_order

HERE = Path(__file__).resolve().parent
ENABLED = os.environ.get("HITFLOW_E2E", "").strip().lower() in ("1", "true", "yes")
collect_ignore_glob = [] if ENABLED else ["test_*.py"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The e2e tests are stages of one story (publish, backfill, reprocess, schedule): keep them in
    file order when pytest-randomly shuffles the rest of the suite (it reorders before this hook)."""
    keep_file_order(items, HERE)


_STACKS: list[Stack] = []
_FAILURES: list[str] = []


@pytest.fixture(scope="session")
def plan() -> e2e_plan.Plan:
    return e2e_plan.Plan.for_today()


@pytest.fixture(scope="session")
def stack(plan: e2e_plan.Plan) -> Iterator[Stack]:
    """Everything started once for the session; stopped (by PID) and its databases dropped after."""
    stack = Stack()
    _STACKS.append(stack)
    try:
        stack.start(plan.seed)
    except BaseException as exc:
        diagnostics = stack.diagnostics()
        stack.stop()
        pytest.fail(f"could not start the e2e stack: {exc}\n{diagnostics}", pytrace=False)
    try:
        yield stack
    finally:
        stack.stop()
        if not _FAILURES:  # keep the logs only when something failed
            shutil.rmtree(stack.root, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """On a failure, attach the tail of every component's log to the report."""
    outcome = yield
    report = outcome.get_result()
    stack = getattr(item, "funcargs", {}).get("stack")
    if report.failed:
        _FAILURES.append(item.nodeid)
    if report.failed and isinstance(stack, Stack) and stack.root.exists():
        report.sections.append(("airflow component logs", stack.diagnostics()))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not ENABLED:
        terminalreporter.write_line(
            "tests/e2e not collected: the end-to-end run starts a whole Airflow; `make e2e` (or HITFLOW_E2E=1) runs it"
        )
        return
    for stack in _STACKS:
        terminalreporter.write_line(
            f"e2e timings (s): {json.dumps({k: round(v, 1) for k, v in stack.timings.items()})}"
        )
        if stack.root.exists():
            terminalreporter.write_line(f"e2e logs kept (a step failed): {stack.logs}")
