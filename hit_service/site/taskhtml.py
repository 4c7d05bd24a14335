"""The HIT's HTML as the worker's frame gets it: MTurk's remote URLs pointed at this service.

Requesters' task HTML loads MTurk's task script from S3, Crowd HTML Elements from
``assets.crowd.aws``, and posts to MTurk's ``externalSubmit``. None of those can work here (an
in-house deployment need not reach the internet, and MTurk is gone), so when the service
serves a HIT's HTML to a worker (or to a preview) it rewrites these well-known URLs to its own
copies. The stored ``Question`` is never changed: ``GetHIT`` returns it exactly as sent.

Rewritten (``http``, ``https`` or scheme-relative):

* ``s3.amazonaws.com/mturk-public/externalHIT_v1.js`` (and the regional / virtual-hosted S3
  spellings ``s3-external-1.amazonaws.com``, ``s3.us-east-1.amazonaws.com``,
  ``mturk-public.s3.amazonaws.com``) → ``/static/mturk/externalHIT_v1.js``
* ``assets.crowd.aws/crowd-html-elements.js`` → ``/static/crowd/crowd-html-elements.js``
* ``www.mturk.com/mturk/externalSubmit`` and ``workersandbox.mturk.com/mturk/externalSubmit``
  → ``/mturk/externalSubmit`` of this service

and ``/static/mturk/frame-storage.js`` goes first into the page's ``<head>``: an in-memory
``localStorage`` for the sandboxed frame, which has none; then ``/static/mturk/frame-links.js``:
links the worker follows open in a new tab (the frame may not navigate the worker's tab).
"""

from __future__ import annotations

import re

from hit_service.site.templating import static_url

EXTERNAL_HIT_JS = "mturk/externalHIT_v1.js"
CROWD_JS = "crowd/crowd-html-elements.js"
FRAME_STORAGE_JS = "mturk/frame-storage.js"
FRAME_LINKS_JS = "mturk/frame-links.js"

_SCHEME = r"(?:https?:)?//"
_EXTERNAL_HIT = re.compile(
    _SCHEME + r"(?:(?:s3|s3-external-1|s3[.-]us-east-1)\.amazonaws\.com/mturk-public|mturk-public\.s3(?:[.-]us-east-1)?"
    r"\.amazonaws\.com)/externalHIT_v1\.js",
    re.IGNORECASE,
)
_CROWD = re.compile(_SCHEME + r"assets\.crowd\.aws/crowd-html-elements\.js", re.IGNORECASE)
_SUBMIT = re.compile(_SCHEME + r"(?:www|workersandbox)\.mturk\.com/mturk/externalSubmit", re.IGNORECASE)
_HEAD = re.compile(r"<head(?:\s[^>]*)?>", re.IGNORECASE)
_HTML = re.compile(r"<html(?:\s[^>]*)?>", re.IGNORECASE)
_DOCTYPE = re.compile(r"\s*<!DOCTYPE[^>]*>", re.IGNORECASE)


def rewrite_urls(html: str, base: str) -> str:
    """``html`` with MTurk's task script, the crowd elements and externalSubmit on ``base``."""
    base = base.rstrip("/")
    html = _EXTERNAL_HIT.sub(static_url(EXTERNAL_HIT_JS, base), html)
    html = _CROWD.sub(static_url(CROWD_JS, base), html)
    return _SUBMIT.sub(f"{base}/mturk/externalSubmit", html)


def inject_first(html: str, snippet: str) -> str:
    """``snippet`` as the first thing in ``<head>`` (or where the parser will put the head)."""
    for pattern in (_HEAD, _HTML, _DOCTYPE):
        found = pattern.search(html)
        if found is not None:
            return html[: found.end()] + snippet + html[found.end() :]
    return snippet + html


def task_page(html: str, base: str) -> str:
    """The HIT's HTML ready for the worker's frame: URLs rewritten, storage stand-in and the
    links-open-a-new-tab script first."""
    first = "".join(f"<script src='{static_url(name, base)}'></script>" for name in (FRAME_STORAGE_JS, FRAME_LINKS_JS))
    return inject_first(rewrite_urls(html, base), first)
