"""RSS and Atom feeds (RSSHub routes and any other feed): one request, every entry an article;
with ``fulltext``, each new entry's page gives its body (``crawler.readers.pages``).

A feed that answers 304 with the bytes an earlier run read whole and clean, every entry of which
the state knew by the end of that run, is not parsed again: its entries are counted as unchanged.
Most scheduled runs find most feeds so (a 304 hands back the cached copy), and parsing a
100-item feed to find each entry known costs more than the rest of its run.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterator

from w3lib.encoding import http_content_type_encoding

from crawler.config import Source
from crawler.dates import parse_date
from crawler.feeds import FeedEntry, FeedError, parse_feed
from crawler.items import Article
from crawler.readers.pages import Draft, Reader
from crawler.state import article_key


class FeedReader(Reader):
    def start(self, source: Source):
        yield self.spider.request(source, source.url, "parse_feed", document=True)

    def parse_feed(self, response, source: Source) -> Iterator[Article]:
        spider = self.spider
        # "cached": the server answered 304 (or the copy is still fresh), so this is the feed the
        # last run read already; its known entries are not rendered again.
        unchanged = "cached" in response.flags
        mark = feed_mark(source, response.body)
        # Only a cached copy is skipped whole: a feed answered in full is read, as before, so a
        # changed setting (image links, sanitising) still reaches its posts.
        entries = spider.read_before(source, response.url, mark) if unchanged else None
        if entries is not None:
            spider.logger.info("source %s: %s is as an earlier run read it whole (%d entries, all known): "
                               "not read again", source.name, response.url, entries)
            spider.document_read(source, response.url, listed=entries, known=entries)
            return
        charset = http_content_type_encoding(response.headers.get(b"Content-Type", b"").decode("latin-1"))
        try:
            feed = parse_feed(response.body, http_charset=charset, url=response.url)
        except FeedError as exc:
            spider.document_broken(source, response.url, str(exc))
            return
        source_repairs = [*([feed.encoding_note] if feed.encoding_note else []), *feed.repairs]
        for repair in source_repairs:
            spider.logger.warning("source %s: %s: %s", source.name, response.url, repair)
        if feed.recovered:
            # What recover mode could not read is lost: a failure, though what it read is kept.
            spider.document_broken(source, response.url, f"{feed.lost}; kept the {len(feed.entries)} entries before it")
        elif feed.declared_entries > len(feed.entries):
            spider.document_broken(source, response.url, f"the document holds {feed.declared_entries} items or "
                                   f"entries but only {len(feed.entries)} could be read")
        seen: set[str] = set()
        clean = not source_repairs and not feed.recovered and feed.declared_entries == len(feed.entries)
        listed: list[tuple[FeedEntry, str | None, str, list[str]]] = []
        for index, entry in enumerate(feed.entries):
            where = f"{response.url} entry {index}"
            repairs = list(source_repairs)
            if not entry.title and not entry.body:
                spider.skip(source, "missing field: title and body", where)
                clean = False
                continue
            link = response.urljoin(entry.link) if entry.link else None
            if link is not None and not link.startswith(("http://", "https://")):
                repairs.append(f"refused link {link[:60]!r}: only http and https")
                link = None
            if link is None and not entry.guid:
                spider.skip(source, "missing field: link and guid", where)
                clean = False
                continue
            key = article_key(entry.guid, link or response.url)
            if key in seen:
                spider.skip(source, f"duplicate guid: {entry.guid or link}", where)
                clean = False
                continue
            seen.add(key)
            listed.append((entry, link, key, repairs))
        known = spider.known_among([key for _, _, key, _ in listed])
        skipped = 0
        try:
            for entry, link, key, repairs in listed:
                # Entries whose page gives the body are fetched once (``--force``: again); the
                # others are read again from a feed that changed, to catch edited entries.
                if (unchanged or source.fulltext) and key in known and not spider.force:
                    skipped += 1
                    continue
                title = entry.title
                if not title:
                    title = _title_from(entry.body) or (link or entry.guid)
                    repairs.append("missing title: made one from the body")
                published = spider.publication_date(entry.published, parse_date(entry.published), "date", repairs)
                draft = Draft(
                    title=title, link=link or response.url, guid=entry.guid, published=published,
                    # RSSHub writes ``description || title``: an entry without a body shows its title.
                    summary=entry.body if entry.body is not None else html.escape(title, quote=False),
                    base=entry.base, repairs=repairs, known=key in known)
                if not self.admitted(source, draft):
                    clean = False  # listed as blocked on every read, as the rules may change
                    continue
                if source.fulltext and link is not None:
                    yield self.page_request(source, draft)
                elif source.fulltext:
                    yield from self.with_summary(source, draft, "the entry links to no page")
                else:
                    yield from self.written(source, draft, draft.summary, draft.base)
        finally:
            spider.document_read(source, response.url, listed=len(listed), known=skipped)
        if clean:
            spider.read_whole(source, response.url, mark, seen)


def feed_mark(source: Source, body: bytes) -> str:
    """What a feed's read depends on: its bytes and the source's definition (rules, categories,
    fulltext…), so that a changed definition reads the same bytes again."""
    return hashlib.blake2b(repr(source).encode() + b"\0" + body, digest_size=16).hexdigest()


def _title_from(body: str | None, length: int = 40) -> str:
    """The first words of a body's text, for an entry that came without a title."""
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", " ", body or ""))).strip()
    return text[:length]
