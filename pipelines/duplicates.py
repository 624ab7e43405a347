"""Step two: one story, one post. A new article whose text is a near-duplicate of one written
within the window (another source's copy under a new URL and headline) is not written.

The decision is kept in the state: an article once found to be a copy stays one, on reruns and
under ``--force``, even if the story it matched changes later, so it can never appear later as
a second post. Articles the state already knows (a post of their own, or another source's copy
of the same guid or link, which the post writer merges) are not compared at all. Whether it
knows them the spider has asked already, for a whole list page or feed at once
(``Article.known``); an article another worker records in the meantime is compared, finds
only itself or what that worker found, and comes to the same verdict.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured

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

    def process_item(self, item):
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
            original = self._original_of(key, adapter)
            if original is None:
                return item
        adapter["duplicate_of"] = self._post_of(original)
        self.crawler.stats.inc_value("posts/near_duplicate")
        if self.keep:
            return item
        raise NearDuplicate(adapter["duplicate_of"])

    def _original_of(self, key: str, adapter: ItemAdapter) -> str | None:
        """The article this new one copies (recorded as such), or None (and it is signed)."""
        signature = self.signer.sign(adapter["body"])
        if signature is None:
            return None
        now = datetime.now(timezone.utc)
        bands = signature.bands()
        best, best_score = None, self.threshold
        for candidate, minhash, size in self.state.similar(bands, now - self.window):
            if candidate == key or (candidate not in self._signed and self.state.article(candidate) is None):
                continue  # signed by a run whose post was never written
            score = signature.containment(Signature.from_bytes(minhash, size))
            if score >= best_score:
                best, best_score = candidate, score
        if best is None:
            self.state.record_signature(key, signature.to_bytes(), signature.size, bands, now)
            self._signed.add(key)
        else:
            self.state.record_duplicate(key, best, adapter["source"], now)
        return best

    def _post_of(self, original: str) -> str:
        """The post of the article ``original``: its path, or its key while it is on its way."""
        record = self.state.article(original)
        return record.path if record is not None else original
