"""RSS and Atom feeds (RSSHub routes and any other feed)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import scrapy

from crawler.dates import parse_date
from crawler.feeds import FeedError, parse_feed
from crawler.spiders.base import SourceSpider
from crawler.state import article_key


class FeedSpider(SourceSpider):
    """One request per source: every entry of the feed becomes an article."""

    name = "feed"

    async def start(self) -> AsyncIterator[Any]:
        self.pages_read_before()
        yield scrapy.Request(self.source.url, callback=self.parse_feed, errback=self.source_failed)

    def parse_feed(self, response):
        text = getattr(response, "text", None)
        try:
            feed = parse_feed(response.body, fallback_text=text)
        except FeedError as exc:
            self.source_broken(response.url, str(exc))
            return
        source_repairs = []
        if feed.encoding_note:
            self.logger.warning("source %s: %s: %s", self.source.name, response.url, feed.encoding_note)
            source_repairs.append(feed.encoding_note)
        if feed.recovered:
            # Entries after the break are lost: a failure, though the ones before it are kept.
            self.source_broken(response.url, f"malformed XML; kept the {len(feed.entries)} entries before the break")
        self.source_read()
        # "cached": the server answered 304, so this is the feed the last run read already.
        unchanged = "cached" in response.flags
        seen: set[str] = set()
        for index, entry in enumerate(feed.entries):
            where = f"{response.url} entry {index}"
            repairs = list(source_repairs)
            if not entry.title and not entry.body:
                self.skip("missing field: title and body", where)
                continue
            link = response.urljoin(entry.link) if entry.link else None
            if link is not None and not link.startswith(("http://", "https://")):
                repairs.append(f"refused link {link[:60]!r}: only http and https")
                link = None
            if link is None and not entry.guid:
                self.skip("missing field: link and guid", where)
                continue
            key = article_key(entry.guid, link or response.url)
            if key in seen:
                self.skip(f"duplicate guid: {entry.guid or link}", where)
                continue
            seen.add(key)
            self.count("articles/listed")
            if unchanged and self.already_done(entry.guid, link or response.url):
                continue
            title = entry.title
            if not title:
                title = _title_from(entry.body) or (link or entry.guid)
                repairs.append("missing title: made one from the body")
            published = self.publication_date(entry.published, parse_date(entry.published), "date", repairs)
            yield self.article(
                title=title,
                link=link or response.url,
                guid=entry.guid,
                # RSSHub writes ``description || title``: an entry without a body shows its title.
                body=entry.body if entry.body is not None else entry.title,
                published=published,
                author=entry.author,
                repairs=repairs,
            )


def _title_from(body: str | None, length: int = 40) -> str:
    """The first words of a body's text, for an entry that came without a title."""
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", " ", body or ""))).strip()
    return text[:length]
