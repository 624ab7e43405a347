"""What every source spider shares: finding its source in the sources file, and reporting."""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.crawler import Crawler

from datetime import datetime, timezone
from pathlib import Path

from crawler.config import Source, load_config
from crawler.dates import not_in_future
from crawler.items import Article
from crawler.report import SourceRecorder
from crawler.state import StateStore, article_key


class SourceSpider(scrapy.Spider):
    """A spider that crawls one configured source, named by ``-a source=NAME``.

    The source is looked up in the file named by the ``SOURCES_FILE`` setting, so
    ``scrapy crawl`` and ``crawler run`` read the same configuration.
    """

    source: Source
    _state_store: StateStore | None = None  # not `state`: Scrapy's JOBDIR keeps a dict there

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
        spider.force = crawler.settings.getbool("FORCE_REFRESH")
        crawler.signals.connect(spider._close_state, signal=scrapy.signals.spider_closed)
        return spider

    # --- what earlier runs did ---------------------------------------------------------------

    def already_done(self, guid: str | None, link: str) -> bool:
        """Whether an earlier run wrote this article (``--force`` treats nothing as done).

        Done articles are counted as ``articles/known`` and not fetched or rendered again."""
        if self.force:
            return False
        if self._state_store is None:
            self._state_store = StateStore.shared(self._state_path())
        if self._state_store.article(article_key(guid, link)) is None:
            return False
        self.count("articles/known")
        return True

    def _close_state(self, spider) -> None:
        if self._state_store is not None:
            StateStore.release(self._state_path())

    def _state_path(self) -> Path:
        return Path(self.crawler.settings["DATA_DIR"]) / "state.sqlite3"

    def article(self, **fields: Any) -> Article:
        """The item for one article of this source; its repairs, if any, are logged here."""
        for repair in fields.get("repairs", ()):
            self.logger.warning("repaired %s: %s", fields["link"], repair)
        return Article(
            source=self.source.name,
            categories=list(self.source.categories),
            post_author=self.source.post_author,
            **fields,
        )

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

    def source_read(self) -> None:
        """A list page or the feed was read: the source was fetched."""
        self.count("source/pages")
        job_state = getattr(self, "state", None)  # Scrapy's JOBDIR state, kept across --resume
        if isinstance(job_state, dict):
            job_state["pages"] = job_state.get("pages", 0) + 1

    def pages_read_before(self) -> None:
        """On ``--resume``: list pages read before the interruption count as fetched (the
        dupe filter will not let them be read twice)."""
        job_state = getattr(self, "state", None)
        if isinstance(job_state, dict) and job_state.get("pages"):
            self.count("source/pages_before_resume", job_state["pages"])

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
