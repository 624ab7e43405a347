"""Pillow's verdict on downloaded bytes."""

from io import BytesIO

import pytest
from PIL import Image

from crawler.imagecheck import CheckerPool, ImageRejected, check_and_store, check_image, stored_extension
from tests import images


@pytest.mark.parametrize("data,extension", [
    (images.picture(), "jpg"), (images.transparent_png(), "png"), (images.animated_gif(), "gif"),
    (images.picture(fmt="WEBP"), "webp"),
])
def test_browser_formats_are_kept_byte_for_byte(data, extension):
    checked = check_image(data, 10_000_000)
    assert (checked.data, checked.extension, checked.converted_from) == (data, extension, None)


@pytest.mark.parametrize("data", [
    images.picture(), images.transparent_png(), images.animated_gif(), images.picture(fmt="WEBP"),
    images.picture(fmt="BMP"), images.picture(fmt="TIFF"),
])
def test_the_name_read_off_the_header_is_the_full_checks_verdict(data):
    # file_path() names a file from the header before the worker decodes it: the two must agree
    assert stored_extension(data) == check_image(data, 10_000_000).extension


def test_bytes_of_no_browser_format_are_named_as_the_png_they_would_become():
    assert stored_extension(b"<html>no</html>") == "png" and stored_extension(b"") is None


def test_other_formats_become_png_and_thumbnails_are_small():
    checked = check_image(images.picture(1000, 800, fmt="BMP"), 10_000_000)
    assert checked.extension == "png" and checked.converted_from == "BMP"
    with Image.open(BytesIO(checked.data)) as stored:
        assert stored.format == "PNG" and stored.size == (1000, 800)
    with Image.open(BytesIO(checked.thumbnail)) as thumb:
        assert thumb.format == "JPEG" and thumb.size[0] <= 400 and thumb.size[1] <= 300
    alpha = check_image(images.transparent_png(), 10_000_000)
    assert alpha.thumbnail_extension == "png"


@pytest.mark.parametrize("data,reason", [
    (b"", "empty body"),
    (b"<html>no</html>", "not an image"),
    (images.picture(400, 300)[:500], "broken image"),
    (images.pixel_bomb(), "decompression bomb"),
    (images.picture(200, 200), "IMAGES_MAX_PIXELS"),
])
def test_bad_bytes_are_rejected_with_a_reason(data, reason):
    with pytest.raises(ImageRejected, match=reason):
        check_image(data, max_pixels=10_000)


def test_a_worker_stores_both_files_and_answers_with_names_only(tmp_path):
    data = images.picture(1600, 1200)
    stored = check_and_store(data, 10_000_000, (400, 300), str(tmp_path), "full/abc.jpg")
    assert (stored.path, stored.thumb, stored.size) == ("full/abc.jpg", "thumbs/abc.jpg", len(data))
    assert (tmp_path / stored.path).read_bytes() == data  # kept byte for byte
    with Image.open(tmp_path / stored.thumb) as thumb:  # made from the reduced-scale decode
        assert thumb.size[0] <= 400 and thumb.size[1] <= 300 and max(thumb.size) >= 300
    assert not list(tmp_path.rglob("*.part"))


def test_the_reduced_scale_decode_still_refuses_a_truncated_jpeg():
    with pytest.raises(ImageRejected, match="truncated"):
        check_image(images.picture(1600, 1200)[:-2000], 10_000_000)


def test_a_reduced_decode_still_gives_a_full_sized_thumbnail_either_way_up():
    # 800x533 fits 400x300 at exactly half scale; the decode is made at that scale
    with Image.open(BytesIO(check_image(images.picture(800, 533), 10_000_000, (400, 300)).thumbnail)) as thumb:
        assert thumb.size == (400, 267)
    # stored sideways (EXIF orientation 6): upright, the thumbnail is portrait and as tall as the box
    sideways = BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (1600, 1200), (200, 40, 40)).save(sideways, "JPEG", exif=exif)
    with Image.open(BytesIO(check_image(sideways.getvalue(), 10_000_000, (400, 300)).thumbnail)) as thumb:
        assert thumb.size == (225, 300)


CRAWL_WITH_A_POOL = """
import asyncio, os, sys, time
from crawler.imagecheck import CheckerPool

async def main():
    pool = CheckerPool(2)
    workers = {await pool.run(os.getpid) for _ in range(8)}
    print(" ".join(map(str, workers)), flush=True)
    time.sleep(60)  # killed here, its pool never shut down

asyncio.run(main())
"""


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_checkers_of_a_crawl_killed_with_sigkill_exit_by_themselves():
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    crawl = subprocess.Popen([sys.executable, "-c", CRAWL_WITH_A_POOL], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[1])
    try:
        workers = [int(pid) for pid in crawl.stdout.readline().split()]
        assert workers and all(_running(pid) for pid in workers)
    finally:
        crawl.send_signal(signal.SIGKILL)
        crawl.wait()
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_running(pid) for pid in workers), "the checkers outlived the crawl"


def test_checkers_step_back_for_the_crawl_by_their_nice_value():
    import asyncio
    import os

    async def niceness(pool: CheckerPool) -> int:
        try:
            return await pool.run(os.nice, 0)  # os.nice(0) answers the caller's niceness
        finally:
            pool.close()

    own = os.nice(0)
    assert asyncio.run(niceness(CheckerPool(1, nice=5))) == min(19, own + 5)
    assert asyncio.run(niceness(CheckerPool(1))) == own
