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

class ClaimsLost(Exception):
    """The claims' store (the run's Redis) is gone: nothing can be claimed, so the work
    waits for another worker (or this one, started again)."""


CLAIM_WAIT = 0.1
"""Seconds between looks at a claim another worker holds."""


def claims_of(crawler) -> "WorkerClaims | LocalClaims":
    """Claims across workers in a shared run; in a single-machine run, one process decides
    everything and its claims are free."""
    if not crawler.settings.get("RUN_ID"):
        return LocalClaims()
    from crawler.worker import FrontierWorker  # redis only where it is used

    return crawler.get_extension(FrontierWorker).claims


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
    worker whose lease expired; ``release`` lets go of it once the state is committed
    (``crawler.frontier.Frontier.settle``), so the next holder reads what this one recorded.
    ``first`` gives a name to the first value that asks, for the run."""

    def __init__(self, frontier, claim_seconds: float) -> None:
        import redis  # only shared runs have claims to keep

        self._lost_errors = (redis.RedisError,)
        self.frontier = frontier
        self.claim_seconds = claim_seconds

    async def take(self, name: str) -> bool:
        """Hold ``name``; whether another holder had to be waited for (what it did with the
        name is then in the state). Raises ``ClaimsLost``."""
        me = self.frontier.worker
        waited = False
        try:
            while (holder := self.frontier.claim(name, me, self.claim_seconds)) != me:
                if not self.frontier.worker_alive(holder) and self.frontier.take_over(name, holder, me, self.claim_seconds):
                    return True
                waited = True
                await asyncio.sleep(CLAIM_WAIT)
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

    def first(self, name: str, value: str) -> str:
        try:
            return self.frontier.claim(name, value, 7 * 24 * 3600)  # deleted with the run's keys
        except self._lost_errors as exc:
            raise ClaimsLost(f"cannot claim a file name: {exc}") from None
