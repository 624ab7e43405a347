"""RSS 0.9x/1.0/2.0 and Atom 1.0 entries, with each body exactly as the XML holds it.

feedparser re-serialises HTML and trims whitespace even with sanitising off, so the body here
is the element's own text: CDATA content verbatim, or escaped markup decoded once by the XML
parser. lxml reads the bytes, so the encoding the feed declares is the one used.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from lxml import etree

RSS10 = "http://purl.org/rss/1.0/"
RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
_RSS_NAMESPACES = (None, RSS10, RSS090)


class FeedError(ValueError):
    """A document that is not a feed at all, or not one this module can read."""


@dataclass(frozen=True)
class FeedEntry:
    title: str | None
    link: str | None
    guid: str | None
    published: str | None
    """The date as written (RFC 822 for RSS, RFC 3339 for Atom)."""
    author: str | None
    body: str | None


@dataclass(frozen=True)
class Feed:
    entries: list[FeedEntry]
    recovered: bool
    """True when the XML was malformed and only what could be read was kept."""
    encoding_note: str | None = None
    """Set when the declared encoding was wrong and another one read the feed."""


def _parser(recover: bool) -> etree.XMLParser:
    # No entity expansion, no network, no DTD: a feed cannot make us read files or bloat memory.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=recover
    )


def parse_feed(data: bytes, fallback_text: str | None = None) -> Feed:
    """Parse a feed document.

    The bytes are read with the encoding the document declares. When they do not decode that
    way (a GBK feed declaring UTF-8, say), ``fallback_text`` (the body decoded by HTTP rules)
    and then GB18030 are tried; when the XML itself is broken (a truncated feed), whatever
    entries come before the break are kept and ``recovered`` says so."""
    if not data.strip():
        raise FeedError("empty document")
    root, error, note = None, None, None
    attempts = [("declared", data)]
    gb = _decode_or_none(data, "gb18030")  # the usual truth behind a wrong declaration here
    if gb is not None:
        attempts.append(("gb18030", _strip_declaration(gb).encode("utf-8")))
    if fallback_text is not None and "\ufffd" not in fallback_text:
        attempts.append(("http", _strip_declaration(fallback_text).encode("utf-8")))
    for how, attempt in attempts:
        try:
            root = etree.fromstring(attempt, _parser(False))
        except etree.XMLSyntaxError as exc:
            error = error or exc
            continue
        if how != "declared":
            note = f"the declared encoding did not fit; read as {'the HTTP charset' if how == 'http' else how}"
        break
    recovered = root is None
    if root is None:
        try:
            root = etree.fromstring(data, _parser(True))
        except etree.XMLSyntaxError:
            root = None
        if root is None:
            raise FeedError(f"not well-formed XML: {error}") from None
    entries = list(_entries(root))
    if recovered:
        # The parser also hands back the entry the break cut through: keep whole entries only.
        entries = entries[: len(re.findall(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>", data))]
    return Feed(entries=entries, recovered=recovered, encoding_note=note)


def _decode_or_none(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _strip_declaration(text: str) -> str:
    if text.startswith("\ufeff"):
        text = text[1:]
    if text.startswith("<?xml"):
        end = text.find("?>")
        if end >= 0:
            text = text[end + 2 :]
    return text


def _entries(root: etree._Element):
    name = etree.QName(root)
    if name.localname == "feed" and name.namespace == ATOM:
        for entry in root.iterchildren(f"{{{ATOM}}}entry"):
            yield _atom_entry(entry)
    elif name.localname in ("rss", "RDF"):
        for item in root.iter(*(f"{{{ns}}}item" if ns else "item" for ns in _RSS_NAMESPACES)):
            yield _rss_item(item)
    else:
        raise FeedError(f"the document is <{name.localname}>, not an RSS or Atom feed")


def _child(element, *names: tuple[str | None, str]):
    for namespace, local in names:
        found = element.find(f"{{{namespace}}}{local}" if namespace else local)
        if found is not None:
            return found
    return None


def _inner(element) -> str | None:
    """The element's content as written: its text, and any child markup serialised."""
    if element is None:
        return None
    parts = [element.text or ""]
    for child in element:
        parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
    return "".join(parts)


def _text(element) -> str | None:
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None


def _rss_item(item) -> FeedEntry:
    rss = [(ns, "") for ns in _RSS_NAMESPACES]

    def named(local: str):
        return [(ns, local) for ns, _ in rss]

    guid = _text(_child(item, *named("guid")))
    link = _text(_child(item, *named("link")))
    if link is None and guid and guid.startswith(("http://", "https://")):
        link = guid
    body = _inner(_child(item, (CONTENT, "encoded"), *named("description")))
    return FeedEntry(
        title=_text(_child(item, *named("title"))),
        link=link,
        guid=guid,
        published=_text(_child(item, *named("pubDate"), (DC, "date"))),
        author=_text(_child(item, (DC, "creator"), *named("author"))),
        body=body,
    )


def _atom_entry(entry) -> FeedEntry:
    link = None
    for candidate in entry.iterchildren(f"{{{ATOM}}}link"):
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            link = candidate.get("href").strip()
            break
    author = _child(entry, (ATOM, "author"))
    return FeedEntry(
        title=_atom_text(_child(entry, (ATOM, "title")), as_html=False),
        link=link,
        guid=_text(_child(entry, (ATOM, "id"))),
        published=_text(_child(entry, (ATOM, "published"), (ATOM, "updated"))),
        author=_text(_child(author, (ATOM, "name"))) if author is not None else None,
        body=_atom_text(_child(entry, (ATOM, "content"), (ATOM, "summary")), as_html=True),
    )


def _atom_text(element, as_html: bool) -> str | None:
    """An Atom text construct, as HTML for bodies and as plain text for titles."""
    if element is None:
        return None
    kind = element.get("type", "text")
    if kind == "xhtml":
        div = element.find(f"{{http://www.w3.org/1999/xhtml}}div")
        markup = _inner(div if div is not None else element) or ""
        return markup if as_html else _html_to_text(markup)
    text = element.text or ""
    if kind == "html":
        return text if as_html else _html_to_text(text)
    return html.escape(text, quote=False) if as_html else text.strip()


def _html_to_text(markup: str) -> str:
    root = etree.HTML(f"<p>{markup}</p>")
    return "" if root is None else etree.tostring(root, method="text", encoding="unicode").strip()
