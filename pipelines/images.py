"""Mirror every image a post references, through Scrapy's FilesPipeline and Pillow.

Why FilesPipeline and not ImagesPipeline: ImagesPipeline re-encodes everything to JPEG, which
loses GIF animation and PNG transparency. Here Pillow only *checks* each image (real type from
its bytes, size before decoding, a full decode) and makes the thumbnail; browser formats are
stored as they came.

Two traps of the media pipelines are handled on purpose:

- ``file_path()`` is also called without a response (to see what is already stored), so the
  name cannot depend on the bytes alone: each image's stored name and state live in the image
  index (``DIR/state.sqlite3``), keyed by the image's original URL;
- media requests bypass spider middlewares, so the ``Referer`` a hotlink-protected CDN checks
  (and any per-host ``User-Agent``, and the retry of a 403 with the other kind of Referer) is a
  downloader middleware's: ``crawler.imagereferers.ImageRefererMiddleware``.

Every source runs in the same crawler, so the media pipeline's own per-crawl cache (by request
fingerprint) is what makes an image shared by many posts, or by two sources, one fetch per run.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from itemadapter import ItemAdapter
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.pipelines.files import FilesPipeline, FSFilesStore

from crawler.datadir import DataDir
from crawler.files import write_atomic
from crawler.imagecheck import (CheckedImage, CheckerPool, ImageRejected, StoredImage, check_and_store, check_image,
                                store_checked, stored_path)
from crawler.bodyrules import unwrap_proxy
from crawler.lifecycle import state_of
from crawler.state import StateStore

logger = logging.getLogger(__name__)

TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}


class AtomicFSFilesStore(FSFilesStore):
    """The file-system store, writing through a temporary file and a rename, so a killed run
    never leaves half an image under its final name."""

    def persist_file(self, path, buf, info, meta=None, headers=None) -> None:
        write_atomic(self._get_filesystem_path(path), buf.getvalue())


class ImageFailed(Exception):
    """An image that will not be mirrored; ``permanent`` ones are not retried until they age."""

    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


class MirrorImagesPipeline(FilesPipeline):
    """Stats count distinct images: ``images/mirrored`` (fetched and stored this run),
    ``images/reused`` (already in the store), ``images/failed``; ``images/bytes`` stored."""

    MEDIA_NAME = "image"
    STORE_SCHEMES = {**FilesPipeline.STORE_SCHEMES, "": AtomicFSFilesStore, "file": AtomicFSFilesStore}

    def __init__(self, store_uri: str, *, crawler) -> None:
        super().__init__(store_uri, crawler=crawler)
        settings = crawler.settings
        self.stats = crawler.stats
        self.state: StateStore | None = None
        self.proxy = settings.get("IMAGE_PROXY") or None
        # Checked with the sources file (crawler.options): read here, not checked again.
        self.fetch_mode = settings.get("IMAGE_FETCH")
        self.expires = timedelta(days=settings.getfloat("IMAGES_EXPIRES"))
        self.retry_failed_after = timedelta(hours=settings.getfloat("IMAGES_RETRY_FAILED_HOURS"))
        self.max_bytes = settings.getint("IMAGES_MAX_BYTES")
        self.max_pixels = settings.getint("IMAGES_MAX_PIXELS")
        self.thumb_size = tuple(settings.getlist("IMAGES_THUMB_SIZE"))
        self.force = settings.getbool("FORCE_REFRESH")
        self.check_workers = settings.getint("IMAGES_CHECK_WORKERS")
        self.checkers: CheckerPool | None = None
        self.download_errors: dict[str, str] = {}
        """Why an image's download failed, by original URL: ``media_failed`` cannot hand a
        result of its own to ``item_completed``."""

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("IMAGES_ENABLED"):
            raise NotConfigured  # images are off (--no-images); a bare NotConfigured logs nothing
        cls._update_stores(settings)
        data_dir = DataDir.from_settings(settings)
        store = settings.get("IMAGES_STORE") or str(data_dir.images)
        return cls(store, crawler=crawler)

    def open_spider(self, spider=None) -> None:
        super().open_spider()
        self.state = state_of(self.crawler)
        self.checkers = CheckerPool(self.check_workers)

    def close_spider(self, spider=None) -> None:
        if self.checkers is not None:
            self.checkers.close()

    # --- which images, fetched how -----------------------------------------------------------

    @staticmethod
    def _fetchable(referenced: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The referenced images this pipeline fetches (http and https only), in post order."""
        return [(post_url, origin) for post_url, origin in referenced if urlsplit(origin).scheme in ("http", "https")]

    def _referenced(self, adapter: ItemAdapter) -> list[tuple[str, str]]:
        """``(url as in the post, original URL)`` of every image the post references, in post
        order; inline ``data:`` images aside."""
        referenced = []
        for post_url in dict.fromkeys([*adapter.get("image_urls", []), adapter.get("headimg")]):
            if post_url and not post_url.startswith("data:"):
                referenced.append((post_url, unwrap_proxy(post_url, self.proxy)))
        return referenced

    def get_media_requests(self, item, info):
        adapter = ItemAdapter(item)
        return [
            Request(origin if self.fetch_mode == "origin" else post_url, meta={
                "source": adapter["source"],  # the run report counts the request for it
                "image_url": origin,
                "article": adapter["link"],  # ImageRefererMiddleware's Referer
                "download_maxsize": self.max_bytes,
                "dont_cache": True,
            })
            for post_url, origin in self._fetchable(self._referenced(adapter))
        ]

    # --- already stored? ------------------------------------------------------------------

    def media_to_download(self, request, info, *, item=None):
        url = request.meta["image_url"]
        known = self.state.image(url)
        now = datetime.now(timezone.utc)
        if known is not None and not self.force:
            if known.error and now - known.checked_at < self.retry_failed_after:
                self.stats.inc_value("images/failed")
                return _failed(url, f"{known.error} (as at {known.checked_at:%Y-%m-%d %H:%M} UTC)")
            if known.path and not known.error and now - known.checked_at < self.expires and self._stored(known.path):
                self.stats.inc_value("images/reused")
                self.inc_stats("uptodate")
                return {"url": url, "path": known.path, "thumb": known.thumb, "checksum": known.checksum,
                        "status": "uptodate", "size": known.size or 0}
        return None

    def _stored(self, path: str) -> bool:
        if isinstance(self.store, FSFilesStore):
            return self.store._get_filesystem_path(path).is_file()
        return True  # remote stores: trust the index rather than a request per image

    def file_path(self, request, response=None, info=None, *, item=None):
        """The stored name: a hash of the original URL, with the extension of the real type as
        the image index knows it (a stored image's type is Pillow's verdict, see ``_store``)."""
        url = request.meta.get("image_url", request.url)
        known = self.state.image(url) if self.state else None
        if known and known.path:
            return known.path
        return stored_path("full", image_name(url), Path(urlsplit(url).path).suffix.lstrip(".").lower() or "jpg")

    # --- download outcome ---------------------------------------------------------------------
    # Both hooks answer with a dict instead of raising: a raised error makes the media pipeline
    # log a full traceback per image, where one line that names the post says it all.

    async def media_downloaded(self, response, request, info, *, item=None):
        url = request.meta["image_url"]
        try:
            self._accept(response)
            self.inc_stats("downloaded")  # Scrapy's own file_count and file_status_count
            result = await self._store(url, response.body)
        except ImageFailed as exc:
            if exc.permanent:
                self.state.record_image_failure(url, str(exc), datetime.now(timezone.utc))
            self.stats.inc_value("images/failed")
            return _failed(url, str(exc))
        # Recorded here, in the crawl's thread, once both files are in the store.
        self.state.record_image(url, result["path"], result["thumb"], result["checksum"], result["size"],
                                datetime.now(timezone.utc))
        self.stats.inc_value("images/mirrored")
        self.stats.inc_value("images/bytes", result["size"])
        if result.pop("converted"):
            self.stats.inc_value("images/converted")
        return result

    def media_failed(self, failure, request, info):
        # Returning (not raising) hands the media pipeline a None result without logging a
        # traceback per image; item_completed reads the reason from download_errors.
        self.stats.inc_value("images/failed")
        self.download_errors[request.meta["image_url"]] = f"download failed: {failure.getErrorMessage()}"

    def _accept(self, response) -> None:
        if response.status != 200:
            permanent = 400 <= response.status < 500 and response.status not in TRANSIENT_STATUSES
            raise ImageFailed(f"HTTP {response.status}", permanent=permanent)
        if len(response.body) > self.max_bytes:
            raise ImageFailed(f"{len(response.body)} bytes, more than IMAGES_MAX_BYTES", permanent=True)

    async def _store(self, url: str, data: bytes) -> dict:
        """Pillow's verdict from a worker process (``CheckerPool``), and the files stored.

        On the file system the worker writes both files itself and sends back only names and
        sums; other stores (s3://, gs://, ftp://) get the checked bytes through Scrapy's store."""
        name = image_name(url)
        try:
            if isinstance(self.store, FSFilesStore):
                stored = await self.checkers.run(check_and_store, data, self.max_pixels, self.thumb_size,
                                                 str(self.store.basedir), name)
            else:
                checked = await self.checkers.run(check_image, data, self.max_pixels, self.thumb_size)
                stored = await asyncio.to_thread(self._persist, name, checked)
        except ImageRejected as exc:
            raise ImageFailed(str(exc), permanent=True) from None
        except BrokenProcessPool:
            raise ImageFailed("the image checker crashed on it", permanent=True) from None
        except OSError as exc:
            raise ImageFailed(f"cannot store it: {exc.strerror or exc}", permanent=False) from None
        return {"url": url, "path": stored.path, "thumb": stored.thumb, "checksum": stored.checksum,
                "status": "downloaded", "size": stored.size, "converted": stored.converted_from}

    def _persist(self, name: str, checked: CheckedImage) -> StoredImage:
        """Write the image and its thumbnail through Scrapy's store (in a thread)."""
        return store_checked(checked, name, lambda path, data, content_type: self.store.persist_file(
            path, BytesIO(data), self.spiderinfo, headers={"Content-Type": content_type}))

    # --- back to the item -------------------------------------------------------------------

    def item_completed(self, results, item, info):
        """Pair each referenced image with its result by URL, and record the outcome."""
        adapter = ItemAdapter(item)
        mirrored, failures = [], []
        referenced = self._referenced(adapter)
        for post_url, origin in referenced:
            scheme = urlsplit(origin).scheme
            if scheme not in ("http", "https"):
                failures.append({"url": post_url, "reason": f"refused: {scheme or 'relative'} URL (only http and https are fetched)"})
                self.stats.inc_value("images/refused")
        by_url = {value["url"]: value for ok, value in results if ok and value}
        for post_url, origin in self._fetchable(referenced):
            value = by_url.get(origin)  # every result of this pipeline names the original URL
            if value is None:  # media_failed answered None
                value = _failed(origin, self.download_errors.get(origin, "not mirrored"))
            if value.get("failed"):
                failures.append({"url": post_url, "reason": value["failed"]})
            else:
                # status: "downloaded" this run or "uptodate" in the store; the run report counts them.
                mirrored.append({"url": post_url, "path": value["path"], "thumb": value["thumb"],
                                 "status": value["status"], "size": value.get("size", 0)})
        for failure in failures:
            logger.warning("image not mirrored for %r (%s): %s: %s",
                           adapter["title"], adapter["link"], failure["url"], failure["reason"])
        adapter["images"] = mirrored
        adapter["image_failures"] = failures
        return item


def image_name(url: str) -> str:
    """An image's name in the store: the hash of its original URL (proxy prefix removed)."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()


def _failed(url: str, reason: str) -> dict:
    return {"url": url, "failed": reason}
