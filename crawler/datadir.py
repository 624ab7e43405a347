"""The output folder's layout: the one place that knows where things live under ``DIR``.

Every component (pipelines, the spider, the run report, the command line, the publisher) asks
this object instead of joining names itself, so moving a file is a change of one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDir:
    root: Path

    @classmethod
    def from_settings(cls, settings) -> "DataDir":
        return cls(Path(settings.get("DATA_DIR") or "data"))

    @property
    def posts(self) -> Path:
        """``<categories…>/<title>.md``: the posts, as a Hexo site's ``source/_posts`` holds them."""
        return self.root / "posts"

    @property
    def images(self) -> Path:
        """The default image store: ``full/`` and ``thumbs/``."""
        return self.root / "images"

    @property
    def state(self) -> Path:
        """Articles, images, source runs and publish marks (SQLite)."""
        return self.root / "state.sqlite3"

    @property
    def runs(self) -> Path:
        """One JSON report per run, and ``latest.json``."""
        return self.root / "runs"

    @property
    def latest_report(self) -> Path:
        return self.runs / "latest.json"

    @property
    def job(self) -> Path:
        """Scrapy's ``JOBDIR`` of ``crawler run --resume``: one for the whole run."""
        return self.root / "jobs" / "run"

    @property
    def httpcache(self) -> Path:
        """The default ``HTTPCACHE_DIR``: what each list page and feed answered last time."""
        return self.root / "httpcache"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"
