"""One worker of a shared run (``crawler worker``): its spider, its place in the run's
frontier, and the acks of its leases. Nothing here is loaded by ``crawler run``: the worker
command adds these components to the settings (``WORKER_COMPONENTS``).

``WorkerSpider`` is the project's one spider started from the run's seeds instead of the
sources file's list.

``FrontierWorker`` is an extension: it opens the run's ``crawler.frontier.Frontier`` when the
crawler is built, keeps the worker's lease alive, takes back the leases of workers that died,
and, when the engine is idle, either closes the run (nothing left anywhere) or keeps the spider
open while other workers still hold work that may yet lead to more. ``LeaseAcks`` (a spider and
a downloader middleware) says when a leased request is done: its callback's output consumed
and every item it gave through the pipelines, or its download failed for good. Whatever it
misses (a request whose errback Scrapy calls outside the middlewares) is done by the time the
engine is idle, so nothing is acked early and every lease ends.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import redis
import scrapy
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall

from crawler import signals as project_signals
from crawler.claims import WorkerClaims
from crawler.frontier import Frontier, RunKeys, connect
from crawler.lifecycle import state_of
from crawler.spiders.sources import SourcesSpider
from crawler.state import StateUnavailable

logger = logging.getLogger(__name__)

FINISH_WATCH_SECONDS = 0.5
"""How often an idle worker looks whether another one has finished the run."""
SETTLE_SECONDS = 0.25
"""How often a worker commits its state and acks what it finished (``Frontier.settle``). A
claim let go of waits this long at most for another worker; each settle costs a commit and a
Redis round trip, which at 20 a second came to a fifth of an article's."""

WORKER_COMPONENTS = {
    "SCHEDULER": "crawler.leasing.LeasingScheduler",
    "EXTENSIONS": {"crawler.worker.FrontierWorker": 20},
    # outermost: sees all of a callback's output
    "SPIDER_MIDDLEWARES": {"crawler.worker.LeaseAcks": 10},
    # sees a download's failure once Scrapy's retries have given up on it
    "DOWNLOADER_MIDDLEWARES": {"crawler.worker.LeaseAcks": 50},
}
"""What ``crawler worker`` adds to the project's settings (``crawler run`` has none of it)."""


class FrontierWorker:
    """The worker's side of the run named by ``RUN_ID`` (set by ``crawler worker``)."""

    def __init__(self, crawler, frontier: Frontier, lease_seconds: float, batch_wait: float = 0.0) -> None:
        self.crawler = crawler
        self.frontier = frontier
        self.lease_seconds = lease_seconds
        self.claims = WorkerClaims(frontier, claim_seconds=max(4 * lease_seconds, 120), batch_wait=batch_wait)
        frontier.before_settling = lambda: state_of(crawler).flush()
        self._beat: LoopingCall | None = None
        self._settle: LoopingCall | None = None
        self._watch: LoopingCall | None = None
        self.lost: str | None = None
        """Why the frontier was lost mid-run, if it was."""

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.get("RUN_ID"):
            raise NotConfigured
        lease = settings.getfloat("FRONTIER_LEASE_SECONDS")
        client = connect(settings["FRONTIER_URL"], settings.getint("FRONTIER_RETRIES"))  # or FrontierUnavailable
        frontier = Frontier(client, RunKeys(settings["FRONTIER_PREFIX"], settings["RUN_ID"]), settings["WORKER_ID"], lease)
        worker = cls(crawler, frontier, lease, settings.getfloat("BATCH_WAIT"))
        frontier.on_lost = worker.lose
        crawler.signals.connect(worker.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(worker.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(worker.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(worker.document_done, signal=project_signals.document_read)
        crawler.signals.connect(worker.document_done, signal=project_signals.document_failed)
        crawler.signals.connect(worker.item_error, signal=signals.item_error)
        return worker

    def item_error(self, item, response, spider, failure) -> None:
        """The state lost (``DataDirGuard`` stops the crawl): nothing is acked from now on, so
        what this worker held is done again by whoever takes its leases."""
        if failure.check(StateUnavailable):
            self._state_lost(failure.value)

    def _state_lost(self, exc: Exception) -> None:
        self.frontier.lost = f"the state was lost: {exc}"

    def document_done(self, source: str, **kwargs) -> None:
        """Which sources were fetched is counted in the run itself, as it happens: a worker
        killed a moment later has said it, whoever finishes its work."""
        try:
            self.frontier.count_document(source, failed="reason" in kwargs)
        except redis.RedisError:
            pass  # the frontier is lost: it has called ``lose``

    def spider_opened(self, spider) -> None:
        self.frontier.beat()
        self.frontier.mark_running()
        self._beat = LoopingCall(self.beat)
        self._beat.start(self.lease_seconds / 3, now=False)
        self._settle = LoopingCall(self.settle)
        self._settle.start(SETTLE_SECONDS, now=False)

    def settle(self) -> None:
        """Commit, let go of claims and ack leases (``Frontier.settle``); a lost state or
        frontier settles nothing more, so what is not recorded is done again by another worker."""
        try:
            self.frontier.settle()
        except redis.RedisError:
            pass  # the frontier is lost: it has called ``lose``
        except StateUnavailable as exc:
            self._state_lost(exc)

    def beat(self) -> None:
        """Stay alive, and take back the work of workers that are not."""
        try:
            self.frontier.beat()
            recovered = self.frontier.recover_dead()
        except redis.RedisError:
            return  # the frontier is lost: it has called ``lose``
        if recovered:
            logger.warning("took back %d requests and seeds of a worker that stopped", recovered)
            self.crawler.stats.inc_value("frontier/recovered", recovered)

    def spider_idle(self, spider) -> None:
        if self.lost:
            return  # let the spider close
        self.settle()
        try:
            self.frontier.ack_all()  # idle: everything this worker popped is done
            self.frontier.recover_dead()
            if self.frontier.finish():
                logger.info("run %s is done", self.frontier.keys.run)
                return
            if self.frontier.is_finished():
                return
        except redis.RedisError:
            return  # the frontier is lost: it has called ``lose``
        if self._watch is None:
            # Scrapy looks at an idle spider again every 5 s; the run's end is watched closer,
            # so a worker that waits for the others stops soon after the last one finishes.
            self._watch = LoopingCall(self._stop_when_finished)
            self._watch.start(FINISH_WATCH_SECONDS, now=False)
        raise DontCloseSpider  # others still hold work that may lead to more

    def _stop_when_finished(self) -> None:
        try:
            finished = self.frontier.is_finished()
        except redis.RedisError:
            return  # the frontier is lost: it has called ``lose``
        if finished:
            self._watch.stop()
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="finished"))

    def spider_closed(self, spider, reason: str) -> None:
        for call in (self._beat, self._settle, self._watch):
            if call is not None and call.running:
                call.stop()
        self.settle()
        stats = self.crawler.stats
        stats.set_value("claims/asked", self.claims.claim.asked)
        stats.set_value("claims/round_trips", self.claims.claim.calls)
        if self.lost:
            return  # its leases expire; another worker (or this one, started again) takes them
        try:
            if reason == "finished":
                self.frontier.ack_all()
            given_back = self.frontier.leave()
        except redis.RedisError as exc:
            logger.error("cannot give back to the frontier what this worker holds: %s", exc)
            return
        if given_back:
            logger.warning("gave back %d unfinished requests and seeds to the run", given_back)

    def lose(self, exc: Exception) -> None:
        """Redis stayed away through every retry: stop, keeping the leases (they expire)."""
        if self.lost:
            return
        self.lost = self.frontier.lost = f"the frontier was lost: {exc}"
        logger.error("%s; stopping. `crawler worker` continues the run once Redis is back", self.lost)
        self.crawler.stats.set_value("frontier/lost", str(exc))
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="frontier_lost"))


def frontier_of(crawler) -> Frontier:
    worker = crawler.get_extension(FrontierWorker)
    if worker is None:
        raise RuntimeError("the frontier belongs to crawler.worker.FrontierWorker, which is not enabled")
    return worker.frontier


@dataclass
class _Pending:
    """A leased request's work still under way: items in the pipelines, output not consumed."""

    items: int = 0
    output_done: bool = False


class LeaseAcks:
    """Acks a leased request once its work is done (see the module docstring). Enabled as a
    spider middleware and as a downloader middleware (there only its ``process_exception``,
    placed after Scrapy's retries so that it sees failures that are final)."""

    def __init__(self, crawler) -> None:
        self.frontier = frontier_of(crawler)
        self._pending: dict[str, _Pending] = {}

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.get("RUN_ID"):
            raise NotConfigured
        acks = cls(crawler)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(acks.item_done, signal=signal)
        return acks

    # --- spider middleware ----------------------------------------------------------------

    def process_spider_output(self, response, result):
        lease = response.meta.get("lease")
        try:
            for output in result:
                self._count(lease, output)
                yield output
        finally:
            self._output_done(lease)

    async def process_spider_output_async(self, response, result):
        lease = response.meta.get("lease")
        try:
            async for output in result:
                self._count(lease, output)
                yield output
        finally:
            self._output_done(lease)

    def _count(self, lease: str | None, output) -> None:
        if lease is not None and output is not None and not isinstance(output, Request):
            self._pending.setdefault(lease, _Pending()).items += 1

    def _output_done(self, lease: str | None) -> None:
        if lease is not None:
            self._pending.setdefault(lease, _Pending()).output_done = True
            self._maybe_ack(lease)

    def item_done(self, item, response=None, **kwargs) -> None:
        lease = getattr(response, "meta", {}).get("lease") if response is not None else None
        if lease is not None and lease in self._pending:
            self._pending[lease].items -= 1
            self._maybe_ack(lease)

    def _maybe_ack(self, lease: str) -> None:
        pending = self._pending[lease]
        if pending.output_done and pending.items <= 0:
            del self._pending[lease]
            self.frontier.ack(lease)

    # --- downloader middleware --------------------------------------------------------------

    def process_exception(self, request, exception):
        """The download failed for good: the errback only reports it."""
        lease = request.meta.get("lease")
        if lease is not None:
            self.frontier.ack(lease)
        return None


class WorkerSpider(SourcesSpider):
    """Crawls the sources ``crawler enqueue`` chose for the run (``source``: their names, as
    the run's description lists them), with every other worker.

    Each seed (a source's name) is taken from the run in ``start()``, one at a time and only
    when the engine asks for more, so seeds spread over the workers as they start; its first
    requests go into the shared queue, where any worker may take them. A seed given back by a
    worker that stopped is taken when the engine is next idle, as scrapy-redis's own spiders
    take their start URLs."""

    name = "worker"

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.seed_when_idle, signal=signals.spider_idle)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        for request in self._seeded_requests():
            yield request

    def seed_when_idle(self) -> None:
        scheduled = 0
        for request in self._seeded_requests():
            self.crawler.engine.crawl(request)
            scheduled += 1
        if scheduled:
            raise DontCloseSpider

    def _seeded_requests(self) -> Iterator[scrapy.Request]:
        """The first requests of every seed left, each seed done once they are queued (the
        consumer queues each request before asking for the next)."""
        frontier = frontier_of(self.crawler)
        try:
            while (name := frontier.take_seed()) is not None:
                source = self.source_of(name)
                yield from self.readers[source.spider].start(source)
                frontier.seeded(name)
        except redis.RedisError:
            return  # the frontier is lost: it has called ``lose``
