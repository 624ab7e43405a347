"""Hostile input and failing servers: nothing lost, nothing let in (the fast cases).

The slow ones (killed runs, stalled servers) are in test_faults.py, run by `make test-faults`.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import frontmatter

from tests.test_crawl import article_page, feed_item, feed_xml


def report(data: Path) -> dict:
    return json.loads((data / "runs" / "latest.json").read_text(encoding="utf-8"))


def by_name(data: Path) -> dict[str, dict]:
    return {s["name"]: s for s in report(data)["sources"]}


def source(name: str, url: str, spider: str = "feed", categories: str = '"坏", "样例", "源"') -> str:
    return f'[[sources]]\nname = "{name}"\nspider = "{spider}"\nurl = "{url}"\ncategories = [{categories}]\n\n'


RSS = "application/rss+xml"


def test_bad_feeds_are_skipped_or_repaired_and_the_run_goes_on(server, crawl):
    base = server.base_url
    good = feed_item(1, "好文章", "<p>好</p>")
    feeds = {
        "truncated": feed_xml(good + feed_item(2, "断", "<p>断开的正文</p>")).split("断开")[0].encode(),
        "wrong-encoding": feed_xml(feed_item(3, "编码错了", "<p>中文内容</p>")).encode("gbk"),  # declares UTF-8
        "gb18030": feed_xml(feed_item(4, "国标编码", "<p>内容</p>")).replace('encoding="UTF-8"', 'encoding="GB18030"').encode("gb18030"),
        "html": b"<!DOCTYPE html><html><body><p>not a feed</p></body></html>",
        "empty-feed": feed_xml("").encode(),
        "empty-body": b"",
        "holes": feed_xml(
            "<item><description><![CDATA[<p>没有标题的文章，正文在这里。</p>]]></description><guid>{BASE}/h/1</guid></item>"
            "<item><title>没有链接也没有guid</title><description>x</description></item>"
            "<item><title>只有标题</title><guid>{BASE}/h/3</guid></item>"
            "<item></item>"
            + feed_item(5, "重复一", "<p>1</p>") + feed_item(5, "重复二", "<p>2</p>")
            + feed_item(6, "ISO 日期", "<p>d</p>", "2021-06-22T10:54:49+08:00")
            + feed_item(7, "中文日期", "<p>d</p>", "2021年06月22日")
            + feed_item(8, "毫秒", "<p>d</p>", "1624359289000")
            + feed_item(9, "未来", "<p>d</p>", "Tue, 22 Jun 2100 10:54:49 GMT")
            + feed_item(10, "看不懂的日期", "<p>d</p>", "昨天下午")
        ).encode(),
    }
    config = ""
    for name, body in feeds.items():
        server.add(f"/{name}.xml", body, content_type="application/rss+xml; charset=utf-8")
        config += source(name, f"{base}/{name}.xml")
    result = crawl(config)
    assert result.returncode == 1  # something failed, and the exit status says so
    sources = by_name(result.data)

    assert not sources["truncated"]["fetched"]
    reason = sources["truncated"]["failures"][0]["reason"]
    assert reason.startswith("malformed XML (") and "1 of 2 entries after the break lost; kept the 1 entries" in reason
    assert sources["truncated"]["posts"]["created"] == 1
    assert any("好文章" in p for p in result.posts())

    titles = {frontmatter.loads(t)["title"] for t in result.posts().values()}
    assert {"编码错了", "国标编码"} <= titles
    assert sources["wrong-encoding"]["fetched"]
    assert ("the HTTP charset (utf-8) and the XML declaration (UTF-8) did not fit; read as gb18030 (detected)"
            == sources["wrong-encoding"]["repairs"][0]["repair"])

    assert "not an RSS, Atom or JSON feed" in sources["html"]["failures"][0]["reason"]
    assert sources["empty-feed"]["fetched"] and sources["empty-feed"]["items"] == 0
    assert "empty document" in sources["empty-body"]["failures"][0]["reason"]

    holes = sources["holes"]
    reasons = [f["reason"] for f in holes["failures"]]
    assert "missing field: link and guid" in reasons
    assert "missing field: title and body" in reasons
    assert any(r.startswith("duplicate guid") for r in reasons)
    repairs = {r["post"]: r["repair"] for r in holes["repairs"]}
    untitled = next(p for p, r in repairs.items() if r.startswith("missing title"))
    assert frontmatter.loads(result.posts()[untitled])["title"] == "没有标题的文章，正文在这里。"
    assert "<div>   \n只有标题  \n</div>" in result.posts()["坏/样例/源/只有标题.md"]

    dates = {frontmatter.loads(t)["title"]: frontmatter.loads(t)["date"] for t in result.posts().values()}
    assert dates["ISO 日期"] == "Tue, 22 Jun 2021 02:54:49 GMT"
    assert dates["中文日期"] == "Tue, 22 Jun 2021 00:00:00 GMT"
    assert dates["毫秒"] == "Tue, 22 Jun 2021 10:54:49 GMT"
    assert not dates["未来"].endswith("2100 10:54:49 GMT")
    assert any("date in the future" in r for r in repairs.values())
    assert any("unreadable date" in r for r in repairs.values())


def test_bad_list_api_answers_and_pages(server, crawl):
    base = server.base_url
    server.add("/content/outList?cid=1", "this is not JSON", content_type="application/json")
    server.add("/content/outList?cid=2", json.dumps({"data": {"items": []}}), content_type="application/json")
    entries = {"code": 0, "data": {"data": [
        {"title": "缺少链接"},
        "not an object",
        {"title": "文件链接", "url": "file:///etc/passwd"},
        {"title": "字符串时间", "url": "{BASE}/detail/s.html", "show_time": "1624359289"},
        {"url": "{BASE}/detail/t.html", "show_time": 1624359289},
        {"title": "没有正文", "url": "{BASE}/detail/n.html", "show_time": 1624359289},
        {"title": "懒加载与脚本", "url": "{BASE}/detail/l.html", "show_time": "2021-06-22 10:54:49"},
    ]}}
    server.add("/content/outList?cid=3", json.dumps(entries, ensure_ascii=False), content_type="application/json")
    server.add("/detail/s.html", article_page("<p>s</p>"))
    server.add("/detail/t.html", article_page("<p>t</p>"))
    server.add("/detail/n.html", "<html><body><div class='article'>no content element</div></body></html>")
    server.add("/detail/l.html", article_page(
        '<p onclick="track()">正文<a href="javascript:alert(1)">链接</a></p>'
        '<script>document.write("x")</script><style>p{color:red}</style>'
        '<img data-original="/img/a.jpg" src="data:image/gif;base64,R0lGOD">'
        '<img data-actualsrc="http://img.test/b.jpg">'
        '<img srcset="http://img.test/c.jpg 1x, http://img.test/c2.jpg 2x">'
        '<img src="http://tracker.test/p.gif" width="1" height="1">'))
    config = "".join(source(f"list{n}", f"{base}/content/outList?cid={n}", "qutoutiao") for n in (1, 2, 3))
    result = crawl(config)
    assert result.returncode == 1
    sources = by_name(result.data)
    assert "not a list API answer" in sources["list1"]["failures"][0]["reason"]
    assert "not a list API answer" in sources["list2"]["failures"][0]["reason"]
    reasons = [f["reason"] for f in sources["list3"]["failures"]]
    assert "missing field: url" in reasons and "malformed entry: not an object" in reasons
    assert any(r.startswith("refused URL 'file:///etc/passwd'") for r in reasons)
    assert "missing field: title" in reasons and "no .content element" in reasons
    assert not any("/etc/passwd" in p for p in server.paths())
    posts = result.posts()
    assert frontmatter.loads(posts["坏/样例/源/字符串时间.md"])["date"] == "Tue, 22 Jun 2021 10:54:49 GMT"
    lazy = posts["坏/样例/源/懒加载与脚本.md"]
    assert "<script" not in lazy and "onclick" not in lazy and "javascript:" not in lazy
    assert "tracker.test" not in lazy
    assert "<style>p&#123;color:red&#125;</style>" in lazy  # styles are not code: kept
    assert f'src="{base}/img/a.jpg"' in lazy and 'src="http://img.test/b.jpg"' in lazy
    assert 'src="http://img.test/c.jpg"' in lazy
    repairs = [r["repair"] for r in sources["list3"]["repairs"]]
    assert any("<script>" in r and "onclick handler" in r and "tracking pixel" in r for r in repairs)


def test_sanitising_off_keeps_the_originals_behaviour(server, crawl):
    body = '<p onclick="x()">a</p><script>var a = 1;</script><a href="javascript:void(0)">b</a>'
    server.add("/feed.xml", feed_xml(feed_item(1, "原样", body)), content_type=RSS)
    kept = crawl("[settings]\nSANITIZE_HTML = false\n\n" + source("f", f"{server.base_url}/feed.xml"))
    assert body + "  \n</div>" in next(iter(kept.posts().values()))


def test_clean_bodies_pass_sanitising_byte_for_byte(server, crawl, tmp_path):
    body = ('<p>正文 &amp; “引号” <a href="https://example.test/a?b=1&amp;c=2">链接</a></p>\n'
            '<p><img src="https://img.test/x.jpg" alt="x" referrerpolicy="no-referrer"></p><pre>if (a &lt; b) {}</pre>')
    server.add("/feed.xml", feed_xml(feed_item(1, "干净", body)), content_type=RSS)
    on = crawl(source("f", f"{server.base_url}/feed.xml"), data=tmp_path / "on")
    off = crawl("[settings]\nSANITIZE_HTML = false\n\n" + source("f", f"{server.base_url}/feed.xml"), data=tmp_path / "off")
    assert on.posts() == off.posts()
    assert report(on.data)["sources"][0]["repairs"] == []


def test_nothing_breaks_out_of_the_front_matter_or_into_templates(server, crawl):
    evil_titles = ["'; rm -rf /", "a\n---\nlayout: evil\n---\n", "key: value # comment", "&anchor *alias",
                   "!!python/object/apply:os.system ['id']", "{{ site.secret }}", "{% raw %}x{% endraw %}"]
    items = "".join(feed_item(n, t.replace("]]>", ""), "<p>{{ page.title }}{% include x %}</p>") for n, t in enumerate(evil_titles))
    server.add("/feed.xml", feed_xml(items), content_type=RSS)
    config = ('[settings]\nCLEAN_TITLES = false\n\n[[sources]]\nname = "f"\nspider = "feed"\n'
              f'url = "{server.base_url}/feed.xml"\ncategories = ["../..", "a: b\\n---", "!!python/object:x"]\n'
              'author = "\\"quoted\\" \'both\' #x"\n')
    result = crawl(config)
    assert result.returncode == 0, result.stderr
    posts = result.posts()
    assert len(posts) == len(evil_titles)
    for rel, text in posts.items():
        assert not rel.startswith("..") and "/../" not in rel
        meta = frontmatter.loads(text).metadata
        assert list(meta) == ["title", "categories", "headimg", "author", "comments", "date", "thumbnail"]
        assert meta["categories"] == ["../..", "a: b\n---", "!!python/object:x"]
        assert meta["author"] == "\"quoted\" 'both' #x"
        assert "{{" not in text and "{%" not in text and "}}" not in text
    titles = sorted(frontmatter.loads(t)["title"] for t in posts.values())
    assert titles == sorted(t.strip().replace("{", "&#123;").replace("}", "&#125;") for t in evil_titles)
    for path in (result.data / "posts").rglob("*"):
        assert path.resolve().is_relative_to((result.data / "posts").resolve())


def test_only_http_urls_are_fetched(server, crawl):
    body = ('<p><img src="file:///etc/passwd"><img src="ftp://ftp.test/x.jpg">'
            '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></p>')
    server.add("/feed.xml", feed_xml(
        feed_item(1, "怪链接", body).replace("<link>{BASE}/p/1</link>", "<link>file:///etc/hostname</link>")),
        content_type=RSS)
    result = crawl("[settings]\nIMAGE_LINKS = \"local\"\n\n" + source("f", f"{server.base_url}/feed.xml"), images=True)
    assert result.returncode == 0
    sources = by_name(result.data)
    refused = {f["url"].split(":", 1)[0] for f in sources["f"]["image_failures"]}
    assert refused == {"file", "ftp"}
    assert any("refused link 'file:///etc/hostname'" in r["repair"] for r in sources["f"]["repairs"])
    assert not (result.data / "images").exists() or not list((result.data / "images").rglob("*.*"))


def test_responses_are_bounded(server, crawl):
    base = server.base_url
    bomb = gzip.compress(feed_xml(feed_item(1, "炸弹", "<p>" + "0" * 5_000_000 + "</p>")).encode())
    server.add("/bomb.xml", bomb, content_type=RSS, headers={"Content-Encoding": "gzip"})
    server.add("/big.xml", feed_xml(feed_item(1, "太大", "<p>" + "x" * 3_000_000 + "</p>")), content_type=RSS)
    server.add("/loop-a.xml", "", status=302, headers={"Location": f"{base}/loop-b.xml"})
    server.add("/loop-b.xml", "", status=302, headers={"Location": f"{base}/loop-a.xml"})
    server.add("/ok.xml", feed_xml(feed_item(2, "正常", "<p>ok</p>")), content_type=RSS)
    config = ("[settings]\nDOWNLOAD_MAXSIZE = 1000000\n\n" + source("bomb", f"{base}/bomb.xml")
              + source("big", f"{base}/big.xml") + source("loop", f"{base}/loop-a.xml") + source("ok", f"{base}/ok.xml"))
    result = crawl(config)
    assert result.returncode == 1
    sources = by_name(result.data)
    assert [s["fetched"] for s in sources.values()] == [False, False, False, True]
    assert len(bomb) < 1_000_000  # the compressed bomb fits; only its inflated size is refused
    assert server.paths().count("/loop-a.xml") <= 4
    assert list(result.posts()) == ["坏/样例/源/正常.md"]


def test_failing_servers_retry_then_report_and_the_next_run_picks_up(server, crawl):
    base = server.base_url
    items = "".join(feed_item(n, f"文{n}", f"<p>{n}</p>") for n in range(3))
    for name in ("flaky500", "reset", "half", "down"):
        server.add(f"/{name}.xml", feed_xml(items.replace("/p/", f"/{name}/")), content_type=RSS)
    server.fail("/flaky500.xml", "500", "500")       # two failures, then an answer: retried
    server.fail("/reset.xml", "reset")
    server.fail("/half.xml", "half")
    server.fail("/down.xml", "500", "500", "500")   # more failures than retries
    config = "".join(source(name, f"{base}/{name}.xml") for name in ("flaky500", "reset", "half", "down"))
    first = crawl(config)
    assert first.returncode == 1
    sources = by_name(first.data)
    assert [sources[n]["fetched"] for n in ("flaky500", "reset", "half", "down")] == [True, True, True, False]
    assert sources["down"]["failures"][0]["what"] == "source"
    assert server.paths().count("/flaky500.xml") == 3 and server.paths().count("/down.xml") == 3
    assert len(first.posts()) == 9
    second = crawl(config)  # the server has recovered
    assert second.returncode == 0
    assert len(second.posts()) == 12
    assert len(report(second.data)["created"]) == 3 and report(second.data)["updated"] == []


def test_disk_full_fails_clearly_and_leaves_no_broken_file(server, tmp_path, crawl):
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    # room for the feed's copy in the HTTP cache (1.2 MB) and a few of its 60 KB posts, not all
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1600k", "tmpfs", str(mount)], capture_output=True)
    if mounted.returncode != 0:
        import pytest

        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        items = "".join(feed_item(n, f"大文{n}", "<p>" + "字" * 20000 + f"{n}</p>") for n in range(20))
        server.add("/feed.xml", feed_xml(items), content_type=RSS)
        result = crawl(source("f", f"{server.base_url}/feed.xml"), data=mount / "data")
        assert result.returncode == 1
        assert "No space left on device" in result.stdout + result.stderr
        written = list((mount / "data" / "posts").rglob("*.md"))
        assert 0 < len(written) < 20
        for post in written:  # every file there is a whole post
            text = post.read_text(encoding="utf-8")
            assert text.endswith("</p>  \n</div>\n            ")
            assert frontmatter.loads(text)["title"].startswith("大文")
        assert not list((mount / "data").rglob("*.part"))
    finally:
        subprocess.run(["umount", str(mount)], check=True)
