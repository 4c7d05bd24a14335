from __future__ import annotations

import struct
import zlib
from decimal import Decimal
from pathlib import Path

from hitflow.collect.report import histogram, histogram_png, spent, write_report


def test_histogram_bins() -> None:
    assert histogram([1, 4, 5, 119, 120])[:2] == [2, 1] and histogram([119, 120])[-1] == 2


def test_png_is_a_valid_image() -> None:
    png = histogram_png([0, 3, 1], width=30, height=10)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (30, 10)
    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    raw = zlib.decompress(idat)
    assert len(raw) == height * (1 + width * 3)
    stride = 1 + width * 3
    # the tallest bar (bin 1, x 10–19) reaches 4 px below the top; the empty bin 0 stays blank
    row = raw[4 * stride + 1 : 5 * stride]
    assert row[11 * 3 : 12 * 3] == b"\x2b\x6c\xb0" and row[5 * 3 : 6 * 3] == b"\xff\xff\xff"
    assert raw[3 * stride + 1 : 4 * stride][11 * 3 : 12 * 3] == b"\xff\xff\xff"


def test_spent_includes_fees_on_rewards_and_bonuses() -> None:
    money = spent(approved=9, bonuses=[Decimal("0.25"), Decimal("0.25")], reward=Decimal("0.10"), max_assignments=3)
    assert money == {
        "rewards": Decimal("0.90"),
        "reward_fees": Decimal("0.18"),
        "bonuses": Decimal("0.50"),
        "bonus_fees": Decimal("0.10"),
        "total": Decimal("1.68"),
    }


def test_spent_prices_each_small_bonus_with_the_minimum_fee() -> None:
    """Five $0.02 bonuses: the service takes $0.01 on each ($0.05), not 20 % of $0.10 ($0.02)."""
    money = spent(approved=5, bonuses=[Decimal("0.02")] * 5, reward=Decimal("0.10"), max_assignments=1)
    assert money["bonuses"] == Decimal("0.10") and money["bonus_fees"] == Decimal("0.05")
    assert money["total"] == Decimal("0.50") + Decimal("0.10") + Decimal("0.10") + Decimal("0.05")


def test_report_escapes_and_links_the_histogram(tmp_path: Path) -> None:
    data = {
        "params": {"reward": "0.10", "max_assignments": 3},
        "status": "complete",
        "ages": [30, 31, 33],
        "results": [(1, "P<1>", "https://x.org/a.jpg", 3, 31.0, 1.0, True, [30, 31, 33])],
        "workers": [("W<script>", 1, 1, 0, 1, 1, Decimal("0.05"))],
        "bonuses": [Decimal("0.05")],
    }
    path = write_report(tmp_path, "b-1", data)
    page = path.read_text()
    assert "<script>" not in page and "W&lt;script&gt;" in page and 'src="histogram.png"' in page
    assert (tmp_path / "histogram.png").read_bytes().startswith(b"\x89PNG")
