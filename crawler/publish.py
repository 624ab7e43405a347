"""Hand-off to a Hexo site: copy what changed since the last publish, file by file.

The state store knows every post's hash and every image's checksum, and remembers what was
last copied to each site, so a publish compares two tables instead of reading every file;
a file missing at the destination is copied again whatever the table says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crawler.datadir import DataDir
from crawler.files import write_atomic
from crawler.state import State


@dataclass(frozen=True)
class Copy:
    source: Path
    target: Path
    key: str
    """``posts/…`` or ``images/…``: the file relative to DIR."""
    hash: str
    created: bool


def plan(data_dir: DataDir, site: Path, state: State, with_images: bool) -> list[Copy]:
    """Every file that differs from what ``site`` last received."""
    site_key = str(site.resolve())
    published = state.published(site_key)
    candidates: list[tuple[str, Path, Path, str]] = [
        (f"posts/{path}", data_dir.posts / path, site / "source" / "_posts" / path, digest)
        for path, digest in state.articles()
    ]
    if with_images:
        for path, thumb, checksum in state.stored_images():
            for stored in filter(None, (path, thumb)):
                candidates.append((f"images/{stored}", data_dir.images / stored, site / "source" / "images" / stored,
                                   checksum))
    copies = []
    for key, source, target, digest in candidates:
        exists = target.exists()
        if published.get(key) == digest and exists:
            continue
        if source.is_file():
            copies.append(Copy(source, target, key, digest, created=not exists))
    return copies


def publish(copies: list[Copy], site: Path, state: State) -> None:
    site_key = str(site.resolve())
    for copy in copies:
        write_atomic(copy.target, copy.source.read_bytes())
        state.record_published(site_key, copy.key, copy.hash)
