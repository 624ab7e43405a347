"""Both spiders end to end against a loopback server, through the command line."""

from __future__ import annotations

import json
import subprocess
import sys

from pathlib import Path

import frontmatter

from tests.conftest import ROOT, run_crawler

PROXY = "https://proxy.example.test/?"


def list_page(*articles: tuple[str, str, int]) -> str:
    return json.dumps({"code": 0, "message": "", "data": {"data": [
        {"id": aid, "title": title, "url": f"{{BASE}}/detail/{aid}.html?content_id={aid}",
         "detail_url": f"{{BASE}}/detail/{aid}.html", "show_time": show_time, "nickname": "通讯员",
         "cover": []}
        for aid, title, show_time in articles
    ]}}, ensure_ascii=False)


def article_page(paragraphs: str) -> str:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><div class="article">'
            f'<div class="content">{paragraphs}</div></div></body></html>')


def qutoutiao_config(base: str, **extra) -> str:
    lines = "".join(f"{k} = {v}\n" for k, v in extra.items())
    return (f'[settings]\nIMAGE_PROXY = "{PROXY}"\n\n[[sources]]\nname = "q"\nspider = "qutoutiao"\n'
            f'url = "{base}/content/outList?cid=1&tn=1&page=1&limit=10"\ncategories = ["新媒体", "样例头条", "分类"]\n{lines}')


def test_qutoutiao_list_pages_and_articles(server, crawl):
    server.add("/content/outList?cid=1&tn=1&page=1&limit=10", list_page(("a1", "第一篇:样例", 1624359289)),
               content_type="application/json")
    server.add("/content/outList?cid=1&tn=1&page=2&limit=10", list_page(("a2", "第二篇", 1624359300)),
               content_type="application/json")
    server.add("/detail/a1.html", article_page(
        '<p>段落一</p><p><img data-src="http://img.test/1.jpg" data-size="10,10" src="http://img.test/1.jpg"></p>'))
    server.add("/detail/a2.html", article_page("<p>没有图片的文章</p>"))

    result = crawl(qutoutiao_config(server.base_url, pages=2))
    assert result.returncode == 0, result.stderr
    posts = result.posts()
    assert sorted(posts) == ["新媒体/样例头条/分类/第一篇_样例.md", "新媒体/样例头条/分类/第二篇.md"]
    first = posts["新媒体/样例头条/分类/第一篇_样例.md"]
    assert first.startswith("\n---\ntitle: '第一篇_样例'\ncategories: \n - 新媒体\n - 样例头条\n - 分类\n"
                            f"headimg: '{PROXY}http://img.test/1.jpg'\nauthor: 样例头条\ncomments: false\n"
                            "date: Tue, 22 Jun 2021 10:54:49 GMT\n")
    assert (f'<div>   \n<p>段落一</p><p><img src="{PROXY}http://img.test/1.jpg" data-size="10,10" '
            'referrerpolicy="no-referrer"></p>  \n</div>\n            ') in first
    second = frontmatter.loads(posts["新媒体/样例头条/分类/第二篇.md"])
    assert second["headimg"].startswith("https://picsum.photos/400/300?random=")
    assert "2 sources" not in result.stdout and "1 sources, 2 posts written" in result.stdout


def feed_xml(items: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title><![CDATA[样例]]></title>'
            f"<link>{{BASE}}/</link>{items}</channel></rss>")


def feed_item(n: int, title: str, body: str, date: str | None = "Tue, 22 Jun 2021 10:54:49 GMT") -> str:
    pub = f"<pubDate>{date}</pubDate>" if date else ""
    return (f"<item><title><![CDATA[{title}]]></title><description><![CDATA[{body}]]></description>{pub}"
            f'<guid isPermaLink="false">{{BASE}}/p/{n}</guid><link>{{BASE}}/p/{n}</link></item>')


def feed_config(base: str, path: str = "/feed.xml", name: str = "f", author: str | None = None) -> str:
    extra = f'author = "{author}"\n' if author else ""
    return (f'[settings]\nIMAGE_PROXY = "{PROXY}"\n\n[[sources]]\nname = "{name}"\nspider = "feed"\n'
            f'url = "{base}{path}"\ncategories = ["博客", "样例日报", "首页"]\n{extra}')


def test_feed_items_become_posts_with_bodies_verbatim(server, crawl):
    body = '<p>文 &amp; 字\u00a0</p>\n<p><img src="http://img.test/2.png" referrerpolicy="no-referrer"></p> '
    server.add("/feed.xml", feed_xml(feed_item(1, "标题 “引号” 与 'x'", body) + feed_item(2, "无日期", "<p>t</p>", None)),
               content_type="application/rss+xml")
    result = crawl(feed_config(server.base_url, author="编辑部"))
    assert result.returncode == 0, result.stderr
    posts = result.posts()
    first = posts["博客/样例日报/首页/标题 _引号_ 与 'x'.md"]
    assert "title: \"标题 _引号_ 与 'x'\"\n" in first and "author: 编辑部\n" in first
    assert body.replace('src="http://', f'src="{PROXY}http://') + "  \n</div>" in first
    undated = frontmatter.loads(posts["博客/样例日报/首页/无日期.md"])
    assert undated["date"].endswith(" GMT")


def test_rerun_leaves_identical_files_untouched(server, crawl):
    server.add("/feed.xml", feed_xml(feed_item(1, "一", "<p>1</p>") + feed_item(2, "二（无日期）", "<p>2</p>", None)),
               content_type="application/rss+xml")
    config = feed_config(server.base_url)
    first = crawl(config)
    files = sorted((first.data / "posts").rglob("*.md"))
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    second = crawl(config)
    assert second.returncode == 0
    assert sorted((second.data / "posts").rglob("*.md")) == files
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == before
    assert "0 posts written" in second.stdout
    assert not list(second.data.rglob("*.part"))


def test_same_title_in_one_channel_gives_two_files(server, crawl):
    server.add("/feed.xml", feed_xml(feed_item(1, "同名", "<p>甲</p>") + feed_item(2, "同名", "<p>乙</p>")),
               content_type="application/rss+xml")
    result = crawl(feed_config(server.base_url))
    posts = result.posts()
    assert len(posts) == 2
    assert "博客/样例日报/首页/同名.md" in posts
    assert {"<p>甲</p>", "<p>乙</p>"} == {t.split("<div>   \n")[1].split("  \n</div>")[0] for t in posts.values()}
    again = crawl(feed_config(server.base_url))
    assert again.posts() == posts


def test_unreachable_source_fails_the_run_but_not_the_others(server, crawl, tmp_path):
    server.add("/feed.xml", feed_xml(feed_item(1, "好", "<p>ok</p>")), content_type="application/rss+xml")
    config = feed_config(server.base_url) + feed_config(server.base_url, "/gone.xml", "gone").split("\n\n", 1)[1]
    result = crawl(config)
    assert result.returncode == 1
    assert len(result.posts()) == 1
    assert "NOT FETCHED" in result.stdout and "gone" in result.stdout


def test_source_option_picks_sources(server, crawl):
    server.add("/feed.xml", feed_xml(feed_item(1, "好", "<p>ok</p>")), content_type="application/rss+xml")
    config = feed_config(server.base_url) + feed_config(server.base_url, "/other.xml", "other").split("\n\n", 1)[1]
    result = crawl(config, "--source", "f")
    assert result.returncode == 0
    assert "/other.xml" not in server.paths()


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_scrapy_crawl_and_crawler_run_leave_identical_files(server, tmp_path):
    from tests import images

    server.add("/i/a.jpg", images.picture(seed=3), content_type="image/jpeg")
    server.add("/feed.xml", feed_xml(feed_item(1, "用 scrapy 命令", '<p>ok</p><img src="{BASE}/i/a.jpg">')),
               content_type="application/rss+xml")
    config = tmp_path / "s.toml"
    # The file's [settings] (proxy, local links) apply under `scrapy crawl` too.
    config.write_text(feed_config(server.base_url).replace("[settings]\n", '[settings]\nIMAGE_LINKS = "local"\n'),
                      encoding="utf-8")
    listed = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=ROOT, capture_output=True, text=True)
    assert listed.stdout.split() == ["feed", "html", "json", "qutoutiao", "sources"]
    crawled = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "feed", "-a", "source=f", "-s", f"SOURCES_FILE={config}",
         "-s", f"DATA_DIR={tmp_path / 'd'}", "-s", "LOG_LEVEL=WARNING"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert crawled.returncode == 0, crawled.stderr
    ran = run_crawler("run", "--config", str(config), "--data", str(tmp_path / "e"), "--source", "f")
    assert ran.returncode == 0, ran.stderr
    by_scrapy, by_cli = tree(tmp_path / "d" / "posts"), tree(tmp_path / "e" / "posts")
    assert list(by_scrapy) == ["博客/样例日报/首页/用 scrapy 命令.md"]
    assert by_scrapy == by_cli
    assert b"src=\"/images/full/" in by_scrapy["博客/样例日报/首页/用 scrapy 命令.md"]
    assert tree(tmp_path / "d" / "images") == tree(tmp_path / "e" / "images") != {}
    assert (tmp_path / "d" / "runs" / "latest.json").exists()  # the same run lifecycle under both
    again = run_crawler("run", "--config", str(config), "--data", str(tmp_path / "d"))
    assert again.returncode == 0 and "0 posts written" in again.stdout
    assert tree(tmp_path / "d" / "posts") == by_scrapy
