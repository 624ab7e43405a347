"""Images for the demo articles, drawn with Pillow on first use.

They are generated rather than shipped so the repository carries no binary blobs, and
generated deterministically (colours and shapes seeded from the name, no timestamps) so
that ETags, downloaded files and test expectations are the same on every run.

Besides ordinary pictures there are the failures an image pipeline meets in the wild:
``missing.jpg`` (404), ``fake.jpg`` (an HTML error page sent as image/jpeg) and
``truncated.jpg`` (the first half of a real JPEG).
"""

from __future__ import annotations

import functools
import hashlib
import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class ImageSpec:
    width: int
    height: int
    content_type: str


def _jpeg(width: int, height: int) -> ImageSpec:
    return ImageSpec(width, height, "image/jpeg")


IMAGES = {
    "harbor.jpg": _jpeg(1200, 800),
    "market.jpg": _jpeg(800, 600),
    "bridge.jpg": _jpeg(1024, 683),
    "library.jpg": _jpeg(640, 480),
    "tram.jpg": _jpeg(960, 640),
    "orchard.jpg": _jpeg(720, 480),
    "skyline.jpg": _jpeg(1200, 675),
    "workshop.jpg": _jpeg(800, 533),
    "river.jpg": _jpeg(1000, 750),
    "stadium.jpg": _jpeg(900, 600),
    "teahouse.jpg": _jpeg(480, 320),
    "lantern.jpg": _jpeg(320, 200),
    "chart.png": ImageSpec(640, 400, "image/png"),
    "badge.png": ImageSpec(400, 400, "image/png"),
    "map.webp": ImageSpec(800, 500, "image/webp"),
    "anim.gif": ImageSpec(320, 240, "image/gif"),
    "fake.jpg": _jpeg(600, 400),
    "truncated.jpg": _jpeg(640, 400),
}
"""Every name the server answers with a body, and the size the article pages announce."""

MISSING = {"missing.jpg": _jpeg(800, 600)}
"""Names articles reference but the server answers with 404; the size is what pages claim."""


def size_of(name: str) -> tuple[int, int] | None:
    spec = IMAGES.get(name) or MISSING.get(name)
    return (spec.width, spec.height) if spec else None


@functools.cache
def image_bytes(name: str) -> bytes | None:
    """The served bytes for ``name``, or None when the server should answer 404."""
    spec = IMAGES.get(name)
    if spec is None:
        return None
    maker = _SPECIAL.get(name) or _BY_TYPE[spec.content_type]
    return maker(name, spec)


def content_type(name: str) -> str | None:
    spec = IMAGES.get(name)
    return spec.content_type if spec else None


def _rng(name: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big"))


def _colour(rng: random.Random, low: int = 30, high: int = 230) -> tuple[int, int, int]:
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, ImportError):  # Pillow built without FreeType: small bitmap font
        return ImageFont.load_default()


def _scene(name: str, width: int, height: int) -> Image.Image:
    """A gradient with scattered shapes and the image's name: busy enough to look like a photo
    to a JPEG encoder, distinct enough per name for a person to tell the images apart."""
    rng = _rng(name)
    top, bottom = _colour(rng), _colour(rng)
    mask = Image.linear_gradient("L").resize((width, height))
    picture = Image.composite(Image.new("RGB", (width, height), bottom), Image.new("RGB", (width, height), top), mask)
    draw = ImageDraw.Draw(picture)
    for _ in range(60 + width * height // 4000):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randint(4, max(8, min(width, height) // 6))
        shape = draw.ellipse if rng.random() < 0.6 else draw.rectangle
        shape((x - r, y - r, x + r, y + r), fill=_colour(rng), outline=_colour(rng, 0, 90))
    _label(draw, f"{name} {width}x{height}", width, height)
    return picture


def _label(draw: ImageDraw.ImageDraw, text: str, width: int, height: int) -> None:
    font = _font(max(12, height // 12))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x, y = (width - (right - left)) // 2, (height - (bottom - top)) // 2
    pad = max(4, height // 60)
    draw.rectangle((x - pad, y - pad, x + right - left + pad, y + bottom - top + pad), fill=(250, 250, 245))
    draw.text((x - left, y - top), text, fill=(20, 20, 20), font=font)


def _encode(picture: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **options)
    return buffer.getvalue()


def _make_jpeg(name: str, spec: ImageSpec) -> bytes:
    return _encode(_scene(name, spec.width, spec.height), "JPEG", quality=85)


def _make_png(name: str, spec: ImageSpec) -> bytes:
    return _encode(_scene(name, spec.width, spec.height), "PNG")


def _make_webp(name: str, spec: ImageSpec) -> bytes:
    return _encode(_scene(name, spec.width, spec.height), "WEBP", quality=80)


def _make_badge(name: str, spec: ImageSpec) -> bytes:
    """A round badge on a fully transparent square: the case where flattening onto black
    instead of white (or dropping alpha) visibly ruins the picture."""
    rng = _rng(name)
    badge = Image.new("RGBA", (spec.width, spec.height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(badge)
    margin = spec.width // 10
    draw.ellipse((margin, margin, spec.width - margin, spec.height - margin), fill=_colour(rng) + (255,))
    inner = spec.width // 4
    draw.ellipse((inner, inner, spec.width - inner, spec.height - inner), fill=(255, 255, 255, 160))
    _label(draw, "badge", spec.width, spec.height)
    return _encode(badge, "PNG")


def _make_gif(name: str, spec: ImageSpec) -> bytes:
    """Four frames of a dot crossing the picture: enough to notice a converter that keeps
    only the first frame."""
    rng = _rng(name)
    background, dot = _colour(rng, 180, 250), _colour(rng, 20, 120)
    frames = []
    for step in range(4):
        frame = Image.new("RGB", (spec.width, spec.height), background)
        draw = ImageDraw.Draw(frame)
        x = spec.width * (step + 1) // 5
        draw.ellipse((x - 30, spec.height // 2 - 30, x + 30, spec.height // 2 + 30), fill=dot)
        _label(draw, f"frame {step + 1}/4", spec.width, spec.height // 3)
        frames.append(frame.convert("P", palette=Image.Palette.ADAPTIVE, colors=32))
    return _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=300, loop=0)


def _make_fake(name: str, spec: ImageSpec) -> bytes:
    """What a CDN's error page looks like when it keeps the image's Content-Type."""
    return (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>访问受限</title></head>"
        "<body><h1>403 Forbidden</h1><p>请求过于频繁，请稍后再试。</p></body></html>"
    ).encode("utf-8")


def _make_truncated(name: str, spec: ImageSpec) -> bytes:
    """A real JPEG cut at half its length, like a download interrupted mid-transfer: the
    header parses, decoding the pixels fails."""
    whole = _make_jpeg(name, spec)
    return whole[: len(whole) // 2]


_BY_TYPE = {"image/jpeg": _make_jpeg, "image/png": _make_png, "image/webp": _make_webp}
_SPECIAL = {
    "badge.png": _make_badge,
    "anim.gif": _make_gif,
    "fake.jpg": _make_fake,
    "truncated.jpg": _make_truncated,
}
