"""The bench's figures as one table on the terminal."""

from __future__ import annotations

from typing import Any


def print_table(results: dict[str, Any]) -> None:
    lines = ["", "hitflow bench", "=" * 78]

    def add(label: str, value: Any, target: str = "") -> None:
        lines.append(f"{label:<52}{value!s:>14}  {target}")

    if "service" in results:
        r = results["service"]
        add("HIT service: CreateHITWithHITType calls/s (32 clients)", r.get("calls_per_second"), "aim >= 500")
        percentiles = f"{r['p50_ms']} / {r['p95_ms']} / {r['p99_ms']}"
        add("HIT service: p50 / p95 / p99 ms at 100 %", percentiles, "aim p99 < 50")
        for share, at in r.get("at_share_of_max", {}).items():
            add(f"  at {share} ({at['calls_per_second']} calls/s)", f"{at['p50_ms']} / {at['p95_ms']} / {at['p99_ms']}")
        for rate, at in r.get("at_rate", {}).items():
            if at.get("reachable") is False:
                add(f"  at {rate}", f"not reached (max {at['full_calls_per_second']}/s)", "aim p99 < 50")
            else:
                figures = f"{at['p50_ms']} / {at['p95_ms']} / {at['p99_ms']}"
                add(f"  at {rate} ({at['calls_per_second']} calls/s)", figures, "aim p99 < 50")
        if "minimal_endpoint" in r:
            add("minimal endpoint (no database): calls/s", r["minimal_endpoint"]["calls_per_second"])
            add("  the service as a share of it", f"{r['share_of_minimal_endpoint']:.0%}", "aim >= 70 %")
    if "publish_2k" in results:
        r = results["publish_2k"]
        add(f"{r['rows']} rows at 50 ms: publish DAG seconds", r["dag"]["seconds"])
        add(f"{r['rows']} rows at 50 ms: serial boto3 loop seconds", r["serial_loop_seconds"])
        add("  speed-up", f"{r['speedup']}x")
    if "scale_10k" in results:
        r = results["scale_10k"]
        add(f"{r['rows']} rows, no latency: publish DAG seconds", r["seconds"], "target <= 30")
        add("  HITs/s", r["hits_per_second"])
        add("  XCom bytes per batch", r["xcom_bytes"])
        add("  task instances per batch", r["task_instances"], f"rows/chunk = {r['rows'] // r['chunk_size']} + 10")
    if "scheduler_10k" in results:
        for r in results["scheduler_10k"].values():
            chunks = r["rows"] // r["chunk_size"]
            add(f"{r['rows']} rows, real scheduler, {chunks} chunk(s): seconds", r["seconds"], "target <= 30")
            add("  HITs/s", r["hits_per_second"])
            add("  publish_chunk tasks at once (peak)", r["peak_parallel_publish_chunk"])
    if "faults_10k" in results:
        r = results["faults_10k"]
        add(f"{r['rows']} rows with injected faults: seconds", r["seconds"])
        add(
            "  retried calls / HITs recovered from lost responses",
            f"{r['api_retries']} / {r['hits_recovered_from_lost_responses']}",
        )
        add("  rows with exactly one HIT (service's ListHITs)", r["rows_with_one_hit"], f"of {r['rows']}")
        add("  task failures", r["task_failures"])
    if "latency_10k" in results:
        r = results["latency_10k"]
        add(f"{r['rows']} rows at 100 ms: publish DAG seconds", r["dag"]["seconds"])
        add("  serial loop seconds (extrapolated)", r["serial_loop"]["seconds_extrapolated"])
        add("  speed-up vs serial", f"{r['speedup_vs_serial']}x", "target >= 20x")
        if "one_task_per_row_at_rows" in r:
            add(f"  one task per row at {r['rows']} rows", r["one_task_per_row_at_rows"]["state"])
            key = next(k for k in r if k.startswith("at_"))
            add(f"  one task per row {key[3:]}: seconds", r[key]["one_task_per_row_seconds"])
            add(f"  hitflow {key[3:]}: seconds", r[key]["hitflow_seconds"])
    if "rate_limit" in results:
        r = results["rate_limit"]
        add(f"rate limit {r['limit_per_second']}/s: sustained calls/s", r["sustained_per_second"])
        add("  share of the limit", f"{r['share_of_limit']:.0%}", "target >= 90 %")
        add("  task failures", r["task_failures"], "target 0")
    if "collect_30k" in results:
        r = results["collect_30k"]
        first = r["first_run"]
        add(f"collect {r['rows'] * 3} answers: seconds", first["seconds"], "goal <= 60")
        add("  API calls / calls/s", f"{first['api_calls']} / {first['calls_per_second']}")
        add("  share of the service alone", f"{first['share_of_service_alone']:.0%}", "aim >= 60 %")
        if "postgres_cpu_seconds" in first:
            cpu = f"{first['cpu_seconds']} / {first['service_cpu_seconds']} / {first['postgres_cpu_seconds']}"
            add("  CPU s: task / service / PostgreSQL", cpu, f"machine {first['machine_busy_share']:.0%} busy")
        add("  task instances / XCom bytes", f"{first['task_instances']} / {first['xcom_bytes']}")
        add("  peak RSS MB (dag.test process)", first["peak_rss_mb"])
        add("  second run: mutating calls", r["second_run"]["mutating_calls"], "target 0")
    if "scale_curve" in results:
        r = results["scale_curve"]
        for rows, f in r["dag_test"].items():
            add(f"{rows} rows, dag.test, auto chunks: seconds / HITs/s", f"{f['seconds']} / {f['hits_per_second']}")
            add(
                "  chunks / task instances / XCom bytes",
                f"{f['chunks']} / {f['task_instances']} / {f['xcom_bytes']}",
                "<= 60 TIs, < 15 MB",
            )
            add("  share of the service alone", f"{f['share_of_service_alone']:.0%}", "aim >= 85 %")
        add("  largest size's HITs/s vs the one before", f"{r['largest_vs_previous_hits_per_second']:.0%}", ">= 90 %")
        for rows, f in r.get("scheduler", {}).items():
            figures = f"{f['seconds']} / {f['hits_per_second']} / {f['task_instances']}"
            add(f"{rows} rows, real scheduler: seconds / HITs/s / TIs", figures)
            if f.get("peak_rss_mb"):
                peak = f"{f['peak_rss_mb']['task_process']} / {f['peak_rss_mb']['service']}"
                add("  peak RSS MB: a task process / the service", peak)
    if "extract_1m" in results:
        r = results["extract_1m"]
        add(f"{r['rows']}-row interval: claim+validate+plan seconds", r["total_seconds"])
        add("  peak RSS MB", r["peak_rss_mb"], "target < 300")
    if "console" in results:
        r = results["console"]
        add(f"console: {r['rows']}-row CSV checked, seconds", r["check_seconds"])
        add("  published, rows/s", r["rows_per_second"], f"{r['publish_seconds']} s")
        add(
            "  API meanwhile: calls, p50 / max ms", f"{r['api_calls_meanwhile']}, {r['api_p50_ms']} / {r['api_max_ms']}"
        )
        add(f"  results CSV of {r['assignments']} assignments, seconds", r["results_seconds"], f"{r['results_mb']} MB")
        add(
            "  service RSS MB before / peak while streaming",
            f"{r['service_rss_before_mb']} / {r['service_rss_peak_mb']}",
        )
    for label, r in (results.get("soak") or {}).items():
        add(f"soak {label} ({r['seconds']:.0f} s, {r['threads']} lanes): rows/s", r["rows_per_s"])
        add("  of measured capacity rows/s", f"{r['target_rows_per_s']} / {r['capacity_rows_per_s']}", "70 %")
        add("  API calls/s; p50 / p99 ms", f"{r['api_calls_per_s']}; {r['api_p50_ms']} / {r['api_p99_ms']}")
        add("  site requests p50 / p99 ms", f"{r['site_p50_ms']} / {r['site_p99_ms']}")
        add("  errors", r["errors"], "target 0")
        rss = f"{r['rss_mb_start']} / {r['rss_mb_end']} ({r['rss_mb_peak']})"
        add("  service RSS MB start / end (peak)", rss, "flat")
        add("  rows with exactly one HIT", r["rows_with_one_hit"], f"of {r['rows_started']} started")
    if "cancel_20k" in results:
        r = results["cancel_20k"]
        add(f"cancel a {r['hits']}-HIT batch: the form answers, seconds", r["cancel_answer_seconds"], "at once")
        add("  every untaken slot's money back, seconds", r["release_seconds"], r["released"])
        add(
            "  balance before / published / after",
            f"{r['balance_before']} / {r['balance_published']} / {r['balance_after']}",
        )
    if "dag_parse" in results:
        r = results["dag_parse"]
        add(f"parse the DAG folder ({r['dags']} DAGs, {r['errors']} errors): median seconds", r["median_seconds"])
    print("\n".join(lines))
