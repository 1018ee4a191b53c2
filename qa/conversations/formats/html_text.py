"""HTML message bodies (Intercom parts, Zendesk `html_body`, Freshdesk `body`) as plain text.

Caliper stores and shows plain text only (templates escape it), so nothing of the HTML survives
but its words and its shape: paragraphs, line breaks and list items become newlines, links keep
their text, images their alt text, and scripts, styles and comments vanish. The HTML is parsed by
Lexbor (selectolax), a real HTML5 parser, so broken markup reads the way a browser would show it.
"""

from __future__ import annotations

import re
from html import unescape

from selectolax.lexbor import LexborHTMLParser

# Elements that start a new line of text (block-level in a browser's default style sheet).
_BLOCKS = ("p, div, h1, h2, h3, h4, h5, h6, ul, ol, blockquote, pre, table, tr, section, article, "
           "header, footer, aside, nav, dl, dt, dd, hr, figure, figcaption, address")
_DROPPED = "script, style, head, template, noscript, object, iframe"
_SPACES = re.compile(r"[^\S\n]+")  # whitespace other than newlines
_BLANK_LINES = re.compile(r"\n{3,}")
_LINE_EDGES = re.compile(r" ?\n ?")  # after _SPACES, a line's edges hold at most one space
_LOOKS_LIKE_HTML = re.compile(r"<[a-zA-Z!/]|&[#a-zA-Z0-9]+;")


# Most helpdesk bodies are a few paragraphs of plain markup. Those are converted by pattern, ~80× faster
# than building a document (an import converts millions); anything else (comments, scripts, tables,
# stray '<', attributes holding '>') goes through the parser.
_SIMPLE_TAG = re.compile(
    r"<(/?)(p|div|br|b|i|u|s|em|strong|span|a|ul|ol|li|h[1-6]|blockquote|code|pre|small|font|sub|sup|hr)"
    r"""(?:\s(?:[^<>"']|"[^"]*"|'[^']*')*)?/?>""", re.IGNORECASE)
_SIMPLE_BLOCKS = frozenset({"p", "div", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
                            "hr"})


def _simple_tag(match: re.Match[str]) -> str:
    name = match.group(2).lower()
    if name == "br":
        return "\n"
    if name == "li":
        return "" if match.group(1) else "\n• "
    return "\n\n" if name in _SIMPLE_BLOCKS else ""


def html_to_text(html: str | None) -> str:
    """The text a reader sees in `html`, with paragraphs as blank lines and breaks as newlines."""
    if not html:
        return ""
    if not _LOOKS_LIKE_HTML.search(html):
        return _tidy(html)
    simple = _SIMPLE_TAG.sub(_simple_tag, html)
    if "<" not in simple:
        return _tidy(unescape(simple))
    return parsed_text(html)


def parsed_text(html: str) -> str:
    """html_to_text through the HTML parser, whatever the markup."""
    tree = LexborHTMLParser(html)
    root = tree.body or tree.root
    if root is None:
        return ""
    for node in root.css(_DROPPED):
        node.decompose()
    for node in root.css("img[alt]"):
        node.insert_before(f" {node.attributes.get('alt') or ''} ")
    for node in root.css("br"):
        node.insert_after("\n")
    for node in root.css("li"):
        node.insert_before("\n• ")
    for node in root.css(_BLOCKS):
        node.insert_before("\n\n")
        node.insert_after("\n\n")
    for node in root.css("td, th"):
        node.insert_after("\t")
    return _tidy(root.text(deep=True, separator="", strip=False))


def _tidy(text: str) -> str:
    # Whole-text passes (not per line): this runs once per message of an import.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _LINE_EDGES.sub("\n", _SPACES.sub(" ", text))
    return _BLANK_LINES.sub("\n\n", text).strip()
