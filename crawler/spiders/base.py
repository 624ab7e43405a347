"""What every source spider shares: finding its source in the sources file, and reporting."""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.crawler import Crawler

from crawler.config import Source, load_config
from crawler.items import Article
from crawler.report import SourceRecorder


class SourceSpider(scrapy.Spider):
    """A spider that crawls one configured source, named by ``-a source=NAME``.

    The source is looked up in the file named by the ``SOURCES_FILE`` setting, so
    ``scrapy crawl`` and ``crawler run`` read the same configuration.
    """

    source: Source

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        name = kwargs.get("source")
        if not name:
            raise ValueError(f"the {cls.name} spider needs a source: scrapy crawl {cls.name} -a source=NAME")
        source = name if isinstance(name, Source) else load_config(crawler.settings["SOURCES_FILE"]).source(name)
        if source.spider != cls.name:
            raise ValueError(f"source {source.name!r} is for the {source.spider!r} spider, not {cls.name!r}")
        spider.source = source
        return spider

    def article(self, **fields: Any) -> Article:
        return Article(
            source=self.source.name,
            categories=list(self.source.categories),
            post_author=self.source.post_author,
            **fields,
        )

    def count(self, key: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(key, n)

    def _note(self, what: str, url: str | None, reason: str) -> None:
        recorder = self.crawler.get_extension(SourceRecorder)
        if recorder is not None:
            recorder.note(what, url, reason)

    def skip(self, reason: str, where: str) -> None:
        """Report an article or page that cannot be used, and go on with the rest."""
        self.logger.warning("skipped %s: %s", where, reason)
        self.count("articles/skipped")
        self._note("article", where, reason)

    def source_broken(self, url: str, reason: str) -> None:
        """The source's own document (list page, feed) could not be used."""
        self.logger.error("source %s: %s: %s", self.source.name, url, reason)
        self.count("source/failed")
        self._note("source", url, reason)

    def source_failed(self, failure) -> None:
        """Errback for the source's own documents (list pages, the feed)."""
        self.source_broken(failure.request.url, failure.getErrorMessage())

    def article_failed(self, failure) -> None:
        """Errback for article pages: the article is reported and the run goes on."""
        self.logger.error("article %s: %s", failure.request.url, failure.getErrorMessage())
        self.count("articles/failed")
        self._note("article", failure.request.url, failure.getErrorMessage())
