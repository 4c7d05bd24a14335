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
from typing import Any
from xml.parsers import expat

from hit_service.core import answer_rules, formatted
from hit_service.core.exceptions import XML_PARSE_ERROR, RequestError

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


def parse_question(text: str, *, allow_http: bool = False) -> ParsedQuestion:
    """Parse ``text`` or raise ``RequestError`` (XMLParseError) saying what is wrong.

    ``allow_http`` also accepts ``http://`` ExternalURLs (a test-mode service, whose test pages
    are served by plain local HTTP servers; MTurk itself required https).
    """
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
    if not (url.startswith("https://") or (allow_http and url.startswith("http://"))):
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


def check_xml(text: str, member: str) -> None:
    """Refuse ``text`` unless it is well-formed XML without a DOCTYPE (qualification tests, keys)."""
    try:
        _refuse_doctype(text)
        ET.fromstring(text)
    except RequestError:
        raise RequestError(f"The {member} parameter is not valid: DOCTYPE is not allowed.", XML_PARSE_ERROR) from None
    except ET.ParseError as exc:
        raise RequestError(f"The {member} parameter is not well-formed XML ({exc}).", XML_PARSE_ERROR) from None


def _local(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


def _kids(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child) == name]


def _text_of(element: ET.Element | None, name: str) -> str:
    if element is None:
        return ""
    found = _kids(element, name)
    return (found[0].text or "").strip() if found else ""


def _binary(element: ET.Element) -> dict[str, object]:
    """A ``Binary`` block: an image, audio or video by URL (with its alt text), else a link."""
    mime = next(iter(_kids(element, "MimeType")), None)
    kind = _text_of(mime, "Type").lower() if mime is not None else ""
    url = _text_of(element, "DataURL")
    alt = _text_of(element, "AltText")
    if not formatted.safe_url(url):
        return {"kind": "text", "text": f"[{alt or 'an attachment'}: its URL cannot be shown here]"}
    return {"kind": "binary", "media": kind if kind in ("image", "audio", "video") else "link", "url": url, "alt": alt}


def _content(element: ET.Element | None) -> list[dict[str, object]]:
    """QuestionContent / Overview as blocks a template shows: Title, Text, FormattedContent (its
    XHTML, sanitised), Binary (image, audio, video) and List."""
    if element is None:
        return []
    blocks: list[dict[str, object]] = []
    for child in element:
        name = _local(child)
        text = (child.text or "").strip()
        if name == "Title":
            blocks.append({"kind": "title", "text": text})
        elif name == "Text":
            blocks.append({"kind": "text", "text": text})
        elif name == "FormattedContent":
            blocks.append({"kind": "html", "html": formatted.sanitize(child.text or "")})
        elif name == "Binary":
            blocks.append(_binary(child))
        elif name == "List":
            blocks.append({"kind": "list", "items": [(item.text or "").strip() for item in child]})
    return blocks


NO_RULES = answer_rules.TextRules()


@dataclass(frozen=True)
class FormQuestion:
    """One ``<Question>`` of a QuestionForm, as the worker's form shows it."""

    ident: str
    label: str
    required: bool
    content: list[dict[str, object]]
    answer: str  # "text", "textarea", "radio", "checkbox", "select", "multiselect", "file", "none"
    options: list[tuple[str, str]]
    default: str = ""
    lines: int = 1
    text_rules: answer_rules.TextRules = NO_RULES  # FreeTextAnswer's Constraints
    min_selections: int | None = None
    max_selections: int | None = None
    other: answer_rules.TextRules | None = None  # OtherSelection offered (with its Constraints)


@dataclass(frozen=True)
class QuestionForm:
    """A parsed QuestionForm: overviews and questions in document order."""

    parts: list[tuple[str, object]]  # ("overview", blocks) | ("question", FormQuestion)

    @property
    def questions(self) -> list[FormQuestion]:
        return [part for kind, part in self.parts if kind == "question" and isinstance(part, FormQuestion)]


_SELECT_STYLES = {"list": "multiselect", "dropdown": "select", "combobox": "select"}
_CHECK_STYLES = ("checkbox", "multichooser")


def question_form(text: str) -> QuestionForm:
    """Parse a (validated) QuestionForm into what the worker's form needs.

    FreeTextAnswer becomes a text field (a textarea with NumberOfLinesSuggestion > 1);
    SelectionAnswer radio buttons, checkboxes (StyleSuggestion checkbox/multichooser, or
    MaxSelectionCount > 1) or a select (dropdown/combobox; list is a multi-select);
    FileUploadAnswer is refused on the page (GetFileUploadURL is not supported).
    """
    root = ET.fromstring(text)
    parts: list[tuple[str, object]] = []
    for child in root:
        name = _local(child)
        if name == "Overview":
            parts.append(("overview", _content(child)))
            continue
        if name != "Question":
            continue
        ident = _text_of(child, "QuestionIdentifier")
        specs = _kids(child, "AnswerSpecification")
        spec = specs[0] if specs else None
        answer, options, default, lines = "none", [], "", 1
        rules: dict[str, Any] = {}
        if spec is not None and _kids(spec, "FreeTextAnswer"):
            free = _kids(spec, "FreeTextAnswer")[0]
            default = _text_of(free, "DefaultText")
            suggested = _text_of(free, "NumberOfLinesSuggestion")
            lines = int(suggested) if suggested.isdigit() else 1
            answer = "textarea" if lines > 1 else "text"
            rules["text_rules"] = answer_rules.text_rules(free)
        elif spec is not None and _kids(spec, "SelectionAnswer"):
            selection = _kids(spec, "SelectionAnswer")[0]
            style = _text_of(selection, "StyleSuggestion") or "radiobutton"
            most = _text_of(selection, "MaxSelectionCount")
            least = _text_of(selection, "MinSelectionCount")
            rules["min_selections"] = int(least) if least.isdigit() else None
            rules["max_selections"] = int(most) if most.isdigit() else None
            selections = next(iter(_kids(selection, "Selections")), ET.Element("x"))
            for option in _kids(selections, "Selection"):
                value = _text_of(option, "SelectionIdentifier")
                options.append((value, _text_of(option, "Text") or _text_of(option, "FormattedContent") or value))
            other = next(iter(_kids(selections, "OtherSelection")), None)
            if other is not None:
                rules["other"] = answer_rules.text_rules(other)
            if style in _SELECT_STYLES:
                answer = _SELECT_STYLES[style]
            elif style in _CHECK_STYLES or (most.isdigit() and int(most) > 1):
                answer = "checkbox"
            else:
                answer = "radio"
        elif spec is not None and _kids(spec, "FileUploadAnswer"):
            answer = "file"
        parts.append(
            (
                "question",
                FormQuestion(
                    ident=ident,
                    label=_text_of(child, "DisplayName") or ident,
                    required=_text_of(child, "IsRequired").lower() == "true",
                    content=_content(next(iter(_kids(child, "QuestionContent")), None)),
                    answer=answer,
                    options=options,
                    default=default,
                    lines=lines,
                    **rules,
                ),
            )
        )
    return QuestionForm(parts)


SELECTION_KINDS = ("radio", "checkbox", "select", "multiselect")  # answered with SelectionIdentifiers
