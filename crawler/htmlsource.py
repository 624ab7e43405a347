"""Edit HTML in place, by character offsets, without re-serialising it.

The post format promises to keep the bytes a source sent: a parser that rebuilds the document
(lxml, BeautifulSoup, feedparser) changes quoting, entities and whitespace. Here the standard
library's tokenizer only *locates* tags; changes are splices into the original string, so every
character outside a changed attribute stays as it was.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

_ATTR = re.compile(
    r"""(?P<name>[^\s"'<>/=]+)"""
    r"""(?:\s*=\s*(?P<value>"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<uq>[^\s>"'`=<]+)))?"""
)

VOID_ELEMENTS = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)


@dataclass(frozen=True)
class Attribute:
    name: str
    """Lower-cased attribute name."""
    raw_value: str | None
    """The value as written between its quotes (entities not decoded); None for a bare name."""
    start: int
    """Offset of the attribute's name in the document."""
    end: int
    """Offset just past the attribute (past its closing quote)."""
    value_start: int
    value_end: int
    """Offsets of the value itself, without quotes (equal to ``end`` for a bare name)."""

    @property
    def value(self) -> str | None:
        """The value with character references decoded, as a browser reads it."""
        return None if self.raw_value is None else html.unescape(self.raw_value)


@dataclass(frozen=True)
class StartTag:
    name: str
    start: int
    end: int
    """Offsets of ``<`` and just past ``>``."""
    attributes: tuple[Attribute, ...]
    self_closing: bool

    def get(self, name: str) -> Attribute | None:
        """The first attribute called ``name`` (browsers ignore later duplicates)."""
        for attr in self.attributes:
            if attr.name == name:
                return attr
        return None


@dataclass(frozen=True)
class EndTag:
    name: str
    start: int
    end: int


class _Locator(HTMLParser):
    """Collect start and end tags with their offsets in the source text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self._text = text
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.tags: list[StartTag | EndTag] = []

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        self.tags.append(_start_tag(tag, self._offset(), self.get_starttag_text() or ""))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        start = self._offset()
        close = self._text.find(">", start)
        self.tags.append(EndTag(tag, start, len(self._text) if close < 0 else close + 1))


def _start_tag(name: str, start: int, raw: str) -> StartTag:
    inner_end = len(raw) - 1  # the closing '>'
    self_closing = raw.endswith("/>")
    if self_closing:
        inner_end -= 1
    name_end = 1 + len(re.match(r"<[^\s/>]*", raw).group()) - 1
    attributes = []
    for m in _ATTR.finditer(raw, name_end, inner_end):
        group = next((g for g in ("dq", "sq", "uq") if m.group(g) is not None), None)
        if group is None:
            raw_value, value_start, value_end = None, m.end(), m.end()
        else:
            raw_value, value_start, value_end = m.group(group), m.start(group), m.end(group)
        attributes.append(
            Attribute(
                name=m.group("name").lower(),
                raw_value=raw_value,
                start=start + m.start(),
                end=start + m.end(),
                value_start=start + value_start,
                value_end=start + value_end,
            )
        )
    return StartTag(name, start, start + len(raw), tuple(attributes), self_closing)


def tags(text: str) -> list[StartTag | EndTag]:
    """All start and end tags of ``text`` in document order (comments and raw text skipped)."""
    locator = _Locator(text)
    locator.feed(text)
    locator.close()
    return locator.tags


def start_tags(text: str, name: str | None = None) -> list[StartTag]:
    return [t for t in tags(text) if isinstance(t, StartTag) and (name is None or t.name == name)]


def inner_html(text: str, class_name: str) -> str | None:
    """The source text inside the first element whose class list holds ``class_name``.

    Only tags of the same name as that element are counted to find its end, so unclosed
    ``<p>`` or ``<li>`` inside it cannot end it early. Returns None when no element matches;
    an element left unclosed runs to the end of the document.
    """
    found: StartTag | None = None
    depth = 0
    for tag in tags(text):
        if found is None:
            if isinstance(tag, StartTag):
                classes = (tag.get("class") and tag.get("class").value or "").split()
                if class_name in classes:
                    found = tag
                    if tag.self_closing or tag.name in VOID_ELEMENTS:
                        return ""
            continue
        if tag.name != found.name:
            continue
        if isinstance(tag, StartTag):
            depth += 1
        elif depth:
            depth -= 1
        else:
            return text[found.end : tag.start]
    return None if found is None else text[found.end :]


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace each ``(start, end)`` span of ``text`` with its string; spans must not overlap."""
    out, last = [], 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < last:
            raise ValueError(f"overlapping edits at offset {start}")
        out.append(text[last:start])
        out.append(replacement)
        last = end
    out.append(text[last:])
    return "".join(out)


def attribute_value(value: str) -> str:
    """Escape a value for a double-quoted attribute."""
    return value.replace("&", "&amp;").replace('"', "&quot;")
