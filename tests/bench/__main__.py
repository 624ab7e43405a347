"""`make bench`: four runs, each a fresh process, three times over, on one generated site.

    python -m tests.bench [--n 2000] [--reps 3] [--pair-reps 5] [--out data/bench]

1. floor  — bare Scrapy fetching exactly the pages a posts run fetches, parsing nothing;
2. posts  — `crawler run --no-images` from an empty folder;
3. fetch  — bare Scrapy fetching exactly what an images run fetches (the pages and every image
   once), keeping nothing: what downloading alone costs the images run;
4. images — `crawler run` (images mirrored, local links) from an empty folder;
5. rerun  — `crawler run` again on the images run's folder, nothing changed.

Then the distributed pair (``tests.bench.shared``), on the same site: `crawler run` against one
`crawler worker` and against two, where Redis and PostgreSQL are on 127.0.0.1, ``--pair-reps``
times (default 5: its ratio moves most between repetitions).

Then the sources scenario: ``--sources`` feeds (default 1,000) of 10 entries on one host that
answers each request after ``--delay`` seconds (default 0.05), read by a bare Scrapy spider that
parses them with lxml (the floor) and by ``crawler run --no-images``, alternating; it records
both walls (``sources/floor``), peak RSS and the most requests the server had open at once.

Then the near-duplicate step (``tests.bench.duplicates``): precision and recall on the labelled
set, MinHash against SimHash, and the cost of one article's check against ``--dup-stored``
stored articles.

Wall time and peak RSS come from the child process itself (``os.wait4``); request counts from
the server. Prints a table and writes ``OUT/results.json`` and ``OUT/results.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple
from urllib.request import urlopen

import scrapy

from tests.bench import bound, duplicates, hexo, shared
from tests.bench.site import BenchSite, SourcesSite

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("floor", "posts", "fetch", "images", "rerun")
METRICS = ("wall_s", "pages_per_s", "posts_per_s", "images_per_s", "peak_rss_mb")


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cores": os.cpu_count(), "cpu": model, "memory_gib": round(memory, 1),
            "python": platform.python_version(), "scrapy": scrapy.__version__, "system": platform.platform()}


class BenchServer:
    def __init__(self, n: int, cache: Path, work: Path, sources: int = 0, delay: float = 0) -> None:
        port_file = work / f"port-{sources}"
        self.process = subprocess.Popen([sys.executable, "-m", "tests.bench.server", "--n", str(n),
                                         "--port-file", str(port_file), "--cache", str(cache),
                                         "--sources", str(sources), "--delay", str(delay)], cwd=ROOT)
        for _ in range(600):
            if port_file.exists():
                break
            if self.process.poll() is not None:
                raise RuntimeError("the benchmark server did not start")
            time.sleep(0.1)
        self.base = f"http://127.0.0.1:{port_file.read_text()}"

    def cpu(self) -> float:
        """The server's processor time so far, user and system, in seconds."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stats(self) -> dict:
        with urlopen(self.base + "/__stats") as answer:
            return json.loads(answer.read())

    def reset(self) -> None:
        urlopen(self.base + "/__reset").read()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class Child(NamedTuple):
    wall: float
    rss_mb: float
    code: int
    cpu_s: float
    """Its own processor time, user and system."""


def timed(args: list[str], env: dict | None = None, cwd: Path = ROOT) -> Child:
    """Run a child; return its wall time, its peak RSS in MB, its exit status and its CPU time.

    Its stderr goes to a file, not a pipe read at the end: a child that logs more than a pipe
    holds would otherwise block on its own log and never finish."""
    with tempfile.TemporaryFile() as log:
        began = time.monotonic()
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in (0, 1):
            log.seek(0)
            raise RuntimeError(f"{' '.join(args[:4])}… exited {process.returncode}: {log.read().decode()[-2000:]}")
    return Child(wall, usage.ru_maxrss / 1024, process.returncode, usage.ru_utime + usage.ru_stime)


def one_run(kind: str, server: BenchServer, work: Path, config: Path, urls: dict[str, Path], rep: int) -> dict:
    server.reset()
    served_before = server.cpu()
    crawler = [sys.executable, "-m", "crawler.cli", "run", "--config", str(config)]
    if kind in ("floor", "fetch"):
        wall, rss, _, cpu = timed([sys.executable, "-m", "tests.bench.floor", str(urls[kind])])
        written = 0
    else:
        data = work / f"{'images' if kind in ('images', 'rerun') else 'posts'}-{rep}"
        if kind in ("posts", "images"):
            shutil.rmtree(data, ignore_errors=True)
        args = crawler + ["--data", str(data)] + (["--no-images"] if kind == "posts" else [])
        wall, rss, _, cpu = timed(args)
        report = json.loads((data / "runs" / "latest.json").read_text())
        written = len(report["created"]) + len(report["updated"])
    served = server.stats()
    pages = served["requests"] - served["image_requests"]
    return {
        "wall_s": round(wall, 3),
        "pages_per_s": round(pages / wall, 1),
        "posts_per_s": round(written / wall, 1),
        "images_per_s": round(served["image_requests"] / wall, 1),
        "peak_rss_mb": round(rss, 1),
        "cpu_s": round(cpu, 3),
        "server_cpu_s": round(server.cpu() - served_before, 3),
        "pages": pages,
        "image_requests": served["image_requests"],
        "images_fetched_twice": served["repeated_images"],
        "posts_written": written,
    }


def sources_run(kind: str, server: BenchServer, work: Path, config: Path, urls: Path, rep: int) -> dict:
    """One run of the sources scenario: the bare spider (``floor``) or ``crawler run`` (``run``)."""
    server.reset()
    if kind == "floor":
        wall, rss, code, _ = timed([sys.executable, "-m", "tests.bench.floor", str(urls), "--parse-feeds"])
        written = 0
    else:
        data = work / f"sources-{rep}"
        shutil.rmtree(data, ignore_errors=True)
        wall, rss, code, _ = timed([sys.executable, "-m", "crawler.cli", "run", "--config", str(config),
                                    "--data", str(data), "--no-images"])
        report = json.loads((data / "runs" / "latest.json").read_text())
        written = len(report["created"]) + len(report["updated"])
        # Kept until the benchmark ends: removing 10,000 files right away leaves the file system
        # work for the next run to pay (seen as seconds of system time in the run after it).
    served = server.stats()
    return {"wall_s": round(wall, 3), "peak_rss_mb": round(rss, 1), "requests": served["requests"],
            "max_open": served["max_open"], "posts_written": written, "exit": code}


def sources_scenario(args, work: Path) -> dict:
    server = BenchServer(0, args.out / "cache", work, sources=args.sources, delay=args.delay)
    try:
        site = SourcesSite(args.sources, server.base)
        config, urls = work / "sources-scenario.toml", work / "sources-urls.txt"
        config.write_text(site.sources_toml(), encoding="utf-8")
        urls.write_text("\n".join(site.page_urls()))
        samples: dict[str, list[dict]] = {"floor": [], "run": []}
        for rep in range(args.reps):
            for kind in ("floor", "run"):
                samples[kind].append(sources_run(kind, server, work, config, urls, rep))
                print(f"  rep {rep + 1} sources {kind:<5} {samples[kind][-1]['wall_s']:.2f} s", flush=True)
    finally:
        server.stop()
    runs = {kind: summarise(samples[kind]) for kind in samples}
    return {"sources": args.sources, "entries_per_source": SourcesSite.entries, "delay_s": args.delay,
            "runs": runs, "sources/floor": round(runs["run"]["wall_s"]["median"] / runs["floor"]["wall_s"]["median"], 3),
            "samples": samples}


def sources_table(result: dict) -> str:
    lines = ["| run | wall s | peak RSS MB | requests | most open at once | posts written | exit |", "|" + "---|" * 7]
    for kind, label in (("floor", "bare Scrapy + lxml"), ("run", "crawler run --no-images")):
        r = result["runs"][kind]
        cell = lambda k, fmt="{:.1f}": (fmt.format(r[k]["median"]) + f" ({fmt.format(r[k]['min'])}–{fmt.format(r[k]['max'])})")  # noqa: E731
        lines.append(f"| {label} | {cell('wall_s', '{:.2f}')} | {cell('peak_rss_mb')} | {r['requests']['median']:.0f} | "
                     f"{r['max_open']['max']:.0f} | {r['posts_written']['median']:.0f} | {r['exit']['max']:.0f} |")
    lines.append("")
    lines.append(f"sources/floor (wall) = {result['sources/floor']:.2f}")
    return "\n".join(lines)


def summarise(samples: list[dict]) -> dict:
    out = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        out[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    return out


def table(results: dict) -> str:
    header = "| run | wall s | pages/s | posts/s | images/s | peak RSS MB | pages | image requests | posts written |"
    lines = [header, "|" + "---|" * 9]
    for kind in KINDS:
        r = results["runs"][kind]
        cell = lambda k, fmt="{:.1f}": (fmt.format(r[k]["median"]) + f" ({fmt.format(r[k]['min'])}–{fmt.format(r[k]['max'])})")  # noqa: E731
        lines.append(f"| {kind} | {cell('wall_s', '{:.2f}')} | {cell('pages_per_s')} | {cell('posts_per_s')} | "
                     f"{cell('images_per_s')} | {cell('peak_rss_mb')} | {r['pages']['median']:.0f} | "
                     f"{r['image_requests']['median']:.0f} | {r['posts_written']['median']:.0f} |")
    ratios = results["ratios"]
    lines.append("")
    lines.append(f"posts/floor (pages/s) = {ratios['posts/floor']:.2f}; images/floor (pages/s) = {ratios['images/floor']:.2f}; "
                 f"rerun/posts (wall) = {ratios['rerun/posts']:.3f}; images/fetch (wall) = {ratios['images/fetch']:.2f} "
                 f"(bare Scrapy fetching what an images run fetches, and nothing else, would make images/floor = "
                 f"{ratios['images/floor'] * ratios['images/fetch']:.2f})")
    lines.append(bound.line(results["images_bound"]))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("--n", type=int, default=2000, help="articles in the generated site (default: %(default)s)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of the four runs (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument("--pair-reps", type=int, default=5,
                        help="repetitions of the distributed pair, whose ratio moves most between them (default: %(default)s)")
    parser.add_argument("--sources", type=int, default=1000, help="feeds in the sources scenario (default: %(default)s)")
    parser.add_argument("--dup-stored", default="10000,100000",
                        help="stored articles the near-duplicate lookups run against (default: %(default)s)")
    parser.add_argument("--delay", type=float, default=0.05,
                        help="seconds the sources scenario's host takes per answer (default: %(default)s)")
    args = parser.parse_args()

    began = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=args.out))
    server = BenchServer(args.n, args.out / "cache", work)
    try:
        site = BenchSite(args.n, server.base, args.out / "cache")
        config, urls = work / "sources.toml", {"floor": work / "urls.txt", "fetch": work / "fetch-urls.txt"}
        config.write_text(site.sources_toml(), encoding="utf-8")
        urls["floor"].write_text("\n".join(site.page_urls()))
        urls["fetch"].write_text("\n".join(site.page_urls() + site.image_urls()))
        ceiling = json.loads(subprocess.run([sys.executable, "-m", "tests.bench.load", server.base, str(urls["fetch"]), "3"],
                                            cwd=ROOT, capture_output=True, text=True, check=True).stdout)
        samples: dict[str, list[dict]] = {kind: [] for kind in KINDS}
        for rep in range(args.reps):
            for kind in KINDS:
                samples[kind].append(one_run(kind, server, work, config, urls, rep))
                print(f"  rep {rep + 1} {kind:<6} {samples[kind][-1]['wall_s']:.2f} s", flush=True)
        middle = lambda kind, key: statistics.median(s[key] for s in samples[kind])  # noqa: E731
        ceiling_of_images = bound.images_bound(site, work / "posts-0", work / "bound", middle("fetch", "cpu_s"),
                                               middle("fetch", "server_cpu_s"), middle("floor", "wall_s"), os.cpu_count())
        print(f"  {bound.line(ceiling_of_images)}", flush=True)
        why_not = shared.unavailable()
        if why_not is None:
            distributed = shared.pair(config, work, args.pair_reps, server.reset, summarise)
        else:
            distributed = {"skipped": why_not}
            print(f"  distributed pair skipped: {why_not}", flush=True)
        server.stop()
        sources = sources_scenario(args, work)
        near = duplicates.run([int(n) for n in args.dup_stored.split(",")], new=1000)
        print("  near-duplicates measured", flush=True)
        why_not = hexo.unavailable()
        if why_not is None:
            migrator = hexo.compare(timed, sys.executable, work, args.reps)
        else:
            migrator = {"skipped": why_not}
            print(f"  hexo migrate rss comparison skipped: {why_not}", flush=True)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    runs = {kind: summarise(samples[kind]) for kind in KINDS}
    med = lambda kind, key: runs[kind][key]["median"]  # noqa: E731
    results = {
        "machine": machine(),
        "n": args.n,
        "server_ceiling": ceiling,
        "runs": runs,
        "ratios": {
            "posts/floor": round(med("posts", "pages_per_s") / med("floor", "pages_per_s"), 3),
            "images/floor": round(med("images", "pages_per_s") / med("floor", "pages_per_s"), 3),
            "images/fetch": round(med("images", "wall_s") / med("fetch", "wall_s"), 3),
            "rerun/posts": round(med("rerun", "wall_s") / med("posts", "wall_s"), 3),
        },
        "images_bound": ceiling_of_images,
        "samples": samples,
        "sources_scenario": sources,
        "distributed": distributed,
        "hexo_migrator": migrator,
        "near_duplicates": near,
        "bench_seconds": round(time.monotonic() - began, 1),
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    text = table(results)
    m = results["machine"]
    header = (f"N = {args.n}, median of {args.reps} (min–max); {m['cores']} cores, {m['cpu']}, Python {m['python']}, "
              f"Scrapy {m['scrapy']}; server ceiling {ceiling['requests_per_s']:.0f} requests/s "
              f"({ceiling['mb_per_s']} MB/s, {ceiling['connections']} connections); whole benchmark "
              f"{results['bench_seconds']:.0f} s")
    scenario = (f"Sources: {args.sources} feeds of {SourcesSite.entries} entries on one host answering after "
                f"{args.delay * 1000:.0f} ms, median of {args.reps} (min–max)")
    compared = (f"Against hexo migrate rss (hexo 8.1.2, hexo-migrator-rss 1.1.0), median of {args.reps} (min–max)\n\n"
                + hexo.table(migrator) if "skipped" not in migrator else f"hexo migrate rss comparison skipped: {migrator['skipped']}")
    pair = f"Distributed pair, median of {args.pair_reps} (min–max)\n\n" + shared.table(distributed)
    near_text = "Near-duplicates: one check per new article (1,000 new, a tenth of them copies)\n\n" + duplicates.table(near)
    (args.out / "results.md").write_text(header + "\n\n" + text + "\n\n" + pair + "\n\n" + scenario + "\n\n"
                                         + sources_table(sources) + "\n\n" + compared + "\n\n" + near_text + "\n")
    print()
    print(header)
    print(text)
    print()
    print(pair)
    print()
    print(scenario)
    print(sources_table(sources))
    print()
    print(compared)
    print()
    print(near_text)
    problems = [f"{k}: an image was fetched twice" for k in ("images", "rerun") if runs[k]["images_fetched_twice"]["max"]]
    problems += ["rerun wrote posts"] if runs["rerun"]["posts_written"]["max"] else []
    if "skipped" not in distributed:
        written = {kind: distributed["runs"][kind]["posts_written"]["min"] for kind in distributed["runs"]}
        if len(set(written.values())) != 1 or any(distributed["runs"][k]["exit"]["max"] for k in written):
            problems.append(f"distributed pair: the runs wrote different numbers of posts or failed: {written}")
    if near["labelled"]["minhash"]["precision"] < 0.98 or near["labelled"]["minhash"]["recall"] < 0.9:
        problems.append(f"near-duplicates: below precision 0.98 / recall 0.9 on the labelled set: {near['labelled']['minhash']}")
    if any(row["copies_found"] != row["copies_planted"] for row in near["lookups"]):
        problems.append("near-duplicates: a planted copy was not found")
    expected = args.sources * SourcesSite.entries
    if sources["runs"]["run"]["posts_written"]["min"] != expected or sources["runs"]["run"]["exit"]["max"]:
        problems.append(f"sources: not every one of the {expected} posts was written with exit 0")
    if "skipped" not in migrator and any(s["posts"] != hexo.ITEMS for kind in migrator["samples"]
                                         for s in migrator["samples"][kind]):
        problems.append(f"hexo comparison: a run did not write all {hexo.ITEMS} posts")
    for problem in problems:
        print(f"bench: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
