"""Edit HTML in place, by character offsets, without re-serialising it.

The post format promises to keep the bytes a source sent: a parser that rebuilds the document
(lxml, BeautifulSoup, feedparser) changes quoting, entities and whitespace. Here a scanner only
*locates* tags; changes are splices into the original string, so every character outside a
changed attribute stays as it was.

The scanner reads tags the way a browser's tokenizer does, and no further: comments,
declarations and processing instructions are skipped whole, the content of raw-text elements
(``<script>``, ``<style>``, ``<textarea>``…) holds no tags, a quoted attribute value may hold
``>``. It is a handful of regular expressions run from one ``<`` to the next; the standard
library's ``HTMLParser`` did the same job several times slower (it also decodes every run of
text, which nothing here needs) and raises on some marked sections (``<![foo[``).
"""

from __future__ import annotations

import html
import re
from typing import NamedTuple

_ATTR = re.compile(
    r"""(?P<name>[^\s"'<>/=]+)"""
    r"""(?:\s*=\s*(?P<value>"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<uq>[^\s>"'`=<]+)))?"""
)

VOID_ELEMENTS = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)


class Attribute(NamedTuple):
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


class StartTag:
    """A start tag: its lower-cased name and offsets (of ``<``, and just past ``>``); its
    attributes are read from the source only when asked for, since most tags are passed over
    by their name alone."""

    __slots__ = ("name", "start", "end", "self_closing", "_source", "_attributes")

    def __init__(self, name: str, start: int, end: int, self_closing: bool, source: str = "",
                 attributes: tuple[Attribute, ...] | None = None) -> None:
        self.name, self.start, self.end, self.self_closing = name, start, end, self_closing
        self._source = source
        """The text of the tag, ``<`` to ``>``."""
        self._attributes = attributes

    @property
    def attributes(self) -> tuple[Attribute, ...]:
        if self._attributes is None:
            self._attributes = _attributes(self._source, self.start, 1 + len(self.name))
        return self._attributes

    def get(self, name: str) -> Attribute | None:
        """The first attribute called ``name`` (browsers ignore later duplicates)."""
        for attr in self.attributes:
            if attr.name == name:
                return attr
        return None

    def with_attributes(self, attributes: tuple[Attribute, ...]) -> "StartTag":
        return StartTag(self.name, self.start, self.end, self.self_closing, self._source, attributes)

    def __repr__(self) -> str:
        return f"StartTag({self.name!r}, {self.start}, {self.end}, {self.attributes!r}, {self.self_closing})"


class EndTag(NamedTuple):
    name: str
    start: int
    end: int


_TAG = re.compile(r"""
    <(?:
        (?P<start>[a-zA-Z][^\s/>]*+)                                   # a start tag's name,
        (?:
            [\s/]++                                                    # then what lies between
          | [^\s/>=]++ (?:\s*+ = \s*+ (?:"[^"]*+" | '[^']*+' | [^\s>]*+))?+   # attributes,
          | =                                                          # a stray '=',
        )*+ >                                                          # to its '>'
      | /(?P<end>[a-zA-Z][^\s/>]*+) [^>]*+ >                            # an end tag
      | !-- .*? (?:--!?>|\Z)                                           # a comment
      | [!?/] [^>]*+ (?:>|\Z)                                          # <!DOCTYPE>, <?pi?>, bogus
    )""", re.VERBOSE | re.DOTALL)
"""One tag or construct at a ``<``; a ``<`` that starts none of them (``a < b``, a tag never
closed) is text. Possessive throughout: a tag left open costs one pass, never backtracking."""

RAW_TEXT_ELEMENTS = frozenset("script style textarea title xmp iframe noembed noframes".split())
_RAW_TEXT_END = {name: re.compile(rf"</{name}[\s/>]", re.IGNORECASE) for name in RAW_TEXT_ELEMENTS}
"""Where the content of each raw-text element ends: its own end tag, in any letter case."""


def _scan(text: str) -> list[StartTag | EndTag]:
    found: list[StartTag | EndTag] = []
    position = 0
    while True:
        for token in _TAG.finditer(text, position):
            start_name, end_name = token.group("start", "end")
            if end_name:
                found.append(EndTag(end_name.lower(), token.start(), token.end()))
            elif start_name:
                raw = token.group()
                name = start_name.lower()
                found.append(StartTag(name, token.start(), token.end(), raw.endswith("/>"), raw))
                if name in RAW_TEXT_ELEMENTS:  # no tags inside: go on after its end tag
                    end = _RAW_TEXT_END[name].search(text, token.end())
                    position = len(text) if end is None else end.start()
                    break
        else:
            return found


def _attributes(raw: str, start: int, name_end: int) -> tuple[Attribute, ...]:
    """The attributes of the start tag ``raw`` found at offset ``start``."""
    inner_end = len(raw) - (2 if raw.endswith("/>") else 1)
    attributes = []
    for m in _ATTR.finditer(raw, name_end, inner_end):
        group = next((g for g in ("dq", "sq", "uq") if m.group(g) is not None), None)
        if group is None:
            raw_value, value_start, value_end = None, m.end(), m.end()
        else:
            raw_value, value_start, value_end = m.group(group), m.start(group), m.end(group)
        attributes.append(Attribute(m.group("name").lower(), raw_value, start + m.start(), start + m.end(),
                                    start + value_start, start + value_end))
    return tuple(attributes)


def tags(text: str) -> list[StartTag | EndTag]:
    """All start and end tags of ``text`` in document order (comments and raw text skipped)."""
    return _scan(text)


def start_tags(text: str, name: str | None = None) -> list[StartTag]:
    return [t for t in tags(text) if isinstance(t, StartTag) and (name is None or t.name == name)]


def inner_html(text: str, class_name: str) -> str | None:
    """The source text inside the first element whose class list holds ``class_name``."""
    def has_class(tag: StartTag) -> bool:
        value = tag.get("class")
        return value is not None and class_name in (value.value or "").split()
    return first_inner_html(text, has_class)


def first_inner_html(text: str, wanted) -> str | None:
    """The source text inside the first element whose start tag ``wanted(tag)`` accepts.

    Only tags of the same name as that element are counted to find its end, so unclosed
    ``<p>`` or ``<li>`` inside it cannot end it early. Returns None when no element matches;
    an element left unclosed runs to the end of the document.
    """
    found: StartTag | None = None
    depth = 0
    for tag in tags(text):
        if found is None:
            if isinstance(tag, StartTag) and wanted(tag):
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
