"""The demo aggregator serves what the spiders and ``make demo`` rely on."""

from __future__ import annotations

import io
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from lxml import etree, html
from PIL import Image

from crawler.config import SPIDER_NAMES, load_config
from crawler.demo import content, images
from crawler.demo.config import write_sources
from crawler.demo.server import start

ATOM = "{http://www.w3.org/2005/Atom}"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo():
    server = start()
    yield server
    server.stop()


def _opener() -> urllib.request.OpenerDirector:
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=unverified)
    )


OPENER = _opener()


def fetch(url: str, headers: dict | None = None, method: str = "GET"):
    """(status, headers, body) for any answer, errors included."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with OPENER.open(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def by_slug(slug: str) -> content.Article:
    return next(a for a in content.ARTICLES if a.slug == slug)


def using(path: str) -> list[content.Article]:
    return [a for a in content.ARTICLES if any(p.path == path for p in a.pictures)]


# --- content ----------------------------------------------------------------------------


def test_content_is_large_and_varied_enough():
    assert len(content.ARTICLES) >= 33
    assert len({a.cid for a in content.ARTICLES}) >= 3
    assert len([a for a in content.ARTICLES if not a.pictures]) == 1
    ids = [a.id for a in content.ARTICLES]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)
    for article in content.ARTICLES:
        assert 2 <= len(article.paragraphs) <= 5
        assert content.category(article.cid) is not None
        assert all(images.size_of(p.name) for p in article.pictures)


def test_content_covers_every_awkward_case():
    titles = [a.title for a in content.ARTICLES]
    for needle in ("'", "“", ":", "#", "3.5", "{"):
        assert any(needle in t for t in titles), needle
    for path in ("/img/missing.jpg", "/img/fake.jpg", "/img/truncated.jpg", "/img/anim.gif",
                 "/img/badge.png", "/img/map.webp"):
        assert using(path), path
    routes = {p.route for a in content.ARTICLES for p in a.pictures}
    assert {"protected", "no-referer"} <= routes
    assert any(p.secure for a in content.ARTICLES for p in a.pictures)
    assert any(a.gif_placeholder for a in content.ARTICLES)
    paths = [p.path for a in content.ARTICLES for p in set(a.pictures)]
    assert len(paths) > len(set(paths))  # some image is shared
    for cid, shape in content.DEMO_SHAPE.items():
        if shape == "list":
            assert len(content.articles_in(cid)) > 10  # a second page exists


def test_images_are_deterministic():
    spec = images.IMAGES["lantern.jpg"]
    assert images._make_jpeg("lantern.jpg", spec) == images._make_jpeg("lantern.jpg", spec)
    assert images._make_gif("anim.gif", images.IMAGES["anim.gif"]) == images.image_bytes("anim.gif")


# --- list API and article pages -----------------------------------------------------------


def test_list_api_shape_and_paging(demo):
    url = f"{demo.base_url}/content/outList?cid=1&tn=1&page=1&limit=10"
    status, headers, body = fetch(url)
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    answer = json.loads(body)
    assert answer["code"] == 0 and answer["message"] == ""
    first = answer["data"]["data"]
    assert len(first) == 10
    item = first[0]
    assert set(item) == {"id", "title", "url", "detail_url", "show_time", "publish_time",
                         "source_name", "nickname", "introduction", "cover"}
    assert item["detail_url"] == f"{demo.base_url}/detail/{item['id']}.html"
    assert item["url"] == f"{item['detail_url']}?content_id={item['id']}"
    assert isinstance(item["show_time"], int) and item["publish_time"] == str(item["show_time"] * 1000)
    assert answer["data"]["max_time"] == item["show_time"] * 1000

    second = json.loads(fetch(url.replace("page=1", "page=2"))[2])["data"]["data"]
    listed = [i["id"] for i in first + second]
    assert listed == [a.id for a in content.articles_in(1)]
    times = [i["show_time"] for i in first + second]
    assert times == sorted(times, reverse=True)


def test_list_api_unknown_category_is_empty(demo):
    answer = json.loads(fetch(f"{demo.base_url}/content/outList?cid=99&tn=1&page=1")[2])
    assert answer["code"] == 0 and answer["data"]["data"] == []


def test_list_api_cover_is_empty_without_images(demo):
    bare = next(a for a in content.ARTICLES if not a.pictures)
    items = json.loads(fetch(f"{demo.base_url}/content/outList?cid={bare.cid}&limit=50")[2])["data"]["data"]
    assert next(i for i in items if i["id"] == bare.id)["cover"] == []


def test_article_page_has_lazy_images(demo):
    article = by_slug("tech-night-school")
    status, headers, body = fetch(f"{demo.base_url}/detail/{article.id}.html?content_id={article.id}")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert body.startswith(b'<!DOCTYPE html><html lang="zh-CN">')
    page = html.fromstring(body)
    assert page.findtext(".//h1[@class='title']") == article.title
    assert page.findtext(".//span[@class='source']") == article.author
    box = page.find_class("content")[0]
    assert [p.text for p in box if p.text] == list(article.paragraphs)
    pictures = box.findall(".//img")
    assert [i.get("data-src") for i in pictures] == [f"{demo.base_url}/img/{p.name}" for p in article.pictures]
    assert all(i.get("src") == i.get("data-src") for i in pictures)
    assert pictures[0].get("data-size") == "800,533"
    assert list(pictures[0].attrib) == ["data-src", "data-size", "src"]


def test_article_page_placeholder_and_tls_images(demo):
    stub = by_slug("tech-bus-app")
    img = html.fromstring(fetch(f"{demo.base_url}/detail/{stub.id}.html")[2]).find(".//img")
    assert img.get("src").startswith("data:image/gif;base64,")
    assert img.get("data-src") == f"{demo.base_url}/img/tram.jpg"

    drone = by_slug("tech-drone-medicine")
    img = html.fromstring(fetch(f"{demo.base_url}/detail/{drone.id}.html")[2]).find(".//img")
    assert img.get("data-src") == f"{demo.tls_base_url}/img/skyline.jpg"


def test_unknown_article_is_404(demo):
    assert fetch(f"{demo.base_url}/detail/0000000000000000.html")[0] == 404


# --- feeds --------------------------------------------------------------------------------


@pytest.mark.parametrize("category", content.CATEGORIES, ids=lambda c: c.slug)
def test_rss_feed_per_category(demo, category):
    status, headers, body = fetch(f"{demo.base_url}/rss/{category.slug}.xml")
    assert status == 200 and headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    channel = etree.fromstring(body).find("channel")
    items = channel.findall("item")
    expected = content.articles_in(category.cid)
    assert [i.findtext("title") for i in items] == [a.title for a in expected]
    first, article = items[0], expected[0]
    assert first.findtext("guid") == f"{demo.base_url}/detail/{article.id}.html"
    assert first.find("guid").get("isPermaLink") == "false"
    assert first.findtext("link") == f"{demo.base_url}/detail/{article.id}.html?content_id={article.id}"
    assert first.findtext("pubDate").endswith(" GMT")
    assert 'referrerpolicy="no-referrer"' in first.findtext("description")


def test_summary_feed_html_list_and_stories_api(demo):
    community, culture, health = (content.category_by_slug(s) for s in ("community", "culture", "health"))
    status, _, body = fetch(f"{demo.base_url}/summary/community.xml")
    first = content.articles_in(community.cid)[0]
    description = etree.fromstring(body).find("channel/item").findtext("description")
    assert status == 200 and description == f"<p>{first.paragraphs[0]}</p>"

    status, _, body = fetch(f"{demo.base_url}/news/culture/")
    assert status == 200 and "推广" in body.decode() and "/news/culture/page/2.html" in body.decode()
    status, _, body = fetch(f"{demo.base_url}/news/culture/page/2.html")
    assert status == 200 and 'class="next"' not in body.decode()
    assert fetch(f"{demo.base_url}/news/culture/page/3.html")[0] == 404

    status, headers, body = fetch(f"{demo.base_url}/api/v2/health.json")
    stories = json.loads(body)["result"]["stories"]
    assert status == 200 and [s["headline"] for s in stories] == [a.title for a in content.articles_in(health.cid)]
    assert all("html" not in s for s in stories)


def test_atom_feed(demo):
    status, headers, body = fetch(f"{demo.base_url}/atom/travel.xml")
    assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
    assert b"CDATA" not in body
    feed = etree.fromstring(body)
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == len(content.articles_in(4))
    entry = entries[0]
    assert entry.findtext(f"{ATOM}published").endswith("+08:00")
    assert entry.find(f"{ATOM}content").get("type") == "html"
    assert entry.findtext(f"{ATOM}content").startswith("<p>")
    assert entry.find(f"{ATOM}link").get("href").endswith("?content_id=" + content.articles_in(4)[0].id)


def test_gb18030_feed_really_is_gb18030(demo):
    status, headers, body = fetch(f"{demo.base_url}/rss-gb/sports.xml")
    assert headers["Content-Type"] == "application/rss+xml; charset=GB18030"
    assert body.startswith(b'<?xml version="1.0" encoding="GB18030"?>')
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert content.articles_in(5)[0].title in body.decode("gb18030")
    items = etree.fromstring(body).findall("channel/item")
    assert [i.findtext("title") for i in items] == [a.title for a in content.articles_in(5)]


def test_unknown_feed_is_404(demo):
    assert fetch(f"{demo.base_url}/rss/nothing.xml")[0] == 404


# --- images -------------------------------------------------------------------------------


def open_image(body: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(body))
    picture.load()
    return picture


def test_images_decode(demo):
    for name, spec in images.IMAGES.items():
        if name in ("fake.jpg", "truncated.jpg"):
            continue
        status, headers, body = fetch(f"{demo.base_url}/img/{name}")
        assert status == 200 and headers["Content-Type"] == spec.content_type, name
        assert open_image(body).size == (spec.width, spec.height), name
    assert open_image(fetch(f"{demo.base_url}/img/anim.gif")[2]).n_frames > 1
    badge = open_image(fetch(f"{demo.base_url}/img/badge.png")[2])
    assert badge.mode == "RGBA" and badge.getchannel("A").getextrema()[0] == 0
    assert open_image(fetch(f"{demo.base_url}/img/map.webp")[2]).format == "WEBP"


def test_broken_images(demo):
    assert fetch(f"{demo.base_url}/img/missing.jpg")[0] == 404
    status, headers, body = fetch(f"{demo.base_url}/img/fake.jpg")
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and body.startswith(b"<!DOCTYPE html>")
    with pytest.raises(Image.UnidentifiedImageError):
        Image.open(io.BytesIO(body))
    status, headers, body = fetch(f"{demo.base_url}/img/truncated.jpg")
    assert status == 200 and body.startswith(b"\xff\xd8")
    with pytest.raises(OSError):
        open_image(body)


def test_hotlink_protection(demo):
    url = f"{demo.base_url}/protected/library.jpg"
    page = f"{demo.base_url}/detail/{by_slug('tech-book-robot').id}.html"
    assert fetch(url)[0] == 403
    assert fetch(url, {"Referer": "https://elsewhere.example/detail/x.html"})[0] == 403
    assert fetch(url, {"Referer": page})[0] == 200
    logged = demo.request_log.matching("/protected/library.jpg")
    assert logged[-1][2]["Referer"] == page


def test_no_referer_cdn(demo):
    url = f"{demo.base_url}/no-referer/market.jpg"
    assert fetch(url)[0] == 200
    assert fetch(url, {"Referer": f"{demo.base_url}/detail/x.html"})[0] == 403


def test_proxy_serves_origin_bytes(demo):
    origin = f"{demo.base_url}/img/harbor.jpg"
    expected = fetch(origin)[2]
    status, headers, body = fetch(f"{demo.base_url}/proxy/?{origin}")
    assert status == 200 and body == expected and headers["Content-Type"] == "image/jpeg"
    encoded = origin.replace(":", "%3A").replace("/", "%2F")
    assert fetch(f"{demo.base_url}/proxy/?{encoded}")[2] == expected
    assert fetch(f"{demo.base_url}/proxy/?https://elsewhere.example/img/harbor.jpg")[0] == 404


def test_tls_listener(demo):
    status, headers, body = fetch(f"{demo.tls_base_url}/img/skyline.jpg")
    assert status == 200 and open_image(body).size == (1200, 675)
    assert demo.request_log.matching("/img/skyline.jpg")


# --- HTTP caching -------------------------------------------------------------------------


def test_conditional_requests(demo):
    url = f"{demo.base_url}/img/teahouse.jpg"
    status, headers, body = fetch(url)
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert int(headers["Content-Length"]) == len(body)
    assert modified.endswith("2024 00:00:00 GMT")
    assert fetch(url, {"If-None-Match": etag})[0] == 304
    assert fetch(url, {"If-None-Match": '"other"'})[0] == 200
    assert fetch(url, {"If-Modified-Since": modified})[0] == 304
    assert fetch(url, {"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"})[0] == 200
    assert fetch(url)[1]["ETag"] == etag


def test_head(demo):
    status, headers, body = fetch(f"{demo.base_url}/img/teahouse.jpg", method="HEAD")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) == len(images.image_bytes("teahouse.jpg"))


def test_index_links_every_feed(demo):
    status, headers, body = fetch(f"{demo.base_url}/")
    assert status == 200
    for category in content.CATEGORIES:
        assert f"/rss/{category.slug}.xml".encode() in body


# --- sources file and command line --------------------------------------------------------


def test_write_sources(tmp_path, demo):
    path = write_sources(tmp_path / "demo.toml", demo.base_url + "/")
    assert path.read_text(encoding="utf-8").startswith("[settings]\n")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["settings"]["IMAGE_PROXY"] == f"{demo.base_url}/proxy/?"
    assert {s["spider"] for s in data["sources"]} <= set(SPIDER_NAMES)
    assert [s.get("pages", 1) for s in data["sources"]].count(2) == 1
    for source in load_config(path).sources:
        assert source.categories[0] == "演示" and len(source.categories) == 3
        assert fetch(source.url)[0] == 200


def test_write_sources_escapes_strings(tmp_path):
    odd = 'http://127.0.0.1:1/a"b\\c\td'
    data = tomllib.loads(write_sources(tmp_path / "odd.toml", odd).read_text(encoding="utf-8"))
    assert data["settings"]["IMAGE_PROXY"] == odd + "/proxy/?"


def test_command_line_writes_port_file(tmp_path):
    port_file = tmp_path / "ports"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.demo.server", "--port-file", str(port_file)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        port, tls_port = map(int, port_file.read_text().split())
        assert fetch(f"http://127.0.0.1:{port}/")[0] == 200
        assert fetch(f"https://127.0.0.1:{tls_port}/")[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert stderr == b""
    assert not port_file.exists()
