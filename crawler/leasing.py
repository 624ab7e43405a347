"""Scrapy's scheduler in a worker: scrapy-redis's, popping from the run's shared frontier
(``crawler.frontier``) into this worker's lease set rather than out of Redis.

Kept apart from the frontier so the commands that only read or fill a run (``crawler enqueue``,
``status``) do not import scrapy-redis, nor the parts of Scrapy that only a crawl needs.
"""

from __future__ import annotations

from collections import deque

import redis
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

POP_BATCH = 8
"""Requests a worker leases at a time: one round trip for several of the engine's asks, while
a worker holds at most this many more than it has slots for (the others see them leased)."""


class LeasedQueue(PriorityQueue):
    """scrapy-redis's priority queue, popping into the worker's lease set (see the module).

    A request queued with a ``lease`` in its meta is a leased one queued again by Scrapy's
    retry or redirect middleware (which copy the meta; the spider never does): it replaces the
    leased one. Redis lost through every retry has stopped the worker already (the frontier's
    calls say so, ``Frontier.on_lost``): the queue is then empty to the engine."""

    def __init__(self, server, spider, key, serializer=None) -> None:
        super().__init__(server, spider, key, serializer)
        from crawler.worker import frontier_of

        self.frontier = frontier_of(spider.crawler)
        self._popped: deque = deque()
        """Requests leased in the last pop and not handed to the engine yet."""

    def push(self, request, fingerprint: str | None = None) -> bool:
        """Queue ``request`` unless the run's dupe filter has seen ``fingerprint``: whether it was."""
        return self.frontier.push(self._encode_request(request), -request.priority, request.meta.get("lease"), fingerprint)

    def __len__(self) -> int:
        try:
            return len(self._popped) + self.frontier.queued()
        except redis.RedisError:
            return len(self._popped)

    def pop(self, timeout=0):
        """The next request: leased ``POP_BATCH`` at a time, as the engine asks for one per free
        slot. A worker killed with some not handed out yet has them in its lease set, where
        another worker takes them back."""
        if not self._popped:
            try:
                popped = self.frontier.pop(POP_BATCH)
            except redis.RedisError:
                return None
            for lease, data in popped:
                request = self._decode_request(data)
                request.meta["lease"] = lease
                self._popped.append(request)
        return self._popped.popleft() if self._popped else None


class LeasingScheduler(Scheduler):
    """scrapy-redis's scheduler over ``LeasedQueue``, for the keys of one run. A request the
    dupe filter refuses in place of a leased one (a redirect to a page seen already) is done."""

    @classmethod
    def from_crawler(cls, crawler):
        from crawler.worker import frontier_of

        frontier = frontier_of(crawler)
        scheduler = cls(server=frontier.client, persist=True, queue_key=frontier.keys.requests,
                        queue_cls=f"{LeasedQueue.__module__}.{LeasedQueue.__qualname__}",
                        dupefilter_key=frontier.keys.dupefilter)
        scheduler.stats = crawler.stats
        scheduler.frontier = frontier
        return scheduler

    def open(self, spider):
        from scrapy_redis.dupefilter import RFPDupeFilter

        self.df = RFPDupeFilter(self.server, key=self.dupefilter_key, debug=spider.settings.getbool("DUPEFILTER_DEBUG"))
        return super().open(spider)

    def enqueue_request(self, request) -> bool:
        """scrapy-redis's ``enqueue_request``, with the dupe filter's check and the push in one
        round trip (``Frontier.push``)."""
        fingerprint = None if request.dont_filter else self.df.request_fingerprint(request)
        if not self.queue.push(request, fingerprint):
            self.df.log(request, self.spider)
            if request.meta.get("lease"):
                self.frontier.ack(request.meta["lease"])
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def close(self, reason) -> None:
        """The queue and the dupe filter belong to the run, not to this worker: kept."""
