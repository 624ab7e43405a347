"""Images made with Pillow for the tests, each a few kilobytes."""

from __future__ import annotations

from io import BytesIO

from PIL import Image, ImageDraw


def picture(width: int = 120, height: int = 80, fmt: str = "JPEG", mode: str = "RGB", seed: int = 1) -> bytes:
    image = Image.new(mode, (width, height), (20 * seed % 255, 90, 160, 255)[: len(mode)] if mode != "P" else 3)
    ImageDraw.Draw(image).rectangle((5, 5, width // 2, height // 2), fill=(200, 40 * seed % 255, 30, 255)[: len(mode)])
    out = BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def transparent_png() -> bytes:
    image = Image.new("RGBA", (60, 60), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((10, 10, 50, 50), fill=(255, 0, 0, 200))
    out = BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def animated_gif(frames: int = 3) -> bytes:
    images = [Image.new("RGB", (40, 30), (60 * i, 255 - 60 * i, 100)) for i in range(frames)]
    out = BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def pixel_bomb() -> bytes:
    """A small file that decodes to 10,000 x 10,000 pixels."""
    out = BytesIO()
    Image.new("1", (10000, 10000)).save(out, "PNG", optimize=True)
    return out.getvalue()
