"""The requester console: users, projects (HIT layouts), batches and their rows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from hit_service.core.database import Params, Row, Store
from hit_service.core.rules import status_sql


class ConsoleStore:
    """The SQL of the requester console: users, projects (HIT layouts), batches and their rows."""
