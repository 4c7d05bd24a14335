"""Workers as the worker site sees them: their HITs, assignments and earnings."""

from __future__ import annotations


class WorkerStore:
    """The SQL of workers as the worker site sees them: their HITs, assignments and earnings."""
