"""The HTML pages: HIT list and worker preview, with everything escaped."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from markupsafe import escape

from tests.hit_service.helpers import LAYOUT_ID, external_question, hit_args, html_question

pytestmark = pytest.mark.integration
EVIL = "<script>alert('x')</script>"


def test_root_redirects_to_the_worker_site(http: httpx.Client) -> None:
    response = http.get("/", follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"] == "/worker"
    assert http.get("/worker", follow_redirects=False).headers["location"].startswith("/worker/login")


def test_operator_pages_need_the_password(http: httpx.Client, operator: httpx.Client, client: Any) -> None:
    client.create_hit(**hit_args(Title="Operator sees this"))
    for path in ("/operator", "/hits"):
        refused = http.get(path)
        assert refused.status_code == 401 and "Basic" in refused.headers["www-authenticate"]
        assert http.get(path, auth=("operator", "wrong")).status_code == 401
    page = operator.get("/operator")
    assert page.status_code == 200
    for path in ("/operator", "/hits"):
        assert "<meta name='viewport' content='width=device-width, initial-scale=1'>" in operator.get(path).text
    assert "Operator sees this" in page.text and "AKIAHITFLOWTEST00001" in page.text
    assert "x" * 40 not in page.text  # never a secret


def test_hits_page_lists_and_escapes(operator: httpx.Client, client: Any) -> None:
    hit = client.create_hit(**hit_args(Title=f"Age {EVIL}", RequesterAnnotation=f"BatchId:1;{EVIL}"))["HIT"]
    page = operator.get("/hits")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert hit["HITId"] in text
    assert "<script>" not in text
    assert str(escape(EVIL)) in text  # Jinja2's autoescape
    assert "$0.10" in text and "Assignable" in text
    # newest first
    newer = client.create_hit(**hit_args(Title="Newest"))["HIT"]["HITId"]
    text = operator.get("/hits").text
    assert text.index(newer) < text.index(hit["HITId"])


def test_hits_page_pages(operator: httpx.Client, client: Any) -> None:
    client.create_hit(**hit_args())
    client.create_hit(**hit_args())
    first = operator.get("/hits", params={"limit": 1}).text
    assert "offset=1&amp;limit=1" in first and "older" in first
    second = operator.get("/hits", params={"limit": 1, "offset": 1}).text
    assert "newer" in second
    assert operator.get("/hits", params={"limit": 0}).status_code == 422


def test_preview_html_question_is_sandboxed(operator: httpx.Client, client: Any) -> None:
    hit = client.create_hit(**hit_args(Title=EVIL, Question=html_question(f"<p>{EVIL}</p>", height=333)))["HIT"]
    page = operator.get(f"/hits/{hit['HITId']}/preview")
    assert page.status_code == 200
    text = page.text
    assert "<script>" not in text
    assert "sandbox='allow-scripts allow-forms'" in text
    assert "allow-same-origin" not in text
    assert "height='333'" in text
    assert "srcdoc='" in text and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text


def test_preview_layout_shows_escaped_parameters(operator: httpx.Client, client: Any) -> None:
    type_id = client.create_hit_type(Title="Layout", Description="d", Reward="0.05", AssignmentDurationInSeconds=60)[
        "HITTypeId"
    ]
    hit = client.create_hit_with_hit_type(
        HITTypeId=type_id,
        LifetimeInSeconds=60,
        HITLayoutId=LAYOUT_ID,
        HITLayoutParameters=[
            {"Name": "person_id", "Value": EVIL},
            {"Name": "image_url", "Value": "https://img.example.org/1.jpg"},
        ],
    )["HIT"]
    text = operator.get(f"/hits/{hit['HITId']}/preview").text
    assert "<script>" not in text
    assert LAYOUT_ID in text
    # The value was escaped into the layout, and the layout escaped again into srcdoc.
    assert "&amp;lt;script&amp;gt;" in text
    assert "https://img.example.org/1.jpg" in text


def test_preview_external_question(operator: httpx.Client, client: Any) -> None:
    hit = client.create_hit(**hit_args(Question=external_question("https://example.org/task?x=1")))["HIT"]
    text = operator.get(f"/hits/{hit['HITId']}/preview").text
    assert (
        f"src='https://example.org/task?x=1&amp;assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&amp;hitId={hit['HITId']}'"
        in text
    )


def test_preview_unknown_hit(operator: httpx.Client) -> None:
    assert operator.get("/hits/3NOSUCHHIT/preview").status_code == 404


def test_operator_pages_without_a_password(db_url: str, layouts_dir: Any) -> None:
    """Local mode without a password: open (logged); production mode: refused."""
    from hitflow_support.service_process import start_service

    with start_service(db_url, extra_env={"HITFLOW_LAYOUTS_DIR": str(layouts_dir)}) as local:
        assert httpx.get(f"{local.url}/operator").status_code == 200
        assert "operator pages" in local.log_tail()
    production = {
        "HITFLOW_LAYOUTS_DIR": str(layouts_dir),
        "HITFLOW_HIT_SERVICE_MODE": "production",
        "HITFLOW_HIT_SERVICE_PUBLIC_URL": "https://hits.example.org",  # production needs https (Secure cookies)
    }
    with start_service(db_url, extra_env=production) as prod:
        assert httpx.get(f"{prod.url}/operator").status_code == 403
        assert httpx.get(f"{prod.url}/_test/faults").status_code == 404


def test_pages_use_versioned_static_files_with_cache_headers(http: httpx.Client) -> None:
    """Pages link CSS by content-versioned URL; /static answers with Cache-Control, ETag and CORS."""
    import re

    page = http.get("/worker/login").text
    assert "<meta name='viewport'" in page
    css = re.search(r"href='(/static/css/site\.css\?v=[0-9a-f]{12})'", page)
    assert css is not None, page
    versioned = http.get(css.group(1))
    assert versioned.status_code == 200 and versioned.headers["content-type"].startswith("text/css")
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert versioned.headers["access-control-allow-origin"] == "*"
    plain = http.get("/static/css/site.css")
    assert plain.headers["cache-control"] == "no-cache" and plain.headers["etag"]
    again = http.get("/static/css/site.css", headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304
    stale = http.get("/static/css/site.css?v=000000000000")
    assert stale.headers["cache-control"] == "no-cache"
    assert http.get("/static/nope.js").status_code == 404
    assert http.get("/static/../app.py").status_code == 404
    assert http.get("/favicon.ico", follow_redirects=True).headers["content-type"].startswith("image/svg")
