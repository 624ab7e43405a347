"""One worker of a shared run (``crawler worker``): its place in the run's frontier, the acks of
its leases, and the claims that keep two workers off the same article, file name or image.

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

import asyncio
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall

from crawler import signals as project_signals
from crawler.frontier import Frontier, RunKeys, connect
from crawler.lifecycle import state_of

logger = logging.getLogger(__name__)

CLAIM_WAIT = 0.1
"""Seconds between looks at a claim another worker holds."""


class FrontierWorker:
    """The worker's side of the run named by ``RUN_ID`` (set by ``crawler worker``)."""

    def __init__(self, crawler, frontier: Frontier, lease_seconds: float) -> None:
        self.crawler = crawler
        self.frontier = frontier
        self.lease_seconds = lease_seconds
        self.claims = WorkerClaims(frontier, claim_seconds=max(4 * lease_seconds, 120),
                                   commit=lambda: state_of(crawler).flush())
        self._beat: LoopingCall | None = None
        self.lost: str | None = None
        """Why the frontier was lost mid-run, if it was."""

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.get("RUN_ID"):
            raise NotConfigured
        lease = settings.getfloat("FRONTIER_LEASE_SECONDS")
        client = connect(settings["FRONTIER_URL"])  # or FrontierUnavailable: nothing is done
        frontier = Frontier(client, RunKeys(settings["FRONTIER_PREFIX"], settings["RUN_ID"]), settings["WORKER_ID"], lease)
        worker = cls(crawler, frontier, lease)
        crawler.signals.connect(worker.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(worker.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(worker.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(worker.document_done, signal=project_signals.document_read)
        crawler.signals.connect(worker.document_done, signal=project_signals.document_failed)
        return worker

    def document_done(self, source: str, **kwargs) -> None:
        """Which sources were fetched is counted in the run itself, as it happens: a worker
        killed a moment later has said it, whoever finishes its work."""
        try:
            self.frontier.count_document(source, failed="reason" in kwargs)
        except redis.RedisError as exc:
            self.lose(exc)

    def spider_opened(self, spider) -> None:
        self.frontier.beat()
        self.frontier.mark_running()
        self._beat = LoopingCall(self.beat)
        self._beat.start(self.lease_seconds / 3, now=False)

    def beat(self) -> None:
        """Stay alive, and take back the work of workers that are not."""
        try:
            self.frontier.beat()
            recovered = self.frontier.recover_dead()
        except redis.RedisError as exc:
            self.lose(exc)
            return
        if recovered:
            logger.warning("took back %d requests and seeds of a worker that stopped", recovered)
            self.crawler.stats.inc_value("frontier/recovered", recovered)

    def spider_idle(self, spider) -> None:
        if self.lost:
            return  # let the spider close
        try:
            self.frontier.ack_all()  # idle: everything this worker popped is done
            self.frontier.recover_dead()
            if self.frontier.finish():
                logger.info("run %s is done", self.frontier.keys.run)
                return
            if self.frontier.is_finished():
                return
        except redis.RedisError as exc:
            self.lose(exc)
            return
        raise DontCloseSpider  # others still hold work that may lead to more

    def spider_closed(self, spider, reason: str) -> None:
        if self._beat is not None and self._beat.running:
            self._beat.stop()
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


def claims_of(crawler) -> "WorkerClaims | LocalClaims":
    """Claims across workers in a shared run; in a single-machine run, one process decides
    everything and its claims are free."""
    worker = crawler.get_extension(FrontierWorker) if crawler.settings.get("RUN_ID") else None
    return worker.claims if worker is not None else LocalClaims()


class LocalClaims:
    """One process: nothing to claim from anyone."""

    async def take(self, name: str) -> bool:
        """Whether another holder had to be waited for: never, here."""
        return False

    def release(self, name: str) -> None:
        return None

    @asynccontextmanager
    async def hold(self, name: str):
        yield

    def first(self, name: str, value: str) -> str:
        return value


class WorkerClaims:
    """Names (``article:KEY``, ``image:URL``, ``path:FILE``) that one worker at a time may act
    on. ``take`` waits while another live worker holds the name, and takes it over from a
    worker whose lease expired; ``release`` first commits the state, so the next holder reads
    what this one recorded. ``first`` gives a name to the first value that asks, for the run."""

    def __init__(self, frontier: Frontier, claim_seconds: float, commit) -> None:
        self.frontier = frontier
        self.claim_seconds = claim_seconds
        self.commit = commit

    async def take(self, name: str) -> bool:
        """Hold ``name``; whether another holder had to be waited for (what it did with the
        name is then in the state)."""
        me = self.frontier.worker
        waited = False
        while (holder := self.frontier.claim(name, me, self.claim_seconds)) != me:
            if not self.frontier.worker_alive(holder) and self.frontier.take_over(name, holder, me, self.claim_seconds):
                return True
            waited = True
            await asyncio.sleep(CLAIM_WAIT)
        return waited

    def release(self, name: str) -> None:
        self.commit()
        self.frontier.release(name, self.frontier.worker)

    @asynccontextmanager
    async def hold(self, name: str):
        await self.take(name)
        try:
            yield
        finally:
            self.release(name)

    def first(self, name: str, value: str) -> str:
        return self.frontier.claim(name, value, 7 * 24 * 3600)  # deleted with the run's keys


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
