"""A web site on another origin, for attacks from "elsewhere" in the browser tests.

The service listens on 127.0.0.1; this site on 127.0.0.2 (loopback too, but another host, so
another origin and another site to the browser: SameSite cookies stay home). It serves the pages
it is given and records every request it gets, so a test can tell whether a browser was sent there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.2"


class Elsewhere:
    """The running site: ``url``, the ``pages`` it serves (path → HTML) and the paths it was asked for."""

    def __init__(self, url: str, pages: dict[str, str]) -> None:
        self.url = url
        self.pages = pages
        self.requests: list[str] = []


@contextmanager
def elsewhere(pages: dict[str, str]) -> Iterator[Elsewhere]:
    """Serve ``pages`` at ``http://127.0.0.2:<free port>`` while the block runs."""
    site: Elsewhere

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append(self.path)
            body = site.pages.get(self.path.split("?")[0], "<!DOCTYPE html><title>elsewhere</title><p>elsewhere</p>")
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    site = Elsewhere(f"http://{HOST}:{server.server_address[1]}", pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
