"""One background thread per batch in this process: what the publisher (``publishing.py``) and the
canceller (``cancel.py``) both need to start a batch's job once, tell if it runs, and wait for it."""

from __future__ import annotations

import threading
from collections.abc import Callable


class BatchThreads:
    """The threads of one kind of batch job (``name``-<batch id>), at most one alive per batch."""

    def __init__(self, name: str, target: Callable[[int], None]) -> None:
        self.name = name
        self.target = target
        self._running: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, batch_id: int) -> None:
        """Start the batch's job unless this process already runs it."""
        with self._lock:
            running = self._running.get(batch_id)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(target=self.target, args=(batch_id,), name=f"{self.name}-{batch_id}", daemon=True)
            self._running[batch_id] = thread
            thread.start()

    def alive(self, batch_id: int) -> bool:
        """Whether this process runs the batch's job now."""
        with self._lock:
            running = self._running.get(batch_id)
            return running is not None and running.is_alive()

    def wait(self, batch_id: int, timeout: float) -> None:
        """Wait for this process's job of ``batch_id`` (tests, the demo)."""
        thread = self._running.get(batch_id)
        if thread is not None:
            thread.join(timeout)
