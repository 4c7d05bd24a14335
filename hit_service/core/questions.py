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


def _content_html(element: ET.Element | None) -> str:
    """QuestionContent / Overview as HTML: Title, Text and FormattedContent (plain, escaped)."""
    if element is None:
        return ""
    parts = []
    for child in element:
        name = _local(child)
        text = _escape((child.text or "").strip())
        if name == "Title":
            parts.append(f"<h3>{text}</h3>")
        elif name in ("Text", "FormattedContent"):
            parts.append(f"<p>{text}</p>")
        elif name == "List":
            items = "".join(f"<li>{_escape((item.text or '').strip())}</li>" for item in child)
            parts.append(f"<ul>{items}</ul>")
    return "".join(parts)


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def render_question_form(text: str, submit_base: str) -> str:
    """A QuestionForm as a plain HTML page whose form posts to ``submit_base/mturk/externalSubmit``.

    FreeTextAnswer becomes a text field (a textarea with NumberOfLinesSuggestion > 1),
    SelectionAnswer radio buttons, checkboxes (StyleSuggestion checkbox/multichooser) or a
    select (list/dropdown/combobox); each answer comes back as FreeText (the selection IDs
    joined with ``|``). FormattedContent is shown as escaped text; FileUploadAnswer is not
    supported and says so.
    """
    root = ET.fromstring(text)
    parts = []
    for child in root:
        name = _local(child)
        if name == "Overview":
            parts.append(f"<section class='overview'>{_content_html(child)}</section>")
            continue
        if name != "Question":
            continue
        ident = _text_of(child, "QuestionIdentifier")
        required = _text_of(child, "IsRequired").lower() == "true"
        content = _content_html(next(iter(_kids(child, "QuestionContent")), None))
        spec_list = _kids(child, "AnswerSpecification")
        spec = spec_list[0] if spec_list else None
        field = "<p><em>This question has no answer field.</em></p>"
        req = " required" if required else ""
        if spec is not None and _kids(spec, "FreeTextAnswer"):
            free = _kids(spec, "FreeTextAnswer")[0]
            default = _escape(_text_of(free, "DefaultText"))
            lines = _text_of(free, "NumberOfLinesSuggestion")
            if lines.isdigit() and int(lines) > 1:
                field = f"<textarea name='{_escape(ident)}' rows='{int(lines)}'{req}>{default}</textarea>"
            else:
                field = f"<input name='{_escape(ident)}' value='{default}'{req}>"
        elif spec is not None and _kids(spec, "SelectionAnswer"):
            selection = _kids(spec, "SelectionAnswer")[0]
            style = _text_of(selection, "StyleSuggestion") or "radiobutton"
            options = []
            for option in _kids(next(iter(_kids(selection, "Selections")), ET.Element("x")), "Selection"):
                value = _escape(_text_of(option, "SelectionIdentifier"))
                label = _escape(_text_of(option, "Text") or _text_of(option, "FormattedContent") or value)
                options.append((value, label))
            if style in ("list", "dropdown", "combobox"):
                inner = "".join(f"<option value='{v}'>{label}</option>" for v, label in options)
                multiple = " multiple" if style == "list" else ""
                field = f"<select name='{_escape(ident)}'{multiple}{req}>{inner}</select>"
            else:
                kind = "checkbox" if style in ("checkbox", "multichooser") else "radio"
                field = "".join(
                    f"<label><input type='{kind}' name='{_escape(ident)}' value='{v}'"
                    f"{req if kind == 'radio' else ''}> {label}</label><br>"
                    for v, label in options
                )
        elif spec is not None and _kids(spec, "FileUploadAnswer"):
            field = "<p><em>File uploads are not supported by this service.</em></p>"
        parts.append(
            f"<fieldset><legend>{_escape(_text_of(child, 'DisplayName') or ident)}</legend>{content}{field}</fieldset>"
        )
    action = _escape(submit_base.rstrip("/") + "/mturk/externalSubmit")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>HIT</title></head><body>"
        f"<form method='post' action='{action}' id='mturk_form'><input type='hidden' name='assignmentId' "
        "id='assignmentId' value=''>" + "".join(parts) + "<p><button type='submit' id='submitButton'>Submit</button>"
        "</p></form><script>(function(){var q=new URLSearchParams(location.search);var a=q.get('assignmentId')||'';"
        "document.getElementById('assignmentId').value=a;var t=q.get('turkSubmitTo');if(t){document.getElementById("
        "'mturk_form').action=t.replace(/\\/$/,'')+'/mturk/externalSubmit';}if(!a||a==='ASSIGNMENT_ID_NOT_AVAILABLE')"
        "{var b=document.getElementById('submitButton');b.disabled=true;b.textContent='Accept the HIT to answer';}})();"
        "</script></body></html>"
    )
