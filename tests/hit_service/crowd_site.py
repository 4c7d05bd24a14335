"""A small real HTTP server for the Crowd HTML Elements tests, until they run through the worker site.

It does what the worker site does for a task page, and no more: serves ``hit_service/static`` at
``/static/`` (with ``Access-Control-Allow-Origin: *``, which the element modules need because a
sandboxed task frame has an opaque origin), serves task HTML with MTurk's script URL pointed at
``/static/crowd/crowd-html-elements.js`` and a ``Content-Security-Policy: sandbox`` header like the
work frame's, and records what a form posts to ``/mturk/externalSubmit``.
"""

from __future__ import annotations

import html
import json
import re
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from hit_service.settings import REPO_ROOT

STATIC_DIR = REPO_ROOT / "hit_service" / "static"
CORPUS_DIR = Path(__file__).parent / "corpus"
CROWD_SCRIPT_URL = "https://assets.crowd.aws/crowd-html-elements.js"
FRAME_CSP = "sandbox allow-scripts allow-forms allow-popups allow-modals"
IMAGE_SIZE = (400, 300)
PAUSE = b"<!--PAUSE-->"  # in a test page: the server stops sending there until ``resume`` is set
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
}


def fill_template(template: str, values: dict[str, str]) -> str:
    """Replace ``${name}`` placeholders with HTML-escaped values, as a HIT layout does."""
    for name, value in values.items():
        template = template.replace("${" + name + "}", html.escape(value, quote=True))
    return template


_LIQUID_FOR = re.compile(r"\{%-?\s*for\s+(\w+)\s+in\s+([\w.]+)\s*-?%\}(.*?)\{%-?\s*endfor\s*-?%\}", re.DOTALL)
_LIQUID_OUT = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)


def _lookup(context: dict[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"the template needs {path!r}, which the test's values do not give")
        value = value[part]
    return value


def fill_liquid(template: str, context: dict[str, Any]) -> str:
    """Fill a Ground Truth Liquid template as the requester would before CreateHIT: ``{% for %}``
    loops and ``{{ path | filter }}`` outputs (``grant_read_access`` and ``skip_encoding`` keep the
    value, ``to_json`` writes JSON, ``escape`` and plain outputs are HTML-escaped). Only what the
    corpus templates use; an unknown variable is an error, never silently empty."""

    def loop(match: re.Match[str]) -> str:
        name, path, body = match.groups()
        return "".join(fill_liquid(body, {**context, name: item}) for item in _lookup(context, path))

    def output(match: re.Match[str]) -> str:
        path, *filters = [part.strip() for part in match.group(1).split("|")]
        value = _lookup(context, path)
        if "to_json" in filters:
            return json.dumps(value)
        text = str(value)
        if "skip_encoding" in filters or "grant_read_access" in filters:
            return text
        return html.escape(text, quote=True)

    return _LIQUID_OUT.sub(output, _LIQUID_FOR.sub(loop, template))


def decode_png(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """(width, height, RGBA pixels row by row) of an 8-bit RGB/RGBA, non-interlaced PNG — what a
    browser's canvas writes; enough to check a segmentation mask without an imaging library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    channels = 4 if color == 6 else 3
    raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    pixels = [
        tuple(row[x * channels : (x + 1) * channels]) + (() if channels == 4 else (255,))
        for row in rows
        for x in range(width)
    ]
    return width, height, pixels


def png(width: int, height: int) -> bytes:
    """A small RGB PNG (a sky, a ground and a red square) made without any imaging library."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            if 100 <= x < 180 and 80 <= y < 160:
                row += bytes((210, 40, 40))
            elif y > height * 2 // 3:
                row += bytes((70, 150, 70))
            else:
                row += bytes((150, 200, 240))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


@dataclass
class CrowdSite:
    """The running server: register pages, then read what was posted."""

    url: str = ""
    pages: dict[str, str] = field(default_factory=dict)
    posts: list[list[tuple[str, str]]] = field(default_factory=list)
    image: bytes = b""
    condition: threading.Condition = field(default_factory=threading.Condition)
    resume: threading.Event = field(default_factory=threading.Event)

    def add_page(self, name: str, body: str) -> None:
        """A task page at ``/task/<name>`` (MTurk's crowd script URL is rewritten to ours)."""
        self.pages[name] = body.replace(CROWD_SCRIPT_URL, "/static/crowd/crowd-html-elements.js")

    def add_corpus(self, name: str, values: dict[str, str]) -> None:
        """A corpus template (tests/hit_service/corpus/<name>.html) with its placeholders filled."""
        template = (CORPUS_DIR / f"{name}.html").read_text(encoding="utf-8")
        self.add_page(name, fill_template(template, values))

    def task_url(self, name: str, *, assignment_id: str | None = "ASSIGN1", hit_id: str = "HIT1") -> str:
        """The URL the work frame opens: MTurk's query parameters included."""
        query = {"hitId": hit_id, "turkSubmitTo": self.url, "workerId": "WORKER1"}
        if assignment_id is not None:
            query["assignmentId"] = assignment_id
        return f"{self.url}/task/{name}?{urlencode(query)}"

    @property
    def image_url(self) -> str:
        return f"{self.url}/img/photo.png"

    def wait_post(self, count: int = 1, timeout: float = 20.0, page: Any = None) -> list[tuple[str, str]]:
        """The ``count``-th post to /mturk/externalSubmit (waits for it).

        Pass the Playwright ``page`` that posts when its context routes requests through Python:
        the sync API runs route handlers only while the test is inside a Playwright call, so the
        wait must keep the page's event loop turning.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self.condition:
                if len(self.posts) >= count:
                    return self.posts[count - 1]
                if page is None:
                    self.condition.wait(max(0.0, deadline - time.monotonic()))
            if page is not None:
                page.wait_for_timeout(50)
            if time.monotonic() > deadline and len(self.posts) < count:
                raise AssertionError(f"nothing was posted to /mturk/externalSubmit within {timeout} s")

    def task_answers(self, count: int = 1, page: Any = None) -> list[dict]:
        """The decoded ``taskAnswers`` of a post, after checking the post carries exactly the two MTurk fields."""
        fields = self.wait_post(count, page=page)
        names = [name for name, _ in fields]
        assert names == ["assignmentId", "taskAnswers"], names
        return json.loads(dict(fields)["taskAnswers"])


def _handler(site: CrowdSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: object) -> None:  # keep pytest output clean
            return

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path.startswith("/static/"):
                target = (STATIC_DIR / path.removeprefix("/static/")).resolve()
                if STATIC_DIR.resolve() in target.parents and target.is_file():
                    self._send(
                        200,
                        target.read_bytes(),
                        TYPES.get(target.suffix, "application/octet-stream"),
                        {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"},
                    )
                    return
            elif path == "/img/photo.png":
                self._send(200, site.image, "image/png", {"Access-Control-Allow-Origin": "*"})
                return
            elif path.startswith("/task/") and path.removeprefix("/task/") in site.pages:
                body = site.pages[path.removeprefix("/task/")].encode()
                head, pause, rest = body.partition(PAUSE)
                if not pause:
                    self._send(200, body, TYPES[".html"], {"Content-Security-Policy": FRAME_CSP})
                    return
                # A slow page: the browser parses (and runs scripts of) the first part until the
                # test lets the rest go.
                self.send_response(200)
                self.send_header("Content-Type", TYPES[".html"])
                self.send_header("Content-Length", str(len(head) + len(rest)))
                self.send_header("Content-Security-Policy", FRAME_CSP)
                self.end_headers()
                self.wfile.write(head)
                self.wfile.flush()
                site.resume.wait(30)
                self.wfile.write(rest)
                return
            self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/mturk/externalSubmit":
                self._send(404, b"not found", "text/plain")
                return
            length = int(self.headers.get("Content-Length") or 0)
            fields = parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)
            with site.condition:
                site.posts.append(fields)
                site.condition.notify_all()
            self._send(200, b"<!doctype html><p id='submitted'>Submitted</p>", TYPES[".html"])

    return Handler


@contextmanager
def crowd_site() -> Iterator[CrowdSite]:
    """Run the server on a free port of 127.0.0.1 for the duration of the block."""
    site = CrowdSite(image=png(*IMAGE_SIZE))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="crowd-site", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
