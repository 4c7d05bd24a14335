"""The per-batch report: an HTML page with a PNG histogram of the guesses and a worker table.

The PNG is drawn and encoded here (bars only, axes in the HTML) so the report needs no plotting
library in the Airflow image.
"""

from __future__ import annotations

import html
import struct
import zlib
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import mturk_money as fees

BIN_YEARS = 5
BINS = 24  # 0–119 in steps of 5 (120 joins the last bin)


def histogram(ages: list[int]) -> list[int]:
    counts = Counter(min(age // BIN_YEARS, BINS - 1) for age in ages)
    return [counts.get(i, 0) for i in range(BINS)]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def histogram_png(counts: list[int], width: int = 480, height: int = 200) -> bytes:
    """An RGB PNG with one bar per bin, scaled to the tallest."""
    bar_w = width // len(counts)
    peak = max(counts) or 1
    background, bar, baseline = b"\xff\xff\xff", b"\x2b\x6c\xb0", b"\x59\x63\x6e"
    rows = []
    for y in range(height):
        line = bytearray(b"\x00")  # filter type: none
        for x in range(bar_w * len(counts)):
            i = x // bar_w
            filled = height - y <= round(counts[i] / peak * (height - 4)) and x % bar_w not in (0, bar_w - 1)
            line += baseline if y == height - 1 else bar if filled else background
        rows.append(bytes(line))
    header = struct.pack(">IIBBBBB", bar_w * len(counts), height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _png_chunk(b"IEND", b"")
    )


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


def write_report(directory: Path, batch_id: str, data: dict[str, Any]) -> Path:
    """Write ``report.html`` and ``histogram.png`` for a batch; returns the HTML path."""
    directory.mkdir(parents=True, exist_ok=True)
    counts = histogram(data["ages"])
    (directory / "histogram.png").write_bytes(histogram_png(counts))
    params = data["params"]
    approved = sum(w[2] for w in data["workers"])
    bonuses = [Decimal(amount) for amount in data["bonuses"]]
    money = spent(approved, bonuses, fees.parse_money(params["reward"]), params["max_assignments"])
    esc = html.escape
    result_rows = "".join(
        f'<tr><td>{row}</td><td>{esc(person)}</td><td><a href="{esc(url)}">image</a></td><td>{n}</td>'
        f"<td>{median:g}</td><td>{mad:g}</td><td>{'yes' if agree else 'no'}</td><td>{esc(str(ages))}</td></tr>"
        for row, person, url, n, median, mad, agree, ages in data["results"]
    )
    worker_rows = "".join(
        f"<tr><td>{esc(worker)}</td><td>{total}</td><td>{ok}</td><td>{bad}</td>"
        f"<td>{(close / scored * 100 if scored else 0):.0f} %</td><td>${Decimal(bonus):.2f}</td></tr>"
        for worker, total, ok, bad, close, scored, bonus in data["workers"]
    )
    labels = {
        "rewards": "Rewards",
        "reward_fees": "Fees on rewards",
        "bonuses": "Bonuses",
        "bonus_fees": "Fees on bonuses",
        "total": "Total",
    }
    money_rows = "".join(f"<tr><th>{labels[k]}</th><td>${v:.2f}</td></tr>" for k, v in money.items())
    bins = "".join(f"<td>{i * BIN_YEARS}–{i * BIN_YEARS + BIN_YEARS - 1}: {c}</td>" for i, c in enumerate(counts) if c)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>hitflow batch {esc(batch_id)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#1f2328}}table{{border-collapse:collapse;margin:1rem 0}}
td,th{{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left}}th{{background:#f6f8fa}}</style></head>
<body><h1>Batch {esc(batch_id)}</h1>
<p>Status: <b>{esc(data["status"])}</b>. Reward ${esc(params["reward"])} × {params["max_assignments"]} assignments per
HIT. {len(data["results"])} images have an aggregated age; {len(data["ages"])} valid guesses.</p>
<h2>Guesses</h2><img src="histogram.png" alt="Histogram of age guesses in 5-year bins from 0 to 120">
<table><tr>{bins}</tr></table>
<h2>Spent</h2><table>
{money_rows}</table>
<h2>Workers</h2><table><tr><th>Worker</th><th>Answers</th><th>Approved</th><th>Rejected</th>
<th>Within 3 years of consensus</th><th>Bonus</th></tr>{worker_rows}</table>
<h2>Ages per image</h2><table><tr><th>Row</th><th>Person</th><th>Image</th><th>Answers</th><th>Median age</th>
<th>MAD</th><th>Agreement</th><th>Guesses</th></tr>{result_rows}</table>
</body></html>
"""
    path = directory / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
