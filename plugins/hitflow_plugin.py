"""The ``hitflow`` Airflow plugin: the batch reports in the Airflow UI (Browse → hitflow reports)."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from hitflow.ui.reports import PREFIX, app


class HitflowPlugin(AirflowPlugin):
    name = "hitflow"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [{"app": app, "url_prefix": PREFIX, "name": "hitflow reports"}]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "hitflow reports",
            "href": "hitflow/reports/",
            "destination": "nav",
            "category": "browse",
            "url_route": "hitflow-reports",
        }
    ]
