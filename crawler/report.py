"""What one run did, source by source, for people and for publishers.

``RunReport`` is a Scrapy extension that only listens: to the spider's signals about its
sources (``crawler.signals``), to requests reaching the downloader, and to items leaving the
pipelines (written, dropped or failed). Every request and item names its source, so one crawl
of many sources still gives each source its own figures. When the spider closes, the report
goes to ``DIR/runs/<UTC time>.json`` and ``DIR/runs/latest.json`` (publishers act on exactly
the files it lists as created or updated) and each source's outcome to the state store, for
``crawler sources``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from itemadapter import ItemAdapter
from scrapy import signals as scrapy_signals

from crawler import signals
from crawler.datadir import DataDir
from crawler.files import write_atomic
from crawler.lifecycle import state_of
from crawler.neardup import NearDuplicate
from crawler.state import article_key

logger = logging.getLogger(__name__)

SNAPSHOT_SECONDS = 2.0
"""How often a worker of a shared run records its report so far."""

UNKNOWN_SOURCE = "(unknown)"
"""Where a failure that names no source is counted (a spider bug, say): never dropped."""


@dataclass
class SourceRecord:
    """One source's part of the run."""

    name: str
    counts: Counter = field(default_factory=Counter)
    failures: list[dict] = field(default_factory=list)
    image_failures: list[dict] = field(default_factory=list)
    repairs: list[dict] = field(default_factory=list)
    blocked: list[dict] = field(default_factory=list)
    """Entries the source's keep/block rules left out: ``url``, ``title``, ``reason``."""
    near_duplicates: list[dict] = field(default_factory=list)
    """Articles whose text copies a post already written: ``url``, ``title``, ``original`` (that
    post's path), ``written`` (whether it was written all the same, ``DUPLICATES = "keep"``)."""
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    @property
    def fetched(self) -> bool:
        return self.counts["pages"] + self.counts["pages_before_resume"] > 0 and self.counts["broken"] == 0

    @property
    def unchanged(self) -> int:
        """Posts already as they should be: rendered and equal, known and not fetched, or
        written by another source."""
        return self.counts["unchanged"] + self.counts["known"] + self.counts["duplicate"]

    def as_report(self, finish_reason: str | None) -> dict:
        counts = self.counts
        return {
            "name": self.name,
            "fetched": self.fetched,
            "finish_reason": finish_reason,
            "pages": counts["pages"],
            "listed": counts["listed"],
            "requests": counts["requests"],
            "items": counts["items"],
            "posts": {"created": counts["created"], "updated": counts["updated"], "unchanged": self.unchanged},
            "images": {k: counts[f"images_{k}"] for k in ("mirrored", "reused", "failed", "bytes")},
            "failures": self.failures,
            "image_failures": self.image_failures,
            "repairs": self.repairs,
            "blocked": self.blocked,
            "near_duplicates": self.near_duplicates,
            "created": self.created,
            "updated": self.updated,
        }


class RunReport:
    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.data_dir = DataDir.from_settings(crawler.settings)
        self.image_links = crawler.settings.get("IMAGE_LINKS")
        self.records: dict[str, SourceRecord] = {}
        # An image shared by several sources is counted once, for the first post that used it,
        # so the sources' figures add up to what the run fetched.
        self._counted_images: set[str] = set()
        self._counted_image_failures: set[str] = set()
        self._written: dict[str, str] = {}
        """The posts this run wrote, by article key: a copy found while its original was still
        on its way names the original by key (``NearDuplicatesPipeline``), the report by path."""
        self.started: datetime | None = None
        self.report: dict | None = None
        self.path: Path | None = None
        self.error: OSError | None = None
        """Set when the report or the sources' history could not be written (a full disk)."""
        self.run_id = crawler.settings.get("RUN_ID") or None
        self.worker = crawler.settings.get("WORKER_ID") or None
        """A worker of a shared run (``crawler worker``) keeps its report in the shared state,
        where ``crawler status`` merges every worker's: from time to time while it runs (so a
        worker that is killed leaves what it did) and when it stops."""
        self._snapshots = None

    @classmethod
    def from_crawler(cls, crawler):
        report = cls(crawler)
        connect = crawler.signals.connect
        connect(report.spider_opened, signal=scrapy_signals.spider_opened)
        connect(report.spider_closed, signal=scrapy_signals.spider_closed)
        connect(report.request_reached_downloader, signal=scrapy_signals.request_reached_downloader)
        connect(report.item_scraped, signal=scrapy_signals.item_scraped)
        connect(report.item_dropped, signal=scrapy_signals.item_dropped)
        connect(report.item_error, signal=scrapy_signals.item_error)
        connect(report.spider_error, signal=scrapy_signals.spider_error)
        connect(report.document_read, signal=signals.document_read)
        connect(report.documents_read_before, signal=signals.documents_read_before)
        connect(report.document_failed, signal=signals.document_failed)
        connect(report.entry_failed, signal=signals.entry_failed)
        connect(report.entry_blocked, signal=signals.entry_blocked)
        return report

    def record(self, name: str | None) -> SourceRecord:
        name = name or UNKNOWN_SOURCE
        record = self.records.get(name)
        if record is None:
            record = self.records[name] = SourceRecord(name)
        return record

    @property
    def sources_read(self) -> int:
        """Sources whose own document has been read (or has failed) so far: for progress."""
        return sum(1 for r in self.records.values() if r.counts["pages"] or r.counts["broken"])

    # --- the spider's word ---------------------------------------------------------------

    def spider_opened(self, spider) -> None:
        self.started = datetime.now(timezone.utc)
        for name in getattr(spider, "sources", ()):  # every chosen source is in the report
            self.record(name)
        if self.run_id:
            from twisted.internet.task import LoopingCall

            self._snapshots = LoopingCall(self.snapshot)
            self._snapshots.start(SNAPSHOT_SECONDS, now=False)

    def snapshot(self) -> None:
        """The worker's report so far, into the shared state."""
        try:
            state_of(self.crawler).record_worker_report(self.run_id, self.worker, self.build("running"))
        except Exception as exc:  # the state is gone for now: the next snapshot or the last tries again
            logger.warning("cannot record this worker's report: %s", exc)

    def document_read(self, source: str, url: str, listed: int, known: int) -> None:
        counts = self.record(source).counts
        counts.update(pages=1, listed=listed, known=known)
        self.stats.inc_value("source/pages")
        self.stats.inc_value("articles/listed", listed)
        self.stats.inc_value("articles/known", known)

    def documents_read_before(self, source: str, count: int) -> None:
        self.record(source).counts["pages_before_resume"] += count

    def document_failed(self, source: str, url: str, reason: str) -> None:
        record = self.record(source)
        record.counts["broken"] += 1
        record.failures.append({"what": "source", "url": url, "reason": reason})
        self.stats.inc_value("source/failed")

    def entry_failed(self, source: str, url: str, reason: str) -> None:
        self.record(source).failures.append({"what": "article", "url": url, "reason": reason})
        self.stats.inc_value("articles/failed")

    def entry_blocked(self, source: str, url: str, title: str, reason: str) -> None:
        self.record(source).blocked.append({"url": url, "title": title, "reason": reason})
        self.stats.inc_value("articles/blocked")

    # --- Scrapy's word ---------------------------------------------------------------------

    def request_reached_downloader(self, request, spider) -> None:
        self.record(request.meta.get("source")).counts["requests"] += 1

    def item_scraped(self, item, response, spider) -> None:
        adapter = ItemAdapter(item)
        record = self.record(adapter.get("source"))
        record.counts["items"] += 1
        outcome = adapter.get("post_outcome")
        if outcome:
            record.counts[outcome] += 1
        if outcome in ("created", "updated"):
            (record.created if outcome == "created" else record.updated).append(adapter["post_path"])
            self._written[article_key(adapter.get("guid"), adapter["link"])] = adapter["post_path"]
        for image in adapter.get("images") or []:
            if image["url"] not in self._counted_images:
                self._counted_images.add(image["url"])
                if image.get("status") == "downloaded":
                    record.counts["images_mirrored"] += 1
                    record.counts["images_bytes"] += image.get("size", 0)
                else:
                    record.counts["images_reused"] += 1
        for failure in adapter.get("image_failures") or []:
            record.image_failures.append({"post": adapter.get("post_path"), **failure})
            if failure["url"] not in self._counted_image_failures:
                self._counted_image_failures.add(failure["url"])
                record.counts["images_failed"] += 1
        if adapter.get("duplicate_of"):
            record.near_duplicates.append({"url": adapter.get("link"), "title": adapter.get("title"),
                                           "original": adapter["duplicate_of"], "written": True})
        for repair in adapter.get("repairs") or []:
            record.repairs.append({"post": adapter.get("post_path"), "url": adapter.get("link"), "repair": repair})

    def item_dropped(self, item, response, exception, spider) -> None:
        adapter = ItemAdapter(item)
        if isinstance(exception, NearDuplicate):  # one story, one post: not a failure
            self.record(adapter.get("source")).near_duplicates.append(
                {"url": adapter.get("link"), "title": adapter.get("title"), "original": exception.original,
                 "written": False})
            return
        self.record(adapter.get("source")).failures.append(
            {"what": "article", "url": adapter.get("link"), "reason": str(exception)})

    def item_error(self, item, response, spider, failure) -> None:
        adapter = ItemAdapter(item)
        self.record(adapter.get("source")).failures.append(
            {"what": "article", "url": adapter.get("link"), "reason": f"{failure.type.__name__}: {failure.getErrorMessage()}"})

    def spider_error(self, failure, response, spider) -> None:
        self.record(_source_of(response)).failures.append(
            {"what": "page", "url": getattr(response, "url", None),
             "reason": f"{failure.type.__name__}: {failure.getErrorMessage()}"})

    # --- the end -------------------------------------------------------------------------

    def build(self, reason: str) -> dict:
        """The report as it stands, for a run that ended (or, for a snapshot, goes on) so."""
        finished = datetime.now(timezone.utc)
        entries = [record.as_report(reason) for record in self.records.values()]
        for entry in entries:
            entry["near_duplicates"] = [{**copy, "original": self._written.get(copy["original"], copy["original"])}
                                        for copy in entry["near_duplicates"]]
        report = {
            "started": (self.started or finished).isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "finish_reason": reason,
            "image_links": self.image_links,
            "sources": entries,
            "created": sorted(p for s in entries for p in s["created"]),
            "updated": sorted(p for s in entries for p in s["updated"]),
        }
        if self.run_id:
            report.update(run=self.run_id, worker=self.worker)
        return report

    def spider_closed(self, spider, reason: str) -> None:
        if self._snapshots is not None and self._snapshots.running:
            self._snapshots.stop()
        self.report = self.build(reason)
        finished = datetime.fromisoformat(self.report["finished"])
        try:
            self.path = write_report(self.data_dir, self.started or finished, self.report)
            if self.run_id:
                # One worker's figures are part of the run's: ``crawler status`` adds them up.
                state_of(self.crawler).record_worker_report(self.run_id, self.worker, self.report)
            else:
                state_of(self.crawler).record_source_runs(finished, {
                    entry["name"]: {k: v for k, v in entry.items() if k not in ("created", "updated")}
                    for entry in self.report["sources"]})
        except OSError as exc:
            self.error = exc
            logger.error("cannot write the run report to %s: %s", self.data_dir.runs, exc.strerror or exc)


def _source_of(response) -> str | None:
    try:
        return response.meta.get("source")
    except AttributeError:  # a response without a request
        return None


def write_report(data_dir: DataDir, started: datetime, report: dict) -> Path:
    """Write a run's report and make it ``latest.json``; return its path."""
    path = data_dir.runs / (started.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ") + ".json")
    data = json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    write_atomic(path, data)
    write_atomic(data_dir.latest_report, data)
    return path


def read_latest(data_dir: DataDir) -> dict | None:
    try:
        return json.loads(data_dir.latest_report.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
