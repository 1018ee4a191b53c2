"""HTML message bodies become the plain text a reader sees, keeping paragraphs, dropping markup."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.conversations.formats.html_text import html_to_text, parsed_text


@pytest.mark.parametrize(("html", "text"), [
    ("<p>Hello <b>there</b></p><p>Line 2<br>Line 3</p>", "Hello there\n\nLine 2\nLine 3"),
    ("<ul><li>one</li><li>two</li></ul><p>after</p>", "• one\n• two\n\nafter"),
    ("<p>Tom &amp; Jerry &lt;3 &eacute;t&eacute; &#8364;5</p>", "Tom & Jerry <3 été €5"),
    ('<p>See <a href="https://example.com/?a=1&amp;b=2">the guide</a>.</p>', "See the guide."),
    ("<div>Hi</div><div><img alt=\"smile\" src=\"x.png\"></div>", "Hi\n\nsmile"),
    ("<script>alert(1)</script><style>p{}</style><p>visible</p>", "visible"),
    ("<!-- hidden --><p>shown</p>", "shown"),
    ('<p onclick="a>b">quoted &gt; in an attribute</p>', "quoted > in an attribute"),
    ("<p>unclosed <b>bold", "unclosed bold"),
    ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\n\nc"),
    ("plain text,   with  spaces\n\n\n\nand lines", "plain text, with spaces\n\nand lines"),
    ("a < b and c > d", "a < b and c > d"),
    ("<p>  </p>", ""),
    ("", ""),
    (None, ""),
])
def test_html_to_text(html: str | None, text: str) -> None:
    assert html_to_text(html) == text


WORDS = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="<>&\x00",
                                       exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
INLINE = st.sampled_from(["b", "i", "em", "strong", "span", "u"])


@st.composite
def simple_html(draw: st.DrawFn) -> str:
    """Paragraphs and divs of words, some wrapped in inline tags, some followed by a line break."""
    blocks = []
    for _ in range(draw(st.integers(1, 4))):
        block = draw(st.sampled_from(["p", "div"]))
        parts = []
        for word in draw(st.lists(WORDS, min_size=1, max_size=5)):
            tag = draw(st.one_of(st.none(), INLINE))
            parts.append(f"<{tag}>{word}</{tag}>" if tag else word)
            if draw(st.booleans()):
                parts.append("<br>")
        blocks.append(f"<{block}>{' '.join(parts)}</{block}>")
    return "".join(blocks)


@given(simple_html())
def test_the_fast_path_reads_like_the_parser(html: str) -> None:
    assert html_to_text(html) == parsed_text(html)
