"""RSS and Atom feeds (RSSHub routes and any other feed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy

from crawler.dates import parse_date
from crawler.feeds import FeedError, parse_feed
from crawler.spiders.base import SourceSpider


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
        if feed.recovered:
            self.logger.warning("source %s: %s: malformed XML, kept the %d entries that could be read",
                                self.source.name, response.url, len(feed.entries))
            self.count("source/recovered")
        self.source_read()
        # "cached": the server answered 304, so this is the feed the last run read already.
        unchanged = "cached" in response.flags
        for index, entry in enumerate(feed.entries):
            where = f"{response.url} entry {index}"
            if not entry.title and not entry.body:
                self.skip("missing field: title and body", where)
                continue
            link = response.urljoin(entry.link) if entry.link else None
            if link is None and not entry.guid:
                self.skip("missing field: link and guid", where)
                continue
            self.count("articles/listed")
            if unchanged and self.already_done(entry.guid, link or response.url):
                continue
            yield self.article(
                # RSSHub writes ``description || title``: an entry without a body shows its title.
                title=entry.title or "",
                link=link or response.url,
                guid=entry.guid,
                body=entry.body if entry.body is not None else entry.title,
                published=parse_date(entry.published),
                author=entry.author,
            )
