"""Where hitflow finds its templates and writes its exports.

Both default to the repository layout (``include/`` and ``output/`` beside ``plugins/``) and can
be moved with env vars, which is what a container image does.
"""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]


def include_dir() -> Path:
    return Path(os.environ.get("HITFLOW_INCLUDE_DIR", _REPO / "include"))


def output_dir() -> Path:
    return Path(os.environ.get("HITFLOW_OUTPUT_DIR", _REPO / "output"))
