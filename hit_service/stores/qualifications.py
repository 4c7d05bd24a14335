"""Qualification types, workers' qualifications and qualification requests."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from hit_service.core.database import Params, Row, Store


class QualificationStore:
    """The SQL of qualification types, workers' qualifications and qualification requests."""
