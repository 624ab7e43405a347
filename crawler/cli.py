"""The ``crawler`` command: run the configured sources, report, hand off to a Hexo site."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

from crawler.config import Config, ConfigError, Source, load_config
from crawler.files import remove_temporaries
from crawler.lock import DataDirLock, LockBusy
from crawler.report import SourceOutcome, SourceRecorder, read_latest, write_report
from crawler.state import StateStore

EXIT_OK, EXIT_FAILURES, EXIT_CONFIG, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 75, 130
LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crawler",
        description="Turn news-aggregator pages and feeds into Hexo posts in the seed format.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="crawl the configured sources and write their posts",
        description="Crawl the chosen sources (all by default) in one Scrapy process and write new "
        "and changed posts to DIR/posts/, a report to DIR/runs/. Exit status: 0 when every source "
        "was fetched and every article written, 1 when something failed (see the summary), 2 for "
        "a configuration error, 75 when another run holds DIR, 130 when interrupted.",
    )
    _run_options(run)
    run.add_argument("--config", default="sources.toml", metavar="FILE",
                     help="sources file (TOML) to read (default: %(default)s)")
    run.add_argument("--source", action="append", default=[], metavar="NAME",
                     help="crawl only this source; repeat for several (default: all)")
    run.add_argument("--category", action="append", default=[], metavar="PATH",
                     help="crawl only sources whose categories start with PATH, e.g. 新媒体/趣头条; "
                     "repeat for several")

    demo = commands.add_parser(
        "demo",
        help="serve the bundled demo aggregator on 127.0.0.1 and crawl it",
        description="Start the bundled demo aggregator (list API, article pages, RSS/Atom feeds, "
        "images) on 127.0.0.1, write its sources file to DIR/demo-sources.toml and run every "
        "demo source into DIR/. Fixed ports keep the posts' URLs, and so the posts, the same "
        "from one demo run to the next.",
    )
    _run_options(demo)
    demo.add_argument("--port", type=int, default=8750, help="HTTP port of the demo aggregator (default: %(default)s)")
    demo.add_argument("--tls-port", type=int, default=8751,
                      help="HTTPS port of the demo aggregator (default: %(default)s)")

    sources = commands.add_parser(
        "sources", help="list the configured sources and how each last run went",
        description="List the sources of the sources file with their spider, categories and URL, "
        "and the outcome of the last run that included each.",
    )
    sources.add_argument("--config", default="sources.toml", metavar="FILE", help="sources file (default: %(default)s)")
    sources.add_argument("--data", default="data", metavar="DIR", help="output folder (default: %(default)s)")

    images = commands.add_parser(
        "images", help="what the image mirror did in the last run, and what it holds",
        description="Print, for the last run, how many images were mirrored, reused and failed "
        "(with each failure's post and reason), and the images and bytes in the store.",
    )
    images.add_argument("--data", default="data", metavar="DIR", help="output folder (default: %(default)s)")

    publish = commands.add_parser(
        "publish", help="copy new and changed posts (and images) into a Hexo site",
        description="Copy the posts that changed since the last publish to SITE/source/_posts/ and, "
        "when the last run linked images locally, the images to SITE/source/images/. Files are "
        "written atomically one by one; nothing else in the site is touched.",
    )
    publish.add_argument("--to", required=True, metavar="SITE", help="the Hexo site's folder")
    publish.add_argument("--data", default="data", metavar="DIR", help="output folder (default: %(default)s)")
    publish.add_argument("--images", choices=["auto", "yes", "no"], default="auto",
                         help="copy images: auto (when the last run used IMAGE_LINKS = \"local\"), yes or no")
    publish.add_argument("--dry-run", action="store_true", help="list what would be copied, copy nothing")
    publish.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                         help="wait this long for a running crawl to finish (default: do not wait)")
    return parser


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="data", metavar="DIR",
                        help="output folder: posts go to DIR/posts/ (default: %(default)s)")
    parser.add_argument("--no-images", action="store_true",
                        help="do not mirror images; posts keep their remote image URLs")
    parser.add_argument("--force", action="store_true",
                        help="fetch known articles again and rewrite their posts (and refetch their images)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run where it stopped (Scrapy JOBDIR under DIR/jobs/)")
    parser.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                        help="wait this long for another run on DIR to finish (default: exit at once, status 75)")
    parser.add_argument("--log-level", default="WARNING", choices=LOG_LEVELS,
                        help="Scrapy log level on stderr (default: %(default)s)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return {"run": run, "demo": demo, "sources": list_sources, "images": images, "publish": publish}[args.command](args)


# --- run ------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        sources = _chosen_sources(config, args.source, getattr(args, "category", []))
    except ConfigError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    data_dir = Path(args.data)
    lock = _take_lock(data_dir, args.wait)
    if lock is None:
        return EXIT_BUSY
    with lock:
        for folder in ("posts", "images"):
            remove_temporaries(data_dir / folder)
        try:
            return _crawl(config, sources, args, data_dir)
        except OSError as exc:  # the report or the state could not be written: a full disk, say
            print(f"crawler: cannot write to {data_dir}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_FAILURES


def _take_lock(data_dir: Path, wait: float) -> DataDirLock | None:
    """The output folder's lock, or None (said on stderr) when another run keeps it."""
    lock = DataDirLock(data_dir)
    try:
        lock.acquire(wait)
    except LockBusy as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return None
    return lock


def _chosen_sources(config: Config, names: list[str], categories: list[str]) -> list[Source]:
    sources = [config.source(name) for name in names] if names else list(config.sources)
    if categories:
        sources = [s for s in sources if any(_in_category(s, path) for path in categories)]
        if not sources:
            raise ConfigError(f"{config.path}: no source has categories starting with {' or '.join(categories)}")
    return sources


def _in_category(source: Source, path: str) -> bool:
    joined, path = "/".join(source.categories), path.strip("/")
    return joined == path or joined.startswith(path + "/")


def _crawl(config: Config, sources: list[Source], args: argparse.Namespace, data_dir: Path) -> int:
    settings = _settings(config, args)
    from scrapy.crawler import Crawler, CrawlerProcess  # noqa: F401 - Crawler for the annotation

    started = datetime.now(timezone.utc)
    process = CrawlerProcess(settings)
    crawlers: list[tuple[Source, Crawler]] = []
    for source in sources:
        crawler = process.create_crawler(process.spider_loader.load(source.spider))
        jobdir = data_dir / "jobs" / source.name
        if args.resume:  # each crawler has its own copy of the settings until it starts
            crawler.settings.set("JOBDIR", str(jobdir.resolve()), priority="cmdline")
        elif jobdir.exists():
            shutil.rmtree(jobdir)  # a fresh run starts afresh; only --resume continues
        process.crawl(crawler, source=source.name)
        crawlers.append((source, crawler))
    # After process.crawl(): the reactor the crawlers chose is installed by now.
    progress = _Progress(crawlers) if sys.stderr.isatty() else None
    if progress:
        progress.start()
    process.start()
    if progress:
        progress.stop()

    outcomes = [
        SourceOutcome(source.name, stats, crawler.get_extension(SourceRecorder), stats.get("finish_reason"))
        for source, crawler in crawlers
        for stats in [dict(crawler.stats.get_stats())]
    ]
    for outcome in outcomes:
        if args.resume and not outcome.interrupted:
            shutil.rmtree(data_dir / "jobs" / outcome.name, ignore_errors=True)
    finished = datetime.now(timezone.utc)
    reports = [o.as_report() for o in outcomes]
    report = write_report(data_dir, started, finished, reports, settings.get("IMAGE_LINKS", "remote"))
    state = StateStore(data_dir / "state.sqlite3")
    for entry in reports:
        state.record_source_run(entry["name"], finished, {k: v for k, v in entry.items() if k not in ("created", "updated")})
    state.close()
    print_summary(outcomes, data_dir, report)
    if any(o.interrupted for o in outcomes):
        print("interrupted: posts written so far are complete; `crawler run --resume` continues", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if all(o.fetched and o.failures == 0 for o in outcomes) else EXIT_FAILURES


def _settings(config: Config, args: argparse.Namespace):
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.settings import SETTINGS_PRIORITIES
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    settings.setdict(config.settings, priority="project")
    settings.set("SOURCES_FILE", str(Path(args.config).resolve()), priority="cmdline")
    settings.set("DATA_DIR", str(Path(args.data).resolve()), priority="cmdline")
    if settings.getpriority("HTTPCACHE_DIR") == SETTINGS_PRIORITIES["default"]:
        # Beside the posts: Scrapy's default (.scrapy/ in the project) is not there outside it.
        settings.set("HTTPCACHE_DIR", str(Path(args.data).resolve() / "httpcache"), priority="project")
    settings.set("LOG_LEVEL", args.log_level, priority="cmdline")
    if args.no_images:
        settings.set("IMAGES_ENABLED", False, priority="cmdline")
    if args.force:
        settings.set("FORCE_REFRESH", True, priority="cmdline")
    return settings


class _Progress:
    """One line on a terminal, redrawn every second; cron (no terminal) sees only the summary."""

    def __init__(self, crawlers) -> None:
        self.crawlers = crawlers
        self.call = None

    def start(self) -> None:
        from twisted.internet.task import LoopingCall

        self.call = LoopingCall(self.draw)
        self.call.start(1.0, now=False)

    def draw(self) -> None:
        stats = [crawler.stats.get_stats() for _, crawler in self.crawlers]
        total = lambda key: sum(int(s.get(key, 0) or 0) for s in stats)  # noqa: E731
        done = sum(1 for s in stats if s.get("finish_reason"))
        line = (f"sources {done}/{len(self.crawlers)} done · "
                f"posts {total('posts/created') + total('posts/updated')} written · "
                f"images {total('images/mirrored')} fetched · pages {total('response_received_count')}")
        sys.stderr.write("\r\033[K" + line)
        sys.stderr.flush()

    def stop(self) -> None:
        if self.call is not None and self.call.running:
            self.call.stop()
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def print_summary(outcomes: list[SourceOutcome], data_dir: Path, report: Path) -> None:
    columns = ("pages", "listed", "created", "updated", "unchanged", "failed", "images", "img-fail")
    rows = []
    for o in outcomes:
        values = (o.get("source/pages"), o.get("articles/listed"), o.get("posts/created"), o.get("posts/updated"),
                  o.unchanged, o.failures, o.get("images/mirrored") + o.get("images/reused"), o.get("images/failed"))
        status = "interrupted" if o.interrupted else "ok" if o.fetched else "NOT FETCHED"
        rows.append((o.name, values, status))
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


# --- demo -----------------------------------------------------------------------------------


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
        args.config, args.source, args.category = str(config), [], []
        return run(args)
    finally:
        server.stop()


# --- sources, images, publish -----------------------------------------------------------------


def list_sources(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    state_path = Path(args.data) / "state.sqlite3"
    last = {}
    if state_path.exists():
        state = StateStore(state_path)
        last = state.source_runs()
        state.close()
    for source in config.sources:
        print(f"{source.name}  [{source.spider}]  {' / '.join(source.categories)}")
        print(f"    {source.url}")
        if source.name not in last:
            print("    last run: never")
            continue
        finished, outcome = last[source.name]
        posts = outcome["posts"]
        status = "interrupted" if outcome.get("finish_reason") not in (None, "finished") else (
            "ok" if outcome["fetched"] else "NOT FETCHED")
        print(f"    last run: {finished} {status}: {posts['created']} created, {posts['updated']} updated, "
              f"{posts['unchanged']} unchanged, {len(outcome['failures'])} failures, "
              f"{outcome['images']['failed']} images not mirrored")
        for failure in outcome["failures"][:3]:
            print(f"      {failure['what']} {failure['url']}: {failure['reason']}")
    return EXIT_OK


def images(args: argparse.Namespace) -> int:
    """What the image mirror did in the last run, and what it holds."""
    data_dir = Path(args.data)
    report = read_latest(data_dir)
    if report is None:
        print(f"crawler: no run report in {data_dir / 'runs'} yet: run crawler run first", file=sys.stderr)
        return EXIT_FAILURES
    totals = {k: sum(s["images"][k] for s in report["sources"]) for k in ("mirrored", "reused", "failed", "bytes")}
    stored, stored_bytes = 0, 0
    if (data_dir / "state.sqlite3").exists():
        state = StateStore(data_dir / "state.sqlite3")
        stored, stored_bytes = state.image_totals()
        state.close()
    print(f"last run ({report['started']} to {report['finished']}):")
    print(f"  mirrored {totals['mirrored']} ({_size(totals['bytes'])}), reused {totals['reused']}, "
          f"failed {totals['failed']}")
    print(f"store: {stored} images, {_size(stored_bytes)}")
    for failure in (f for s in report["sources"] for f in s["image_failures"]):
        print(f"  failed: {failure['url']} in {failure['post']}: {failure['reason']}")
    return EXIT_OK


def _size(n: float) -> str:
    if n < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"
    return f"{n:.1f} GiB"  # pragma: no cover


def publish(args: argparse.Namespace) -> int:
    from crawler import publish as handoff

    data_dir, site = Path(args.data), Path(args.to)
    if not (data_dir / "state.sqlite3").exists():
        print(f"crawler: nothing to publish: {data_dir} holds no run yet", file=sys.stderr)
        return EXIT_FAILURES
    if args.images == "auto":
        with_images = (read_latest(data_dir) or {}).get("image_links") == "local"
    else:
        with_images = args.images == "yes"
    lock = _take_lock(data_dir, args.wait)
    if lock is None:
        return EXIT_BUSY
    with lock:
        state = StateStore(data_dir / "state.sqlite3")
        try:
            copies = handoff.plan(data_dir, site, state, with_images)
            for copy in copies:
                action = "create" if copy.created else "update"
                print(f"would {action} {copy.target}" if args.dry_run else f"{action}d {copy.target}")
            if not args.dry_run:
                handoff.publish(copies, site, state)
        finally:
            state.close()
    posts = sum(1 for c in copies if c.key.startswith("posts/"))
    verb = "would copy" if args.dry_run else "copied"
    print(f"{verb} {posts} posts and {len(copies) - posts} images to {site}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
