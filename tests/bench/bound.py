"""The most images/floor can be on this machine, whatever the crawler's code does.

Every processor second spent on the machine during an images run comes out of its wall time
times the cores, and some of that work no code can avoid. An images run must at least fetch
what the ``fetch`` run fetches, with the server answering (both measured by the bench, as that
run's own processor time and the server's), decode each image once (what refuses a truncated
file), make each thumbnail, and write each image, its thumbnail and each post. The last four are
timed here at their cheapest, on the site's own images, each weighted by how many of the run's
images it serves: every JPEG decoded at 1/8 scale (the least ``draft()`` allows), a thumbnail as
a nearest-neighbour resize and a JPEG encode, a file as one atomic write; the posts are the
posts run's own, each written once. Their sum shared out over the cores is the shortest an
images run can take, and the floor's wall time over it the most images/floor can be.

Nothing else an images run must do is counted (reading the pages, rendering the posts, the
near-duplicate step, the media pipeline's bookkeeping, the hand-off to the checkers), and both
cores are taken as busy from the first moment to the last: the bound is generous.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from itertools import count
from io import BytesIO
from pathlib import Path

from PIL import Image

from crawler.files import write_atomic
from crawler.imagecheck import _fitted
from crawler.settings import IMAGES_THUMB_SIZE
from tests.bench.site import BenchSite

TIMINGS = 7


def _least(work) -> float:
    """The least processor time of ``TIMINGS`` calls of ``work()``."""
    least = float("inf")
    for _ in range(TIMINGS):
        began = time.process_time()
        work()
        least = min(least, time.process_time() - began)
    return least


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(BytesIO(data))
    if image.format == "JPEG":
        image.draft("RGB", (image.width // 8, image.height // 8))
    image.load()
    return image


def _thumbnail(image: Image.Image, size: tuple[int, int]) -> bytes:
    out = BytesIO()
    image.resize(size, Image.Resampling.NEAREST).save(out, "JPEG", quality=85)
    return out.getvalue()


def _posts_written(posts: Path, into: Path) -> float:
    """The processor time of writing each post of ``posts`` once more, under ``into``. The files
    are left for the bench to remove when it ends: deleting thousands of files right away makes
    the next runs' file creation slower on this machine's disk (BENCHMARKS.md)."""
    contents = [path.read_bytes() for path in posts.rglob("*.md")]
    began = time.process_time()
    for number, content in enumerate(contents):
        write_atomic(into / f"{number}.md", content)
    return time.process_time() - began


def images_bound(site: BenchSite, posts: Path, scratch: Path, fetch_cpu_s: float, server_cpu_s: float,
                 floor_wall_s: float, cores: int) -> dict:
    uses = Counter(site.image(url.rsplit("/img/", 1)[1]).body for url in site.image_urls())
    decode = thumbnail = files = 0.0
    with tempfile.TemporaryDirectory(prefix="bound-") as folder:
        names = count()
        for data, served in uses.items():
            image = _decoded(data)
            size = _fitted(image.size, tuple(IMAGES_THUMB_SIZE))
            decode += served * _least(lambda: _decoded(data))
            thumbnail += served * _least(lambda: _thumbnail(image, size))
            for content in (data, _thumbnail(image, size)):
                files += served * _least(lambda: write_atomic(Path(folder) / str(next(names)), content))
    post_files = _posts_written(posts, scratch)
    least = fetch_cpu_s + server_cpu_s + decode + thumbnail + files + post_files
    return {"cores": cores, "floor_wall_s": floor_wall_s, "images": sum(uses.values()),
            "fetch_cpu_s": round(fetch_cpu_s, 3), "server_cpu_s": round(server_cpu_s, 3),
            "decode_cpu_s": round(decode, 3), "thumbnail_cpu_s": round(thumbnail, 3),
            "image_files_cpu_s": round(files, 3), "post_files_cpu_s": round(post_files, 3),
            "least_cpu_s": round(least, 3), "images/floor at most": round(cores * floor_wall_s / least, 3)}


def line(bound: dict) -> str:
    return (f"images/floor can be at most {bound['images/floor at most']:.2f} on this machine: fetching "
            f"{bound['fetch_cpu_s']:.2f} and serving {bound['server_cpu_s']:.2f}, decoding each of the "
            f"{bound['images']} images once {bound['decode_cpu_s']:.2f}, the cheapest thumbnails "
            f"{bound['thumbnail_cpu_s']:.2f}, writing the image files {bound['image_files_cpu_s']:.2f} and the posts "
            f"{bound['post_files_cpu_s']:.2f} CPU-seconds, {bound['least_cpu_s']:.2f} in all over {bound['cores']} "
            f"cores, against the floor's {bound['floor_wall_s']:.2f} s (tests/bench/bound.py)")
