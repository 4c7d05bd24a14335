"""Parse and check a HIT's ``Question`` XML, and wrap rendered layouts as HTMLQuestion.

MTurk validated ``Question`` against its XSDs; this service checks what matters for showing
the HIT to a worker: well-formed XML, a root of HTMLQuestion / ExternalQuestion / QuestionForm
in MTurk's namespace, and the children a worker page needs. DOCTYPEs are refused (MTurk's
schemas have none, and refusing them rules out entity-expansion tricks).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.parsers import expat

from hit_service.exceptions import XML_PARSE_ERROR, RequestError

NS_BASE = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/"
HTML_QUESTION_NS = NS_BASE + "2011-11-11/HTMLQuestion.xsd"
KINDS = ("HTMLQuestion", "ExternalQuestion", "QuestionForm")
_NS_RE = re.compile(re.escape(NS_BASE) + r"\d{4}-\d{2}-\d{2}/(?P<xsd>[A-Za-z]+)\.xsd\Z")


@dataclass(frozen=True)
class ParsedQuestion:
    """What a worker page needs from a Question: its kind and content."""

    kind: str
    html: str | None = None
    external_url: str | None = None
    frame_height: int = 0


def _fail(why: str) -> RequestError:
    return RequestError(f"The Question parameter is not valid: {why}", XML_PARSE_ERROR)


def _child(root: ET.Element, ns: str, name: str) -> ET.Element | None:
    return root.find(f"{{{ns}}}{name}") if ns else root.find(name)


class _DoctypeFound(Exception):
    pass


def _doctype(*_args: object) -> None:
    raise _DoctypeFound


def _refuse_doctype(text: str) -> None:
    """Refuse a DTD in the XML itself (a ``<!DOCTYPE html>`` inside CDATA is just text)."""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _doctype
    parser.EntityDeclHandler = _doctype
    try:
        parser.Parse(text, True)
    except _DoctypeFound:
        raise _fail("DOCTYPE and ENTITY declarations are not allowed.") from None
    except expat.ExpatError:
        return  # reported, with position, by the real parse below


def parse_question(text: str) -> ParsedQuestion:
    """Parse ``text`` or raise ``RequestError`` (XMLParseError) saying what is wrong."""
    _refuse_doctype(text)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise _fail(f"it is not well-formed XML ({exc}).") from None
    ns, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    if local not in KINDS:
        raise _fail(f"the root element is <{local}>; it must be one of {', '.join(KINDS)}.")
    match = _NS_RE.match(ns)
    if match is None or match.group("xsd") != local:
        raise _fail(f"<{local}> must be in MTurk's namespace {NS_BASE}<date>/{local}.xsd, got {ns or 'none'!r}.")
    if local == "QuestionForm":
        return ParsedQuestion(kind=local)
    height = _frame_height(_child(root, ns, "FrameHeight"), local)
    if local == "HTMLQuestion":
        content = _child(root, ns, "HTMLContent")
        if content is None or not (content.text or "").strip():
            raise _fail("HTMLQuestion needs a non-empty <HTMLContent>.")
        return ParsedQuestion(kind=local, html=content.text, frame_height=height)
    url_element = _child(root, ns, "ExternalURL")
    url = (url_element.text or "").strip() if url_element is not None else ""
    if not url.startswith("https://"):
        raise _fail("ExternalQuestion needs an <ExternalURL> starting with https://.")
    return ParsedQuestion(kind=local, external_url=url, frame_height=height)


def _frame_height(element: ET.Element | None, kind: str) -> int:
    if element is None:
        raise _fail(f"{kind} needs a <FrameHeight>.")
    try:
        height = int((element.text or "").strip())
    except ValueError:
        raise _fail("<FrameHeight> must be a whole number of pixels.") from None
    if height < 0:
        raise _fail("<FrameHeight> must not be negative.")
    return height


def html_question(html: str, frame_height: int = 0) -> str:
    """Wrap HTML as an HTMLQuestion, the form GetHIT reports for a layout-based HIT."""
    cdata = html.replace("]]>", "]]]]><![CDATA[>")
    return (
        f'<HTMLQuestion xmlns="{HTML_QUESTION_NS}"><HTMLContent><![CDATA[{cdata}]]></HTMLContent>'
        f"<FrameHeight>{frame_height}</FrameHeight></HTMLQuestion>"
    )
