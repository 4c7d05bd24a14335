"""CSV files for a batch: MTurk's bulk-upload input and hitflow's manifest.

The bulk-upload file is what the requester UI takes to create a batch from a project: a header
row naming the template variables, then one row per HIT-to-be. The manifest ties every row to
its HIT (empty HIT ID when the batch was only exported).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import hitflow_csv

MANIFEST_HEADER = ["row_id", "person_id", "hit_id", "hit_type_id", "batch_id"]


def write_batch_csvs(
    directory: Path, batch_id: str, variables: list[str], rows: Iterable[tuple[int, str, str, str | None, str | None]]
) -> dict[str, str | int]:
    """Write ``input.csv`` (bulk upload) and ``manifest.csv``; return their paths.

    Files are written beside their final name and renamed, so a reader never sees half a file.
    """
    unknown = set(variables) - {"person_id", "image_url"}
    if unknown:
        raise ValueError(f"template variables {sorted(unknown)} have no source column")
    directory.mkdir(parents=True, exist_ok=True)
    upload_path, manifest_path = directory / "input.csv", directory / "manifest.csv"
    tmp_upload, tmp_manifest = upload_path.with_suffix(".csv.tmp"), manifest_path.with_suffix(".csv.tmp")
    count = 0
    with (
        open(tmp_upload, "w", newline="", encoding="utf-8") as up,
        open(tmp_manifest, "w", newline="", encoding="utf-8") as man,
    ):
        upload, manifest = hitflow_csv.writer(up), hitflow_csv.writer(man)  # safe to open in a spreadsheet
        upload.writerow(variables)
        manifest.writerow(MANIFEST_HEADER)
        for row_id, person_id, image_url, hit_id, hit_type_id in rows:
            values = {"person_id": person_id, "image_url": image_url}
            upload.writerow([values[name] for name in variables])
            manifest.writerow([row_id, person_id, hit_id or "", hit_type_id or "", batch_id])
            count += 1
    os.replace(tmp_upload, upload_path)
    os.replace(tmp_manifest, manifest_path)
    return {"input_csv": str(upload_path), "manifest_csv": str(manifest_path), "rows": count}
