"""Sources without a spider of their own: full text behind summary-only feeds, HTML list pages,
JSON APIs of any shape, keep/block rules and OPML, crawled end to end on loopback."""

from __future__ import annotations

import json
import re
import tomllib

import frontmatter
from lxml import etree

from tests.conftest import run_crawler
from tests.test_crawl import feed_item, feed_xml
from tests.test_hostile import by_name

RSS = "application/rss+xml; charset=utf-8"
JSON = "application/json; charset=utf-8"
CATEGORIES = 'categories = ["样例", "任意站", "频道"]\n'


def page(inner: str, title: str = "页面") -> str:
    """An article page whose body sits in ``<article><div class="body">``, among the chrome
    every portal puts around it."""
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head><body>'
            '<div class="nav"><a href="/">首页</a><a href="/c">频道</a></div>'
            f'<article><h1>{title}</h1><div class="body">{inner}</div></article>'
            '<div class="footer">版权所有 样例网站 联系我们</div></body></html>')


# Characters a parser would rewrite: single quotes, a bare attribute, an entity, odd spacing.
VERBATIM = "<p class='lead'>第一段&nbsp;全文，比摘要长得多。</p>\n  <P>第二段<br>换行</P><input disabled>"


def test_summary_only_feed_takes_each_page_verbatim_and_keeps_the_summary_when_the_page_fails(server, crawl):
    summary = "<p>摘要</p>"
    items = (feed_item(1, "全文文章", summary) + feed_item(2, "页面不存在", summary)
             + feed_item(3, "没有正文元素", summary) + feed_item(4, "页面比摘要短", "<p>这一段摘要写得比页面正文还要长很多</p>")
             + feed_item(5, "广告：不要写", summary))
    server.add("/feed.xml", feed_xml(items), content_type=RSS)
    server.add("/p/1", page(VERBATIM))
    server.add("/p/3", "<html><body><div class='other'>没有那个元素</div></body></html>")
    server.add("/p/4", page("<p>短</p>"))
    server.add("/p/5", page("<p>广告页面</p>"))
    config = (f'[[sources]]\nname = "s"\nspider = "feed"\nurl = "{server.base_url}/feed.xml"\n{CATEGORIES}'
              'fulltext = "selector"\ncontent = "article > div.body"\nblock = "^广告"\n')
    result = crawl(config)
    assert result.returncode == 0, result.stderr
    posts = {frontmatter.loads(text)["title"]: text for text in result.posts().values()}
    assert set(posts) == {"全文文章", "页面不存在", "没有正文元素", "页面比摘要短"}
    assert posts["全文文章"].split("<div>   \n", 1)[1].startswith(VERBATIM)
    for title in ("页面不存在", "没有正文元素"):
        assert "<p>摘要</p>" in posts[title]
    assert "这一段摘要写得比页面正文还要长很多" in posts["页面比摘要短"]

    source = by_name(result.data)["s"]
    kept = {r["url"].rsplit("/", 1)[1]: r["repair"] for r in source["repairs"] if "full text" in r["repair"]}
    assert set(kept) == {"2", "3", "4"}
    assert "404" in kept["2"] and "kept the summary" in kept["2"]
    assert "no article > div.body element" in kept["3"]
    assert "shorter than the summary" in kept["4"]
    assert [(b["title"], b["reason"]) for b in source["blocked"]] == [("广告：不要写", "blocked by '^广告'")]
    assert "/p/5" not in server.paths()  # blocked by its title: its page is never fetched
    assert "1 entry left out by keep/block rules" in result.stdout

    server.clear()
    again = crawl(config)
    assert again.returncode == 0
    assert not [p for p in server.paths() if p.startswith("/p/")]  # known entries are not fetched again
    assert again.posts() == result.posts()


def test_extracted_full_text_leaves_the_page_chrome_out(server, crawl):
    paragraphs = "".join(f"<p>第{n}段：市图书馆延长了周末的开放时间，读者可以一直待到晚上十点，"
                         "自习室也增加了一百个座位，附近的学生都说方便多了。</p>" for n in range(1, 5))
    server.add("/feed.xml", feed_xml(feed_item(1, "图书馆延长开放", "<p>图书馆</p>")), content_type=RSS)
    server.add("/p/1", page(paragraphs + '<p><img src="/i/a.jpg"></p>'))
    config = (f'[[sources]]\nname = "x"\nspider = "feed"\nurl = "{server.base_url}/feed.xml"\n{CATEGORIES}'
              'fulltext = "extract"\n')
    result = crawl(config)
    assert result.returncode == 0, result.stderr
    [post] = result.posts().values()
    assert post.count("<p>第") == 4 and f'src="{server.base_url}/i/a.jpg"' in post
    assert "版权所有" not in post and "首页" not in post


def news_page(rows: list[tuple[str, str, str]], following: str | None) -> str:
    items = "".join(f'<li><a class="t" href="{href}"> {title} </a><span class="d">{date}</span></li>'
                    for href, title, date in rows)
    more = f'<a class="next" href="{following}">下一页</a>' if following else ""
    return f'<html><body><ul id="news">{items}</ul><div class="pages">{more}</div></body></html>'


def test_html_list_pages_are_followed_to_their_bound_and_each_article_cut_verbatim(server, crawl):
    server.add("/list/", news_page([("/a/1.html", "第一条", "2021年06月22日"),
                                    ("/a/2.html", "第二条", "2021-06-23 08:00:00")], "/list/2.html"))
    server.add("/list/2.html", news_page([("/a/3.html", "第三条", "1624359289"),
                                          ("javascript:void(0)", "坏链接", "")], "/list/3.html"))
    server.add("/list/3.html", news_page([("/a/4.html", "第四条", "")], None))
    # the table gets a <tbody> from lxml: the cut still comes from the page's own text
    table = "<table><tr><td>表格里的正文</td></tr></table><p>澄湖</p>"
    for n in (1, 2, 3):
        server.add(f"/a/{n}.html", f'<html><body><div id="main"><div class="text">{VERBATIM if n != 2 else table}'
                                   f'</div></div></body></html>')
    config = (f'[[sources]]\nname = "h"\nspider = "html"\nurl = "{server.base_url}/list/"\n{CATEGORIES}'
              'items = "#news li"\nlink = "a.t::attr(href)"\ntitle = "a.t::text"\ndate = "span.d::text"\n'
              'next = "div.pages a.next::attr(href)"\npages = 2\ncontent = "#main .text"\n')
    result = crawl(config)
    assert result.returncode == 1  # the entry with a javascript: link is reported
    posts = {frontmatter.loads(t)["title"]: (frontmatter.loads(t), t) for t in result.posts().values()}
    assert set(posts) == {"第一条", "第二条", "第三条"}
    assert "/list/3.html" not in server.paths()  # pages = 2
    assert posts["第一条"][1].split("<div>   \n", 1)[1].startswith(VERBATIM)
    assert table in posts["第二条"][1]
    assert posts["第一条"][0]["date"] == "Tue, 22 Jun 2021 00:00:00 GMT"
    assert posts["第三条"][0]["date"] == "Tue, 22 Jun 2021 10:54:49 GMT"
    source = by_name(result.data)["h"]
    assert source["pages"] == 2 and source["listed"] == 3
    assert any(f["reason"].startswith("refused URL 'javascript") for f in source["failures"])


def test_keep_rules_can_read_the_body(server, crawl):
    server.add("/list/", news_page([("/a/1.html", "标题无关", ""), ("/a/2.html", "也无关", ""),
                                    ("/a/3.html", "澄湖标题", "")], None))
    server.add("/a/1.html", page("<p>正文提到澄湖</p>"))
    server.add("/a/2.html", page("<p>别处的新闻</p>"))
    server.add("/a/3.html", page("<p>正文</p>"))
    config = (f'[[sources]]\nname = "k"\nspider = "html"\nurl = "{server.base_url}/list/"\n{CATEGORIES}'
              'items = "li"\nlink = "a"\ntitle = "a"\ncontent = "div.body"\nkeep = "澄湖"\nmatch_body = true\n')
    result = crawl(config)
    assert result.returncode == 0, result.stderr
    assert {frontmatter.loads(t)["title"] for t in result.posts().values()} == {"标题无关", "澄湖标题"}
    [blocked] = by_name(result.data)["k"]["blocked"]
    assert blocked["title"] == "也无关" and blocked["reason"] == "not kept by '澄湖'"


def test_a_json_api_of_another_shape_with_bodies_in_the_answer_or_on_the_page(server, crawl):
    answer = {"ok": True, "data": {"list": [
        {"t": "接口自带正文", "share": {"u": "/n/1"}, "ts": 1624359289000, "html": "<p>接口里的正文</p>"},
        {"t": "正文在页面上", "share": {"u": "/n/2"}, "ts": "2021-06-22T10:54:49+08:00"},
        {"t": "没有链接"},
        7,
    ], "more": "/api?page=2"}}
    second = {"ok": True, "data": {"list": [{"t": "第二页", "share": {"u": "/n/3"}, "html": "<p>二</p>"}]}}
    server.add("/api", json.dumps(answer, ensure_ascii=False), content_type=JSON)
    server.add("/api?page=2", json.dumps(second, ensure_ascii=False), content_type=JSON)
    server.add("/n/2", page("<p>页面上的正文</p>"))
    config = (f'[[sources]]\nname = "j"\nspider = "json"\nurl = "{server.base_url}/api"\n{CATEGORIES}'
              'items = "data.list"\ntitle = "t"\nlink = "share.u"\ndate = "ts"\nbody = "html"\n'
              'content = ".body"\nnext = "data.more"\npages = 3\n')
    result = crawl(config)
    assert result.returncode == 1  # two broken entries, reported
    posts = {frontmatter.loads(t)["title"]: (frontmatter.loads(t), t) for t in result.posts().values()}
    assert set(posts) == {"接口自带正文", "正文在页面上", "第二页"}
    assert "<p>接口里的正文</p>" in posts["接口自带正文"][1] and "<p>页面上的正文</p>" in posts["正文在页面上"][1]
    assert posts["接口自带正文"][0]["date"] == "Tue, 22 Jun 2021 10:54:49 GMT"  # milliseconds
    assert posts["正文在页面上"][0]["date"] == "Tue, 22 Jun 2021 02:54:49 GMT"
    assert "/n/1" not in server.paths() and "/n/3" not in server.paths()  # the answer gave their bodies
    reasons = sorted(f["reason"] for f in by_name(result.data)["j"]["failures"])
    assert reasons == ["malformed entry: not an object", "missing field: share.u"]


def test_a_list_answer_of_the_wrong_shape_says_where_it_looked(server, crawl):
    server.add("/api", json.dumps({"data": {"items": []}}), content_type=JSON)
    server.add("/redesigned/", news_page([("/a/1.html", "新版页面", "")], None).replace('id="news"', 'id="list"'))
    config = (f'[[sources]]\nname = "j"\nspider = "json"\nurl = "{server.base_url}/api"\n{CATEGORIES}'
              'items = "data.list"\ntitle = "t"\nlink = "u"\ncontent = ".body"\n\n'
              f'[[sources]]\nname = "h"\nspider = "html"\nurl = "{server.base_url}/redesigned/"\n{CATEGORIES}'
              'items = "#news li"\ntitle = "a"\nlink = "a"\ncontent = ".body"\n')
    result = crawl(config)
    assert result.returncode == 1
    sources = by_name(result.data)
    assert [f["reason"] for f in sources["j"]["failures"]] == ["not a list API answer (data.list is missing)"]
    assert [f["reason"] for f in sources["h"]["failures"]] == ["no element matches items '#news li'"]
    assert not sources["j"]["fetched"] and not sources["h"]["fetched"]
    assert result.stdout.count("NOT FETCHED") == 2


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>订阅</title></head><body>
  <outline text="新闻">
    <outline text="国内">
      <outline type="rss" text="甲报" xmlUrl="{BASE}/f/a.xml"/>
      <outline type="rss" text="乙报" title="乙报" xmlUrl="{BASE}/f/b.xml"/>
    </outline>
    <outline type="rss" text="甲报" xmlUrl="{BASE}/f/c.xml"/>
    <outline type="rss" text="甲报又一次" xmlUrl="{BASE}/f/a.xml"/>
  </outline>
  <outline text="只是个网站" htmlUrl="{BASE}/site"/>
  <outline type="rss" text="顶层" xmlUrl="{BASE}/f/d.xml"/>
</body></opml>
"""


def test_opml_import_appends_feeds_once_and_export_gives_them_back(server, tmp_path):
    base = server.base_url
    for name in "abcd":
        server.add(f"/f/{name}.xml", feed_xml(feed_item(ord(name), f"{name} 的文章", f"<p>{name}</p>")), content_type=RSS)
    opml = tmp_path / "subs.opml"
    opml.write_text(OPML.replace("{BASE}", base), encoding="utf-8")
    config = tmp_path / "sources.toml"
    original = f'# mine\n[[sources]]\nname = "old"\nspider = "feed"\nurl = "{base}/f/d.xml"\ncategories = ["旧"]\n'
    config.write_text(original, encoding="utf-8")

    first = run_crawler("sources", "--config", str(config), "--import", str(opml), "--group", "订阅")
    assert first.returncode == 0, first.stderr
    assert config.read_text(encoding="utf-8").startswith(original)  # appended, nothing rewritten
    sources = tomllib.loads(config.read_text(encoding="utf-8"))["sources"]
    added = {s["url"].rsplit("/", 1)[1]: s for s in sources[1:]}
    assert set(added) == {"a.xml", "b.xml", "c.xml"}
    assert added["a.xml"]["categories"] == ["订阅", "新闻", "国内", "甲报"]
    assert added["c.xml"]["categories"] == ["订阅", "新闻", "甲报"]
    assert added["a.xml"]["name"] == "甲报" and re.fullmatch(r"甲报-[0-9a-f]{6}", added["c.xml"]["name"])
    skipped = [line for line in first.stdout.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 3  # the repeated feed, the feed already configured, the web site
    assert any("只是个网站" in line and "no xmlUrl" in line for line in skipped)
    assert "3 sources added" in first.stdout

    before = config.read_bytes()
    second = run_crawler("sources", "--config", str(config), "--import", str(opml), "--group", "订阅")
    assert second.returncode == 0 and "0 sources added" in second.stdout
    assert config.read_bytes() == before

    data = tmp_path / "data"
    crawled = run_crawler("run", "--config", str(config), "--data", str(data), "--no-images")
    assert crawled.returncode == 0, crawled.stderr
    assert len(list((data / "posts").rglob("*.md"))) == 4

    exported = run_crawler("sources", "--config", str(config), "--export")
    assert exported.returncode == 0
    root = etree.fromstring(exported.stdout.encode("utf-8"))
    feeds = root.findall(".//outline[@xmlUrl]")
    assert sorted(f.get("xmlUrl").rsplit("/", 1)[1] for f in feeds) == ["a.xml", "b.xml", "c.xml", "d.xml"]
    [a] = [f for f in feeds if f.get("xmlUrl").endswith("/a.xml")]
    assert [o.get("text") for o in a.iterancestors("outline")][::-1] == ["订阅", "新闻", "国内"]
    elsewhere = tmp_path / "other.toml"
    elsewhere.write_text(original, encoding="utf-8")
    (tmp_path / "out.opml").write_bytes(exported.stdout.encode("utf-8"))
    again = run_crawler("sources", "--config", str(elsewhere), "--import", str(tmp_path / "out.opml"))
    assert again.returncode == 0
    moved = tomllib.loads(elsewhere.read_text(encoding="utf-8"))["sources"][1:]
    assert {(s["name"], tuple(s["categories"])) for s in moved} == {
        (s["name"], tuple(s["categories"])) for s in sources[1:]}


def test_a_file_that_is_not_opml_is_refused_and_the_sources_file_untouched(tmp_path):
    config = tmp_path / "sources.toml"
    config.write_text('[[sources]]\nname = "a"\nspider = "feed"\nurl = "http://127.0.0.1:9/f"\ncategories = ["x"]\n',
                      encoding="utf-8")
    before = config.read_bytes()
    for body in ("<rss version='2.0'><channel/></rss>", "<opml><body>"):
        (tmp_path / "bad.opml").write_text(body, encoding="utf-8")
        proc = run_crawler("sources", "--config", str(config), "--import", str(tmp_path / "bad.opml"))
        assert proc.returncode == 2 and proc.stderr.startswith(f"crawler: {tmp_path / 'bad.opml'}: ")
    assert config.read_bytes() == before
