"""Assignments, bonuses, blocks, messages and notification settings."""

from __future__ import annotations


class AssignmentStore:
    """The SQL of assignments, bonuses, blocks, messages and notification settings."""
