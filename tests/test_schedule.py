"""Scheduled runs, recrawls and the hand-off to a Hexo site."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import frontmatter

from tests.conftest import ROOT, run_crawler
from tests.test_crawl import article_page, feed_item, feed_xml, list_page


def feed_source(base: str, name: str, path: str, categories: str) -> str:
    return (f'[[sources]]\nname = "{name}"\nspider = "feed"\nurl = "{base}{path}"\ncategories = [{categories}]\n\n')


def two_feeds(server) -> str:
    base = server.base_url
    server.add("/news.xml", feed_xml(feed_item(1, "新闻一", "<p>一</p>") + feed_item(2, "新闻二", "<p>二</p>")),
               content_type="application/rss+xml")
    server.add("/blog.xml", feed_xml(feed_item(3, "博文", "<p>三</p>")), content_type="application/rss+xml")
    return (feed_source(base, "news", "/news.xml", '"新媒体", "样例日报", "最新"')
            + feed_source(base, "blog", "/blog.xml", '"博客", "样例博客", "首页"'))


def snapshot(data: Path) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted((data / "posts").rglob("*.md"))}


def latest(data: Path) -> dict:
    return json.loads((data / "runs" / "latest.json").read_text(encoding="utf-8"))


def test_nothing_changed_costs_one_request_per_source_and_writes_nothing(server, crawl):
    config = two_feeds(server)
    first = crawl(config)
    assert first.returncode == 0
    report = latest(first.data)
    assert sorted(report["created"]) == sorted(first.posts()) and report["updated"] == []
    before = snapshot(first.data)
    server.clear()
    second = crawl(config)
    assert second.returncode == 0
    assert sorted(server.paths()) == ["/blog.xml", "/news.xml"]
    assert all("If-None-Match" in h for p in ("/news.xml", "/blog.xml") for h in server.headers_of(p))
    assert snapshot(second.data) == before
    report = latest(second.data)
    assert report["created"] == [] and report["updated"] == []
    assert [s["posts"]["unchanged"] for s in report["sources"]] == [2, 1]


NOT_READ_AGAIN = "not read again"


def test_a_feed_read_whole_is_read_again_only_when_its_bytes_or_its_source_change(server, crawl):
    """The bytes of a feed whose every entry the state knew by the end of a run are counted as
    unchanged without being parsed; a feed with an entry that was skipped is always read."""
    config = two_feeds(server)
    first = crawl(config)
    before = snapshot(first.data)
    second = crawl(config, "--log-level", "INFO")
    assert second.returncode == 0 and second.stderr.count(NOT_READ_AGAIN) == 2
    assert snapshot(second.data) == before
    assert [s["posts"]["unchanged"] for s in latest(second.data)["sources"]] == [2, 1]

    # news changes: a new entry, and one with neither title nor body (skipped, so reported on every read)
    server.add("/news.xml", feed_xml(feed_item(1, "新闻一", "<p>一</p>") + feed_item(2, "新闻二", "<p>二</p>")
                                     + feed_item(4, "新闻四", "<p>四</p>") + "<item><guid>空</guid></item>"),
               content_type="application/rss+xml")
    for _ in range(2):
        again = crawl(config, "--log-level", "INFO")
        assert again.returncode == 1 and again.stderr.count(NOT_READ_AGAIN) == 1  # the blog's only
        assert "missing field: title and body" in again.stderr
    assert "新媒体/样例日报/最新/新闻四.md" in again.posts()

    # the blog's source changes (its author): read again, though its bytes are the same
    changed = config.replace('categories = ["博客", "样例博客", "首页"]', 'categories = ["博客", "样例博客", "首页"]\nauthor = "某人"')
    assert changed != config
    assert crawl(changed, "--log-level", "INFO").stderr.count(NOT_READ_AGAIN) == 0
    assert crawl(changed, "--log-level", "INFO").stderr.count(NOT_READ_AGAIN) == 1
    assert crawl(changed, "--force", "--log-level", "INFO").stderr.count(NOT_READ_AGAIN) == 0


def test_a_feed_answered_in_full_is_always_read(server, crawl):
    """Without validators the server answers 200 every time: the feed is read again (so a changed
    setting still reaches its posts), though its bytes are those a run read whole."""
    server.add("/news.xml", feed_xml(feed_item(1, "新闻一", "<p>一</p>")), content_type="application/rss+xml",
               etag=False)
    config = feed_source(server.base_url, "news", "/news.xml", '"新媒体", "样例日报", "最新"')
    first = crawl(config)
    again = crawl(config, "--log-level", "INFO")
    assert first.returncode == 0 and again.returncode == 0
    assert NOT_READ_AGAIN not in again.stderr
    assert snapshot(again.data) == snapshot(first.data)


def test_a_cache_entry_that_cannot_be_read_is_fetched_whole(server, crawl):
    """Entries gzipped by an earlier version, or cut short by a killed run, are misses (Scrapy's
    cache middleware says so): the run asks for the document whole, reads it, and writes its
    entry again; it never fails on them."""
    config = two_feeds(server)
    first = crawl("[settings]\nHTTPCACHE_GZIP = true\n\n" + config)  # as earlier versions kept it
    before = snapshot(first.data)
    meta = sorted((first.data / "httpcache").rglob("pickled_meta"))
    assert len(meta) == 2
    server.clear()
    second = crawl(config)
    assert second.returncode == 0, second.stderr
    assert not any("If-None-Match" in h for p in ("/news.xml", "/blog.xml") for h in server.headers_of(p))
    assert second.stderr.count("Could not read the cache entry") == 2
    assert snapshot(second.data) == before
    meta[0].write_bytes(meta[0].read_bytes()[:10])  # cut short
    server.clear()
    third = crawl(config)
    assert third.returncode == 0 and third.stderr.count("Could not read the cache entry") == 1
    assert sum("If-None-Match" in h for p in ("/news.xml", "/blog.xml") for h in server.headers_of(p)) == 1
    server.clear()
    fourth = crawl(config)  # both entries written again: two 304s, nothing rewritten
    assert fourth.returncode == 0 and "Could not read the cache entry" not in fourth.stderr
    assert all("If-None-Match" in h for p in ("/news.xml", "/blog.xml") for h in server.headers_of(p))
    assert snapshot(fourth.data) == before


def test_a_changed_article_updates_exactly_its_post(server, crawl):
    config = two_feeds(server)
    first = crawl(config)
    before = snapshot(first.data)
    server.add("/news.xml", feed_xml(feed_item(1, "新闻一", "<p>一（更正）</p>") + feed_item(2, "新闻二", "<p>二</p>")),
               content_type="application/rss+xml")
    second = crawl(config)
    after = snapshot(second.data)
    changed = [p for p in after if after[p] != before[p]]
    assert [p.name for p in changed] == ["新闻一.md"]
    assert "一（更正）" in changed[0].read_text(encoding="utf-8")
    report = latest(second.data)
    assert report["updated"] == ["新媒体/样例日报/最新/新闻一.md"] and report["created"] == []


def test_an_article_in_two_sources_is_one_post(server, crawl):
    base = server.base_url
    server.add("/content/outList?cid=1&tn=1&page=1&limit=10", list_page(("a1", "同一篇", 1624359289)),
               content_type="application/json")
    server.add("/detail/a1.html", article_page("<p>正文</p>"))
    # the feed's guid is the article URL without its query, as the list spider computes it
    server.add("/feed.xml", feed_xml(
        '<item><title>同一篇</title><description><![CDATA[<p>正文</p>]]></description>'
        '<guid isPermaLink="false">{BASE}/detail/a1.html</guid><link>{BASE}/detail/a1.html?content_id=a1</link></item>'),
        content_type="application/rss+xml")
    config = (f'[[sources]]\nname = "list"\nspider = "qutoutiao"\nurl = "{base}/content/outList?cid=1&tn=1&page=1&limit=10"\n'
              'categories = ["新媒体", "样例头条", "分类"]\n\n' + feed_source(base, "feed", "/feed.xml", '"新媒体", "样例头条", "分类"'))
    result = crawl(config)
    assert result.returncode == 0
    assert list(result.posts()) == ["新媒体/样例头条/分类/同一篇.md"]
    again = crawl(config)
    assert again.posts() == result.posts()


def test_category_recrawl_touches_only_that_category(server, crawl):
    config = two_feeds(server)
    first = crawl(config)
    before = snapshot(first.data)
    server.clear()
    time.sleep(0.01)
    recrawl = crawl(config, "--category", "新媒体/样例日报", "--force")
    assert recrawl.returncode == 0
    assert server.paths() == ["/news.xml"]
    after = snapshot(recrawl.data)
    for path in after:
        rewritten = after[path][1] != before[path][1]
        assert rewritten == ("新媒体" in path.parts), path
        assert after[path][0] == before[path][0]
    assert sorted(latest(recrawl.data)["updated"]) == ["新媒体/样例日报/最新/新闻一.md", "新媒体/样例日报/最新/新闻二.md"]
    none = crawl(config, "--category", "编程")
    assert none.returncode == 2 and "no source has categories starting with 编程" in none.stderr


def test_two_runs_at_once_never_both_write(server, tmp_path):
    server.add("/slow.xml", feed_xml("".join(feed_item(n, f"慢{n}", f"<p>{n}</p>") for n in range(5))),
               content_type="application/rss+xml", delay=2)
    config = tmp_path / "s.toml"
    config.write_text(feed_source(server.base_url, "slow", "/slow.xml", '"a", "b", "c"'), encoding="utf-8")
    data = tmp_path / "data"
    args = [sys.executable, "-m", "crawler.cli", "run", "--config", str(config), "--data", str(data), "--no-images"]
    first = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        if (data / ".lock").exists() and (data / ".lock").read_text():
            break
        time.sleep(0.05)
    second = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    waiting = subprocess.Popen(args + ["--wait", "30"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert first.wait(60) == 0
    assert second.returncode == 75
    assert "is in use by pid" in second.stderr and "--wait" in second.stderr
    assert waiting.wait(60) == 0
    assert len(list((data / "posts").rglob("*.md"))) == 5
    db = sqlite3.connect(data / "state.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT COUNT(*) FROM articles").fetchone() == (5,)


def test_interrupted_run_keeps_complete_posts_and_resume_finishes(server, tmp_path):
    base = server.base_url
    for cid in (1, 2):  # two sources in flight when the run is interrupted
        server.add(f"/content/outList?cid={cid}&tn=1&page=1&limit=10",
                   list_page(*[(f"p{n}", f"第{n}篇", 1624359289 + n) for n in range(4 * cid - 4, 4 * cid)]),
                   content_type="application/json")
    for n in range(8):
        server.add(f"/detail/p{n}.html", article_page(f"<p>{n}</p>"), delay=1.5)
    config = tmp_path / "s.toml"
    config.write_text('[settings]\nCONCURRENT_REQUESTS = 1\n\n' + "".join(
        f'[[sources]]\nname = "q{cid}"\nspider = "qutoutiao"\nurl = "{base}/content/outList?cid={cid}&tn=1&page=1&limit=10"\n'
        f'categories = ["a", "b", "c{cid}"]\n\n' for cid in (1, 2)), encoding="utf-8")
    data = tmp_path / "data"
    args = [sys.executable, "-m", "crawler.cli", "run", "--config", str(config), "--data", str(data), "--no-images"]
    run = subprocess.Popen(args + ["--resume"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        if (data / "posts").exists() and list((data / "posts").rglob("*.md")):
            break
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130, out + err
    assert "--resume" in err
    written = list((data / "posts").rglob("*.md"))
    assert 0 < len(written) < 8
    for post in written:
        assert frontmatter.load(post)["title"].startswith("第")
    assert (data / "jobs" / "run").exists()
    resumed = subprocess.run(args + ["--resume"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert len(list((data / "posts").rglob("*.md"))) == 8
    report = latest(data)
    assert [(s["name"], s["fetched"]) for s in report["sources"]] == [("q1", True), ("q2", True)]
    assert server.paths().count("/content/outList?cid=1&tn=1&page=1&limit=10") == 1  # not read again
    assert not (data / "jobs").exists() or not any((data / "jobs").iterdir())


def test_sources_lists_categories_and_last_outcome(server, crawl, tmp_path):
    config = two_feeds(server) + feed_source(server.base_url, "gone", "/gone.xml", '"x", "y", "z"')
    crawl(config, "--source", "news", "--source", "gone")
    listing = run_crawler("sources", "--config", str(tmp_path / "sources.toml"), "--data", str(tmp_path / "data"))
    assert listing.returncode == 0
    text = listing.stdout
    assert "news  [feed]  新媒体 / 样例日报 / 最新" in text
    assert "ok: 2 created, 0 updated, 0 unchanged, 0 failures" in text
    assert "blog  [feed]" in text and "last run: never" in text
    assert "NOT FETCHED" in text and "/gone.xml" in text


def test_publish_copies_exactly_what_changed(server, crawl, tmp_path):
    config = two_feeds(server)
    crawl(config)
    site = tmp_path / "site"
    (site / "source" / "_posts").mkdir(parents=True)
    (site / "source" / "_posts" / "mine.md").write_text("the site's own post", encoding="utf-8")
    data = tmp_path / "data"

    dry = run_crawler("publish", "--to", str(site), "--data", str(data), "--dry-run")
    assert dry.returncode == 0 and "would copy 3 posts" in dry.stdout
    assert sorted(p.name for p in (site / "source" / "_posts").rglob("*.md")) == ["mine.md"]

    first = run_crawler("publish", "--to", str(site), "--data", str(data))
    assert "copied 3 posts and 0 images" in first.stdout
    published = sorted(p.relative_to(site / "source" / "_posts").as_posix() for p in (site / "source" / "_posts").rglob("*.md"))
    assert published == sorted(["mine.md", *crawl(config).posts()])
    for rel in crawl(config).posts():
        assert (site / "source" / "_posts" / rel).read_bytes() == (data / "posts" / rel).read_bytes()

    again = run_crawler("publish", "--to", str(site), "--data", str(data))
    assert "copied 0 posts" in again.stdout

    server.add("/blog.xml", feed_xml(feed_item(3, "博文", "<p>改过</p>")), content_type="application/rss+xml")
    crawl(config)
    changed = run_crawler("publish", "--to", str(site), "--data", str(data))
    assert changed.stdout.splitlines() == [f"updated {site}/source/_posts/博客/样例博客/首页/博文.md",
                                           f"copied 1 posts and 0 images to {site}"]
    assert (site / "source" / "_posts" / "mine.md").read_text(encoding="utf-8") == "the site's own post"


def test_publish_copies_images_with_local_links(server, crawl, tmp_path):
    from tests import images
    from tests.test_images import config as image_config, feed, img

    server.add("/i/photo.jpg", images.picture(), content_type="image/jpeg")
    server.add("/feed.xml", feed([("图", img(f"{server.base_url}/i/photo.jpg"))]), content_type="application/rss+xml")
    result = crawl(image_config(server.base_url, IMAGE_LINKS="local"), images=True)
    site = tmp_path / "site"
    out = run_crawler("publish", "--to", str(site), "--data", str(result.data)).stdout
    assert "copied 1 posts and 2 images" in out
    post = frontmatter.load(next((site / "source" / "_posts").rglob("*.md")))
    assert (site / "source" / post["headimg"].lstrip("/")).is_file()
    assert (site / "source" / post["thumbnail"].lstrip("/")).is_file()


def test_progress_shows_on_a_terminal_only(server, tmp_path):
    import os

    server.add("/feed.xml", feed_xml("".join(feed_item(n, f"篇{n}", "<p>x</p>") for n in range(3))),
               content_type="application/rss+xml", delay=1.5)
    config = tmp_path / "s.toml"
    config.write_text(feed_source(server.base_url, "f", "/feed.xml", '"a", "b", "c"'), encoding="utf-8")
    args = [sys.executable, "-m", "crawler.cli", "run", "--config", str(config), "--no-images"]
    leader, follower = os.openpty()
    with subprocess.Popen(args + ["--data", str(tmp_path / "tty")], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=follower) as proc:
        os.close(follower)
        proc.wait(60)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    os.close(leader)
    assert b"\r\x1b[Ksources 0/1 read" in seen
    cron = subprocess.run(args + ["--data", str(tmp_path / "cron")], cwd=ROOT, capture_output=True, text=True)
    assert cron.returncode == 0 and "\r" not in cron.stderr and "sources 0/1" not in cron.stderr
    assert "1 sources, 3 posts written" in cron.stdout


def test_unchanged_list_api_costs_one_request(server, crawl):
    base = server.base_url
    for page in (1, 2, 3):
        server.add(f"/content/outList?cid=1&tn=1&page={page}&limit=2",
                   list_page(*[(f"p{page}{n}", f"页{page}文{n}", 1624359289 + page * 10 + n) for n in range(2)]),
                   content_type="application/json")
        for n in range(2):
            server.add(f"/detail/p{page}{n}.html", article_page(f"<p>{page}-{n}</p>"))
    config = (f'[[sources]]\nname = "q"\nspider = "qutoutiao"\nurl = "{base}/content/outList?cid=1&tn=1&page=1&limit=2"\n'
              'categories = ["a", "b", "c"]\npages = 3\n')
    first = crawl(config)
    assert first.returncode == 0 and len(first.posts()) == 6
    server.clear()
    second = crawl(config)
    assert second.returncode == 0
    assert server.paths() == ["/content/outList?cid=1&tn=1&page=1&limit=2"]  # a 304, and the walk ends
    assert latest(second.data)["created"] == [] and latest(second.data)["sources"][0]["posts"]["unchanged"] == 2
