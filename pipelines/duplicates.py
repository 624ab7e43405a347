"""Step two: one story, one post. A new article whose text is a near-duplicate of one written
within the window (another source's copy under a new URL and headline) is not written.

The decision is kept in the state: an article once found to be a copy stays one, on reruns and
under ``--force``, even if the story it matched changes later, so it can never appear later as
a second post. Articles the state already knows (a post of their own, or another source's copy
of the same guid or link, which the post writer merges) are not compared at all. Whether it
knows them the spider has asked already, for a whole list page or feed at once
(``Article.known``); an article another worker records in the meantime is compared, finds
only itself or what that worker found, and comes to the same verdict. The articles of one feed
ask for their candidates in one question too (``State.similar``), a round trip to a shared
state instead of one per article.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured

from crawler.coalesce import Coalesced
from crawler.lifecycle import state_of
from crawler.neardup import NearDuplicate, Signature, Signer
from crawler.state import State, article_key


class NearDuplicatesPipeline:
    def __init__(self, crawler, keep: bool, threshold: float, window: timedelta) -> None:
        self.crawler = crawler
        self.keep = keep
        self.threshold = threshold
        self.window = window
        self.signer = Signer()
        self.state: State | None = None
        self._signed: set[str] = set()
        """Articles signed in this run: candidates before their posts are recorded, so two
        copies arriving together in one run still make one post."""
        self._meanwhile = SignedMeanwhile()
        """The articles signed while a question for candidates was on its way."""

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if settings.get("DUPLICATES") == "off":
            raise NotConfigured  # no comparison at all: every article is written
        return cls(crawler, keep=settings.get("DUPLICATES") == "keep",
                   threshold=settings.getfloat("DUPLICATE_THRESHOLD"),
                   window=timedelta(days=settings.getfloat("DUPLICATE_WINDOW_DAYS")))

    def open_spider(self):
        self.state = state_of(self.crawler)
        self._similar = Coalesced(self.state.similar, self.state.batch_wait)
        """The candidates of the articles of one feed, in one question to the state."""

    async def process_item(self, item):
        adapter = ItemAdapter(item)
        key = article_key(adapter.get("guid"), adapter["link"])
        known = adapter.get("known")  # asked by the spider for the article's whole list page
        if known is None:
            known = key in self.state.known([key])
        if known:
            original = self.state.duplicate_of(key)
            if original is None:
                return item  # a post of its own
        else:
            original = await self._original_of(key, adapter)
            if original is None:
                return item
        adapter["duplicate_of"] = self._post_of(original)
        self.crawler.stats.inc_value("posts/near_duplicate")
        if self.keep:
            return item
        raise NearDuplicate(adapter["duplicate_of"])

    async def _original_of(self, key: str, adapter: ItemAdapter) -> str | None:
        """The article this new one copies (recorded as such), or None (and it is signed)."""
        signature = self.signer.sign(adapter["body"])
        if signature is None:
            return None
        now = datetime.now(timezone.utc)
        since, bands = now - self.window, signature.bands()
        mark = self._meanwhile.asking()
        try:
            found = await self._similar((bands, since))
        finally:
            meanwhile = self._meanwhile.answered(mark)
        candidates = {candidate: Signature.from_bytes(minhash, size) for candidate, minhash, size in found}
        shared = set(bands)
        for candidate, their_bands, theirs, seen in meanwhile:
            if seen >= since and shared.intersection(their_bands):
                candidates.setdefault(candidate, theirs)
        best, best_score = None, self.threshold
        for candidate, theirs in candidates.items():
            if candidate == key or (candidate not in self._signed and self.state.article(candidate) is None):
                continue  # signed by a run whose post was never written
            score = signature.containment(theirs)
            if score >= best_score:
                best, best_score = candidate, score
        if best is None:
            self.state.record_signature(key, signature.to_bytes(), signature.size, bands, now)
            self._signed.add(key)
            self._meanwhile.signed(key, bands, signature, now)
        else:
            self.state.record_duplicate(key, best, adapter["source"], now)
        return best

    def _post_of(self, original: str) -> str:
        """The post of the article ``original``: its path, or its key while it is on its way."""
        record = self.state.article(original)
        return record.path if record is not None else original


class SignedMeanwhile:
    """The articles signed while another article's question for candidates was on its way.

    The articles of one feed ask for their candidates together and hear back together, so an
    answer does not hold the articles of its own feed signed just before it is read. Each
    question marks where it was asked; its answer is completed with what was signed since, so
    two copies in one feed are compared as if one came after the other, as they were when each
    article asked alone. Signatures are kept only while some question is on its way."""

    def __init__(self) -> None:
        self._signed: list[tuple[str, list[int], Signature, datetime]] = []
        self._first = 0
        """The place in the run's signing of ``_signed[0]``."""
        self._waiting: Counter[int] = Counter()
        """The marks of the questions on their way."""

    def asking(self) -> int:
        mark = self._first + len(self._signed)
        self._waiting[mark] += 1
        return mark

    def answered(self, mark: int) -> list[tuple[str, list[int], Signature, datetime]]:
        """``(key, bands, signature, seen)`` of the articles signed since ``mark`` was asked."""
        since = self._signed[mark - self._first:]
        self._waiting[mark] -= 1
        if not self._waiting[mark]:
            del self._waiting[mark]
        cut = (min(self._waiting) if self._waiting else self._first + len(self._signed)) - self._first
        del self._signed[:cut]
        self._first += cut
        return since

    def signed(self, key: str, bands: list[int], signature: Signature, seen: datetime) -> None:
        if self._waiting:
            self._signed.append((key, bands, signature, seen))
