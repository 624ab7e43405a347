"""The output folder around a crawl: one writer at a time, one state store, no leftovers.

A Scrapy extension, so ``crawler run``, ``scrapy crawl`` and Scrapyd jobs share it: it takes
``DIR/.lock`` when the crawler is built (before any request), removes what killed writers left
behind, opens the crawl's one state store (``state_of(crawler)``: the spider, the pipelines and
the run report share it, so grouped writes never wait on each other), and once the engine has
stopped, after the run report is written, commits and closes the store and releases the lock.
A second crawl of the same folder fails at once with ``LockBusy`` naming the holder, or waits up
to ``LOCK_WAIT`` seconds.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from scrapy import signals
from scrapy.utils.defer import deferred_from_coro

from crawler.datadir import DataDir
from crawler.files import remove_temporaries
from crawler.lock import DataDirLock
from crawler.state import State, StateUnavailable, open_state

logger = logging.getLogger(__name__)

STATE_COMMIT_EVERY = 2000
"""State writes grouped in one transaction (see ``crawler.state.StateStore``), or a second's
worth when fewer: each new article adds 42 rows at random places of the near-duplicate band
index, and a commit writes every page they touched; 2,000 ran the 10,000-article sources
scenario 10–15% faster than 200, alternating (BENCHMARKS.md)."""


class DataDirGuard:
    def __init__(self, data_dir: DataDir, jobdir: str | None) -> None:
        self.data_dir = data_dir
        self.jobdir = Path(jobdir).resolve() if jobdir else None
        self.lock = DataDirLock(data_dir)
        self.crawler = None
        self.state: State | None = None
        self.finish_reason: str | None = None

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        guard = cls(DataDir.from_settings(settings), settings.get("JOBDIR"))
        guard.lock.acquire(settings.getfloat("LOCK_WAIT"))  # raises LockBusy
        try:
            guard.remove_leftovers()
            guard.state = open_state(guard.data_dir, settings.get("STATE_URL"), STATE_COMMIT_EVERY,
                                     settings.getfloat("BATCH_WAIT"))  # or StateUnavailable
        except BaseException:
            guard.lock.release()
            raise
        guard.crawler = crawler
        crawler.signals.connect(guard.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(guard.engine_stopped, signal=signals.engine_stopped)
        crawler.signals.connect(guard.item_error, signal=signals.item_error)
        return guard

    def item_error(self, item, response, spider, failure) -> None:
        """The state's database stayed away through every retry: nothing more can be recorded,
        so the crawl stops at once, with one clear line (the posts written so far are whole)."""
        if failure.check(StateUnavailable) and self.finish_reason is None:
            self.finish_reason = "state_lost"
            logger.error("%s; stopping", failure.value)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="state_lost"))

    def remove_leftovers(self) -> None:
        """Temporary files of killed writers and, unless this run resumes it, the job of an
        interrupted ``--resume`` run: a fresh run starts afresh."""
        remove_temporaries(self.data_dir.posts)
        remove_temporaries(self.data_dir.images)
        if self.jobdir is None:
            shutil.rmtree(self.data_dir.job, ignore_errors=True)

    def spider_closed(self, spider, reason: str) -> None:
        self.finish_reason = reason

    def engine_stopped(self) -> None:
        # After spider_closed, when Scrapy has written the job's state: a finished job is done.
        if self.finish_reason == "finished" and self.jobdir == self.data_dir.job.resolve():
            shutil.rmtree(self.jobdir, ignore_errors=True)
        try:
            if self.state is not None:
                self.state.close()
        finally:
            self.lock.release()


def state_of(crawler) -> State:
    """The crawl's state store (from the spider's ``from_crawler`` on, once extensions exist)."""
    guard = crawler.get_extension(DataDirGuard)
    if guard is None or guard.state is None:
        raise RuntimeError("the state store belongs to crawler.lifecycle.DataDirGuard, which is not enabled")
    return guard.state
