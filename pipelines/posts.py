"""Last step: render each article in the seed format and write it, atomically, once.

The state store decides the file (the same article always gets the same one) and keeps the
first-seen time that stands in for a missing date; a post whose bytes did not change is not
rewritten, so its modification time tells publishers nothing changed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from crawler import filenames, postformat
from crawler.datadir import DataDir
from crawler.files import read_bytes_or_none, write_atomic
from crawler.lifecycle import state_of
from crawler.state import StateStore, article_key


class PostWriterPipeline:
    def __init__(self, crawler, data_dir: DataDir, clean_titles: bool, force: bool = False) -> None:
        self.crawler = crawler
        self.posts_dir = data_dir.posts
        self.clean_titles = clean_titles
        self.stats = crawler.stats
        self.force = force
        self.state: StateStore | None = None
        self._folders: set[Path] = set()
        """Post folders known to exist: one mkdir per folder and run, not one per post."""

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(
            crawler,
            data_dir=DataDir.from_settings(settings),
            clean_titles=settings.getbool("CLEAN_TITLES"),
            force=settings.getbool("FORCE_REFRESH"),
        )

    def open_spider(self):
        self.state = state_of(self.crawler)

    def process_item(self, item):
        adapter = ItemAdapter(item)
        now = datetime.now(timezone.utc)
        key = article_key(adapter.get("guid"), adapter["link"])
        known = self.state.article(key)
        if known is not None and known.source != adapter["source"]:
            # The same article through a second source: the source that wrote it first keeps it.
            self.stats.inc_value("posts/duplicate")
            adapter["post_path"], adapter["post_outcome"] = known.path, "duplicate"
            return item

        title = adapter["title"]
        if self.clean_titles:
            title = postformat.clean_title(title)
        published = adapter.get("published") or (known.first_seen if known else now)
        post = postformat.Post(
            title=title,
            categories=tuple(adapter["categories"]),
            headimg=adapter["headimg"],
            author=adapter.get("post_author") or adapter["categories"][min(1, len(adapter["categories"]) - 1)],
            date=postformat.format_date(published),
            body=adapter["body"],
            thumbnail=adapter.get("thumbnail"),
        )
        data = postformat.render(post).encode("utf-8")
        relpath = known.path if known else self._free_path(key, post)
        path = self.posts_dir / relpath

        digest = hashlib.sha256(data).hexdigest()
        if not self.force and known is not None and known.hash == digest and path.is_file():
            outcome = "unchanged"  # the state knows these bytes are on disk: no need to read them
        else:
            on_disk = read_bytes_or_none(path)  # also a post of a run that died before recording it
            if on_disk == data and not self.force:
                outcome = "unchanged"
            else:
                outcome = "created" if on_disk is None else "updated"
                self._write(path, relpath, data)
        self.state.record(key, relpath, digest, adapter["source"], now)
        self.stats.inc_value(f"posts/{outcome}")
        adapter["post_path"] = relpath
        adapter["post_outcome"] = outcome
        return item

    def _write(self, path: Path, relpath: str, data: bytes) -> None:
        try:
            if path.parent not in self._folders:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._folders.add(path.parent)
            write_atomic(path, data, make_folder=False)
        except OSError as exc:
            self.stats.inc_value("posts/failed")
            raise DropItem(f"cannot write {relpath}: {exc.strerror or exc}") from None

    def _free_path(self, key: str, post: postformat.Post) -> str:
        """The original's file name, unless another article already has it."""
        relpath = filenames.post_relpath(post.categories, post.title).as_posix()
        owner = self.state.path_owner(relpath)
        if owner is None or owner == key:
            return relpath
        return filenames.post_relpath(post.categories, post.title, filenames.name_suffix(key)).as_posix()
