"""The ``crawler`` command: run the configured sources and say what came of it."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from datetime import datetime, timezone

from crawler.config import Config, ConfigError, load_config
from crawler.report import SourceRecorder, read_latest, write_report
from crawler.state import StateStore

EXIT_OK, EXIT_FAILURES, EXIT_CONFIG = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crawler",
        description="Turn news-aggregator pages and feeds into Hexo posts in the seed format.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="crawl the configured sources and write their posts",
        description="Crawl the chosen sources (all by default) in one Scrapy process and write their "
        "posts to DIR/posts/. Exit status: 0 when every source was fetched and every article "
        "written, 1 when something failed (see the summary), 2 for a configuration error.",
    )
    run.add_argument("--config", default="sources.toml", metavar="FILE",
                     help="sources file (TOML) to read (default: %(default)s)")
    run.add_argument("--data", default="data", metavar="DIR",
                     help="output folder: posts go to DIR/posts/ (default: %(default)s)")
    run.add_argument("--source", action="append", default=[], metavar="NAME",
                     help="crawl only this source; repeat for several (default: all)")
    run.add_argument("--no-images", action="store_true",
                     help="do not mirror images; posts keep their remote image URLs")
    run.add_argument("--log-level", default="WARNING",
                     choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                     help="Scrapy log level on stderr (default: %(default)s)")
    demo = commands.add_parser(
        "demo",
        help="serve the bundled demo aggregator on 127.0.0.1 and crawl it",
        description="Start the bundled demo aggregator (list API, article pages, RSS/Atom feeds, "
        "images) on 127.0.0.1, write its sources file to DIR/demo-sources.toml and run every "
        "demo source into DIR/posts/. Fixed ports keep the posts' URLs, and so the posts, the "
        "same from one demo run to the next.",
    )
    demo.add_argument("--data", default="data", metavar="DIR", help="output folder (default: %(default)s)")
    demo.add_argument("--port", type=int, default=8750, help="HTTP port of the demo aggregator (default: %(default)s)")
    demo.add_argument("--tls-port", type=int, default=8751,
                      help="HTTPS port of the demo aggregator (default: %(default)s)")
    demo.add_argument("--no-images", action="store_true", help="do not mirror images")
    demo.add_argument("--log-level", default="WARNING",
                      choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                      help="Scrapy log level on stderr (default: %(default)s)")
    images_cmd = commands.add_parser(
        "images",
        help="what the image mirror did in the last run, and what it holds",
        description="Print, for the last run, how many images were mirrored, reused and failed "
        "(with each failure's post and reason), and the images and bytes in the store.",
    )
    images_cmd.add_argument("--data", default="data", metavar="DIR", help="output folder (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return run(args)
    if args.command == "demo":
        return demo(args)
    if args.command == "images":
        return images(args)
    return EXIT_CONFIG  # pragma: no cover - argparse rejects unknown commands


@dataclass
class SourceOutcome:
    """One source's result: Scrapy's stats plus what the recorder saw."""

    name: str
    stats: dict
    recorder: SourceRecorder

    def get(self, key: str) -> int:
        return int(self.stats.get(key, 0) or 0)

    @property
    def fetched(self) -> bool:
        return self.get("source/pages") > 0 and self.get("source/failed") == 0

    @property
    def failures(self) -> int:
        """Articles or pages lost this run (image failures do not lose their post)."""
        return len(self.recorder.failures)

    def as_report(self) -> dict:
        return {
            "name": self.name,
            "fetched": self.fetched,
            "pages": self.get("source/pages"),
            "requests": self.get("downloader/request_count"),
            "items": self.get("item_scraped_count"),
            "posts": {k: self.get(f"posts/{k}") for k in ("created", "updated", "unchanged")},
            "images": {k: self.get(f"images/{k}") for k in ("mirrored", "reused", "failed", "bytes")},
            "failures": self.recorder.failures,
            "image_failures": self.recorder.image_failures,
            "created": self.recorder.created,
            "updated": self.recorder.updated,
        }


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        names = args.source or [s.name for s in config.sources]
        sources = [config.source(name) for name in names]
    except ConfigError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    settings = _settings(config, args)
    from scrapy.crawler import CrawlerProcess

    started = datetime.now(timezone.utc)
    process = CrawlerProcess(settings)
    crawlers = []
    for source in sources:
        crawler = process.create_crawler(process.spider_loader.load(source.spider))
        process.crawl(crawler, source=source.name)
        crawlers.append((source.name, crawler))
    process.start()

    outcomes = [
        SourceOutcome(name, dict(crawler.stats.get_stats()), crawler.get_extension(SourceRecorder))
        for name, crawler in crawlers
    ]
    data_dir = Path(args.data)
    report = write_report(data_dir, started, datetime.now(timezone.utc), [o.as_report() for o in outcomes])
    print_summary(outcomes, data_dir, report)
    ok = all(o.fetched and o.failures == 0 for o in outcomes)
    return EXIT_OK if ok else EXIT_FAILURES


def print_summary(outcomes: list[SourceOutcome], data_dir: Path, report: Path) -> None:
    columns = ("pages", "listed", "created", "updated", "unchanged", "failed", "images", "img-fail")
    rows = []
    for o in outcomes:
        values = (
            o.get("source/pages"), o.get("articles/listed"), o.get("posts/created"), o.get("posts/updated"),
            o.get("posts/unchanged"), o.failures, o.get("images/mirrored") + o.get("images/reused"),
            o.get("images/failed"),
        )
        rows.append((o.name, values, "ok" if o.fetched else "NOT FETCHED"))
    width = max([len("source")] + [len(name) for name, _, _ in rows])
    print(f"{'source':<{width}}  " + "  ".join(f"{c:>9}" for c in columns))
    for name, values, status in rows:
        print(f"{name:<{width}}  " + "  ".join(f"{v:>9}" for v in values) + f"  {status}")
    written = sum(o.get("posts/created") + o.get("posts/updated") for o in outcomes)
    failures = sum(o.failures for o in outcomes)
    images_failed = sum(o.get("images/failed") for o in outcomes)
    not_fetched = [o.name for o in outcomes if not o.fetched]
    line = f"{len(outcomes)} sources, {written} posts written to {data_dir / 'posts'}, {failures} failures"
    if images_failed:
        line += f", {images_failed} images not mirrored (their posts keep the remote URL)"
    if not_fetched:
        line += f"; not fetched: {', '.join(not_fetched)}"
    print(line)
    print(f"report: {report}")


def images(args: argparse.Namespace) -> int:
    """What the image mirror did in the last run, and what it holds."""
    data_dir = Path(args.data)
    report = read_latest(data_dir)
    if report is None:
        print(f"crawler: no run report in {data_dir / 'runs'} yet: run crawler run first", file=sys.stderr)
        return EXIT_FAILURES
    totals = {k: sum(s["images"][k] for s in report["sources"]) for k in ("mirrored", "reused", "failed", "bytes")}
    state_path = data_dir / "state.sqlite3"
    stored, stored_bytes = (0, 0)
    if state_path.exists():
        state = StateStore(state_path)
        stored, stored_bytes = state.image_totals()
        state.close()
    print(f"last run ({report['started']} to {report['finished']}):")
    print(f"  mirrored {totals['mirrored']} ({_size(totals['bytes'])}), reused {totals['reused']}, "
          f"failed {totals['failed']}")
    print(f"store: {stored} images, {_size(stored_bytes)}")
    failures = [f for s in report["sources"] for f in s["image_failures"]]
    for failure in failures:
        print(f"  failed: {failure['url']} in {failure['post']}: {failure['reason']}")
    return EXIT_OK


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def demo(args: argparse.Namespace) -> int:
    from crawler.demo.config import write_sources
    from crawler.demo.server import start

    try:
        server = start(port=args.port, tls_port=args.tls_port)
    except OSError as exc:
        print(f"crawler: cannot serve the demo on 127.0.0.1:{args.port}/{args.tls_port}: {exc.strerror} "
              "(choose others with --port and --tls-port)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        data = Path(args.data)
        data.mkdir(parents=True, exist_ok=True)
        config = write_sources(data / "demo-sources.toml", server.base_url)
        print(f"demo aggregator on {server.base_url} (and {server.tls_base_url}); sources in {config}")
        args.config, args.source = str(config), []
        return run(args)
    finally:
        server.stop()


def _settings(config: Config, args: argparse.Namespace):
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    settings.setdict(config.settings, priority="project")
    settings.set("SOURCES_FILE", str(Path(args.config).resolve()), priority="cmdline")
    settings.set("DATA_DIR", str(Path(args.data).resolve()), priority="cmdline")
    settings.set("LOG_LEVEL", args.log_level, priority="cmdline")
    if args.no_images:
        settings.set("IMAGES_ENABLED", False, priority="cmdline")
    return settings


if __name__ == "__main__":
    sys.exit(main())
