"""Mirror every image a post references, through Scrapy's FilesPipeline and Pillow.

Why FilesPipeline and not ImagesPipeline: ImagesPipeline re-encodes everything to JPEG, which
loses GIF animation and PNG transparency. Here Pillow only *checks* each image (real type from
its bytes, size before decoding, a full decode) and makes the thumbnail; browser formats are
stored as they came.

The pipeline keeps FilesPipeline's flow and overrides its hooks: ``file_path`` names a file
(a hash of the original URL, the extension its first bytes show), ``file_downloaded``
checks and stores it in a worker process, ``media_to_download`` asks the image index
(``DIR/state.sqlite3``, keyed by original URL) what is stored already or failed lately, and
``media_failed`` turns every failure into one ``ImageFailed`` that names its URL. Headers are
not set here: media requests bypass spider middlewares, so the ``Referer`` a hotlink-protected
CDN checks (and any per-host ``User-Agent``, and the retry of a 403 with the other kind of
Referer) is a downloader middleware's: ``crawler.imagereferers.ImageRefererMiddleware``.

Every source runs in the same crawler, so the media pipeline's own per-crawl cache (by request
fingerprint) is what makes an image shared by many posts, or by two sources, one fetch per run.
"""

from __future__ import annotations

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
from scrapy.pipelines.files import FilesPipeline
from scrapy.pipelines.files import logger as files_logger
from scrapy.pipelines.media import FileException
from scrapy.pipelines.media import logger as media_logger

from crawler.claims import ClaimsLost, claims_of
from crawler.coalesce import Coalesced
from crawler.datadir import DataDir
from crawler.imagecheck import (CheckedImage, CheckerPool, ImageRejected, StoredImage, check_and_store, check_image,
                                store_checked, stored_extension, stored_path)
from crawler.bodyrules import unwrap_proxy
from crawler.lifecycle import state_of
from crawler.state import State
from crawler.stores import AtomicFSFilesStore, settled

logger = logging.getLogger(__name__)

TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}


class ImageFailed(FileException):
    """An image that will not be mirrored, with why; ``permanent`` ones are not retried until
    they age. A ``FileException``, so FilesPipeline passes it on as it is."""

    def __init__(self, url: str, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.url = url
        self.permanent = permanent


class _ReasonIsEnough(logging.Filter):
    """The media pipelines log every failure raised in their hooks with a traceback (the
    files pipeline in ``media_downloaded``, the media pipeline for what ``media_failed``
    raises). For an ``ImageFailed`` the reason is the whole story, and ``item_completed`` says
    it once, naming the post: Scrapy's own records of it are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ImageFailed))


class MirrorImagesPipeline(FilesPipeline):
    """Stats count distinct images: ``images/mirrored`` (fetched and stored this run),
    ``images/reused`` (already in the store), ``images/failed``; ``images/bytes`` stored.
    Scrapy's own ``file_count`` and ``file_status_count/*`` count as they do for any file."""

    MEDIA_NAME = "image"
    STORE_SCHEMES = {**FilesPipeline.STORE_SCHEMES, "": AtomicFSFilesStore, "file": AtomicFSFilesStore}

    def __init__(self, store_uri: str, *, crawler) -> None:
        super().__init__(store_uri, crawler=crawler)
        settings = crawler.settings
        self.stats = crawler.stats
        self.state: State | None = None
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
        self.check_nice = settings.getint("IMAGES_CHECK_NICE")
        self.checkers: CheckerPool | None = None
        self.log_filter = _ReasonIsEnough()

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
        self.claims = claims_of(self.crawler)
        self._index = Coalesced(self.state.images, self.state.batch_wait)
        """Asked for the images of one page at once: one question to a remote state."""
        self.checkers = CheckerPool(self.check_workers, self.check_nice)
        for scrapy_logger in (files_logger, media_logger):
            scrapy_logger.addFilter(self.log_filter)

    def close_spider(self, spider=None) -> None:
        for scrapy_logger in (files_logger, media_logger):
            scrapy_logger.removeFilter(self.log_filter)
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

    async def media_to_download(self, request, info, *, item=None):
        """The image index (``DIR/state.sqlite3``) answers instead of the store: it knows what
        failed and when, and a stored file needs no checksum read back. In a shared run the
        image is claimed before the index is asked, so two workers never fetch it both, and the
        index is asked once: a worker that held the claim has recorded what it did by the time
        the claim is let go of (in a single-machine run the claim is free)."""
        url = request.meta["image_url"]
        try:
            await self.claims.take(f"image:{url}")  # held until downloaded or failed
        except ClaimsLost as exc:
            raise ImageFailed(url, str(exc), permanent=False) from None
        answer = await self._known(url)
        if answer is None:
            return None
        self.claims.release(f"image:{url}")
        if answer.get("failed"):
            self.stats.inc_value("images/failed")
        else:
            self.stats.inc_value("images/reused")
            self.inc_stats("uptodate")
        return answer

    async def _known(self, url: str) -> dict | None:
        """What the index answers for ``url``, or None: fetch it."""
        known = await self._index(url)
        now = datetime.now(timezone.utc)
        if known is not None and not self.force:
            if known.error and now - known.checked_at < self.retry_failed_after:
                return _failed(url, f"{known.error} (as at {known.checked_at:%Y-%m-%d %H:%M} UTC)")
            if known.path and not known.error and now - known.checked_at < self.expires and self._stored(known.path):
                return {"url": url, "path": known.path, "thumb": known.thumb, "checksum": known.checksum,
                        "status": "uptodate", "size": known.size or 0}
        return None

    def _stored(self, path: str) -> bool:
        if isinstance(self.store, AtomicFSFilesStore):
            return self.store.has(path)
        return True  # remote stores: trust the index rather than a request per image

    def file_path(self, request, response=None, info=None, *, item=None):
        """The stored name: a hash of the original URL, so one URL is one file whichever proxy
        served it, with the extension of the type its first bytes show (the URL's own until there
        are bytes, or the image index's once it is stored)."""
        url = request.meta.get("image_url", request.url)
        extension = stored_extension(response.body) if response is not None else None
        if extension is None:
            known = self.state.images([url])[0] if self.state else None
            if known and known.path:
                return known.path
            extension = Path(urlsplit(url).path).suffix.lstrip(".").lower() or "jpg"
        return stored_path("full", image_name(url), extension)

    # --- download outcome ---------------------------------------------------------------------

    async def media_downloaded(self, response, request, info, *, item=None):
        """Refuse what is not worth a check (with the HTTP status, and whether to ask again
        next run), let FilesPipeline check and store the rest, and answer for the original URL."""
        url = request.meta["image_url"]
        if response.status != 200:
            permanent = 400 <= response.status < 500 and response.status not in TRANSIENT_STATUSES
            raise ImageFailed(url, f"HTTP {response.status}", permanent)
        if not response.body:
            raise ImageFailed(url, "empty body", permanent=True)
        if len(response.body) > self.max_bytes:
            raise ImageFailed(url, f"{len(response.body)} bytes, more than IMAGES_MAX_BYTES", permanent=True)
        result = await super().media_downloaded(response, request, info, item=item)
        stored = request.meta.pop("stored_image")  # file_downloaded's, passed on with the request
        self.claims.release(f"image:{url}")  # what this raises goes to media_failed, which releases it
        return {**result, "url": url, "thumb": stored.thumb, "size": stored.size}

    async def file_downloaded(self, response, request, info, *, item=None):
        """Pillow's verdict from a worker process (``CheckerPool``), both files stored, and the
        image indexed; the checksum, as FilesPipeline expects.

        On the file system the worker writes both files itself and sends back only names and
        sums; other stores (s3://, gs://, ftp://) get the checked bytes through Scrapy's store."""
        url = request.meta["image_url"]
        path = self.file_path(request, response=response, info=info, item=item)
        try:
            if isinstance(self.store, AtomicFSFilesStore):
                stored = await self.checkers.run(check_and_store, response.body, self.max_pixels, self.thumb_size,
                                                 str(self.store.basedir), path)
            else:
                checked = await self.checkers.run(check_image, response.body, self.max_pixels, self.thumb_size)
                stored = await self._persist(path, checked)
        except ImageRejected as exc:
            raise ImageFailed(url, str(exc), permanent=True) from None
        except BrokenProcessPool:
            raise ImageFailed(url, "the image checker crashed on it", permanent=True) from None
        except OSError as exc:
            raise ImageFailed(url, f"cannot store it: {exc.strerror or exc}", permanent=False) from None
        except Exception as exc:  # a remote store's refusal or outage (botocore's errors): next run
            raise ImageFailed(url, f"cannot store it: {exc}", permanent=False) from None
        # Recorded here, in the crawl's thread, once both files are in the store.
        self.state.record_image(url, stored.path, stored.thumb, stored.checksum, stored.size, datetime.now(timezone.utc))
        request.meta["stored_image"] = stored  # FilesPipeline hands on only the checksum
        self.stats.inc_value("images/mirrored")
        self.stats.inc_value("images/bytes", stored.size)
        if stored.converted_from:
            self.stats.inc_value("images/converted")
        return stored.checksum

    async def _persist(self, path: str, checked: CheckedImage) -> StoredImage:
        """Write the thumbnail, then the image, through Scrapy's store: from the crawl's thread,
        where the store's own requests (run in Scrapy's threads) can be awaited one by one."""
        writes: list[tuple[str, bytes, str]] = []
        stored = store_checked(checked, path, lambda *write: writes.append(write))
        for name, data, content_type in writes:
            await settled(self.store.persist_file(name, BytesIO(data), self.spiderinfo,
                                                  headers={"Content-Type": content_type}))
        return stored

    def media_failed(self, failure, request, info):
        """Every way an image can fail ends as one ``ImageFailed`` naming its original URL:
        FilesPipeline's own answer would carry neither the URL nor the reason."""
        error = failure.value
        if not isinstance(error, ImageFailed):
            error = ImageFailed(request.meta["image_url"], f"download failed: {failure.getErrorMessage()}", permanent=False)
        if error.permanent:
            self.state.record_image_failure(error.url, str(error), datetime.now(timezone.utc))
        self.claims.release(f"image:{request.meta['image_url']}")
        self.stats.inc_value("images/failed")
        raise error

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
        by_url = {}
        for ok, value in results:  # every result names the original URL, a failure too
            if ok:
                by_url[value["url"]] = value
            elif isinstance(value.value, ImageFailed):
                by_url[value.value.url] = _failed(value.value.url, str(value.value))
        for post_url, origin in self._fetchable(referenced):
            value = by_url.get(origin) or _failed(origin, "not mirrored")
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
