"""Post file names: the original's names, made safe on every file system and seen by Hexo."""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

MAX_NAME_BYTES = 200
SUFFIX_BYTES = 7  # "-" + 6 hex digits, added when two articles want the same file name
# ``%`` too: Hexo decodes permalinks as URIs, and a bare ``%`` makes it drop the post.
_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f/\\<>:"|?*%]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)


def safe_component(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """One path component that every file system accepts and that cannot climb out."""
    name = _UNSAFE_NAME_CHARS.sub("_", name)
    # No leading "_" or ".": Hexo ignores such files and folders (the original's “quoted”
    # titles became "_quoted_…" and silently never appeared); no trailing space or dot either.
    name = _truncate(name, max_bytes).lstrip("_.").rstrip(" .")
    if not name:
        return "untitled"
    if _WINDOWS_RESERVED.match(name):
        device, dot, rest = name.partition(".")
        name = device + "_" + dot + rest
    return _truncate(name, max_bytes)


def _truncate(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", "ignore")


def post_relpath(categories: tuple[str, ...] | list[str], title: str, suffix: str = "") -> PurePosixPath:
    """``<categories…>/<T>.md`` as the original named it (a ``/`` inside a category nests
    folders, and ``T`` is the title without newlines, ``#`` and ``.``), made safe.

    ``suffix`` tells apart two articles whose names would otherwise be the same.
    """
    folders = [safe_component(part) for category in categories for part in category.split("/")]
    stem = title.replace("\n", "").replace("#", "").replace(".", "")
    stem = safe_component(stem, MAX_NAME_BYTES - len(".md") - SUFFIX_BYTES)
    return PurePosixPath(*folders, stem + suffix + ".md")


def name_suffix(key: str) -> str:
    """The short stable suffix for an article whose file name is taken by another."""
    return "-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:6]
