"""Hand-off to a Hexo site: copy what changed since the last publish, file by file.

The state store knows every post's hash and every image's checksum, and remembers what was
last copied to each site, so a publish compares two tables instead of reading every file;
a file missing at the destination is copied again whatever the table says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crawler.files import write_atomic
from crawler.state import State


@dataclass(frozen=True)
class Copy:
    store: object
    """Where the file is read from: the posts' store or the images' (``crawler.stores``)."""
    path: str
    """The file in its store."""
    target: Path
    key: str
    """``posts/…`` or ``images/…``: the file as the publish marks name it."""
    hash: str
    created: bool


def plan(posts, images, site: Path, state: State, with_images: bool) -> list[Copy]:
    """Every file that differs from what ``site`` last received (``posts`` and ``images``: the
    stores the crawl wrote to, a folder or S3)."""
    site_key = str(site.resolve())
    published = state.published(site_key)
    candidates = [(posts, path, f"posts/{path}", site / "source" / "_posts" / path, digest)
                  for path, digest in state.articles()]
    if with_images:
        for path, thumb, checksum in state.stored_images():
            for stored in filter(None, (path, thumb)):
                candidates.append((images, stored, f"images/{stored}", site / "source" / "images" / stored, checksum))
    copies = []
    for store, path, key, target, digest in candidates:
        exists = target.exists()
        if published.get(key) == digest and exists:
            continue
        if store.has(path):
            copies.append(Copy(store, path, target, key, digest, created=not exists))
    return copies


def publish(copies: list[Copy], site: Path, state: State) -> list[Copy]:
    """Copy each file and mark it published; the copies whose file has gone from its store."""
    site_key = str(site.resolve())
    missing = []
    for copy in copies:
        data = copy.store.read(copy.path)
        if data is None:
            missing.append(copy)
            continue
        write_atomic(copy.target, data)
        state.record_published(site_key, copy.key, copy.hash)
    return missing
