"""What one run did, source by source, for people and for publishers.

``SourceRecorder`` is a Scrapy extension: it watches items leave the pipelines (written,
dropped or failed) and spiders' errors, so no pipeline has to know about reporting. After the
run, ``write_report`` turns the recorders into ``DIR/runs/<UTC time>.json`` and
``DIR/runs/latest.json``: publishers act on exactly the files it lists as created or updated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from itemadapter import ItemAdapter
from scrapy import signals

from crawler.files import write_atomic


@dataclass
class SourceRecorder:
    name: str = ""
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    image_failures: list[dict] = field(default_factory=list)
    repairs: list[dict] = field(default_factory=list)

    @classmethod
    def from_crawler(cls, crawler):
        recorder = cls()
        crawler.signals.connect(recorder.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(recorder.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(recorder.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(recorder.item_error, signal=signals.item_error)
        crawler.signals.connect(recorder.spider_error, signal=signals.spider_error)
        return recorder

    def spider_opened(self, spider):
        source = getattr(spider, "source", None)
        self.name = source.name if source is not None else spider.name

    def item_scraped(self, item, response, spider):
        adapter = ItemAdapter(item)
        outcome = adapter.get("post_outcome")
        if outcome == "created":
            self.created.append(adapter["post_path"])
        elif outcome == "updated":
            self.updated.append(adapter["post_path"])
        for failure in adapter.get("image_failures") or []:
            self.image_failures.append({"post": adapter.get("post_path"), **failure})
        for repair in adapter.get("repairs") or []:
            self.repairs.append({"post": adapter.get("post_path"), "url": adapter.get("link"), "repair": repair})

    def item_dropped(self, item, response, exception, spider):
        self.failures.append({"what": "article", "url": ItemAdapter(item).get("link"), "reason": str(exception)})

    def item_error(self, item, response, spider, failure):
        self.failures.append({"what": "article", "url": ItemAdapter(item).get("link"),
                              "reason": f"{failure.type.__name__}: {failure.getErrorMessage()}"})

    def spider_error(self, failure, response, spider):
        self.failures.append({"what": "page", "url": getattr(response, "url", None),
                              "reason": f"{failure.type.__name__}: {failure.getErrorMessage()}"})

    def note(self, what: str, url: str | None, reason: str) -> None:
        """For spiders: a page or entry that could not be used."""
        self.failures.append({"what": what, "url": url, "reason": reason})


@dataclass
class SourceOutcome:
    """One source's result: Scrapy's stats plus what its recorder saw."""

    name: str
    stats: dict
    recorder: SourceRecorder
    finish_reason: str | None = None

    def get(self, key: str) -> int:
        return int(self.stats.get(key, 0) or 0)

    @property
    def fetched(self) -> bool:
        pages = self.get("source/pages") + self.get("source/pages_before_resume")
        return pages > 0 and self.get("source/failed") == 0

    @property
    def interrupted(self) -> bool:
        return self.finish_reason not in (None, "finished")

    @property
    def failures(self) -> int:
        """Articles or pages lost this run (an image failure does not lose its post)."""
        return len(self.recorder.failures)

    @property
    def unchanged(self) -> int:
        """Posts already as they should be: rendered and equal, or known and not fetched."""
        return self.get("posts/unchanged") + self.get("articles/known") + self.get("posts/duplicate")

    def as_report(self) -> dict:
        return {
            "name": self.name,
            "fetched": self.fetched,
            "finish_reason": self.finish_reason,
            "pages": self.get("source/pages"),
            "requests": self.get("downloader/request_count"),
            "items": self.get("item_scraped_count"),
            "posts": {"created": self.get("posts/created"), "updated": self.get("posts/updated"),
                      "unchanged": self.unchanged},
            "images": {k: self.get(f"images/{k}") for k in ("mirrored", "reused", "failed", "bytes")},
            "failures": self.recorder.failures,
            "image_failures": self.recorder.image_failures,
            "repairs": self.recorder.repairs,
            "created": self.recorder.created,
            "updated": self.recorder.updated,
        }


def write_report(data_dir: Path, started: datetime, finished: datetime, sources: list[dict],
                 image_links: str = "remote") -> Path:
    """Write this run's report and make it ``latest.json``; return its path."""
    report = {
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "image_links": image_links,
        "sources": sources,
        "created": sorted(p for s in sources for p in s["created"]),
        "updated": sorted(p for s in sources for p in s["updated"]),
    }
    runs = data_dir / "runs"
    path = runs / (started.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ") + ".json")
    data = json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    write_atomic(path, data)
    write_atomic(runs / "latest.json", data)
    return path


def read_latest(data_dir: Path) -> dict | None:
    try:
        return json.loads((data_dir / "runs" / "latest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
