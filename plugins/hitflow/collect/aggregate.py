"""One age per image from several guesses: median, median absolute deviation, agreement."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Consensus:
    answers: int
    median_age: float
    mad_years: float
    agreement: bool


def consensus(ages: list[int], *, min_answers: int, agreement_mad_years: float) -> Consensus | None:
    """The consensus of ``ages``, or None while there are fewer than ``min_answers`` of them.

    The median resists a single wild guess; the MAD (median of distances to it) says how much
    the workers agree. ``agreement`` is True when the MAD is within ``agreement_mad_years``.
    """
    if len(ages) < max(1, min_answers):
        return None
    median = statistics.median(ages)
    mad = statistics.median(abs(age - median) for age in ages)
    return Consensus(len(ages), float(median), float(mad), mad <= agreement_mad_years)
