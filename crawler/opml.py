"""OPML subscription lists, the way feed readers trade them: read into feed sources, written
from them.

An import only ever appends: each outline with an ``xmlUrl`` becomes one ``feed`` source whose
categories are the folders it sits in (under ``--group``, when given) and its own title, and
whose name comes from that title, made unique with a few characters of the feed's URL when the
title is taken, so the same file imported again finds every feed already there and adds nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lxml import etree

from crawler.config import Config, ConfigError, parse_source, source_table


class OpmlError(ValueError):
    """A file that is not OPML; the message says why."""


@dataclass
class Imported:
    """What an import adds to a sources file, and what it leaves out with why."""

    added: list[dict] = field(default_factory=list)
    """The new sources' fields, in the file's order."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """``(outline, reason)`` for each outline that did not become a source."""

    def as_toml(self, origin: str) -> str:
        tables = [source_table(fields) for fields in self.added]
        return f"\n# Imported from {origin} (crawler sources --import).\n" + "\n".join(tables)


@dataclass(frozen=True)
class _Feed:
    text: str
    """What a reader shows for the feed: its last category."""
    title: str
    """What the source's name is made from (OPML's optional ``title``, else the text)."""
    url: str
    folders: tuple[str, ...]


def read_opml(data: bytes) -> tuple[list[_Feed], list[tuple[str, str]]]:
    """The feeds of an OPML document in document order, and the outlines that are not feeds."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from None
    if etree.QName(root).localname != "opml" or root.find("body") is None:
        raise OpmlError(f"not OPML: the document is <{etree.QName(root).localname}>, not <opml> with a <body>")
    feeds: list[_Feed] = []
    skipped: list[tuple[str, str]] = []

    def walk(parent, folders: tuple[str, ...]) -> None:
        for outline in parent.iterchildren("outline"):
            text = (outline.get("text") or "").strip()
            label = text or (outline.get("title") or "").strip()
            url = (outline.get("xmlUrl") or "").strip()
            if url:
                text = label or _host_name(url)
                feeds.append(_Feed(text, (outline.get("title") or "").strip() or text, url, folders))
            elif len(outline):
                walk(outline, folders + ((label,) if label else ()))
            else:
                link = outline.get("htmlUrl") or outline.get("url")
                skipped.append((label or link or "(untitled)", "not a feed: the outline has no xmlUrl"))

    walk(root.find("body"), ())
    return feeds, skipped


def import_opml(config: Config, data: bytes, group: str | None = None) -> Imported:
    """The feed sources ``data`` adds to ``config``; raises OpmlError."""
    feeds, skipped = read_opml(data)
    result = Imported(skipped=list(skipped))
    known = {source.url: source.name for source in config.sources}
    names = {source.name for source in config.sources}
    added: set[str] = set()
    for feed in feeds:
        if feed.url in known:
            where = "listed before in this file" if known[feed.url] in added else "already a source"
            result.skipped.append((feed.text, f"{where} ({known[feed.url]}): {feed.url}"))
            continue
        if not re.match(r"^https?://[^/\s]+", feed.url):
            result.skipped.append((feed.text, f"not an http:// or https:// URL: {feed.url[:80]}"))
            continue
        name = _name(feed.title, feed.url)
        if name in names:
            name = f"{name[:92]}-{hashlib.sha1(feed.url.encode()).hexdigest()[:6]}"
        fields = {"name": name, "spider": "feed", "url": feed.url,
                  "categories": [*([group] if group else []), *feed.folders, feed.text]}
        try:
            parse_source(feed.text, fields)
        except ConfigError as exc:
            result.skipped.append((feed.text, str(exc)))
            continue
        known[feed.url] = name
        names.add(name)
        added.add(name)
        result.added.append(fields)
    return result


def export_opml(config: Config) -> bytes:
    """OPML 2.0 of the file's feed sources, folders from their categories (the last one is the
    feed's text, its name the title), so importing it elsewhere gives the same sources."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"Feed sources of {config.path.name}"
    body = etree.SubElement(root, "body")
    folders: dict[tuple[str, ...], etree._Element] = {(): body}
    for source in config.sources:
        if source.spider != "feed":
            continue
        *path, text = source.categories
        for depth in range(1, len(path) + 1):
            if tuple(path[:depth]) not in folders:
                folders[tuple(path[:depth])] = etree.SubElement(folders[tuple(path[: depth - 1])], "outline",
                                                                text=path[depth - 1])
        etree.SubElement(folders[tuple(path)], "outline", type="rss", text=text, title=source.name, xmlUrl=source.url)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _name(title: str, url: str) -> str:
    """A source name from a feed's title: its letters and digits, other runs made '-'."""
    name = re.sub(r"[^\w.]+", "-", title.strip().lower()).strip(".-")[:100]
    return name or _host_name(url)


def _host_name(url: str) -> str:
    return re.sub(r"[^\w]+", "-", urlsplit(url).hostname or "feed").strip("-") or "feed"
