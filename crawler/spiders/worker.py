"""The spider of ``crawler worker``: the sources of a shared run, started from its seeds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import redis
import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from crawler.spiders.sources import SourcesSpider
from crawler.worker import FrontierWorker


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
        worker = self.crawler.get_extension(FrontierWorker)
        frontier = worker.frontier
        try:
            while not frontier.lost and (name := frontier.take_seed()) is not None:
                source = self.source_of(name)
                yield from self.readers[source.spider].start(source)
                frontier.seeded(name)
        except redis.RedisError as exc:
            worker.lose(exc)
