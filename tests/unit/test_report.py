from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

from hitflow.collect.report import histogram, histogram_chart, spent, spread_chart, write_report

DATA = {
    "params": {"reward": "0.10", "max_assignments": 3},
    "status": "complete",
    "ages": [30, 31, 33, 20, 40, 60],
    "results": [
        (1, "P<1>", "https://x.org/a.jpg", 3, 31.0, 1.0, True, [30, 31, 33]),
        (2, "P2", "https://x.org/b.jpg", 3, 40.0, 20.0, False, [20, 40, 60]),
    ],
    "workers": [("W<script>", 6, 6, 0, 3, 6, Decimal("0.05"))],
    "bonuses": [Decimal("0.05")],
}


def test_histogram_bins() -> None:
    assert histogram([1, 4, 5, 119, 120])[:2] == [2, 1] and histogram([119, 120])[-1] == 2


def test_the_histogram_has_axes_scaled_to_the_tallest_bar() -> None:
    chart = histogram_chart([0, 3, 1] + [0] * 21)
    assert [t["label"] for t in chart["y_ticks"]] == [0, 1, 2, 3]
    tallest = chart["bars"][1]
    assert round(tallest["y"], 1) == chart["top"] and chart["bars"][0]["h"] == 0
    assert tallest["label"] == "5–9: 3" and chart["x_ticks"][-1]["label"] == 120


def test_the_spread_chart_keeps_the_widest_images_and_marks_agreement() -> None:
    results = [(i, f"P{i}", "u", 3, 30.0, float(i % 7), i % 2 == 0, [30 - i % 7, 30, 30 + i % 7]) for i in range(100)]
    chart = spread_chart(results)
    assert chart["shown"] == 60 and chart["total"] == 100
    assert min(max(r["dots"]) - min(r["dots"]) for r in chart["rows"]) > 0  # the widest first
    row = chart["rows"][0]
    assert row["lo"] < row["median"] < row["hi"] and len(row["dots"]) == 3


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


def test_the_report_is_escaped_and_its_charts_are_inline_svg(tmp_path: Path) -> None:
    path = write_report(tmp_path, "b-1", DATA)
    page = path.read_text()
    assert "<script>" not in page and "W&lt;script&gt;" in page and "P&lt;1&gt;" in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # no image files beside it
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) == 2
    for svg in svgs:
        ElementTree.fromstring(svg)  # well-formed
    assert "Guessed age (years)" in svgs[0] and ">120<" in svgs[0]
    assert "median 40, MAD 20, guesses [20, 40, 60]" in svgs[1] and 'class="mad disagree"' in svgs[1]
    # agreement and cost per batch: 1 of 2 images agree; 6 approved answers cost $0.72 + bonus $0.06
    assert re.search(r"Workers agree[^<]*</th><td class=\"num\">1 \(50 %\)", page)
    assert "<tr><th>Total</th><td>$0.78</td></tr>" in page
    assert re.search(r"Cost per image with a consensus</th><td class=\"num\">\$0.39<", page)
