"""The shared frontier's own rules, against the machine's Redis (a key prefix per test)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import service_missing

pytestmark = pytest.mark.services


@pytest.fixture
def frontiers(frontier_url):
    """``make(worker)``: that worker's view of one fresh run with seeds ``a`` and ``b``."""
    try:
        from crawler.frontier import Frontier, RunKeys, connect
    except ImportError:
        service_missing("redis or scrapy-redis is not installed (pip install -e '.[distributed]')")
    url, prefix = frontier_url
    client = connect(url, retries=0)
    Frontier.create_run(client, prefix, "r1", ["a", "b"], {"sources": ["a", "b"]})

    def make(worker: str, lease_seconds: float = 0.3) -> Frontier:
        frontier = Frontier(client, RunKeys(prefix, "r1"), worker, lease_seconds)
        frontier.beat()
        return frontier

    return make


def claim(frontier, name: str, owner: str, ttl_seconds: float = 60) -> str:
    """Who holds ``name`` after ``owner`` asked for it alone."""
    return frontier.claim([(name, owner, ttl_seconds)])[0]


def test_a_dead_workers_leases_and_seeds_go_back_to_the_queue_once(frontiers):
    alive, dying = frontiers("alive"), frontiers("dying")
    assert dying.take_seed() == "a"
    dying.push(b"request-1", -5)
    dying.push(b"request-2", 0)
    lease, data = dying.pop(1)[0]
    assert data == b"request-1" and dying.remaining() == 4  # seed b, request-2, the lease, seed a held
    assert alive.recover_dead() == 0  # still beating
    time.sleep(0.4)
    alive.beat()
    assert alive.recover_dead() == 2  # the lease and the seed it had taken
    assert alive.recover_dead() == 0
    assert alive.pop(1)[0][1] == b"request-1"  # its priority kept: it comes first again
    assert sorted([alive.take_seed(), alive.take_seed()]) == ["a", "b"]
    client, keys = alive.client, alive.keys
    assert client.hgetall(keys.recovered)  # who took back whose work is kept for status


def test_a_run_closes_only_when_nothing_is_left_and_leaves_only_its_description(frontiers):
    one, two = frontiers("one", 5), frontiers("two", 5)
    for _ in range(2):
        one.seeded(one.take_seed())
    one.push(b"r", 0)
    [(lease, _)] = two.pop(5)
    assert not one.finish() and not one.is_finished()
    two.ack(lease)
    assert one.remaining() == 1  # acked at the next settle
    two.settle()
    assert one.finish() and not two.finish()  # one worker closes it
    assert two.is_finished()
    one.count_document("a", failed=False)  # (counted before the close in a real run)
    keys = {k.decode() for k in one.client.scan_iter(match=f"{one.keys.prefix}:*")}
    assert keys <= set(one.keys.kept) and one.keys.meta in keys
    assert 0 < one.client.ttl(one.keys.meta) <= 24 * 3600
    assert one.keys.runs not in keys or not one.client.lrange(one.keys.runs, 0, -1)


def test_a_claim_waits_for_a_live_holder_and_is_taken_from_a_dead_one(frontiers):
    from crawler.claims import WorkerClaims

    holder, waiter = frontiers("holder", 0.3), frontiers("waiter", 5)
    commits = []
    waiter.before_settling = lambda: commits.append(1)
    claims = WorkerClaims(waiter, claim_seconds=60)
    assert claim(holder, "image:x", "holder") == "holder"

    async def take() -> bool:
        return await claims.take("image:x")

    started = time.monotonic()
    assert asyncio.run(take()) is True  # waited until the holder's lease lapsed, then took it
    assert 0.25 < time.monotonic() - started < 5
    assert claim(waiter, "image:x", "someone") == "waiter"
    claims.release("image:x")
    assert claim(waiter, "image:x", "waiter") == "waiter"  # let go of, not settled: taken back at once
    claims.release("image:x")
    assert claim(holder, "image:x", "holder") == "waiter" and commits == []
    waiter.settle()  # the state committed, then the claim let go of
    assert commits == [1] and claim(waiter, "image:x", "someone") == "someone"


def test_claims_asked_together_are_answered_in_order_and_the_first_asker_wins(frontiers):
    from crawler.claims import WorkerClaims

    one, two = frontiers("one", 5), frontiers("two", 5)
    assert claim(two, "image:b", "two") == "two"
    asks = [("image:a", "one", 60), ("image:b", "one", 60), ("image:a", "someone", 60), ("path:x.md", "guid:1", 60)]
    assert one.claim(asks) == ["one", "two", "one", "guid:1"]
    assert 0 < one.client.pttl(one.keys.claim("image:a")) <= 60_000

    claims = WorkerClaims(one, claim_seconds=60)

    async def names() -> list[str]:
        # asked in one turn, as the articles of one page ask: one round trip, the first asker wins
        return await asyncio.gather(claims.first("path:a.md", "guid:1"), claims.first("path:a.md", "guid:2"),
                                    claims.first("path:b.md", "guid:2"))

    assert asyncio.run(names()) == ["guid:1", "guid:1", "guid:2"]
    assert claims.claim.calls == 1


def test_nothing_is_acked_or_let_go_of_when_the_state_cannot_be_committed(frontiers):
    from crawler.state import StateUnavailable

    worker, other = frontiers("worker", 5), frontiers("other", 5)
    worker.push(b"request", 0)
    [(lease, _)] = worker.pop(1)
    assert claim(worker, "article:a", "worker") == "worker"
    worker.ack(lease)
    worker.release("article:a")

    def lost():
        raise StateUnavailable("the database went away")

    worker.before_settling = lost
    with pytest.raises(StateUnavailable):
        worker.settle()
    assert claim(other, "article:a", "other") == "worker"  # still held: its record may be lost
    assert worker.client.zcard(worker.keys.leased("worker")) == 1  # the lease stays, to be done again


def test_a_push_is_refused_once_its_fingerprint_was_seen_and_a_replacement_ends_its_lease(frontiers):
    one, two = frontiers("one", 5), frontiers("two", 5)
    assert one.push(b"page-1", 0, fingerprint="f1")
    assert not two.push(b"page-1 again", 0, fingerprint="f1")  # the run's dupe filter, whoever asks
    assert two.push(b"page-1 unfiltered", 0)  # dont_filter: no fingerprint
    assert one.queued() == 2
    lease, data = one.pop(1)[0]
    assert not one.push(b"redirect to a seen page", 0, done_lease=lease, fingerprint="f1")
    assert one.client.zcard(one.keys.leased("one")) == 1  # refused: the lease is not ended by it
    assert one.push(b"its retry", 0, done_lease=lease, fingerprint="f2")
    assert one.client.zcard(one.keys.leased("one")) == 0 and one.queued() == 2


def test_a_pop_leases_several_requests_in_queue_order(frontiers):
    one, other = frontiers("one", 5), frontiers("other", 5)
    for score, data in [(3, b"c"), (1, b"a"), (2, b"b")]:
        one.push(data, score)
    assert [data for _, data in one.pop(2)] == [b"a", b"b"]
    assert one.client.zcard(one.keys.leased("one")) == 2 and other.queued() == 1
    assert [data for _, data in other.pop(8)] == [b"c"] and one.pop(8) == []
