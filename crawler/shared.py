"""The commands of a shared run: ``crawler enqueue``, ``crawler worker``, ``crawler status``.

A shared run is crawled by any number of workers on any number of machines, which share three
services: the frontier (``FRONTIER_URL``, Redis: ``crawler.frontier``), the state
(``STATE_URL``, PostgreSQL: ``crawler.pgstate``) and the stores (``POSTS_STORE``,
``IMAGES_STORE``: an S3 bucket, or a folder all of them mount). Redis and psycopg are imported
only here and below, so ``crawler run`` needs neither.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from crawler.config import ConfigError, load_config
from crawler.datadir import DataDir
from crawler.state import open_state

POLL_SECONDS = 5.0
"""How often an idle ``crawler worker`` (without ``--burst``) looks for a new run."""


class FrontierUnavailable(Exception):
    """Redis cannot be reached; the message says where (without a password) and why."""


def _shared_settings(config_path: str):
    """The project's settings under the sources file's, checked for what a shared run needs."""
    from crawler.cli import _project_settings

    config = load_config(config_path)
    settings = _project_settings(config)
    if not settings.get("FRONTIER_URL"):
        raise ConfigError(f"{config.path}: a shared run needs FRONTIER_URL = \"redis://…\" "
                          "(in [settings] or the environment)")
    if not settings.get("STATE_URL"):
        raise ConfigError(f"{config.path}: a shared run needs STATE_URL = \"postgresql://…\", the state every "
                          "worker shares (in [settings] or the environment)")
    if not settings.get("POSTS_STORE"):
        raise ConfigError(f"{config.path}: a shared run needs POSTS_STORE (\"s3://bucket/posts/\", or a folder "
                          "every worker mounts): each worker's own DIR/posts would split the posts")
    return config, settings


def _services(settings):
    """The frontier's client and the shared state (the caller closes it): a service that is
    not there stops the command before anything is written. ``STATE_URL`` is PostgreSQL here,
    so no folder is involved."""
    from crawler.frontier import connect

    client = connect(settings["FRONTIER_URL"])  # or FrontierUnavailable
    return client, open_state(None, settings["STATE_URL"])  # or StateUnavailable


# --- enqueue ----------------------------------------------------------------------------------


def enqueue(args: argparse.Namespace) -> int:
    from crawler.frontier import Frontier, new_run_id

    config, settings = _shared_settings(args.config)
    sources = config.choose(args.source, args.category)
    client, state = _services(settings)
    state.close()
    run = new_run_id()
    names = [source.name for source in sources]
    Frontier.create_run(client, settings["FRONTIER_PREFIX"], run, names, {
        "sources": names, "force": args.force, "config": str(config.path.resolve()),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })
    print(run)
    print(f"queued {len(names)} sources; start `crawler worker --config {args.config}` on each machine",
          file=sys.stderr)
    return 0


# --- worker -----------------------------------------------------------------------------------


def worker(args: argparse.Namespace) -> int:
    from scrapy.crawler import Crawler, CrawlerProcess

    from crawler.cli import EXIT_INTERRUPTED, EXIT_UNAVAILABLE
    from crawler.frontier import Frontier, worker_id
    from crawler.report import RunReport
    from crawler.worker import WORKER_COMPONENTS, FrontierWorker, WorkerSpider

    config, settings = _shared_settings(args.config)
    if not args.no_images and settings.getbool("IMAGES_ENABLED") and not settings.get("IMAGES_STORE"):
        raise ConfigError(f"{config.path}: a worker that mirrors images needs IMAGES_STORE (\"s3://bucket/images/\", "
                          "or a folder every worker mounts), or --no-images")
    data_dir = DataDir(Path(args.data))
    client, state = _services(settings)
    state.close()  # the crawl opens its own
    prefix = settings["FRONTIER_PREFIX"]

    def next_run() -> str | None:
        runs = Frontier.unfinished_runs(client, prefix)
        return runs[0] if runs else None

    run = next_run()
    while run is None:
        if args.burst:
            print("crawler: no unfinished run in the frontier", file=sys.stderr)
            return 0
        time.sleep(POLL_SECONDS)
        run = next_run()

    settings.set("SOURCES_FILE", str(config.path.resolve()), priority="cmdline")
    settings.set("DATA_DIR", str(data_dir.root.resolve()), priority="cmdline")
    settings.set("LOG_LEVEL", args.log_level, priority="cmdline")
    for name, value in WORKER_COMPONENTS.items():
        settings.set(name, {**settings.getdict(name), **value} if isinstance(value, dict) else value, priority="cmdline")
    settings.set("WORKER_ID", worker_id(), priority="cmdline")
    if args.no_images:
        settings.set("IMAGES_ENABLED", False, priority="cmdline")
    process = CrawlerProcess(settings)
    outcome = {"exit": 0, "first": True}

    def crawl(run: str) -> None:
        description = Frontier.describe(client, prefix, run) or {"description": {}}
        run_settings = settings.copy()
        run_settings.set("RUN_ID", run, priority="cmdline")
        run_settings.set("FORCE_REFRESH", bool(description["description"].get("force")), priority="cmdline")
        crawler = Crawler(WorkerSpider, run_settings, init_reactor=outcome["first"])
        outcome["first"] = False
        process.crawl(crawler, source=description["description"].get("sources") or []).addBoth(finished, crawler, run)

    def finished(result, crawler, run: str) -> None:
        from twisted.internet import reactor
        from twisted.python.failure import Failure

        if isinstance(result, Failure):
            print(f"crawler: run {run}: {result.getErrorMessage()}", file=sys.stderr)
            outcome["exit"] = EXIT_UNAVAILABLE if result.check(FrontierUnavailable) else 1
            return _stop(reactor)
        lost = crawler.get_extension(FrontierWorker).lost
        report = crawler.get_extension(RunReport).report or {}
        written = len(report.get("created", [])) + len(report.get("updated", []))
        print(f"run {run}: this worker wrote {written} posts; report: {crawler.get_extension(RunReport).path}")
        if lost:
            print(f"crawler: {lost}; `crawler worker` continues the run once Redis is back", file=sys.stderr)
            outcome["exit"] = EXIT_UNAVAILABLE
            return _stop(reactor)
        if report.get("finish_reason") != "finished":
            outcome["exit"] = EXIT_INTERRUPTED
            return _stop(reactor)
        look_again()

    def look_again() -> None:
        from twisted.internet import reactor

        run = next_run()
        if run is not None:
            crawl(run)
        elif args.burst:
            _stop(reactor)
        else:
            reactor.callLater(POLL_SECONDS, look_again)

    crawl(run)
    process.start(stop_after_crawl=False)
    return outcome["exit"]


def _stop(reactor) -> None:
    if reactor.running:
        reactor.stop()
    else:  # the first crawl failed before the reactor started
        reactor.callWhenRunning(reactor.stop)


# --- status -----------------------------------------------------------------------------------


def status(args: argparse.Namespace) -> int:
    from crawler.cli import print_summary
    from crawler.frontier import Frontier

    config, settings = _shared_settings(args.config)
    client, state = _services(settings)
    try:
        prefix = settings["FRONTIER_PREFIX"]
        run = args.run or _latest_run(client, prefix)
        if run is None:
            print("crawler: no shared run in the frontier (finished runs are kept a day)", file=sys.stderr)
            return 1
        live = Frontier.describe(client, prefix, run)
        reports = state.worker_reports(run)
    finally:
        state.close()
    if live is None and not reports:
        print(f"crawler: no run {run} in the frontier or the state", file=sys.stderr)
        return 1
    done = live is None or live["status"] == "done"
    merged = merge_reports(reports, live, done)
    print(f"run {run}: " + ("done" if done else
          f"{live['status']}: {live['seeds_left']} sources not started, {live['queued']} requests queued, "
          f"{sum(live['leased'].values())} in progress"))
    print_summary(merged, settings.get("POSTS_STORE") or "the posts store", None)
    alive = (live or {}).get("alive", {})
    recovered = (live or {}).get("recovered", {})
    print("workers:")
    for name in sorted(set(reports) | set(alive) | set(recovered)):
        report = reports.get(name, {})
        posts = len(report.get("created", [])) + len(report.get("updated", []))
        requests = sum(s["requests"] for s in report.get("sources", []))
        if name in recovered:
            how = f"stopped; its {recovered[name]['requests']} unfinished requests were taken over by {recovered[name]['by']}"
        elif alive.get(name):
            how = "working"
        else:
            how = report.get("finish_reason", "no report")
        print(f"  {name}: {posts} posts written, {requests} requests; {how}")
    return 0


def _latest_run(client, prefix: str) -> str | None:
    """The newest run Redis still knows (run ids sort by the time they were made)."""
    runs = [name.decode()[len(prefix) + 2:-len("}:meta")] for name in client.scan_iter(match=f"{prefix}:{{*}}:meta")]
    return max(runs, default=None)


def merge_reports(reports: dict[str, dict], live: dict | None, done: bool) -> dict:
    """One run report, in ``crawler run``'s shape, of every worker's: figures added up,
    lists joined; a source is fetched when some worker read its document and none failed to."""
    documents = (live or {}).get("documents", {})
    merged: dict[str, dict] = {}
    for report in reports.values():
        for entry in report.get("sources", []):
            into = merged.setdefault(entry["name"], {
                "name": entry["name"], "fetched": False, "finish_reason": "finished" if done else "running",
                "pages": 0, "listed": 0, "requests": 0, "items": 0,
                "posts": {"created": 0, "updated": 0, "unchanged": 0},
                "images": {"mirrored": 0, "reused": 0, "failed": 0, "bytes": 0},
                "failures": [], "image_failures": [], "repairs": [], "blocked": [], "near_duplicates": [], "created": [],
                "updated": []})
            for key in ("pages", "listed", "requests", "items"):
                into[key] += entry[key]
            for group in ("posts", "images"):
                for key in into[group]:
                    into[group][key] += entry[group][key]
            for key in ("failures", "image_failures", "repairs", "blocked", "near_duplicates", "created", "updated"):
                into[key].extend(entry.get(key, []))
            into["fetched"] = into["fetched"] or entry["fetched"]
    for name, entry in merged.items():
        if f"{name}\tread" in documents:  # counted as it happened, killed workers included
            entry["fetched"] = documents.get(f"{name}\tfailed", 0) == 0
            entry["pages"] = max(entry["pages"], documents[f"{name}\tread"])
    sources = sorted(merged.values(), key=lambda e: e["name"])
    return {"finish_reason": "finished" if done else "running", "sources": sources,
            "created": sorted(p for s in sources for p in s["created"]),
            "updated": sorted(p for s in sources for p in s["updated"])}
