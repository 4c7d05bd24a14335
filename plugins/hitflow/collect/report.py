"""The per-batch report: a Jinja page with SVG charts (guesses, spread per image), agreement,
cost per batch and image, and the worker table.

The charts are SVG drawn by the template from coordinates computed here: real axes, ticks and
labels, no plotting library in the Airflow image and nothing loaded from the internet.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import mturk_money as fees

BIN_YEARS = 5
BINS = 24  # 0–119 in steps of 5 (120 joins the last bin)
MAX_AGE = 120
SPREAD_IMAGES = 60  # the spread chart shows the images with the widest spread; the table has all
TEMPLATES = Path(__file__).resolve().parent / "templates"

# Chart geometry (SVG user units): plot area inside margins for the axes' labels.
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 260, 48, 16, 16, 40
ROW_HEIGHT = 14


def histogram(ages: list[int]) -> list[int]:
    counts = Counter(min(age // BIN_YEARS, BINS - 1) for age in ages)
    return [counts.get(i, 0) for i in range(BINS)]


def _ticks(peak: int) -> list[int]:
    """About five round ticks from 0 to at least ``peak``."""
    step = 1
    while peak / step > 5:
        step *= 5 if str(step).startswith("2") else 2
    return list(range(0, peak + step, step))


def histogram_chart(counts: list[int]) -> dict[str, Any]:
    """Bars, axis ticks and labels for the histogram of guesses."""
    ticks = _ticks(max(counts) or 1)
    top = ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bar_w = plot_w / len(counts)

    def y(value: float) -> float:
        return TOP + plot_h - value / top * plot_h

    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "bottom": TOP + plot_h,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bars": [
            {
                "x": LEFT + i * bar_w + 1,
                "y": y(c),
                "w": bar_w - 2,
                "h": TOP + plot_h - y(c),
                "label": f"{i * BIN_YEARS}–{i * BIN_YEARS + BIN_YEARS - 1}: {c}",
            }
            for i, c in enumerate(counts)
        ],
        "y_ticks": [{"y": y(t), "label": t} for t in ticks],
        "x_ticks": [{"x": LEFT + i * bar_w, "label": i * BIN_YEARS} for i in range(0, BINS + 1, 2)],
    }


def spread_chart(results: list[tuple]) -> dict[str, Any]:
    """One row per image: every guess as a dot, the median, and median ± MAD as a bar."""
    widest = sorted(results, key=lambda r: (-(max(r[7]) - min(r[7]) if r[7] else 0), r[0]))[:SPREAD_IMAGES]
    widest.sort(key=lambda r: r[0])
    plot_w = WIDTH - LEFT - RIGHT - 40

    def x(age: float) -> float:
        return LEFT + 40 + min(max(age, 0), MAX_AGE) / MAX_AGE * plot_w

    rows = []
    for n, (row_id, _person, _url, _answers, median, mad, agree, ages) in enumerate(widest):
        cy = TOP + n * ROW_HEIGHT + ROW_HEIGHT / 2
        rows.append(
            {
                "row": row_id,
                "y": cy,
                "dots": [x(a) for a in ages],
                "median": x(float(median)),
                "lo": x(float(median) - float(mad)),
                "hi": x(float(median) + float(mad)),
                "agree": agree,
                "title": f"row {row_id}: median {float(median):g}, MAD {float(mad):g}, guesses {list(ages)}",
            }
        )
    height = TOP + len(rows) * ROW_HEIGHT + BOTTOM
    return {
        "width": WIDTH,
        "height": height,
        "rows": rows,
        "shown": len(rows),
        "total": len(results),
        "axis_y": TOP + len(rows) * ROW_HEIGHT,
        "label_x": LEFT + 34,
        "x_ticks": [{"x": x(a), "label": a} for a in range(0, MAX_AGE + 1, 10)],
    }


def spent(approved: int, bonuses: list[Decimal], reward: Decimal, max_assignments: int) -> dict[str, Decimal]:
    """Money spent so far, with MTurk's fees on rewards and on each bonus (as the service charges)."""
    rewards = approved * reward
    reward_fees = approved * fees.assignment_fee(reward, max_assignments)
    bonus_total = sum(bonuses, Decimal("0.00"))
    bonus_fees = fees.bonus_fees(bonuses)
    return {
        "rewards": rewards,
        "reward_fees": reward_fees,
        "bonuses": bonus_total,
        "bonus_fees": bonus_fees,
        "total": rewards + reward_fees + bonus_total + bonus_fees,
    }


MONEY_LABELS = {
    "rewards": "Rewards",
    "reward_fees": "Fees on rewards",
    "bonuses": "Bonuses",
    "bonus_fees": "Fees on bonuses",
    "total": "Total",
}


def render_report(batch_id: str, data: dict[str, Any]) -> str:
    """The report page for a batch (HTML, autoescaped)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
    env.filters["usd"] = lambda amount: f"{Decimal(amount):.2f}"  # exact: Decimal, never float
    params = data["params"]
    approved = sum(w[2] for w in data["workers"])
    money = spent(
        approved, [Decimal(b) for b in data["bonuses"]], fees.parse_money(params["reward"]), params["max_assignments"]
    )
    results = data["results"]
    agreeing = sum(1 for r in results if r[6])
    cent = Decimal("0.01")
    return env.get_template("report.html").render(
        batch_id=batch_id,
        status=data["status"],
        params=params,
        results=results,
        guesses=len(data["ages"]),
        workers=data["workers"],
        money=[(MONEY_LABELS[k], v) for k, v in money.items()],
        agreement={
            "images": len(results),
            "agreeing": agreeing,
            "percent": round(agreeing / len(results) * 100) if results else None,
        },
        per_image=(money["total"] / len(results)).quantize(cent) if results else None,
        per_answer=(money["total"] / approved).quantize(cent) if approved else None,
        histogram=histogram_chart(histogram(data["ages"])),
        spread=spread_chart(results),
    )


def write_report(directory: Path, batch_id: str, data: dict[str, Any]) -> Path:
    """Write ``report.html`` for a batch (the charts are inline SVG); returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "report.html"
    path.write_text(render_report(batch_id, data), encoding="utf-8")
    return path
