"""The spider of ``crawler worker``: the sources of a shared run, started from its seeds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import redis

from crawler.spiders.sources import SourcesSpider
from crawler.worker import FrontierWorker


class WorkerSpider(SourcesSpider):
    """Crawls the sources ``crawler enqueue`` chose for the run (``source``: their names, as
    the run's description lists them), with every other worker.

    Each seed (a source's name) is taken from the run in ``start()``, one at a time and only
    when the engine asks for more, so seeds spread over the workers as they start; its first
    requests go into the shared queue, where any worker may take them."""

    name = "worker"

    async def start(self) -> AsyncIterator[Any]:
        worker = self.crawler.get_extension(FrontierWorker)
        frontier = worker.frontier
        while not frontier.lost:
            try:
                name = frontier.take_seed()
            except redis.RedisError as exc:
                worker.lose(exc)
                return
            if name is None:
                return
            source = self.source_of(name)
            for request in self.readers[source.spider].start(source):
                yield request
            try:
                frontier.seeded(name)
            except redis.RedisError as exc:
                worker.lose(exc)
                return
