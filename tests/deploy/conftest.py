"""The deploy layer: docker-compose.yaml on the real Docker engine (README, "Deploy").

It builds and starts a dozen containers and takes many minutes, so it runs from
``make compose-test`` (which makes sure an engine answers and the images exist) rather than from
``make test``: ``HITFLOW_COMPOSE_TEST=1`` turns it on. Without it the module is not collected and
a line in the summary says so. The images come from ``HITFLOW_COMPOSE_IMAGES`` (``local``, the
default: the ones ``make images`` builds; ``official``: the compose file's defaults).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.stack import ComposeStack, compose_command
from tests.stages import keep_file_order

HERE = Path(__file__).resolve().parent
ENABLED = os.environ.get("HITFLOW_COMPOSE_TEST", "").strip().lower() in ("1", "true", "yes")
collect_ignore_glob = [] if ENABLED else ["test_*.py"]
LOCAL_IMAGES = {
    "AIRFLOW_BASE_IMAGE": "hitflow-airflow-base:3.3.2-python3.11",
    "POSTGRES_IMAGE": "hitflow-postgres:15-bookworm",
    "REDIS_IMAGE": "hitflow-redis:7-bookworm",
}
TIMINGS_FILE = "compose-test-timings.json"  # {"timings": {...}, "facts": {...}}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Stages of one story on one stack (up, publish, collect, scale, faults): keep them in file
    order (files by name) when pytest-randomly shuffles the rest."""
    keep_file_order(items, HERE)


_STACKS: list[ComposeStack] = []
_FAILURES: list[str] = []


@pytest.fixture(scope="session")
def stack() -> Iterator[ComposeStack]:
    kept = os.environ.get("HITFLOW_COMPOSE_ROOT")  # run more stages on a stack kept by an earlier run
    if kept:
        stack = ComposeStack.attach(Path(kept), compose_command())
    else:
        images = {} if os.environ.get("HITFLOW_COMPOSE_IMAGES", "local") == "official" else LOCAL_IMAGES
        stack = ComposeStack.prepare(compose_command(), images)
    _STACKS.append(stack)
    try:
        yield stack
    finally:
        record = {"timings": stack.timings, "facts": stack.facts}
        (stack.root.parent / TIMINGS_FILE).write_text(json.dumps(record, indent=2))
        if os.environ.get("HITFLOW_COMPOSE_KEEP") != "1":
            stack.down()
            if not _FAILURES:
                shutil.rmtree(stack.root.parent, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    stack = getattr(item, "funcargs", {}).get("stack")
    if report.failed:
        _FAILURES.append(item.nodeid)
        if isinstance(stack, ComposeStack):
            try:
                report.sections.append(("compose stack", stack.diagnostics()))
            except Exception as exc:  # diagnostics must not hide the failure
                report.sections.append(("compose stack", f"(diagnostics failed: {exc})"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not ENABLED:
        terminalreporter.write_line(
            "tests/deploy not collected: it runs docker-compose.yaml on a Docker engine; `make compose-test` runs it"
        )
        return
    for stack in _STACKS:
        terminalreporter.write_line(f"compose-test timings (s): {json.dumps(stack.timings)}")
        for name, fact in stack.facts.items():
            terminalreporter.write_line(f"compose-test {name}: {json.dumps(fact)}")
        if stack.root.exists():
            terminalreporter.write_line(f"compose-test files kept: {stack.root}")
