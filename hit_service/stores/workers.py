"""Workers as the worker site sees them: their HITs, assignments and earnings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from hit_service.core.database import Params, Row, Store


class WorkerStore:
    """The SQL of workers as the worker site sees them: their HITs, assignments and earnings."""
