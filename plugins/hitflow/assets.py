"""The assets hitflow's DAGs produce and consume (one definition, so the names cannot drift)."""

from __future__ import annotations

from airflow.sdk import Asset

#: Emitted by ``mturk_publish_hits`` when a batch's HITs are published; schedules collection.
PUBLISHED_HITS = Asset("hitflow_published_hits")

#: Emitted by ``mturk_collect_results`` when aggregated ages are written to ``hitflow.results``.
AGE_RESULTS = Asset("hitflow_age_results")
