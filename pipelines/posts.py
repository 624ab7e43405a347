"""Last step: render each article in the seed format and store it, atomically, once.

The state store decides the file (the same article always gets the same one) and keeps the
first-seen time that stands in for a missing date; a post whose bytes did not change is not
rewritten, so its modification time tells publishers nothing changed.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timezone
from io import BytesIO

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from crawler import filenames, postformat
from crawler.datadir import DataDir
from crawler.lifecycle import state_of
from crawler.state import State, article_key
from crawler.stores import open_store, settled
from crawler.claims import ClaimsLost, claims_of
from crawler.coalesce import Coalesced


class PostWriterPipeline:
    """Writes each post to ``POSTS_STORE`` (``DIR/posts`` by default, or ``s3://…``).

    Items overlap here (a remote store answers later; the state's questions for the articles
    of one page travel together); the crawl's thread still makes every decision and every state
    record, and two items never race for one article or one file name: an article already on
    its way makes the next item for it wait, and a file name goes to the first article of the
    run that claims it. In a shared run (``crawler worker``) the same holds across workers,
    through the run's claims.
    """

    def __init__(self, crawler, store_uri: str, clean_titles: bool, force: bool = False) -> None:
        self.crawler = crawler
        self.store = open_store(store_uri, crawler.settings)
        self.clean_titles = clean_titles
        self.stats = crawler.stats
        self.force = force
        self.state: State | None = None
        self._on_the_way: dict[str, asyncio.Future] = {}
        """Articles being written, by key."""

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(
            crawler,
            store_uri=settings.get("POSTS_STORE") or str(DataDir.from_settings(settings).posts),
            clean_titles=settings.getbool("CLEAN_TITLES"),
            force=settings.getbool("FORCE_REFRESH"),
        )

    def open_spider(self):
        self.state = state_of(self.crawler)
        self.claims = claims_of(self.crawler)
        self._record_and_owner = Coalesced(self.state.articles_and_owners, self.state.batch_wait)
        """Asked for the articles of one page at once: one question to a remote state."""

    async def process_item(self, item):
        adapter = ItemAdapter(item)
        key = article_key(adapter.get("guid"), adapter["link"])
        while (earlier := self._on_the_way.get(key)) is not None:
            await earlier  # the same article in another item (a second source, a repeat)
        done = asyncio.get_running_loop().create_future()
        self._on_the_way[key] = done
        try:
            async with self.claims.hold(f"article:{key}"):  # another worker's item for it
                await self._write_post(adapter, key)
        except ClaimsLost as exc:
            raise DropItem(f"not written: {exc}; another worker writes it") from None
        finally:
            del self._on_the_way[key]
            done.set_result(None)
        return item

    async def _write_post(self, adapter: ItemAdapter, key: str) -> None:
        now = datetime.now(timezone.utc)
        title = adapter["title"]
        if self.clean_titles:
            title = postformat.clean_title(title)
        categories = tuple(adapter["categories"])
        wanted = filenames.post_relpath(categories, title).as_posix()
        known, owner = await self._record_and_owner((key, wanted))
        if known is not None and known.source != adapter["source"]:
            # The same article through a second source: the source that wrote it first keeps it.
            self.stats.inc_value("posts/duplicate")
            adapter["post_path"], adapter["post_outcome"] = known.path, "duplicate"
            return

        published = adapter.get("published") or (known.first_seen if known else now)
        post = postformat.Post(
            title=title,
            categories=categories,
            headimg=adapter["headimg"],
            author=adapter.get("post_author") or categories[min(1, len(categories) - 1)],
            date=postformat.format_date(published),
            body=adapter["body"],
            thumbnail=adapter.get("thumbnail"),
        )
        data = postformat.render(post).encode("utf-8")
        relpath = known.path if known else await self._free_path(key, post, wanted, owner)
        digest = hashlib.sha256(data).hexdigest()
        if not self.force and known is not None and known.hash == digest and self.store.has(relpath):
            # The state knows these bytes are stored: a folder is asked anyway (a post deleted by
            # hand is written again), a remote store trusted rather than asked once per post.
            outcome = "unchanged"
        else:
            try:
                outcome = await self._store(relpath, data)
            except OSError as exc:  # a folder's full disk
                self.stats.inc_value("posts/failed")
                raise DropItem(f"cannot write {relpath}: {exc.strerror or exc}") from None
            except Exception as exc:  # a remote store's refusal or outage
                self.stats.inc_value("posts/failed")
                raise DropItem(f"cannot store {relpath}: {exc}") from None
        self.state.record(key, relpath, digest, adapter["source"], now)
        self.stats.inc_value(f"posts/{outcome}")
        adapter["post_path"] = relpath
        adapter["post_outcome"] = outcome


    async def _store(self, relpath: str, data: bytes) -> str:
        """Write ``data`` unless the store holds it already (a post of a run that died before
        recording it); the outcome."""
        try:
            stat = await settled(self.store.stat_file(relpath, None))
        except Exception:  # a remote store answers "not found" with an error
            stat = {}
        if stat.get("checksum") == hashlib.md5(data, usedforsecurity=False).hexdigest() and not self.force:
            return "unchanged"
        await settled(self.store.persist_file(relpath, BytesIO(data), None,
                                              headers={"Content-Type": "text/markdown; charset=utf-8"}))
        return "updated" if stat else "created"

    async def _free_path(self, key: str, post: postformat.Post, wanted: str, owner: str | None) -> str:
        """The original's file name (``wanted``, whose post the state says is ``owner``'s),
        unless another article has it. Free in the state, it goes to the first article of the
        run that asks (``claims.first``): the state does not know yet of the posts being
        written, in this process or, in a shared run, in another worker."""
        if owner is None:
            owner = await self.claims.first(f"path:{wanted}", key)
        if owner == key:
            return wanted
        return filenames.post_relpath(post.categories, post.title, filenames.name_suffix(key)).as_posix()
