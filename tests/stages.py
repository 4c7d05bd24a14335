"""Test tooling for suites whose tests are stages of one story on one stack (``tests/e2e``,
``tests/deploy``): their conftests share these."""

from __future__ import annotations

from pathlib import Path

import pytest


def keep_file_order(items: list[pytest.Item], folder: Path) -> None:
    """Put the tests of ``folder`` back in file order (files by name, then line) in place: pytest-randomly
    shuffles the whole suite before the conftest hooks run, and each stage needs the one before."""
    slots = [n for n, item in enumerate(items) if item.path.parent == folder]
    in_order = sorted((items[n] for n in slots), key=lambda item: (str(item.path), item.location[1]))
    for n, item in zip(slots, in_order, strict=True):
        items[n] = item
