"""The requester console: users, projects (HIT layouts), batches and their rows."""

from __future__ import annotations


class ConsoleStore:
    """The SQL of the requester console: users, projects (HIT layouts), batches and their rows."""
