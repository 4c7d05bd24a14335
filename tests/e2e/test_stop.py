"""Last of the end-to-end run (files run in name order): stopping everything by PID leaves no
process of the run behind."""

from __future__ import annotations

import time

import pytest
import requests

from hitflow_support.airflow_stack import Stack


def test_stopping_by_pid_leaves_nothing_running(stack: Stack) -> None:
    pids = {c.name: c.pid for c in stack.components} | {"hit_service": stack.hit_service.pid}
    api_url = stack.api_url
    t = time.monotonic()
    report = stack.stop()
    stack.timings["stop"] = time.monotonic() - t
    assert stack.leftovers() == [], f"processes of the run still alive: {stack.leftovers()}"
    import psutil

    alive = {
        name: pid
        for name, pid in pids.items()
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    }
    assert alive == {}, f"still running: {alive}"
    assert not report.get("leftovers_killed"), f"had to kill processes outside the components' trees: {report}"
    assert report["killed"] == {}, f"processes that ignored SIGTERM and were killed: {report['killed']}"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{api_url}/api/v2/monitor/health", timeout=3)
