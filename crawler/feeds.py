"""RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed entries, each body exactly as the feed holds it.

Why a parser of our own and not feedparser: the post format promises the body's characters as
the feed's XML holds them, and feedparser re-serialises HTML and trims whitespace even with
sanitising off; reading the metadata with feedparser and the bodies here would parse every feed
twice and pair two lists of entries that disagree exactly on the broken feeds. So this module
does what a careful reader does, in the open:

- **Encoding** from the evidence, in order (``decode``): a BOM, the HTTP charset, the XML
  declaration, a ``<meta>`` charset, UTF-8 (XML's default), then chardet's guess. Chinese
  encodings are used when the evidence or the detector names them, not tried first.
- **Strict first**: the document is parsed as well-formed XML. A document that is not gets the
  repairs that are known to be safe (whitespace before the declaration, HTML named entities,
  bare ``&``), outside CDATA sections, and is parsed strictly again; lxml's recover mode, which
  drops characters silently, is the last resort and is reported with what it lost.
- **Any namespace**: RSS items are found in no namespace, RSS 1.0/0.9's, Userland's RSS 2 or
  the root's own; ``atom:link`` (``a10:link``) stands in for a missing RSS ``<link>``.
- **Text as a reader sees it**: titles lose their markup (``ft<sup>2</sup>`` is ``ft2``) and
  keep escaped characters as characters; a ``type="text"`` body is escaped, so markup written
  as text never becomes live HTML.
- **Bases**: links are resolved against ``xml:base`` and the document's URL; each entry says
  which base its body's relative URLs resolve against.
"""

from __future__ import annotations

import base64
import codecs
import copy
import html
import json
import re
from dataclasses import dataclass, field
from html.entities import name2codepoint
from urllib.parse import urljoin

import chardet
from lxml import etree

RSS10 = "http://purl.org/rss/1.0/"
RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
RSS2_USERLAND = "http://backend.userland.com/rss2"
ATOM = "http://www.w3.org/2005/Atom"
ATOM03 = "http://purl.org/atom/ns#"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
MEDIA = "http://search.yahoo.com/mrss/"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
XHTML = "http://www.w3.org/1999/xhtml"
_RSS_NAMESPACES = (None, RSS10, RSS090, RSS2_USERLAND)


class FeedError(ValueError):
    """A document that is not a feed at all, or not one this module can read."""


@dataclass(frozen=True)
class FeedEntry:
    title: str | None
    link: str | None
    guid: str | None
    published: str | None
    """The date as written (RFC 822 for RSS, RFC 3339 for Atom and JSON Feed)."""
    author: str | None
    body: str | None
    base: str | None = None
    """What the body's relative URLs resolve against (``xml:base``); None: the entry's link."""


@dataclass(frozen=True)
class Feed:
    entries: list[FeedEntry]
    recovered: bool = False
    """True when the XML stayed malformed after the safe repairs and recover mode read it."""
    encoding_note: str | None = None
    """Set when the encoding was not the one declared, or had to be guessed."""
    repairs: list[str] = field(default_factory=list)
    """What was mended in the document before it parsed (leading whitespace, entities, ``&``)."""
    lost: str | None = None
    """With ``recovered``: what recover mode could not read (entries, or text it dropped)."""
    declared_entries: int = 0
    """Items or entries the document holds, by their tags: more than ``len(entries)`` means
    some could not be read, however the document looked."""


# --- encodings -------------------------------------------------------------------------------

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_CATCH_ALL = {"iso8859-1", "ascii", "cp1252"}
"""Charsets a server sends by default: they decode any bytes, so they are weaker evidence than
the document's own declaration."""


def decode(data: bytes, http_charset: str | None = None) -> tuple[str, str | None]:
    """The document's text, and a note when the encoding that gave it was not the declared one
    (or none was declared and it was guessed)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), None
    declared = _match(_DECLARATION, data[:512])
    meta = _match(_META, data[:4096]) if declared is None else None
    evidence = [("the HTTP charset", http_charset), ("the XML declaration", declared), ("the <meta> charset", meta)]
    if _codec(http_charset) in _CATCH_ALL and (declared or meta):
        evidence.insert(2, evidence.pop(0))  # a server default yields to what the document says
    tried: list[str] = []

    def read_as(encoding: str, how: str | None) -> str:
        said = f"{' and '.join(tried)} did not fit" if tried else "no encoding declared"
        return f"{said}; read as {encoding}" + (f" ({how})" if how else "")

    for what, encoding in evidence:
        if encoding is None or _codec(encoding) is None:
            continue
        text = _decode_or_none(data, encoding)
        if text is not None:
            return text, read_as(encoding, what) if tried else None
        tried.append(f"{what} ({encoding})")
    text = _decode_or_none(data, "utf-8")  # XML's own default
    if text is not None:
        return text, read_as("utf-8", "XML's default") if tried else None
    guess = _guess(data)
    if guess and (text := _decode_or_none(data, guess)) is not None:
        return text, read_as(guess, "detected")
    return data.decode("cp1252", errors="replace"), read_as("cp1252", None) + " with replacements"


_MULTIBYTE = {"gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950", "euc_jp", "euc_jis_2004", "shift_jis",
              "cp932", "euc_kr", "cp949", "iso2022_jp", "iso2022_kr"}


def _guess(data: bytes) -> str | None:
    """chardet's guess when it can be trusted: a multi-byte encoding (their byte patterns are
    distinctive), or a single-byte one it is sure of. Short Western text fools it (Latin-1
    bytes guessed as Cyrillic), and such undeclared text is windows-1252 far more often."""
    found = chardet.detect(data)
    codec = _codec(found.get("encoding"))
    if codec is None:
        return None
    if codec in _MULTIBYTE or (found.get("confidence") or 0) >= 0.5:
        return codec
    return "cp1252"


def _match(pattern: re.Pattern, data: bytes) -> str | None:
    found = pattern.search(data)
    return found.group(1).decode("ascii") if found else None


def _codec(encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None


def _decode_or_none(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _strip_declaration(text: str) -> str:
    text = text.lstrip("\ufeff \t\r\n")
    if text.startswith("<?xml"):
        end = text.find("?>")
        if end >= 0:
            text = text[end + 2 :]
    return text


# --- repairs -----------------------------------------------------------------------------------

_PROTECTED = re.compile(r"<!\[CDATA\[.*?\]\]>|<!--.*?-->", re.DOTALL)
_AMPERSAND = re.compile(r"&(?:(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);)?")
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}


def repair(text: str) -> tuple[str, list[str]]:
    """Mend what makes real feeds malformed and is safe to mend: HTML named entities become
    character references, a bare ``&`` becomes ``&amp;``. CDATA sections and comments are left
    as they are (an ``&`` there is already text)."""
    counts = {"entity": 0, "ampersand": 0}

    def mend(match: re.Match) -> str:
        name = match.group(1)
        if name is None:
            counts["ampersand"] += 1
            return "&amp;"
        if name.startswith("#") or name in _XML_ENTITIES:
            return match.group(0)
        if name in name2codepoint:
            counts["entity"] += 1
            return f"&#{name2codepoint[name]};"
        counts["ampersand"] += 1  # &unknown; is text that lost its escaping
        return "&amp;" + name + ";"

    pieces, last = [], 0
    for protected in _PROTECTED.finditer(text):
        pieces.append(_AMPERSAND.sub(mend, text[last : protected.start()]))
        pieces.append(protected.group(0))
        last = protected.end()
    pieces.append(_AMPERSAND.sub(mend, text[last:]))
    done = []
    if counts["entity"]:
        done.append(f"{counts['entity']} HTML entities read as characters")
    if counts["ampersand"]:
        done.append(f"{counts['ampersand']} bare '&' read as text")
    return "".join(pieces), done


# --- the document ----------------------------------------------------------------------------

_ENTRY_TAG = re.compile(r"<(?:[\w.-]+:)?(?:item|entry)[\s>/]")
_ENTRY_END = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>")


def _parser(recover: bool) -> etree.XMLParser:
    # No entity expansion, no network, no DTD: a feed cannot make us read files or bloat memory.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           recover=recover, strip_cdata=True)


def parse_feed(data: bytes, http_charset: str | None = None, url: str | None = None) -> Feed:
    """Parse a feed document (``url``: where it came from, the base of relative links)."""
    if not data.strip():
        raise FeedError("empty document")
    text, note = decode(data, http_charset)
    body = _strip_declaration(text)
    if body.startswith(("{", "[")):
        entries = _json_feed(body, url)
        return Feed(entries=entries, encoding_note=note, declared_entries=len(entries))
    repairs = ["whitespace before the XML declaration removed"] if re.match(r"\s+<\?xml", text.lstrip("\ufeff")) else []
    root, error = _parse(body, url, recover=False)
    if root is None:
        mended, done = repair(body)
        root, _ = _parse(mended, url, recover=False)
        if root is not None:
            repairs += done
        else:
            root, _ = _parse(mended, url, recover=True)
            if root is None:
                raise FeedError(f"not well-formed XML: {_where(error)}")
            entries = list(_entries(root, url))
            # by their tags, outside CDATA and comments: the tree lost those after the break
            declared = len(_ENTRY_TAG.findall(_PROTECTED.sub("", body)))
            whole = len(_ENTRY_END.findall(mended))
            # recover mode also hands back the entry the break cut through: keep whole ones only
            entries = entries[:whole] if whole < len(entries) else entries
            lost = (f"{declared - len(entries)} of {declared} entries after the break lost" if declared > len(entries)
                    else "read in recovery mode, which may drop characters")
            return Feed(entries=entries, recovered=True, encoding_note=note, repairs=done,
                        lost=f"malformed XML ({_where(error)}): {lost}", declared_entries=declared)
    declared = sum(1 for _ in root.iter("{*}item", "{*}entry"))
    return Feed(entries=list(_entries(root, url)), encoding_note=note, repairs=repairs, declared_entries=declared)


def _where(error: etree.XMLSyntaxError) -> str:
    return f"{(error.msg or 'syntax error').splitlines()[0]}, line {error.lineno}, column {error.offset}"


def _parse(text: str, url: str | None, recover: bool):
    try:
        root = etree.fromstring(text.encode("utf-8"), _parser(recover), base_url=url)
    except etree.XMLSyntaxError as exc:
        return None, exc
    return root, None


def _entries(root, url: str | None):
    name = etree.QName(root)
    if name.localname == "feed" and name.namespace in (ATOM, ATOM03):
        atom = name.namespace
        for entry in root.iterchildren(f"{{{atom}}}entry"):
            yield _atom_entry(entry, atom, url)
    elif name.localname in ("rss", "RDF", "channel"):
        namespaces = {*_RSS_NAMESPACES, name.namespace if name.localname != "RDF" else RSS10}
        for item in root.iter(*(f"{{{ns}}}item" if ns else "item" for ns in namespaces)):
            yield _rss_item(item, tuple(namespaces), url)
    elif name.localname.lower() == "html":
        raise FeedError("the document is an HTML page (<html>), not an RSS, Atom or JSON feed")
    else:
        where = f" in namespace {name.namespace}" if name.namespace else ""
        raise FeedError(f"the document is <{name.localname}>{where}, not an RSS, Atom or JSON feed")


class Children(dict):
    """An element's first child of each tag, as ``element.find(tag)`` would return it: read in one
    pass, since an item is asked for a dozen tags in up to four namespaces each."""

    def __init__(self, element) -> None:
        super().__init__()
        for child in element:
            if isinstance(child.tag, str):  # not a comment or processing instruction
                self.setdefault(child.tag, child)


def _child(children: Children, *names: tuple[str | None, str]):
    for namespace, local in names:
        found = children.get(f"{{{namespace}}}{local}" if namespace else local)
        if found is not None:
            return found
    return None


def _filled(element) -> bool:
    return element is not None and (bool((element.text or "").strip()) or len(element) > 0)


def _first_filled(children: Children, *names: tuple[str | None, str]):
    for name in names:
        found = _child(children, name)
        if _filled(found):
            return found
    return None


def _inner(element) -> str | None:
    """RSS content as written: its text (XML escaping undone once: that is the HTML), and any
    child markup serialised."""
    if element is None:
        return None
    parts = [element.text or ""]
    for child in element:
        parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
    return "".join(parts)


def _inner_markup(element) -> str:
    """Inline XHTML as HTML: text escaped again, so ``&lt;b&gt;`` stays text, not a live tag;
    child elements (and their tails) serialised by lxml, without their XML namespaces."""
    parts = [html.escape(element.text or "", quote=False)]
    for child in element:
        plain = copy.deepcopy(child)
        for node in plain.iter():
            if isinstance(node.tag, str) and node.tag.startswith("{"):
                node.tag = etree.QName(node).localname
        etree.cleanup_namespaces(plain)
        parts.append(etree.tostring(plain, encoding="unicode", with_tail=True))
    return "".join(parts)


def _text(element) -> str | None:
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None


_LOOKS_LIKE_HTML = re.compile(r"<[A-Za-z/!][^<>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def visible_text(markup: str) -> str:
    """What a reader sees of a title that may hold HTML: the text, tags gone, entities read."""
    if not _LOOKS_LIKE_HTML.search(markup):
        return markup.strip()
    root = etree.HTML(f"<p>{markup}</p>")
    text = "" if root is None else etree.tostring(root, method="text", encoding="unicode")
    return re.sub(r"\s+", " ", text).strip()


def _resolved(href: str | None, element) -> str | None:
    if not href or not href.strip():
        return None
    base = element.base
    return urljoin(base, href.strip()) if base else href.strip()


_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"


def _body_base(element) -> str | None:
    """The body's base when an ``xml:base`` applies to it; None: the entry's link is."""
    if element is None:
        return None
    if any(node.get(_XML_BASE) is not None for node in (element, *element.iterancestors())):
        return element.base
    return None


def _rss_item(element, namespaces: tuple, url: str | None) -> FeedEntry:
    def named(local: str):
        return [(ns, local) for ns in namespaces]

    children = Children(element)
    guid = _text(_child(children, *named("guid")))
    link_element = _child(children, *named("link"))
    link = _resolved(_text(link_element), link_element) if link_element is not None else None
    if link is None:
        link = _atom_link(element, ATOM, url)
    if link is None and guid and guid.startswith(("http://", "https://")):
        link = guid
    media = _child(children, (MEDIA, "group"))
    body_element = _first_filled(children, (CONTENT, "encoded"), *named("description"), (MEDIA, "description"),
                                 (ITUNES, "summary"))
    if body_element is None and media is not None:
        body_element = _first_filled(Children(media), (MEDIA, "description"))
    if body_element is None:  # an empty element still says the body is empty, not missing
        body_element = _child(children, (CONTENT, "encoded"), *named("description"))
    title = _text(_child(children, *named("title")))
    return FeedEntry(
        title=(visible_text(title) or None) if title else None,
        link=link,
        guid=guid,
        published=_text(_child(children, *named("pubDate"), (DC, "date"), (DCTERMS, "issued"), (DCTERMS, "created"),
                               (DCTERMS, "modified"), (ATOM, "published"), (ATOM, "updated"))),
        author=_text(_child(children, (DC, "creator"), *named("author"))),
        body=_inner(body_element),
        base=_body_base(body_element),
    )


def _atom_link(entry, atom: str, url: str | None) -> str | None:
    for candidate in entry.iterchildren(f"{{{atom}}}link"):
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            return _resolved(candidate.get("href"), candidate)
    return None


def _atom_entry(element, atom: str, url: str | None) -> FeedEntry:
    children = Children(element)
    author = _child(children, (atom, "author"))
    content = _child(children, (atom, "content"))
    if content is not None and (content.get("src") or not _filled(content)):
        content = None  # out-of-line or empty content: the summary is the body
    body_element = content if content is not None else _first_filled(children, (atom, "summary"), (MEDIA, "description"))
    if body_element is None:
        body_element = _child(children, (atom, "summary"))
    link = _atom_link(element, atom, url)
    return FeedEntry(
        title=_atom_text(_child(children, (atom, "title")), as_html=False),
        link=link,
        guid=_text(_child(children, (atom, "id"))),
        published=_text(_child(children, (atom, "published"), (atom, "updated"), (atom, "issued"), (atom, "modified"),
                               (atom, "created"))),
        author=_text(_child(Children(author), (atom, "name"))) if author is not None else None,
        body=_atom_text(body_element, as_html=True),
        base=_body_base(body_element),
    )


def _atom_text(element, as_html: bool) -> str | None:
    """An Atom text construct (1.0 ``type``, 0.3 ``mode``), as HTML for bodies and as the text
    a reader sees for titles."""
    if element is None:
        return None
    kind = (element.get("type") or "text").lower()
    mode = element.get("mode")
    if mode == "base64":
        raw = base64.b64decode("".join(element.itertext()) or b"", validate=False).decode("utf-8", errors="replace")
        return raw if as_html else visible_text(raw)
    if kind in ("xhtml", "application/xhtml+xml") or mode == "xml" or (len(element) and kind in ("html", "text/html")):
        div = element.find(f"{{{XHTML}}}div")
        holder = div if div is not None and kind in ("xhtml", "application/xhtml+xml") else element
        if as_html:
            return _inner_markup(holder)
        return re.sub(r"\s+", " ", "".join(holder.itertext())).strip() or None
    text = element.text or ""
    if kind in ("html", "text/html") or mode == "escaped":
        return text if as_html else (visible_text(text) or None)
    return html.escape(text, quote=False) if as_html else (text.strip() or None)


# --- JSON Feed ---------------------------------------------------------------------------------


def _json_feed(text: str, url: str | None) -> list[FeedEntry]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise FeedError(f"the document looks like JSON but is not valid JSON ({exc})") from None
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise FeedError("the document is JSON but not a JSON Feed (no https://jsonfeed.org/version/ version)")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedError("the JSON Feed has no items list")
    entries = []
    for item in items:
        if not isinstance(item, dict):
            entries.append(FeedEntry(None, None, None, None, None, None))
            continue
        link = _string(item.get("url")) or _string(item.get("external_url"))
        body = _string(item.get("content_html"))
        if body is None and _string(item.get("content_text")) is not None:
            body = html.escape(item["content_text"], quote=False)
        if body is None and _string(item.get("summary")) is not None:
            body = html.escape(item["summary"], quote=False)
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        author = next((_string(a.get("name")) for a in authors if isinstance(a, dict) and _string(a.get("name"))), None)
        title = _string(item.get("title"))
        entries.append(FeedEntry(
            title=visible_text(title) if title else None,
            link=urljoin(url, link) if link and url else link,
            guid=_string(item.get("id")) if not isinstance(item.get("id"), (int, float)) else str(item["id"]),
            published=_string(item.get("date_published")) or _string(item.get("date_modified")),
            author=author,
            body=body,
        ))
    return entries


def _string(value) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
