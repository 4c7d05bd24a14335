"""CSV files as people save them: delimiters, encodings, extra columns, and rows published before.

Driven through the console's real forms (``ConsoleClient``) and checked through boto3.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from hit_service.console import csvfiles
from hitflow_support.console_client import ConsoleClient, ConsoleError
from hitflow_support.crowd_client import submit_answer_over_http
from hitflow_support.service_process import ServiceProcess

pytestmark = pytest.mark.integration


def rows(
    numbers: range, *, sep: str = ",", eol: str = "\n", order: tuple[str, ...] = ("person_id", "image_url")
) -> str:
    values = {"person_id": "P{}", "image_url": "https://img.example.org/{}.jpg"}
    lines = [sep.join(order)] + [sep.join(values[c].format(i) for c in order) for i in numbers]
    return eol.join(lines) + eol


def batch_hits(client: Any, batch_id: int) -> list[dict[str, Any]]:
    hits, token = [], None
    while True:
        page = client.list_hits(MaxResults=100, **({"NextToken": token} if token else {}))
        hits += [h for h in page["HITs"] if h["RequesterAnnotation"] == f"BatchId:{batch_id};"]
        token = page.get("NextToken")
        if not token:
            return hits


def test_semicolon_tab_and_utf16_files_are_read_and_extra_columns_kept(
    account: dict[str, Any], new_worker: Any, service: ServiceProcess
) -> None:
    console: ConsoleClient = account["console"]
    client = account["client"]
    layout_id = console.create_project("age_guess", max_assignments="1")
    # Excel in much of Europe: semicolons, a BOM, CRLF, and a column the template does not use.
    data = "\ufeffperson_id;notes;image_url\r\nP1;=1+1 checked;https://img.example.org/1.jpg\r\nP2;;https://img.example.org/2.jpg\r\n"
    batch_id = console.upload(layout_id, data.encode("utf-8"), "semicolons")
    page = console.get(f"/requester/batches/{batch_id}/confirm").text
    assert 'id="delimiter">semicolon<' in page and "<code>notes</code>" in page
    console.publish(batch_id)
    assert console.wait_published(batch_id)["created"] == 2
    hits = batch_hits(client, batch_id)
    assert all("checked" not in h["Question"] for h in hits)  # not a layout parameter
    assert any("img.example.org/1.jpg" in h["Question"] for h in hits)
    worker = new_worker()
    for hit in hits:
        submit_answer_over_http(service.url, worker["name"], worker["password"], hit["HITId"], {"age": "33"})
    results = list(csv.DictReader(io.StringIO(console.results_csv(batch_id))))
    assert sorted((r["Input.person_id"], r["Input.notes"]) for r in results)[0][0] == "P1"
    assert {r["Input.person_id"]: r["Input.notes"] for r in results}["P2"] == ""
    assert "checked" in {r["Input.person_id"]: r["Input.notes"] for r in results}["P1"]

    # The reviewed file saved back with semicolons is read too.
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(results[0]), delimiter=";")
    writer.writeheader()
    for r in results:
        writer.writerow({**r, "Approve": "X"})
    page = console.post(
        f"/requester/batches/{batch_id}/reviewed", files={"file": ("r.csv", out.getvalue().encode(), "text/csv")}
    ).text
    assert "2 applied · 0 skipped (already done) · 0 failed" in page

    # Empty columns after the last one (as spreadsheets save them) are ignored; a value there is not.
    trailing = b"person_id;image_url;;\r\nP7;https://img.example.org/7.jpg;;\r\n"
    assert console.upload(layout_id, trailing, "trailing")
    with pytest.raises(ConsoleError) as refused:
        console.upload(layout_id, b"person_id;image_url;;\nP7;https://img.example.org/7.jpg;;x\n", "trailing value")
    assert "3 value(s), but the header has 2" in str(refused.value) or "4 value(s)" in str(refused.value)

    # Excel's "Unicode Text": UTF-16 with a BOM, tab-separated.
    tab_id = console.upload(layout_id, rows(range(3, 5), sep="\t", eol="\r\n").encode("utf-16"), "tabs")
    assert 'id="delimiter">tab<' in console.get(f"/requester/batches/{tab_id}/confirm").text
    # A file whose header matches under no delimiter says how it was read.
    with pytest.raises(ConsoleError) as refused:
        console.upload(layout_id, b"person_id|image_url\nP1|https://x/1.jpg\n", "pipes")
    assert "read as comma-separated" in str(refused.value)


def test_rows_published_before_are_found_by_value_and_only_new_ones_published(account: dict[str, Any], db: Any) -> None:
    console: ConsoleClient = account["console"]
    client = account["client"]
    layout_id = console.create_project("age_guess", max_assignments="1")
    first = console.upload(layout_id, rows(range(1, 5)).encode(), "first")
    assert 'id="duplicate-warning"' not in console.get(f"/requester/batches/{first}/confirm").text
    console.publish(first)
    console.wait_published(first)

    # The same rows saved differently (CRLF, a BOM, semicolons, columns swapped) plus one new row.
    data = "\ufeff" + rows(range(1, 6), sep=";", eol="\r\n", order=("image_url", "person_id"))
    again = console.upload(layout_id, data.encode("utf-8"), "again")
    page = console.get(f"/requester/batches/{again}/confirm").text
    assert "4 of 5 rows were published before" in page and f"batch #{first}" in page
    assert "published before" in console.publish(again)  # no choice made: nothing is published
    assert len(batch_hits(client, again)) == 0
    console.publish(again, only_new=True)
    progress = console.wait_published(again)
    assert progress["created"] == progress["rows"] == 1 and progress["skipped_rows"] == 4
    assert [h["Question"].count("img.example.org/5.jpg") > 0 for h in batch_hits(client, again)] == [True]

    # A HIT of the same layout made through the API counts; the same person with another image does not.
    client.create_hit(
        Title="API",
        Description="d",
        Reward="0.05",
        AssignmentDurationInSeconds=300,
        LifetimeInSeconds=600,
        HITLayoutId=layout_id,
        HITLayoutParameters=[
            {"Name": "person_id", "Value": "P9"},
            {"Name": "image_url", "Value": "https://img.example.org/9.jpg"},
        ],
    )
    data = "person_id,image_url\nP9,https://img.example.org/9.jpg\nP1,https://img.example.org/other.jpg\n"
    third = console.upload(layout_id, data.encode(), "third")
    page = console.get(f"/requester/batches/{third}/confirm").text
    assert "1 of 2 rows were published before" in page and 'id="duplicate-api"' in page
    assert 'id="duplicate-rows">1<' in page
    # Everything again, on purpose: every row gets a HIT.
    console.publish(third, again=True)
    assert console.wait_published(third)["created"] == 2

    # The publish DAG's HITs: an HTMLQuestion whose page is what this project's template makes of the row
    # (its FrameHeight aside). A page that differs in one value is not the same row.
    row = db.execute("SELECT template FROM mturk.projects WHERE layout_id = %s", (layout_id,)).fetchone()
    for person, image in (("P20", "20.jpg"), ("P21", "other.jpg")):
        question = csvfiles.render_question(
            row[0], {"person_id": person, "image_url": f"https://img.example.org/{image}"}
        )
        client.create_hit(
            Title="From the DAG",
            Description="d",
            Reward="0.05",
            AssignmentDurationInSeconds=300,
            LifetimeInSeconds=600,
            Question=re.sub(r"<FrameHeight>\d+</FrameHeight>", "<FrameHeight>640</FrameHeight>", question),
        )
    data = "person_id,image_url\nP20,https://img.example.org/20.jpg\nP21,https://img.example.org/21.jpg\n"
    fourth = console.upload(layout_id, data.encode(), "fourth")
    page = console.get(f"/requester/batches/{fourth}/confirm").text
    assert "1 of 2 rows were published before" in page and 'id="duplicate-rows">1<' in page


def test_a_new_upload_replaces_the_projects_unpublished_one(account: dict[str, Any]) -> None:
    console: ConsoleClient = account["console"]
    layout_id = console.create_project("age_guess")
    other = console.create_project("age_guess")
    kept = console.upload(other, rows(range(1, 3)).encode(), "other project")
    first = console.upload(layout_id, rows(range(1, 3)).encode(), "draft 1")
    second = console.upload(layout_id, rows(range(1, 3)).encode(), "draft 2")
    listing = console.get("/requester/batches").text
    assert f"#{second}<" in listing and f"#{kept}<" in listing and f"#{first}<" not in listing
