"""The tag scanner under the body rules: where tags are, by a browser's reading of HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import given, settings, strategies as st

from crawler import htmlsource
from crawler.htmlsource import EndTag, StartTag


class ReferenceLocator(HTMLParser):
    """The standard library's tokenizer, reporting what the scanner reports: a slow, independent
    second opinion for markup both read alike (it knows only script and style as raw text)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.found: list[tuple] = []
        self.feed(text)
        self.close()

    def here(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        start = self.here()
        raw = self.get_starttag_text()
        self.found.append(("start", tag, start, start + len(raw), raw.endswith("/>"),
                           tuple((name, value) for name, value in attrs)))

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        start = self.here()
        self.found.append(("end", tag, start, self.text.index(">", start) + 1))


def scanned(text: str) -> list[tuple]:
    out = []
    for tag in htmlsource.tags(text):
        if isinstance(tag, StartTag):
            out.append(("start", tag.name, tag.start, tag.end, tag.self_closing,
                        tuple((a.name, a.value) for a in tag.attributes)))
        else:
            out.append(("end", tag.name, tag.start, tag.end))
    return out


names = st.sampled_from(["p", "div", "img", "a", "span", "br", "SECTION", "h2", "figure"])
BARE_UNSAFE = re.compile(r"""[\s<>'"=/`]""")
"""What an unquoted attribute value cannot hold."""
values = st.text(st.sampled_from(list("ab <>/=&;'\" \n中文")), max_size=8)


@st.composite
def attribute(draw) -> str:
    name = draw(st.sampled_from(["src", "data-src", "class", "href", "alt", "Title", "width"]))
    value = draw(values)
    form = draw(st.sampled_from(["double", "single", "bare", "none"]))
    if form == "double":
        return f'{name}="{value.replace(chr(34), "")}"'
    if form == "single":
        return f"{name}='{value.replace(chr(39), '')}'"
    if form == "bare":
        return f"{name}={BARE_UNSAFE.sub('', value) or 'x'}"
    return name


@st.composite
def markup(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["start", "end", "text", "comment", "script", "decl"]))
        name = draw(names)
        if kind == "start":
            attrs = draw(st.lists(attribute(), max_size=3))
            gap = draw(st.sampled_from([" ", "\n", "  "]))
            close = draw(st.sampled_from([">", "/>", " />"]))
            if attrs and "=" in attrs[-1] and attrs[-1][-1] not in "'\"":
                close = close.replace("/", " /")  # src=x/> is read alike below, but not by both
            parts.append(f"<{name}" + "".join(gap + a for a in attrs) + close)
        elif kind == "end":
            parts.append(f"</{name}>")
        elif kind == "text":
            parts.append(draw(st.text(st.sampled_from(list("ab &;中\n")), max_size=10)) + draw(st.sampled_from(["", " < ", " a<1 "])))
        elif kind == "comment":
            parts.append(f"<!-- {draw(values).replace('-', '')} <{name}> -->")
        elif kind == "script":
            parts.append(f"<script>if (a < b) x = '<{name}>';</script>")
        else:
            parts.append("<!DOCTYPE html>")
    return "".join(parts)


@settings(max_examples=400, deadline=None)
@given(markup())
def test_the_scanner_finds_the_tags_the_standard_tokenizer_finds(text):
    assert scanned(text) == ReferenceLocator(text).found


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from(list("<>/!-?'\"= abp\n")), max_size=60))
def test_any_text_scans_to_tags_that_lie_in_it_in_order(text):
    last = 0
    for tag in htmlsource.tags(text):
        assert last <= tag.start < tag.end <= len(text) and text[tag.start] == "<"
        assert text[tag.end - 1] == ">"
        last = tag.end


def test_raw_text_elements_hold_no_tags():
    page = ('<title>a <b> title</title><textarea><img src="x"></textarea>'
            '<style>p > a { }</style><script>document.write("<img src=y>")</script><img src="z">')
    assert [t.name for t in htmlsource.start_tags(page)] == ["title", "textarea", "style", "script", "img"]
    assert htmlsource.start_tags(page, "img")[0].get("src").value == "z"


def test_a_quoted_value_may_hold_a_closing_bracket_and_broken_markup_is_text():
    tag, = htmlsource.start_tags('<img alt="a > b" src=x.jpg>')
    assert (tag.get("alt").value, tag.get("src").value, tag.end) == ("a > b", "x.jpg", 27)
    assert htmlsource.tags("1 < 2 and <p never closed") == []
    assert [t.name for t in htmlsource.tags("<!-- <p> --><![if mso]><p>x</p><?php x ?>")] == ["p", "p"]
    assert [t.name for t in htmlsource.tags("<p>a<!-- never closed <b>")] == ["p"]


def test_an_unquoted_value_ends_before_a_self_closing_slash():
    tag, = htmlsource.start_tags("<img src=a.jpg/>")
    assert tag.self_closing and tag.get("src").value == "a.jpg"


def test_end_tags_and_unclosed_raw_text():
    assert htmlsource.tags("</P >") == [EndTag("p", 0, 5)]
    assert [t.name for t in htmlsource.tags("<script>never closed <p>")] == ["script"]
