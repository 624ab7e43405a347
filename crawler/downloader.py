"""Scrapy's downloader, holding each download slot to its concurrency.

Scrapy 2.19 starts a queued download as an asyncio task and counts it as transferring only when
that task first runs. One pass over a slot's queue therefore starts every request waiting there,
whatever the slot's concurrency: with ``CONCURRENT_REQUESTS_PER_DOMAIN = 1``, seven requests were
open on one host at once (measured on loopback). For a run of hundreds of sources on one
RSSHub host that is the difference between polite and banned.

The fix counts a request as transferring the moment it leaves the queue. Scrapy's own
``_download`` adds it again (a set: no change) and removes it once the answer is in, so delays,
AutoThrottle and ``DOWNLOAD_SLOTS`` work as documented. It overrides one private method of a
pinned Scrapy (``scrapy>=2.19,<2.20``); ``tests/test_one_crawl.py`` counts the requests a
loopback server has open and fails if the limit is ever exceeded.
"""

from __future__ import annotations

from time import monotonic

from scrapy.core.downloader import Downloader, Slot
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro


class SlotBoundDownloader(Downloader):
    def _process_queue(self, slot: Slot) -> None:
        if slot.latercall:
            return  # a delayed pass is already planned
        now = monotonic()
        delay = slot.download_delay()
        if delay and (wait := slot.lastseen + delay - now) > 0:
            slot.latercall = call_later(wait, self._latercall, slot)
            return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = now
            request, queue_dfd = slot.queue.popleft()
            slot.transferring.add(request)  # now, not when the task first runs
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
            if delay:  # one request per delay: plan the next pass
                self._process_queue(slot)
                break
