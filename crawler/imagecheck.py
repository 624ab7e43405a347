"""What a downloaded image really is, decided by Pillow from its bytes.

URLs and Content-Type headers lie (an HTML error page served as ``.jpg``), and a few bytes can
claim billions of pixels. Every image is opened, its size checked before any pixel is decoded,
decoded completely (a truncated file fails here, not in a reader's browser), and kept as it came
when browsers show that format; anything else is converted to PNG.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

BROWSER_FORMATS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}


class ImageRejected(ValueError):
    """The bytes are not an image this pipeline will keep; the message says why."""


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    """The bytes to store: the original ones for browser formats, else a PNG."""
    extension: str
    width: int
    height: int
    frames: int
    converted_from: str | None
    thumbnail: bytes
    thumbnail_extension: str

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.extension]


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
        width=width,
        height=height,
        frames=frames,
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


def _thumbnail(image: Image.Image, size: tuple[int, int]) -> tuple[bytes, str]:
    """A small still picture (first frame): JPEG, or PNG where there is transparency."""
    alpha = _has_alpha(image)
    frame = ImageOps.exif_transpose(image.convert("RGBA" if alpha else "RGB"))
    frame.thumbnail(size, reducing_gap=1.5)  # shrink by whole factors first: far faster
    out = BytesIO()
    if alpha:
        frame.save(out, "PNG")
        return out.getvalue(), "png"
    frame.save(out, "JPEG", quality=85)
    return out.getvalue(), "jpg"


def sniff_extension(data: bytes) -> str | None:
    """The stored extension for these bytes, from the header Pillow reads (no decoding)."""
    try:
        with Image.open(BytesIO(data)) as image:
            return BROWSER_FORMATS.get(image.format or "", "png")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
