"""Qualification types, workers' qualifications and qualification requests."""

from __future__ import annotations


class QualificationStore:
    """The SQL of qualification types, workers' qualifications and qualification requests."""
