"""QuestionForm ``FormattedContent``: the XHTML subset MTurk allowed, made safe to put in a page.

MTurk rendered a FormattedContent block's XHTML (headings, paragraphs, lists, tables, links,
images, emphasis) and refused scripts, styles, forms and event handlers. This keeps the allowed
elements and attributes, drops every other tag (its text stays, escaped) and the content of
``script`` / ``style`` entirely, and allows only http(s) (and mailto for links) URLs. The result is
well-formed HTML with every text and attribute value escaped, so templates may mark it safe.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser
from urllib.parse import urlsplit

ALLOWED = {
    "a", "b", "big", "blockquote", "br", "caption", "center", "cite", "code", "col", "colgroup", "dd", "del",
    "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li",
    "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var",
}  # fmt: skip
VOID = {"br", "col", "hr", "img"}
DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript", "textarea", "select"}
ATTRIBUTES = {
    "*": {"title", "align", "valign", "lang", "dir"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "border"},
    "font": {"color", "size", "face"},
    "table": {"border", "cellpadding", "cellspacing", "width", "summary"},
    "td": {"colspan", "rowspan", "width", "nowrap"},
    "th": {"colspan", "rowspan", "width", "nowrap", "scope"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "li": {"value", "type"},
    "q": {"cite"},
    "blockquote": {"cite"},
}
URL_ATTRIBUTES = {"href", "src", "cite"}


def safe_url(url: str, *, mailto: bool = False) -> bool:
    """True for an absolute http(s) URL (and mailto: where allowed)."""
    scheme = urlsplit(url.strip()).scheme.lower()
    return scheme in ("http", "https") or (mailto and scheme == "mailto")


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skipping = 0  # depth inside script/style & co.

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROP_WITH_CONTENT:
            self.skipping += 1
            return
        if self.skipping or tag not in ALLOWED:
            return
        kept = []
        for name, value in attrs:
            name = name.lower()
            if value is None or name not in ATTRIBUTES["*"] | ATTRIBUTES.get(tag, set()):
                continue
            if name in URL_ATTRIBUTES and not safe_url(value, mailto=name == "href"):
                continue
            kept.append(f' {name}="{html.escape(value, quote=True)}"')
        if tag == "a" and any(k.startswith(" href=") for k in kept):
            kept.append(' rel="noopener noreferrer" target="_blank"')
        self.out.append(f"<{tag}{''.join(kept)}>")
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.open and self.open[-1] == tag and not self.skipping:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in DROP_WITH_CONTENT:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping or tag not in self.open:
            return
        while self.open:  # close what was left open inside it
            inner = self.open.pop()
            self.out.append(f"</{inner}>")
            if inner == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(html.escape(data, quote=False))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{tag}>" for tag in reversed(self.open))


def sanitize(xhtml: str) -> str:
    """Safe HTML for a FormattedContent block (see the module docstring)."""
    parser = _Sanitizer()
    parser.feed(xhtml or "")
    return parser.result()
