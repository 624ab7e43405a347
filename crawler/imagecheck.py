"""What a downloaded image really is, decided by Pillow from its bytes.

URLs and Content-Type headers lie (an HTML error page served as ``.jpg``), and a few bytes can
claim billions of pixels. Every image is opened, its size checked before any pixel is decoded,
decoded completely (a truncated file fails here, not in a reader's browser), and kept as it came
when browsers show that format; anything else is converted to PNG.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from crawler.files import write_atomic

BROWSER_FORMATS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}


class ImageRejected(ValueError):
    """The bytes are not an image this pipeline will keep; the message says why."""


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    """The bytes to store: the original ones for browser formats, else a PNG."""
    extension: str
    converted_from: str | None
    thumbnail: bytes
    thumbnail_extension: str

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.extension]


@dataclass(frozen=True)
class StoredImage:
    """What the worker that stored an image tells the crawl: names and sums, no bytes."""

    path: str
    thumb: str
    checksum: str
    size: int
    converted_from: str | None


def check_image(data: bytes, max_pixels: int, thumb_size: tuple[int, int] = (400, 300)) -> CheckedImage:
    if not data:
        raise ImageRejected("empty body")
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageRejected(f"{width}x{height} pixels, more than IMAGES_MAX_PIXELS={max_pixels}")
                frames = getattr(image, "n_frames", 1)
                if width * height * frames > max_pixels * 4:
                    raise ImageRejected(f"{frames} frames of {width}x{height}: too many pixels to decode")
                source_format = image.format or "unknown"
                if source_format in ("JPEG", "MPO") and frames == 1:
                    # One decode for the check and the thumbnail: at 1/2 to 1/8 scale, still
                    # reading the whole entropy-coded stream (a truncated file still fails).
                    image.draft("RGB", _decode_size(image.size, thumb_size))
                for index in range(frames):
                    if frames > 1:
                        image.seek(index)
                    image.load()
                if frames > 1:
                    image.seek(0)
                extension = BROWSER_FORMATS.get(source_format)
                stored = data if extension else _to_png(image)
                thumbnail, thumb_ext = _thumbnail(image, thumb_size)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(f"decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise ImageRejected(f"not an image (starts with {data[:16]!r})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"broken image: {exc}") from None
    return CheckedImage(
        data=stored,
        extension=extension or "png",
        converted_from=None if extension else source_format,
        thumbnail=thumbnail,
        thumbnail_extension=thumb_ext,
    )


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _to_png(image: Image.Image) -> bytes:
    out = BytesIO()
    frame = image.convert("RGBA" if _has_alpha(image) else "RGB")
    frame.save(out, "PNG", optimize=True)
    return out.getvalue()


def _fitted(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The size of a picture of ``size`` shrunk (never grown) to fit ``box``, rounded down."""
    scale = min(1.0, box[0] / size[0], box[1] / size[1])
    return max(1, int(size[0] * scale)), max(1, int(size[1] * scale))


def _decode_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The least size a JPEG must be decoded at for a thumbnail that fits ``box``, whichever way
    its EXIF orientation turns it. Rounded down: ``draft()`` picks its scale by whole-number
    division, so 800x533 into 400x300 asks for 400x266 and gets a half-scale 400x267."""
    upright, turned = _fitted(size, box), _fitted(size, (box[1], box[0]))
    return max(upright[0], turned[0]), max(upright[1], turned[1])


def _thumbnail(image: Image.Image, size: tuple[int, int]) -> tuple[bytes, str]:
    """A small still picture (first frame): JPEG, or PNG where there is transparency."""
    alpha = _has_alpha(image)
    frame = image.convert("RGBA" if alpha else "RGB")
    ImageOps.exif_transpose(frame, in_place=True)  # convert() made a new image: no copy needed
    target = _fitted(frame.size, size)
    factor = min(frame.width // target[0], frame.height // target[1])
    if factor > 1:
        frame = frame.reduce(factor)  # a box shrink by a whole factor: a fraction of a resampling's cost
    frame.thumbnail(size)  # what is left, if anything
    out = BytesIO()
    if alpha:
        frame.save(out, "PNG")
        return out.getvalue(), "png"
    frame.save(out, "JPEG", quality=85)
    return out.getvalue(), "jpg"


_SIGNATURES = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF87a", "gif"), (b"GIF89a", "gif"))


def stored_extension(data: bytes) -> str | None:
    """The extension an image's stored file will have, from its first bytes alone: a browser
    format's own, else ``png`` (what the check converts the rest to, when it keeps them at all);
    None for no bytes. Read in the crawl's thread for every image, so no decoder is opened."""
    for signature, extension in _SIGNATURES:
        if data.startswith(signature):
            return extension
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "png" if data else None


def stored_path(folder: str, name: str, extension: str) -> str:
    """Where an image (``full``) or its thumbnail (``thumbs``) goes in the store: ``name`` is the
    hash of its original URL, so one URL is one file forever."""
    return f"{folder}/{name}.{extension}"


def store_checked(checked: CheckedImage, path: str, write: Callable[[str, bytes, str], None]) -> StoredImage:
    """Write a checked image at ``path`` and its thumbnail beside the other thumbnails with
    ``write(path, data, content_type)``, the thumbnail first: an image counts as stored only
    once both are in place."""
    thumb = stored_path("thumbs", Path(path).stem, checked.thumbnail_extension)
    write(thumb, checked.thumbnail, CONTENT_TYPES[checked.thumbnail_extension])
    write(path, checked.data, checked.content_type)
    checksum = hashlib.md5(checked.data, usedforsecurity=False).hexdigest()
    return StoredImage(path, thumb, checksum, len(checked.data), checked.converted_from)


def check_and_store(data: bytes, max_pixels: int, thumb_size: tuple[int, int], root: str, path: str) -> StoredImage:
    """``check_image``, then both files written under ``root``, each atomically. Runs in a
    worker, so the image's bytes cross to it once and nothing but this verdict comes back."""
    return store_checked(check_image(data, max_pixels, thumb_size), path,
                         lambda name, content, _type: write_atomic(Path(root) / name, content))


CRAWL_WATCH_SECONDS = 1.0
"""How often a checker looks whether the crawl that started it is still there."""


def _start_checker(crawl: int, nice: int) -> None:
    """A checker's start: it yields the processor to the crawl, and it ends when the crawl does,
    however the crawl ended.

    Checks are the bulk of an images run's work, but nothing waits on one in particular, while
    the crawl's thread waits on every answer of its state and frontier servers. Behind two
    checkers using both cores, a server woken to answer waited for their time slices: a shared
    run's PostgreSQL round trips took 1.8 ms on average, against 1.5 ms with the checkers
    stepped back. With a ``nice`` value the checkers still have every cycle the crawl and its
    servers leave, and only those.

    A crawl killed with SIGKILL never shuts its pool down, and the pool's workers do not notice:
    each holds both ends of the pipe its tasks come through, so it waits for the next task for
    ever (and, with it, the forkserver it came from), keeping its memory. So each worker watches
    the crawl's process id itself."""
    os.nice(nice)

    def watch() -> None:
        while True:
            time.sleep(CRAWL_WATCH_SECONDS)
            try:
                os.kill(crawl, 0)
            except (ProcessLookupError, PermissionError):  # gone, or its id now someone else's
                os._exit(0)

    threading.Thread(target=watch, name="crawl-watch", daemon=True).start()


class CheckerPool:
    """Worker processes that run ``check_image``, beside the crawl.

    Decoding runs in other processes: on the second core, its buffers out of the crawl's memory,
    and a decoder that crashes on hostile bytes takes down a worker, not the run (the pool is
    then replaced). Every ``checks_per_pool`` checks the pool itself is replaced (the old one
    finishes what it was given, then its workers exit), so workers' memory cannot creep.
    Python 3.11's own ``max_tasks_per_child`` is not used: with tasks queued while a worker
    retires, its executor can hang for good (seen here after ~1,200 images). Workers run
    ``nice`` steps below the crawl (``IMAGES_CHECK_NICE``; ``_start_checker`` says why).
    """

    def __init__(self, workers: int, nice: int = 0, checks_per_pool: int = 600) -> None:
        self.workers = workers
        self.nice = nice
        self.checks_per_pool = checks_per_pool
        self._executor: ProcessPoolExecutor | None = None
        self._checks = 0

    async def run(self, function, *args):
        """``function(*args)`` in a worker (``check_image`` or ``check_and_store``)."""
        executor = self._current()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, function, *args)
        except BrokenProcessPool:
            if executor is self._executor:
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
            raise

    def _current(self) -> ProcessPoolExecutor:
        if self._executor is not None and self._checks >= self.checks_per_pool:
            self._executor.shutdown(wait=False)
            self._executor = None
        if self._executor is None:
            # forkserver: workers never inherit the crawl's reactor, threads or sockets.
            self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("forkserver"),
                                                 initializer=_start_checker, initargs=(os.getpid(), self.nice))
            self._checks = 0
        self._checks += 1
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
