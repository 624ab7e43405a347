"""Side by side with `hexo migrate rss` (hexo 8, hexo-migrator-rss 1.1, pinned by
``tests/bench/hexo-migrator/package-lock.json``): one RSS feed of 1,000 items on 127.0.0.1,
turned into posts by each, alternating, each run a fresh process in a fresh folder.

``crawler run --no-images`` against ``hexo migrate rss URL`` in a minimal Hexo site (its
``node_modules`` linked from ``tests/bench/hexo-migrator``). hexo-migrator-rss pulls in camaro,
whose worker threads keep every hexo command alive unless ``CAMARO_FORCE_SINGLE_THREAD=true``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.bench.site import rss_document, rss_item, story

HERE = Path(__file__).resolve().parent / "hexo-migrator"
ITEMS = 1000


def feed_xml(base: str, items: int = ITEMS) -> bytes:
    return rss_document("对照", base, [rss_item(f"对照文章 {n}", f"<p>{story(2 * n, 24)} {n}</p><p>{story(2 * n + 1, 24)}</p>", f"{base}/c/{n}", n)
                                     for n in range(items)])


class FeedServer:
    """One feed on 127.0.0.1, answered from memory."""

    def __init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = server.body
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/feed.xml"
        self.body = feed_xml(self.url.rsplit("/", 1)[0])
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def unavailable() -> str | None:
    """Why the comparison cannot run here, or None."""
    if shutil.which("node") is None:
        return "node not found"
    if not (HERE / "node_modules" / ".bin" / "hexo").exists():
        return f"hexo not installed: run `npm ci` in {HERE} (make bench does when node is there)"
    return None


def hexo_site(folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(HERE / "package.json", folder / "package.json")
    (folder / "node_modules").symlink_to(HERE / "node_modules")
    (folder / "_config.yml").write_text("title: comparison\nurl: http://example.test\n", encoding="utf-8")
    (folder / "source" / "_posts").mkdir(parents=True)
    return folder


def compare(timed, python: str, work: Path, reps: int) -> dict:
    """``timed(args, env=None, cwd=None) -> (wall, rss_mb, exit, cpu_s)`` runs one child."""
    server = FeedServer()
    config = work / "hexo-compare.toml"
    config.write_text(f'[[sources]]\nname = "compare"\nspider = "feed"\nurl = "{server.url}"\n'
                      'categories = ["对照", "订阅", "全部"]\n', encoding="utf-8")
    env = {**os.environ, "CAMARO_FORCE_SINGLE_THREAD": "true"}
    samples: dict[str, list[dict]] = {"hexo": [], "crawler": []}
    try:
        for rep in range(reps):
            site = hexo_site(work / f"hexo-site-{rep}")
            wall, rss, code, _ = timed([str(site / "node_modules" / ".bin" / "hexo"), "migrate", "rss", server.url],
                                       env=env, cwd=site)
            posts = len(list((site / "source" / "_posts").rglob("*.md")))
            samples["hexo"].append({"wall_s": round(wall, 3), "peak_rss_mb": round(rss, 1), "posts": posts, "exit": code})
            data = work / f"hexo-crawler-{rep}"
            wall, rss, code, _ = timed([python, "-m", "crawler.cli", "run", "--config", str(config), "--data", str(data),
                                        "--no-images"])
            posts = len(list((data / "posts").rglob("*.md")))
            samples["crawler"].append({"wall_s": round(wall, 3), "peak_rss_mb": round(rss, 1), "posts": posts, "exit": code})
            print(f"  rep {rep + 1} hexo {samples['hexo'][-1]['wall_s']:.2f} s, crawler {samples['crawler'][-1]['wall_s']:.2f} s",
                  flush=True)
    finally:
        server.stop()
    med = {kind: {key: statistics.median(s[key] for s in samples[kind]) for key in ("wall_s", "peak_rss_mb", "posts")}
           for kind in samples}
    return {"items": ITEMS, "samples": samples, "median": med,
            "faster": round(med["hexo"]["wall_s"] / med["crawler"]["wall_s"], 2),
            "leaner": round(med["hexo"]["peak_rss_mb"] / med["crawler"]["peak_rss_mb"], 2)}


def table(result: dict) -> str:
    lines = ["| run | wall s | peak RSS MB | posts |", "|---|---|---|---|"]
    for kind, label in (("hexo", "hexo migrate rss"), ("crawler", "crawler run --no-images")):
        walls = [s["wall_s"] for s in result["samples"][kind]]
        rss = [s["peak_rss_mb"] for s in result["samples"][kind]]
        m = result["median"][kind]
        lines.append(f"| {label} | {m['wall_s']:.2f} ({min(walls):.2f}–{max(walls):.2f}) | "
                     f"{m['peak_rss_mb']:.1f} ({min(rss):.1f}–{max(rss):.1f}) | {m['posts']:.0f} |")
    lines.append("")
    lines.append(f"{result['items']}-item feed: crawler {result['faster']:.1f}× faster, {result['leaner']:.1f}× leaner")
    return "\n".join(lines)
