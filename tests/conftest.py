"""Suite-wide set-up: Airflow points at a throwaway home before anything imports it.

Airflow reads its configuration at import time, so the environment is set here, at the top of
the first conftest, and the metadata database (SQLite in a temp dir) is migrated once per
session. hitflow's data and the HIT service's state live in real PostgreSQL databases that the
suite creates and drops (see ``hitflow_support/pg.py``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="hitflow-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
        "HITFLOW_OUTPUT_DIR": str(_AIRFLOW_HOME / "output"),
    }
)
