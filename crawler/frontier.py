"""The shared frontier of a run that several workers crawl: requests, seeds, leases and claims
in Redis, in scrapy-redis's layout (its queue and dupe filter; ``crawler.leasing`` is the
scheduler that crawls from it).

``crawler enqueue`` makes a run: its chosen sources become *seeds* (names in a list). Every
``crawler worker`` takes seeds one at a time in its spider's ``start()`` and schedules their
first requests into the run's scrapy-redis queue and dupe filter, which all workers share; any
worker may then download any request. scrapy-redis pops a request and forgets it, so a worker
killed with SIGKILL would take what it had popped with it: here a pop *moves* the request into
the worker's lease set in the same step (one Lua script), and the request stays there until
everything it led to is done (its items stored, its next requests queued: see
``crawler.worker.LeaseAcks``). A live worker refreshes a key that expires after
``FRONTIER_LEASE_SECONDS``; when a worker's key has expired, any other worker moves its leases
and its half-taken seeds back to the queue, so the run still finishes, once.

A run is done when no seed, queued request or lease is left. The worker that sees it first
deletes the run's keys (keeping its small description a day, for ``crawler status``), so
scheduled runs do not grow Redis. Keys carry the run id in braces (``crawler:{RUN}:requests``),
so on a Redis Cluster all of a run's keys hash to one slot, where its scripts can reach them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from crawler.shared import FrontierUnavailable

logger = logging.getLogger(__name__)

DONE_KEEP_SECONDS = 24 * 3600
"""How long a finished run's description stays in Redis (the figures are in the state)."""


class FrontierLost(redis.ConnectionError):
    """Redis stayed away through every retry earlier in this crawl: this worker asks it
    nothing more (each call would wait through the retries again) and stops."""


def _live(method):
    """A call to Redis in the crawl: the first that fails through every retry loses the
    frontier (``Frontier.on_lost``), and every call after it is refused at once."""
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        if self.lost:
            raise FrontierLost(self.lost)
        try:
            return method(self, *args, **kwargs)
        except redis.RedisError as exc:
            if self.on_lost is not None:
                self.on_lost(exc)
            raise
    return call


REPLY_TIMEOUT = 5
"""Seconds a Redis reply may take before the call counts as failed and is tried again. Every
command of a run answers in milliseconds; a connection whose other end vanished without closing
it (a partition, a relay that lost it) would otherwise hold the crawl for the whole timeout on
each try."""


def connect(url: str, retries: int = 6) -> redis.Redis:
    """A client for ``FRONTIER_URL`` that retries a lost connection with exponential backoff
    (0.5 s doubling up to 8 s, ``retries`` times: about 25 s for 6) before it gives up.
    Raises ``FrontierUnavailable`` at once when the server does not answer now."""
    probe = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        probe.ping()
    except redis.RedisError as exc:
        raise FrontierUnavailable(f"cannot reach the frontier ({where(url)}): {exc}") from None
    finally:
        probe.close()
    return redis.Redis.from_url(
        url, socket_timeout=REPLY_TIMEOUT, socket_connect_timeout=5, socket_keepalive=True, health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=8, base=0.5), retries),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError])


def where(url: str) -> str:
    """A Redis URL as it may appear in a message: no password."""
    pool = redis.ConnectionPool.from_url(url)
    args = pool.connection_kwargs
    return f"{args.get('host', 'localhost')}:{args.get('port', 6379)}/{args.get('db', 0)}"


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + os.urandom(3).hex()


def worker_id() -> str:
    """Which worker did what, in reports: the host, the process and a nonce."""
    return f"{socket.gethostname()}-{os.getpid()}-{os.urandom(2).hex()}"


@dataclass(frozen=True)
class RunKeys:
    """Every Redis key of one run, in one place."""

    prefix: str
    run: str

    def key(self, name: str) -> str:
        return f"{self.prefix}:{{{self.run}}}:{name}"

    @property
    def runs(self) -> str:
        """Runs not finished yet, oldest first (shared by every run under the prefix)."""
        return f"{self.prefix}:runs"

    @property
    def meta(self) -> str:
        return self.key("meta")

    @property
    def seeds(self) -> str:
        return self.key("seeds")

    @property
    def requests(self) -> str:
        return self.key("requests")

    @property
    def dupefilter(self) -> str:
        return self.key("dupefilter")

    @property
    def workers(self) -> str:
        return self.key("workers")

    @property
    def recovered(self) -> str:
        """Which worker took back whose work."""
        return self.key("recovered")

    @property
    def documents(self) -> str:
        """Per source, its documents read and failed (``NAME\tread``, ``NAME\tfailed``)."""
        return self.key("documents")

    @property
    def kept(self) -> tuple[str, ...]:
        """What stays (a day) once the run is done: its description and what it did."""
        return (self.meta, self.recovered, self.documents)

    def alive(self, worker: str) -> str:
        return self.key(f"alive:{worker}")

    def leased(self, worker: str) -> str:
        return self.key(f"leased:{worker}")

    def seeding(self, worker: str) -> str:
        return self.key(f"seeding:{worker}")

    def claim(self, name: str) -> str:
        return self.key("claim:" + hashlib.sha1(name.encode("utf-8")).hexdigest())


_POP = """
-- KEYS: requests, leased, workers; ARGV: worker, count
local items = redis.call('ZPOPMIN', KEYS[1], ARGV[2])
local popped = {}
for i = 1, #items, 2 do
  redis.call('ZADD', KEYS[2], items[i + 1], items[i])
  popped[#popped + 1] = items[i]
end
if #popped > 0 then redis.call('SADD', KEYS[3], ARGV[1]) end
return popped
"""
"""The ``count`` lowest scores of the queue (``-priority``, as scrapy-redis scores), moved
into the worker's lease set."""

_PUSH = """
-- KEYS: requests, dupefilter, leased; ARGV: request, score, fingerprint, replaced lease
if ARGV[3] ~= '' and redis.call('SADD', KEYS[2], ARGV[3]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[3], ARGV[4]) end
return 1
"""
"""Queue a request unless its fingerprint is in the dupe filter (an empty fingerprint: not
filtered), and end the lease of the request it replaces, if any."""

_RECOVER = """
-- KEYS: workers, requests, seeds, recovered; ARGV: prefix, run, me
local moved = 0
local function key(name) return ARGV[1] .. ':{' .. ARGV[2] .. '}:' .. name end
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if worker ~= ARGV[3] and redis.call('EXISTS', key('alive:' .. worker)) == 0 then
    local leased = redis.call('ZRANGE', key('leased:' .. worker), 0, -1, 'WITHSCORES')
    for i = 1, #leased, 2 do redis.call('ZADD', KEYS[2], leased[i + 1], leased[i]) end
    local seeds = redis.call('LRANGE', key('seeding:' .. worker), 0, -1)
    for _, seed in ipairs(seeds) do redis.call('LPUSH', KEYS[3], seed) end
    redis.call('DEL', key('leased:' .. worker), key('seeding:' .. worker))
    redis.call('SREM', KEYS[1], worker)
    local count = #leased / 2 + #seeds
    redis.call('HSET', KEYS[4], worker, cjson.encode({by = ARGV[3], requests = #leased / 2, seeds = #seeds}))
    moved = moved + count
  end
end
return moved
"""
"""Give the leases and half-taken seeds of every worker whose key expired back to the run."""

_REMAINING = """
-- KEYS: requests, seeds, workers; ARGV: prefix, run
local left = redis.call('ZCARD', KEYS[1]) + redis.call('LLEN', KEYS[2])
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local prefix = ARGV[1] .. ':{' .. ARGV[2] .. '}:'
  left = left + redis.call('ZCARD', prefix .. 'leased:' .. worker) + redis.call('LLEN', prefix .. 'seeding:' .. worker)
end
return left
"""
"""Seeds, queued requests and leases left in the run, read in one step."""

_GIVE_BACK = """
-- KEYS: leased, seeding, requests, seeds, workers, alive; ARGV: worker
local leased = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #leased, 2 do redis.call('ZADD', KEYS[3], leased[i + 1], leased[i]) end
local seeds = redis.call('LRANGE', KEYS[2], 0, -1)
for _, seed in ipairs(seeds) do redis.call('LPUSH', KEYS[4], seed) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[6])
redis.call('SREM', KEYS[5], ARGV[1])
return #leased / 2 + #seeds
"""

_MARK_RUNNING = """
if redis.call('HEXISTS', KEYS[1], 'finished') == 0 then redis.call('HSET', KEYS[1], 'status', 'running') end
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Frontier:
    """One worker's view of one run in Redis."""

    def __init__(self, client: redis.Redis, keys: RunKeys, worker: str, lease_seconds: float) -> None:
        self.client = client
        self.keys = keys
        self.worker = worker
        self.lease_ms = int(lease_seconds * 1000)
        self._pop = client.register_script(_POP)
        self._push = client.register_script(_PUSH)
        self._recover = client.register_script(_RECOVER)
        self._remaining = client.register_script(_REMAINING)
        self._release = client.register_script(_RELEASE)
        self._give_back = client.register_script(_GIVE_BACK)
        self._mark_running = client.register_script(_MARK_RUNNING)
        self._leased: dict[str, bytes] = {}
        """This worker's leases: id (in the request's meta) -> the request as queued."""
        self._acked: list[bytes] = []
        self._released: dict[str, None] = {}
        """Leases done and claim keys let go of since the last ``settle``, in order."""
        self.before_settling = None
        """Commits the state (``crawler.state.State.flush``) before anything is acked or let go."""
        self.lost: str | None = None
        """Set once Redis stayed away through every retry: nothing is acked after that, so
        the leases expire and another worker does their work again."""
        self.on_lost = None
        """Called with the error when Redis is lost (``crawler.worker.FrontierWorker.lose``)."""

    # --- runs -----------------------------------------------------------------------------

    @staticmethod
    def create_run(client: redis.Redis, prefix: str, run: str, sources: list[str], description: dict) -> None:
        """A new run: its description, its seeds, and its place among the unfinished runs."""
        keys = RunKeys(prefix, run)
        with client.pipeline(transaction=True) as pipe:
            pipe.hset(keys.meta, mapping={"description": json.dumps(description, ensure_ascii=False),
                                          "status": "queued", "sources": len(sources)})
            pipe.rpush(keys.seeds, *sources)
            pipe.rpush(keys.runs, run)
            pipe.execute()

    @staticmethod
    def unfinished_runs(client: redis.Redis, prefix: str) -> list[str]:
        return [run.decode() for run in client.lrange(f"{prefix}:runs", 0, -1)]

    @staticmethod
    def describe(client: redis.Redis, prefix: str, run: str) -> dict | None:
        """What Redis holds about a run now, or None (unknown, or finished long ago)."""
        keys = RunKeys(prefix, run)
        meta = {k.decode(): v.decode() for k, v in client.hgetall(keys.meta).items()}
        if not meta:
            return None
        workers = sorted(w.decode() for w in client.smembers(keys.workers))
        return {
            "status": meta["status"],
            "description": json.loads(meta["description"]),
            "seeds_left": client.llen(keys.seeds),
            "queued": client.zcard(keys.requests),
            "leased": {w: client.zcard(keys.leased(w)) for w in workers},
            "alive": {w: bool(client.exists(keys.alive(w))) for w in workers},
            "recovered": {k.decode(): json.loads(v) for k, v in client.hgetall(keys.recovered).items()},
            "documents": {k.decode(): int(v) for k, v in client.hgetall(keys.documents).items()},
        }

    # --- liveness ---------------------------------------------------------------------------

    @_live
    def beat(self) -> None:
        """This worker is alive for another lease period."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.alive(self.worker), str(time.time()), px=self.lease_ms)
            pipe.sadd(self.keys.workers, self.worker)
            pipe.execute()

    @_live
    def mark_running(self) -> None:
        self._mark_running(keys=[self.keys.meta])

    @_live
    def recover_dead(self) -> int:
        """Requests and seeds taken back from workers whose lease expired."""
        k = self.keys
        return int(self._recover(keys=[k.workers, k.requests, k.seeds, k.recovered],
                                 args=[k.prefix, k.run, self.worker]))

    @_live
    def remaining(self) -> int:
        k = self.keys
        return int(self._remaining(keys=[k.requests, k.seeds, k.workers], args=[k.prefix, k.run]))

    def leave(self) -> int:
        """This worker stops: what it still holds (nothing, when its crawl finished) goes back
        to the queue now rather than when its key expires, and it is no longer counted."""
        k = self.keys
        return int(self._give_back(keys=[k.leased(self.worker), k.seeding(self.worker), k.requests, k.seeds,
                                         k.workers, k.alive(self.worker)], args=[self.worker]))

    @_live
    def finish(self) -> bool:
        """Close the run if nothing is left in it: True for the one worker that closes it."""
        k = self.keys
        if self.remaining():
            return False
        if not self.client.hsetnx(k.meta, "finished", datetime.now(timezone.utc).isoformat(timespec="seconds")):
            return False
        doomed = [name for name in self.client.scan_iter(match=k.key("*"), count=500)
                  if name.decode() not in k.kept]
        with self.client.pipeline(transaction=True) as pipe:
            for start in range(0, len(doomed), 500):
                pipe.delete(*doomed[start:start + 500])
            pipe.hset(k.meta, "status", "done")
            for name in k.kept:
                pipe.expire(name, DONE_KEEP_SECONDS)
            pipe.lrem(k.runs, 0, k.run)
            pipe.execute()
        return True

    @_live
    def is_finished(self) -> bool:
        """Whether some worker closed the run (or it is gone)."""
        return self.client.hexists(self.keys.meta, "finished") or not self.client.exists(self.keys.meta)

    @_live
    def count_document(self, source: str, failed: bool) -> None:
        self.client.hincrby(self.keys.documents, f"{source}\t{'failed' if failed else 'read'}", 1)

    # --- seeds ----------------------------------------------------------------------------

    @_live
    def take_seed(self) -> str | None:
        """The next source to start, held by this worker until ``seeded``."""
        name = self.client.lmove(self.keys.seeds, self.keys.seeding(self.worker), "LEFT", "RIGHT")
        return name.decode() if name is not None else None

    @_live
    def seeded(self, name: str) -> None:
        """The source's first requests are queued: its seed is done."""
        self.client.lrem(self.keys.seeding(self.worker), 1, name)

    # --- leases -------------------------------------------------------------------------------

    @_live
    def pop(self, count: int) -> list[tuple[str, bytes]]:
        """The next ``count`` requests of the run (fewer if there are fewer), leased to this
        worker: ``(lease id, data)`` each, in queue order."""
        k = self.keys
        popped = []
        for data in self._pop(keys=[k.requests, k.leased(self.worker), k.workers], args=[self.worker, count]):
            lease = hashlib.sha1(data).hexdigest()
            self._leased[lease] = data
            popped.append((lease, data))
        return popped

    @_live
    def push(self, data: bytes, score: float, done_lease: str | None = None, fingerprint: str | None = None) -> bool:
        """Queue a request, unless ``fingerprint`` is given and the run's dupe filter has seen
        it: whether it was queued. ``done_lease``: the leased request it replaces (a retry, a
        redirect) is done in the same step. One round trip, where scrapy-redis's scheduler
        makes two (the dupe filter's, then the queue's)."""
        replaced = self._leased.get(done_lease, b"")
        queued = bool(self._push(keys=[self.keys.requests, self.keys.dupefilter, self.keys.leased(self.worker)],
                                 args=[data, score, fingerprint or "", replaced]))
        if queued and replaced:
            del self._leased[done_lease]
        return queued

    def ack(self, lease: str) -> None:
        """The leased request and everything it led to are done: acked at the next ``settle``.
        Once the frontier is lost nothing is acked: the lease expires, and the work is done
        again."""
        data = self._leased.pop(lease, None)
        if data is not None and not self.lost:
            self._acked.append(data)

    def ack_all(self) -> None:
        """Everything this worker holds is done (its engine is idle)."""
        if not self.lost:
            self.settle()
            self._leased.clear()
            self._quietly(self.client.delete, self.keys.leased(self.worker))

    @_live
    def settle(self) -> None:
        """Tell the run what this worker finished since the last call, in one round trip:
        the state is committed first (``before_settling``), so whoever takes a claim or a
        request next reads what this worker recorded; then the claims are let go of and the
        leases acked. Done a few times a second (``crawler.worker.FrontierWorker``) rather
        than once per article: a claim or an ack waits a fraction of a second longer, and an
        article costs two round trips fewer, one of them a commit. A worker killed before it
        settles leaves its claims and leases to expire, as it would in the middle of them."""
        if not (self._acked or self._released) or self.lost:
            return
        if self.before_settling is not None:
            self.before_settling()
        acked, released = self._acked, list(self._released)
        self._acked, self._released = [], {}
        with self.client.pipeline(transaction=False) as pipe:
            for key in released:
                self._release(keys=[key], args=[self.worker], client=pipe)
            if acked:
                pipe.zrem(self.keys.leased(self.worker), *acked)
            pipe.execute()

    def _quietly(self, call, *args) -> None:
        """An ack: if Redis is gone, the frontier is lost and the lease simply stays."""
        try:
            call(*args)
        except redis.RedisError as exc:
            if self.on_lost is not None:
                self.on_lost(exc)

    # --- claims -------------------------------------------------------------------------------

    @_live
    def claim(self, asks: list[tuple[str, str, float]]) -> list[str]:
        """For each ``(name, owner, ttl_seconds)``: take ``name`` for ``owner`` unless someone
        has it; who has it now. All in one round trip (``SET NX GET`` answers both at once). A
        claim whose owner is a worker that stopped beating can be taken over (``take_over``)."""
        holders: list[str | None] = []
        with self.client.pipeline(transaction=False) as pipe:
            for name, owner, ttl_seconds in asks:
                key = self.keys.claim(name)
                if owner == self.worker and key in self._released:
                    del self._released[key]  # let go of, not settled yet: still this worker's
                    holders.append(owner)
                else:
                    pipe.set(key, owner, nx=True, px=int(ttl_seconds * 1000), get=True)
                    holders.append(None)
            earlier = iter(pipe.execute())  # nothing sent when every ask was answered here
        for index, (_, owner, _) in enumerate(asks):
            if holders[index] is None:
                held = next(earlier)  # the holder before this SET, or None: it was free
                holders[index] = held.decode() if held is not None else owner
        return holders

    @_live
    def take_over(self, name: str, dead_owner: str, owner: str, ttl_seconds: float) -> bool:
        key = self.keys.claim(name)
        with self.client.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(key)
                if pipe.get(key) not in (dead_owner.encode(), None):
                    return False
                pipe.multi()
                pipe.set(key, owner, px=int(ttl_seconds * 1000))
                pipe.execute()
                return True
            except redis.WatchError:
                return False

    def release(self, name: str) -> None:
        """This worker lets go of its claim on ``name`` at the next ``settle``."""
        self._released[self.keys.claim(name)] = None

    @_live
    def worker_alive(self, worker: str) -> bool:
        return bool(self.client.exists(self.keys.alive(worker)))

    @_live
    def queued(self) -> int:
        return self.client.zcard(self.keys.requests)
