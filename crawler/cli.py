"""The ``crawler`` command: run the configured sources, report, hand off to a Hexo site."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from crawler.config import Config, ConfigError, load_config
from crawler.datadir import DataDir
from crawler.files import write_atomic
from crawler.lock import DataDirLock, LockBusy
from crawler.state import StateUnavailable, open_state

EXIT_OK, EXIT_FAILURES, EXIT_CONFIG, EXIT_UNAVAILABLE, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 69, 75, 130
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
        description="Crawl the chosen sources (all by default) in one Scrapy crawler and write new "
        "and changed posts to DIR/posts/, a report to DIR/runs/. Exit status: 0 when every source "
        "was fetched and every article written, 1 when something failed (see the summary), 2 for "
        "a configuration error, 75 when another run holds DIR, 130 when interrupted.",
    )
    _run_options(run)
    run.add_argument("--config", default="sources.toml", metavar="FILE",
                     help="sources file (TOML) to read (default: %(default)s)")
    _source_choice(run)

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
        "sources", help="list the configured sources and how each last run went; import or export OPML",
        description="List the sources of the sources file with their spider, categories and URL, "
        "and the outcome of the last run that included each. With --import, append a feed source "
        "for each feed of an OPML file instead; with --export, write the feed sources as OPML.",
    )
    sources.add_argument("--config", default="sources.toml", metavar="FILE", help="sources file (default: %(default)s)")
    sources.add_argument("--data", default="data", metavar="DIR", help="output folder (default: %(default)s)")
    opml = sources.add_mutually_exclusive_group()
    opml.add_argument("--import", dest="import_opml", metavar="OPML",
                      help="append one feed source per outline with an xmlUrl (categories from its folders; "
                      "feeds already in the file are skipped) and say what was added and skipped")
    opml.add_argument("--export", dest="export_opml", metavar="OPML", nargs="?", const="-",
                      help="write the feed sources as OPML 2.0 to OPML (default: standard output)")
    sources.add_argument("--group", metavar="NAME",
                         help="with --import: the first category of every imported source")

    images = commands.add_parser(
        "images", help="what the image mirror did in the last run, and what it holds",
        description="Print, for the last run, how many images were mirrored, reused and failed "
        "(with each failure's post and reason), and the images and bytes in the store.",
    )
    images.add_argument("--data", default="data", metavar="DIR", help="output folder (default: %(default)s)")

    enqueue = commands.add_parser(
        "enqueue", help="start a shared run that `crawler worker` processes crawl together",
        description="Queue a run of the chosen sources (all by default) in the frontier "
        "(FRONTIER_URL, a Redis) for the workers of every machine, and print its id. The "
        "workers share the state (STATE_URL, PostgreSQL) and the stores (POSTS_STORE, "
        "IMAGES_STORE). Exit status: 0, 2 for a configuration error, 69 when a service is "
        "unreachable.",
    )
    enqueue.add_argument("--config", default="sources.toml", metavar="FILE", help="sources file (default: %(default)s)")
    _source_choice(enqueue)
    enqueue.add_argument("--force", action="store_true", help="fetch known articles again and rewrite their posts")

    worker = commands.add_parser(
        "worker", help="crawl the shared runs of the frontier, with every other worker",
        description="Work on the oldest unfinished run of the frontier until it is done, then on "
        "the next; wait for new ones, or with --burst exit when none is left. Run one per "
        "machine (or several, each with its own --data). Exit status: 0, 2 for a configuration "
        "error, 69 when a service is unreachable or was lost, 130 when interrupted.",
    )
    worker.add_argument("--config", default="sources.toml", metavar="FILE", help="sources file (default: %(default)s)")
    worker.add_argument("--data", default="data", metavar="DIR",
                        help="this worker's own folder: its lock, HTTP cache and reports (default: %(default)s)")
    worker.add_argument("--burst", action="store_true", help="exit once no unfinished run is left")
    worker.add_argument("--no-images", action="store_true", help="do not mirror images")
    worker.add_argument("--log-level", default="WARNING", choices=LOG_LEVELS, help="Scrapy log level (default: %(default)s)")

    status = commands.add_parser(
        "status", help="how a shared run goes or went, source by source and worker by worker",
        description="The per-source table of a shared run (the latest by default), added up "
        "from every worker's report, with what is left in the frontier and which worker did what.",
    )
    status.add_argument("run", nargs="?", metavar="RUN", help="the run's id, as `crawler enqueue` printed it")
    status.add_argument("--config", default="sources.toml", metavar="FILE", help="sources file (default: %(default)s)")

    publish = commands.add_parser(
        "publish", help="copy new and changed posts (and images) into a Hexo site",
        description="Copy the posts that changed since the last publish to SITE/source/_posts/ and, "
        "when the last run linked images locally, the images to SITE/source/images/. Files are "
        "written atomically one by one; nothing else in the site is touched.",
    )
    publish.add_argument("--to", required=True, metavar="SITE", help="the Hexo site's folder")
    publish.add_argument("--config", metavar="FILE",
                         help="the sources file whose [settings] name the stores and the state "
                         "(POSTS_STORE, IMAGES_STORE, STATE_URL, AWS_*); default: DIR's own")
    publish.add_argument("--data", default="data", metavar="DIR", help="output folder (default: %(default)s)")
    publish.add_argument("--images", choices=["auto", "yes", "no"], default="auto",
                         help="copy images: auto (when the last run used IMAGE_LINKS = \"local\"), yes or no")
    publish.add_argument("--dry-run", action="store_true", help="list what would be copied, copy nothing")
    publish.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                         help="wait this long for a running crawl to finish (default: do not wait)")
    return parser


def _source_choice(parser: argparse.ArgumentParser) -> None:
    """``--source`` and ``--category``: which sources of the file a run crawls."""
    parser.add_argument("--source", action="append", default=[], metavar="NAME",
                        help="crawl only this source; repeat for several (default: all)")
    parser.add_argument("--category", action="append", default=[], metavar="PATH",
                        help="crawl only sources whose categories start with PATH, e.g. 新媒体/趣头条; "
                        "repeat for several")


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
    from crawler import shared

    command = {"run": run, "demo": demo, "sources": list_sources, "images": images, "publish": publish,
               "enqueue": shared.enqueue, "worker": shared.worker, "status": shared.status}[args.command]
    try:
        return command(args)
    except ConfigError as exc:  # a sources file or setting that cannot be used: nothing was done
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StateUnavailable as exc:  # the state's database cannot be reached: nothing was done
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except shared.FrontierUnavailable as exc:  # Redis cannot be reached: nothing was done
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE


# --- run ------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """One crawler for every chosen source; the crawl's own extensions take the lock, write
    the report and the sources' history: this only parses, starts and prints."""
    load_config(args.config).choose(args.source, getattr(args, "category", []))  # or ConfigError
    data_dir = DataDir(Path(args.data))
    from scrapy.crawler import CrawlerProcess

    from crawler.spiders.sources import SourcesSpider

    process = CrawlerProcess(_settings(args, data_dir))
    failures: list = []
    process.crawl(SourcesSpider, source=args.source, category=getattr(args, "category", [])).addErrback(failures.append)
    crawler = next(iter(process.crawlers), None)  # None when the crawl failed to start (busy)
    progress = _Progress(crawler) if sys.stderr.isatty() and not failures else None
    if progress:
        progress.start()
    process.start()
    if progress:
        progress.stop()
    if failures:
        if failures[0].check(LockBusy):
            print(f"crawler: {failures[0].value}", file=sys.stderr)
            return EXIT_BUSY
        failures[0].raiseException()  # StateUnavailable, say: main says it
    # Imported here, not at the top: the report brings itemadapter and the crawl's modules,
    # which enqueue, status and publish do without.
    from crawler.report import RunReport

    report = crawler.get_extension(RunReport)
    if report.error is not None:  # the report or the state could not be written: a full disk, say
        print(f"crawler: cannot write to {data_dir.root}: {report.error.strerror or report.error}", file=sys.stderr)
        return EXIT_FAILURES
    print_summary(report.report, crawler.settings.get("POSTS_STORE") or data_dir.posts, report.path)
    if report.report["finish_reason"] != "finished":
        print("interrupted: posts written so far are complete; `crawler run --resume` continues", file=sys.stderr)
        return EXIT_INTERRUPTED
    sources = report.report["sources"]
    return EXIT_OK if all(s["fetched"] and not s["failures"] for s in sources) else EXIT_FAILURES


def _settings(args: argparse.Namespace, data_dir: DataDir):
    settings = _project_settings()  # the spider applies the sources file's [settings] itself
    settings.set("SOURCES_FILE", str(Path(args.config).resolve()), priority="cmdline")
    settings.set("DATA_DIR", str(data_dir.root.resolve()), priority="cmdline")
    settings.set("LOG_LEVEL", args.log_level, priority="cmdline")
    settings.set("LOCK_WAIT", args.wait, priority="cmdline")
    if args.resume:
        settings.set("JOBDIR", str(data_dir.job.resolve()), priority="cmdline")
    if args.no_images:
        settings.set("IMAGES_ENABLED", False, priority="cmdline")
    if args.force:
        settings.set("FORCE_REFRESH", True, priority="cmdline")
    return settings


class _Progress:
    """One line on a terminal, redrawn every second; cron (no terminal) sees only the summary."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.call = None

    def start(self) -> None:
        from twisted.internet.task import LoopingCall

        self.call = LoopingCall(self.draw)
        self.call.start(1.0, now=False)

    def draw(self) -> None:
        from crawler.report import RunReport

        report = self.crawler.get_extension(RunReport)
        stats = self.crawler.stats.get_stats()
        total = lambda key: int(stats.get(key, 0) or 0)  # noqa: E731
        line = (f"sources {report.sources_read}/{len(report.records)} read · "
                f"posts {total('posts/created') + total('posts/updated')} written · "
                f"images {total('images/mirrored')} fetched · pages {total('response_received_count')}")
        sys.stderr.write("\r\033[K" + line)
        sys.stderr.flush()

    def stop(self) -> None:
        if self.call is not None and self.call.running:
            self.call.stop()
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def print_summary(report: dict, posts_store: str | Path, path: Path | None) -> None:
    columns = ("pages", "listed", "created", "updated", "unchanged", "failed", "images", "img-fail")
    rows = []
    for s in report["sources"]:
        posts, images = s["posts"], s["images"]
        values = (s["pages"], s["listed"], posts["created"], posts["updated"], posts["unchanged"],
                  len(s["failures"]), images["mirrored"] + images["reused"], images["failed"])
        status = "interrupted" if s["finish_reason"] != "finished" else "ok" if s["fetched"] else "NOT FETCHED"
        rows.append((s["name"], values, status))
    width = max([len("source")] + [len(name) for name, _, _ in rows])
    print(f"{'source':<{width}}  " + "  ".join(f"{c:>9}" for c in columns))
    for name, values, status in rows:
        print(f"{name:<{width}}  " + "  ".join(f"{v:>9}" for v in values) + f"  {status}")
    sources = report["sources"]
    written = len(report["created"]) + len(report["updated"])
    failures = sum(len(s["failures"]) for s in sources)
    images_failed = sum(s["images"]["failed"] for s in sources)
    not_fetched = [s["name"] for s in sources if not s["fetched"]]
    line = f"{len(sources)} sources, {written} posts written to {posts_store}, {failures} failures"
    if images_failed:
        line += f", {images_failed} images not mirrored (their posts keep the remote URL)"
    blocked = sum(len(s.get("blocked", [])) for s in sources)
    if blocked:
        line += f", {blocked} {'entry' if blocked == 1 else 'entries'} left out by keep/block rules"
    copies = [d for s in sources for d in s.get("near_duplicates", [])]
    if copies:
        skipped = sum(not d["written"] for d in copies)
        line += f", {len(copies)} near-duplicate{'' if len(copies) == 1 else 's'} of posts already written" + (
            f" ({skipped} not written)" if skipped else " (written all the same)")
    if not_fetched:
        line += f"; not fetched: {', '.join(not_fetched)}"
    print(line)
    if path is not None:
        print(f"report: {path}")


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


def _take_lock(data_dir: DataDir, wait: float) -> DataDirLock | None:
    """The output folder's lock, or None (said on stderr) when a crawl keeps it."""
    lock = DataDirLock(data_dir)
    try:
        lock.acquire(wait)
    except LockBusy as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return None
    return lock


def _project_settings(config: Config | None = None):
    """The project's settings, with a sources file's ``[settings]`` over them when given: what
    the commands that read a crawl's output need to look where the crawl wrote."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    if config is not None:
        settings.setdict(config.settings, priority="cmdline")
    return settings


def _existing_state(data_dir: DataDir, url: str):
    """The state store to read (``url``: ``STATE_URL``), or None while DIR holds none yet.
    Raises ``StateUnavailable``."""
    if not url and not data_dir.state.exists():
        return None
    return open_state(data_dir, url)


def list_sources(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.import_opml:
        return import_sources(config, Path(args.import_opml), args.group)
    if args.group:
        raise ConfigError("--group is used with --import")
    if args.export_opml:
        from crawler.opml import export_opml

        if args.export_opml == "-":
            sys.stdout.buffer.write(export_opml(config))
        else:
            write_atomic(Path(args.export_opml), export_opml(config))
        return EXIT_OK
    state = _existing_state(DataDir(Path(args.data)), _project_settings(config).get("STATE_URL"))
    last = {}
    if state is not None:
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


def import_sources(config: Config, opml: Path, group: str | None) -> int:
    """Append the feeds of ``opml`` to the sources file, atomically, and say what was done."""
    from crawler.opml import OpmlError, import_opml

    try:
        result = import_opml(config, opml.read_bytes(), group)
    except (OSError, OpmlError) as exc:
        print(f"crawler: {opml}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return EXIT_CONFIG
    for fields in result.added:
        print(f"added {fields['name']}  {' / '.join(fields['categories'])}  {fields['url']}")
    for outline, reason in result.skipped:
        print(f"skipped {outline}: {reason}")
    if result.added:
        text = config.path.read_text(encoding="utf-8").rstrip("\n") + "\n" + result.as_toml(opml.name)
        write_atomic(config.path, text.encode("utf-8"))
        load_config(config.path)  # what was written reads back
    print(f"{len(result.added)} sources added to {config.path}, {len(result.skipped)} outlines skipped")
    return EXIT_OK


def images(args: argparse.Namespace) -> int:
    """What the image mirror did in the last run, and what it holds."""
    from crawler.report import read_latest

    data_dir = DataDir(Path(args.data))
    report = read_latest(data_dir)
    if report is None:
        print(f"crawler: no run report in {data_dir.runs} yet: run crawler run first", file=sys.stderr)
        return EXIT_FAILURES
    totals = {k: sum(s["images"][k] for s in report["sources"]) for k in ("mirrored", "reused", "failed", "bytes")}
    stored, stored_bytes = 0, 0
    state = _existing_state(data_dir, _project_settings().get("STATE_URL"))
    if state is not None:
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
    from crawler.stores import open_store

    data_dir, site = DataDir(Path(args.data)), Path(args.to)
    settings = _project_settings(load_config(args.config) if args.config else None)
    state = _existing_state(data_dir, settings.get("STATE_URL"))
    if state is None:
        print(f"crawler: nothing to publish: {data_dir.root} holds no run yet", file=sys.stderr)
        return EXIT_FAILURES
    if args.images == "auto":
        from crawler.report import read_latest

        with_images = (read_latest(data_dir) or {}).get("image_links") == "local"
    else:
        with_images = args.images == "yes"
    lock = _take_lock(data_dir, args.wait)
    if lock is None:
        state.close()
        return EXIT_BUSY
    with lock:
        try:
            posts = open_store(settings.get("POSTS_STORE") or str(data_dir.posts), settings)
            images = open_store(settings.get("IMAGES_STORE") or str(data_dir.images), settings)
        except ValueError as exc:  # an IMAGES_STORE of a kind publish cannot read (gs://, ftp://)
            state.close()
            print(f"crawler: cannot publish from {exc}", file=sys.stderr)
            return EXIT_CONFIG
        try:
            copies = handoff.plan(posts, images, site, state, with_images)
            for copy in copies:
                action = "create" if copy.created else "update"
                print(f"would {action} {copy.target}" if args.dry_run else f"{action}d {copy.target}")
            missing = [] if args.dry_run else handoff.publish(copies, site, state)
        finally:
            state.close()
    for copy in missing:
        print(f"crawler: {copy.key} is recorded but gone from its store: not copied", file=sys.stderr)
    copied = [c for c in copies if c not in missing]
    posts_copied = sum(1 for c in copied if c.key.startswith("posts/"))
    verb = "would copy" if args.dry_run else "copied"
    print(f"{verb} {posts_copied} posts and {len(copied) - posts_copied} images to {site}")
    return EXIT_FAILURES if missing else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
