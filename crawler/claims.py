"""Claims: names that one worker of a shared run at a time may act on.

The post writer and the image mirror ask ``claims_of(crawler)`` before they act on an article,
a file name or an image. In a single-machine run one process decides everything and its claims
are free (``LocalClaims``); in a shared run (``crawler worker``) they are kept in the run's
frontier (``WorkerClaims``), so two workers never write one post twice, give one file name to
two articles, or fetch one image twice.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from crawler.coalesce import Coalesced

class ClaimsLost(Exception):
    """The claims' store (the run's Redis) is gone: nothing can be claimed, so the work
    waits for another worker (or this one, started again)."""


CLAIM_WAIT = 0.1
"""Seconds between looks at a claim another worker holds."""

NAME_SECONDS = 7 * 24 * 3600
"""A ``first`` claim lasts as long as the run's keys (deleted with them)."""


def claims_of(crawler) -> "WorkerClaims | LocalClaims":
    """Claims across workers in a shared run; in a single-machine run, one process decides
    everything and its claims are free."""
    if not crawler.settings.get("RUN_ID"):
        return LocalClaims()
    from crawler.worker import FrontierWorker  # redis only where it is used

    return crawler.get_extension(FrontierWorker).claims


class LocalClaims:
    """One process: nothing to claim from anyone; a name still goes to the first value that
    asks, for the run (what the state said of a name may be stale by the time it is taken)."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    async def take(self, name: str) -> bool:
        """Whether another holder had to be waited for: never, here."""
        return False

    def release(self, name: str) -> None:
        return None

    @asynccontextmanager
    async def hold(self, name: str):
        yield

    async def first(self, name: str, value: str) -> str:
        return self._names.setdefault(name, value)


class WorkerClaims:
    """Names (``article:KEY``, ``image:URL``, ``path:FILE``) that one worker at a time may act
    on. ``take`` waits while another live worker holds the name, and takes it over from a
    worker whose lease expired; ``release`` lets go of it once the state is committed
    (``crawler.frontier.Frontier.settle``), so the next holder reads what this one recorded.
    ``first`` gives a name to the first value that asks, for the run."""

    def __init__(self, frontier, claim_seconds: float, batch_wait: float = 0.0) -> None:
        import redis  # only shared runs have claims to keep

        self._lost_errors = (redis.RedisError,)
        self.frontier = frontier
        self.claim_seconds = claim_seconds
        self.claim = Coalesced(frontier.claim, batch_wait)
        """The claims asked in one turn (the articles and images of one page), or within
        ``batch_wait`` seconds of the first, in one round trip."""

    async def take(self, name: str) -> bool:
        """Hold ``name``; whether another holder had to be waited for (what it did with the
        name is then in the state). Raises ``ClaimsLost``."""
        me = self.frontier.worker
        ask = (name, me, self.claim_seconds)
        waited = False
        try:
            holder = await self.claim(ask)
            while holder != me:
                if not self.frontier.worker_alive(holder) and self.frontier.take_over(name, holder, me, self.claim_seconds):
                    return True
                waited = True
                await asyncio.sleep(CLAIM_WAIT)
                holder = await self.claim(ask)
        except self._lost_errors as exc:
            raise ClaimsLost(f"cannot claim {name.split(':', 1)[0]}: {exc}") from None
        return waited

    def release(self, name: str) -> None:
        """Let go of ``name`` (a claim that cannot be let go of expires by itself)."""
        self.frontier.release(name)

    @asynccontextmanager
    async def hold(self, name: str):
        await self.take(name)
        try:
            yield
        finally:
            self.release(name)

    async def first(self, name: str, value: str) -> str:
        try:
            return await self.claim((name, value, NAME_SECONDS))
        except self._lost_errors as exc:
            raise ClaimsLost(f"cannot claim a file name: {exc}") from None
