"""Bench section ``cancel_20k``: cancel a 20,000-HIT console batch before any work (issue 22).

Publishes 20,000 rows through the console's forms (3 assignments at $0.10: $7,200.00 held),
lets one worker submit one assignment and another accept one, then cancels through the form
and measures the time until the cancel answers, the time until every untaken slot's money is
back (the progress says so), and the balance before and after, each read with boto3.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from scripts.bench.common import console_service


def bench_cancel_20k(admin_url: str, quick: bool) -> dict[str, Any]:
    import boto3
    import requests

    from hitflow_support.console_client import ConsoleClient
    from hitflow_support.crowd_client import accept_hit, sign_in, submit_answer_over_http

    rows = 1000 if quick else 20_000
    with console_service("cancel") as (service, creds, _db):
        client = boto3.client("mturk", region_name="us-east-1", endpoint_url=service.url, **creds)

        def balance() -> Decimal:
            return Decimal(client.get_account_balance()["AvailableBalance"])

        console = ConsoleClient(service.url, "bench", "bench-password", timeout=300)
        layout_id = console.create_project("age_guess", reward="0.10", max_assignments="3")
        data = "person_id,image_url\n" + "".join(f"P{i},https://images.example/{i}.jpg\n" for i in range(rows))
        start_balance = balance()
        batch_id = console.upload(layout_id, data.encode(), "cancel bench")
        start = time.perf_counter()
        console.publish(batch_id)
        progress = console.wait_published(batch_id, timeout=3600)
        published = time.perf_counter() - start
        assert progress["created"] == rows, progress
        held = balance()
        hit_ids = [h["HITId"] for h in client.list_hits(MaxResults=2)["HITs"]]
        for name in ("bench-done", "bench-busy"):
            requests.post(
                f"{service.url}/_test/workers", json={"name": name, "password": "bench-password"}, timeout=10
            ).raise_for_status()
        submit_answer_over_http(service.url, "bench-done", "bench-password", hit_ids[0], {"age": "30"})
        accept_hit(sign_in(service.url, "bench-busy", "bench-password"), service.url, hit_ids[1])

        start = time.perf_counter()
        note = console.cancel(batch_id)
        answered = time.perf_counter() - start
        first = console.progress(batch_id)
        final = console.wait_cancelled(batch_id, timeout=3600)
        released_after = time.perf_counter() - start
        after = balance()
    return {
        "hits": rows,
        "publish_seconds": round(published, 1),
        "balance_before": str(start_balance),
        "balance_published": str(held),
        "cancel_answer_seconds": round(answered, 3),
        "cancel_note": note,
        "first_progress_done": first["cancel_done"],
        "release_seconds": round(released_after, 1),
        "released": final["money"]["released"],
        "balance_after": str(after),
        "kept_for_taken_slots": str(start_balance - after),
    }
