"""``python -m hit_service``: run the service under uvicorn with settings from the environment.

Uvicorn's access log records method, path and status only; request headers (which carry the
SigV4 credentials) are never logged.
"""

from __future__ import annotations

import logging
import sys

import uvicorn

from hit_service.app import create_app
from hit_service.config import ConfigError, Settings


def main() -> int:
    """Read the settings, build the app and serve until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"hit_service: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
