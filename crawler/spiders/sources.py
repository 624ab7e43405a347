"""One spider for every source: a source is data that its requests carry.

``crawler run`` crawls all chosen sources in one crawler, so one downloader with one slot per
host serves them all: ``CONCURRENT_REQUESTS_PER_DOMAIN``, ``DOWNLOAD_DELAY``,
``DOWNLOAD_SLOTS`` and AutoThrottle hold across sources, however many share a host. Each
request names its source in ``meta["source"]``; the reader of the source's shape (its
``spider`` value in the sources file) turns the answer into requests and articles.

``feed``, ``html``, ``json`` and ``qutoutiao`` are the same spider limited to one shape, for ``scrapy crawl`` and
Scrapyd (``-a source=NAME``, ``-a category=PATH``; several names separated by commas).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.settings import SETTINGS_PRIORITIES

from crawler import signals
from crawler.config import Source, load_config
from crawler.datadir import DataDir
from crawler.dates import not_in_future
from crawler.items import Article
from crawler.lifecycle import state_of
from crawler.options import check_settings
from crawler.readers import READERS

SOURCES_FILE_PRIORITY = (SETTINGS_PRIORITIES["project"] + SETTINGS_PRIORITIES["spider"]) // 2
"""The sources file's ``[settings]`` rank above ``settings.py`` and below the command line (a
named priority of its own: Scrapy merges the process's project settings into a crawler again
when ``scrapy crawl`` starts it, which would undo them at ``project``)."""


class SourcesSpider(scrapy.Spider):
    """Crawls the chosen sources of the file named by ``SOURCES_FILE`` (all by default)."""

    name = "sources"
    shape: str | None = None
    """Only sources of this shape (``feed``, ``html``, ``json``, ``qutoutiao``); None: every shape."""

    @classmethod
    def update_settings(cls, settings) -> None:
        """The sources file's ``[settings]`` apply to every entry point (``crawler run``,
        ``scrapy crawl``, Scrapyd), above ``settings.py`` and below the command line."""
        super().update_settings(settings)
        config = load_config(settings["SOURCES_FILE"])
        settings.setdict(config.settings, priority=SOURCES_FILE_PRIORITY)
        if settings.getpriority("HTTPCACHE_DIR") == SETTINGS_PRIORITIES["default"]:
            # Beside the posts: Scrapy's default (.scrapy/ in the project) is not there outside it.
            settings.set("HTTPCACHE_DIR", str(DataDir.from_settings(settings).httpcache.resolve()),
                         priority=SOURCES_FILE_PRIORITY)
        check_settings("settings", settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, source: str | list[str] | None = None,
                     category: str | list[str] | None = None, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.config = load_config(crawler.settings["SOURCES_FILE"])
        chosen = spider.config.choose(_names(source), _names(category), cls.shape)
        spider.sources = {s.name: s for s in chosen}
        spider.readers = {shape: reader(spider) for shape, reader in READERS.items()}
        spider.force = crawler.settings.getbool("FORCE_REFRESH")
        spider.feeds_read_whole = []
        return spider

    async def start(self) -> AsyncIterator[Any]:
        earlier = self._job_pages()
        for source in self.sources.values():
            if earlier.get(source.name):
                self._send(signals.documents_read_before, source=source.name, count=earlier[source.name])
            for request in self.readers[source.spider].start(source):
                yield request

    # --- requests and answers -------------------------------------------------------------

    def request(self, source: Source, url: str, step: str, *, document: bool, priority: int = 0,
                meta: dict | None = None, fallback: bool = False, **cb_kwargs: Any) -> scrapy.Request:
        """A request of ``source`` whose answer goes to its reader's ``step`` method.

        ``document``: the source's own list page or feed (a failure means the source was not
        fetched), else an article page (a failure loses that article, unless ``fallback``: then
        the reader's ``page_failed`` makes its post from what the listing gave)."""
        errback = self.document_failed if document else self.page_failed if fallback else self.article_failed
        return scrapy.Request(
            url, callback=self.read, errback=errback, priority=priority,
            meta={**(meta or {}), "source": source.name}, cb_kwargs={"step": step, **cb_kwargs})

    def read(self, response, step: str, **kwargs: Any):
        source = self.source_of(response.meta["source"])
        return getattr(self.readers[source.spider], step)(response, source, **kwargs)

    def source_of(self, name: str) -> Source:
        """A chosen source; on ``--resume`` a request queued for another one still finds it."""
        return self.sources.get(name) or self.config.source(name)

    # --- what earlier runs did ---------------------------------------------------------------

    def known_among(self, keys: list[str]) -> set[str]:
        """Which of the article ``keys`` an earlier run wrote, or found to be near-duplicates of
        one: one question to the state for a whole list page or feed. What is known is not
        fetched again (unless ``--force``), and travels on the item (``Article.known``), so no
        later step asks again."""
        return state_of(self.crawler).known(keys) if keys else set()

    def read_before(self, source: Source, url: str, mark: str) -> int | None:
        """How many entries the feed at ``url`` listed when an earlier run read the same
        ``mark`` (``crawler.readers.feed.feed_mark``) and came to know every one of them; None
        when it must be read (always under ``--force``)."""
        if self.force:
            return None
        found = state_of(self.crawler).document(source.name, url)
        return found[1] if found is not None and found[0] == mark else None

    def read_whole(self, source: Source, url: str, mark: str, keys: set[str]) -> None:
        """A feed read whole and clean; remembered once the run has finished, if by then the
        state knows every one of its articles (written, or found to be copies)."""
        self.feeds_read_whole.append((source.name, url, mark, keys))

    def closed(self, reason: str) -> None:
        if reason != "finished":
            return
        state = state_of(self.crawler)
        for name, url, mark, keys in self.feeds_read_whole:
            if state.known(keys) == keys:
                state.record_document(name, url, mark, len(keys))

    def _job_pages(self) -> dict[str, int]:
        """Documents read per source, kept in Scrapy's JOBDIR state across ``--resume``."""
        job_state = getattr(self, "state", None)
        return job_state.setdefault("pages", {}) if isinstance(job_state, dict) else {}

    # --- what readers report ------------------------------------------------------------

    def article(self, source: Source, **fields: Any) -> Article:
        """The item for one article of ``source``; its repairs, if any, are logged here."""
        for repair in fields.get("repairs", ()):
            self.logger.warning("repaired %s: %s", fields["link"], repair)
        return Article(source=source.name, categories=list(source.categories), post_author=source.post_author,
                       **fields)

    @staticmethod
    def publication_date(raw: Any, parsed: datetime | None, field: str, repairs: list[str]) -> datetime | None:
        """``parsed``, or None when the source's ``field`` was unreadable or in the future: the
        first-seen time then stands in, and ``repairs`` says why."""
        if parsed is None:
            if raw not in (None, ""):
                repairs.append(f"unreadable {field} {raw!r}: used the first-seen time")
            return None
        if not_in_future(parsed, datetime.now(timezone.utc)) is None:
            repairs.append(f"{field} in the future ({raw}): used the first-seen time")
            return None
        return parsed

    def document_read(self, source: Source, url: str, listed: int, known: int) -> None:
        """A list page or the feed was read: the source was fetched."""
        pages = self._job_pages()
        pages[source.name] = pages.get(source.name, 0) + 1
        self._send(signals.document_read, source=source.name, url=url, listed=listed, known=known)

    def skip(self, source: Source, reason: str, where: str) -> None:
        """Report an entry or page that cannot be used, and go on with the rest."""
        self.logger.warning("skipped %s: %s", where, reason)
        self._send(signals.entry_failed, source=source.name, url=where, reason=reason)

    def document_broken(self, source: Source, url: str, reason: str) -> None:
        """The source's own document (list page, feed) could not be used."""
        self.logger.error("source %s: %s: %s", source.name, url, reason)
        self._send(signals.document_failed, source=source.name, url=url, reason=reason)

    def document_failed(self, failure) -> None:
        """Errback for the sources' own documents."""
        request = failure.request
        self.document_broken(self.source_of(request.meta["source"]), request.url, failure.getErrorMessage())

    def article_failed(self, failure) -> None:
        """Errback for article pages: the article is reported and the run goes on."""
        request, reason = failure.request, why_failed(failure)
        self.logger.error("article %s: %s", request.url, reason)
        self._send(signals.entry_failed, source=request.meta["source"], url=request.url, reason=reason)

    def page_failed(self, failure):
        """Errback for article pages whose listing gave a body of its own."""
        request = failure.request
        source = self.source_of(request.meta["source"])
        kwargs = {k: v for k, v in request.cb_kwargs.items() if k != "step"}
        return self.readers[source.spider].page_failed(why_failed(failure), source, **kwargs)

    def blocked(self, source: Source, url: str, title: str, reason: str) -> None:
        """An entry the source's keep/block rules leave out: counted and listed, not written."""
        self.logger.info("blocked %s (%s): %s", url, title, reason)
        self._send(signals.entry_blocked, source=source.name, url=url, title=title, reason=reason)

    def _send(self, signal: object, **kwargs: Any) -> None:
        self.crawler.signals.send_catch_log(signal, spider=self, **kwargs)


class FeedSpider(SourcesSpider):
    """RSS and Atom sources only (``scrapy crawl feed -a source=NAME``)."""

    name = "feed"
    shape = "feed"


class QutoutiaoSpider(SourcesSpider):
    """Qutoutiao-style list-API sources only."""

    name = "qutoutiao"
    shape = "qutoutiao"


class HtmlSpider(SourcesSpider):
    """HTML list-page sources only."""

    name = "html"
    shape = "html"


class JsonSpider(SourcesSpider):
    """JSON list-API sources only (of any shape but the Qutoutiao preset's)."""

    name = "json"
    shape = "json"


def why_failed(failure) -> str:
    """What went wrong with a request, in a report's words: ``HTTP 404`` rather than Scrapy's
    "Ignoring non-200 response"."""
    if failure.check(HttpError):
        return f"HTTP {failure.value.response.status}"
    return failure.getErrorMessage()


def _names(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """``-a source=a,b`` from the command line, or a list from ``crawler run``."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [name.strip() for name in value if name.strip()]

