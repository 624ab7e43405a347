"""The image mirror: FilesPipeline + Pillow, on loopback."""

from __future__ import annotations

import json
import re

import frontmatter
from PIL import Image

from tests import images
from tests.conftest import run_crawler

PROXY_PATH = "/proxy/?"


def feed(items: list[tuple[str, str]], prefix: str = "a") -> str:
    body = "".join(
        f"<item><title><![CDATA[{title}]]></title><description><![CDATA[{html}]]></description>"
        f"<pubDate>Tue, 22 Jun 2021 10:54:49 GMT</pubDate><guid>{{BASE}}/{prefix}/{n}</guid>"
        f"<link>{{BASE}}/{prefix}/{n}</link></item>"
        for n, (title, html) in enumerate(items)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'


def img(src: str) -> str:
    return f'<p><img src="{src}" referrerpolicy="no-referrer"></p>'


def config(base: str, **settings) -> str:
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in {"IMAGE_PROXY": base + PROXY_PATH, **settings}.items())
    return (f"[settings]\n{lines}\n[[sources]]\nname = \"f\"\nspider = \"feed\"\nurl = \"{base}/feed.xml\"\n"
            'categories = ["图", "样例站", "频道"]\n')


def serve_images(server):
    server.add("/i/photo.jpg", images.picture(), content_type="image/jpeg")
    server.add("/i/alpha.png", images.transparent_png(), content_type="image/png")
    server.add("/i/anim.gif", images.animated_gif(), content_type="image/gif")
    server.add("/i/pic.webp", images.picture(fmt="WEBP"), content_type="image/webp")
    server.add("/i/old.bmp", images.picture(fmt="BMP"), content_type="image/bmp")
    server.add("/i/lying.jpg", images.transparent_png(), content_type="image/jpeg")  # a PNG named .jpg
    server.add("/i/fake.jpg", "<html><body>not an image</body></html>", content_type="image/jpeg")
    server.add("/i/truncated.jpg", images.picture(400, 300)[:600], content_type="image/jpeg")
    server.add("/i/bomb.png", images.pixel_bomb(), content_type="image/png")


def image_paths(server) -> list[str]:
    return [p for p in server.paths() if p.startswith(("/i/", PROXY_PATH))]


def local_refs(post: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', post) + re.findall(r"^(?:headimg|thumbnail): '([^']+)'", post, re.M)


def test_local_links_point_at_checked_copies_and_formats_are_kept(server, crawl):
    serve_images(server)
    base = server.base_url
    server.add("/feed.xml", feed([
        ("动图", img(f"http://127.0.0.1:{base.rsplit(':', 1)[1]}/i/anim.gif") + img(f"{base}/i/alpha.png")),
        ("几种格式", img(f"{base}/i/pic.webp") + img(f"{base}/i/old.bmp") + img(f"{base}/i/lying.jpg")
         + img(f"{base}/i/photo.jpg")),
    ]), content_type="application/rss+xml")
    result = crawl(config(base, IMAGE_LINKS="local"), images=True)
    assert result.returncode == 0, result.stderr
    store = result.data / "images"
    for text in result.posts().values():
        refs = local_refs(text)
        assert refs and all(r.startswith("/images/") for r in refs)
        for ref in refs:
            Image.open(store / ref[len("/images/"):]).load()
        meta = frontmatter.loads(text)
        assert meta["thumbnail"].startswith("/images/thumbs/") and meta["headimg"].startswith("/images/full/")
    stored = {p.suffix: p for p in (store / "full").iterdir()}
    assert sorted(stored) == [".gif", ".jpg", ".png", ".webp"]
    assert stored[".gif"].read_bytes() == images.animated_gif()  # animation kept byte for byte
    with Image.open(stored[".gif"]) as gif:
        assert gif.n_frames == 3
    pngs = [Image.open(p) for p in (store / "full").glob("*.png")]
    assert any(p.mode == "RGBA" for p in pngs)  # transparency kept
    assert len(pngs) == 3  # the PNG, the BMP converted to PNG, and the PNG named .jpg
    assert len(list((store / "full").iterdir())) == 6
    assert not list(store.rglob("*.part"))


def test_remote_links_keep_the_seed_format_and_images_are_still_stored(server, crawl, tmp_path):
    serve_images(server)
    base = server.base_url
    server.add("/feed.xml", feed([("一", img(f"{base}/i/photo.jpg"))]), content_type="application/rss+xml")
    with_images = crawl(config(base), images=True, data=tmp_path / "with")
    without = crawl(config(base), data=tmp_path / "without")
    assert with_images.posts() == without.posts()
    (post,) = with_images.posts().values()
    assert f"headimg: '{base}{PROXY_PATH}{base}/i/photo.jpg'" in post
    assert len(list((with_images.data / "images" / "full").iterdir())) == 1
    assert not (without.data / "images").exists()


def test_each_image_is_fetched_once_across_posts_and_runs(server, crawl):
    serve_images(server)
    base = server.base_url
    shared = img(f"{base}/i/photo.jpg")
    server.add("/feed.xml", feed([(f"第{n}篇", shared + img(f"{base}/i/alpha.png")) for n in range(5)]),
               content_type="application/rss+xml")
    first = crawl(config(base, IMAGE_LINKS="local"), images=True)
    assert first.returncode == 0
    assert sorted(image_paths(server)) == ["/i/alpha.png", "/i/photo.jpg"]
    posts = first.posts()
    second = crawl(config(base, IMAGE_LINKS="local"), images=True)
    assert sorted(image_paths(server)) == ["/i/alpha.png", "/i/photo.jpg"]  # nothing new
    assert second.posts() == posts
    report = json.loads((second.data / "runs" / "latest.json").read_text())
    assert report["sources"][0]["images"] == {"mirrored": 0, "reused": 0, "failed": 0, "bytes": 0}  # feed: 304
    # a changed feed: its posts are rendered again and find their images in the store
    server.add("/feed.xml", feed([(f"第{n}篇", shared + img(f"{base}/i/alpha.png")) for n in range(6)]),
               content_type="application/rss+xml")
    third = crawl(config(base, IMAGE_LINKS="local"), images=True)
    assert sorted(image_paths(server)) == ["/i/alpha.png", "/i/photo.jpg"]
    report = json.loads((third.data / "runs" / "latest.json").read_text())
    assert report["sources"][0]["images"] == {"mirrored": 0, "reused": 2, "failed": 0, "bytes": 0}
    assert report["created"] == ["图/样例站/频道/第5篇.md"] and report["updated"] == []


def test_broken_images_never_block_their_posts(server, crawl):
    serve_images(server)
    base = server.base_url
    broken = ["/i/missing.jpg", "/i/fake.jpg", "/i/truncated.jpg", "/i/bomb.png"]
    server.add("/feed.xml", feed([(f"坏图{n}", img(f"{base}{path}")) for n, path in enumerate(broken)]
                                 + [("好图", img(f"{base}/i/photo.jpg"))]), content_type="application/rss+xml")
    result = crawl(config(base, IMAGE_LINKS="local"), images=True)
    assert result.returncode == 0, result.stderr  # every post written
    posts = result.posts()
    assert len(posts) == 5
    for n, path in enumerate(broken):
        assert f'<img src="{base}{PROXY_PATH}{base}{path}"' in posts[f"图/样例站/频道/坏图{n}.md"]
    assert "4 images not mirrored" in result.stdout
    for path, reason in [("missing", "HTTP 404"), ("fake", "not an image"), ("truncated", "broken image"),
                         ("bomb", "decompression bomb")]:
        assert re.search(rf"image not mirrored for '坏图\d' .*{path}\.\w+: {reason}", result.stderr), path
    # each refusal is one line that names the post: no traceback, no second report by FilesPipeline
    assert "Traceback" not in result.stderr and "File (error)" not in result.stderr
    files = list((result.data / "images").rglob("*"))
    assert len([f for f in files if f.is_file()]) == 2  # the good image and its thumbnail only
    listing = run_crawler("images", "--data", str(result.data)).stdout
    assert "mirrored 1" in listing and "failed 4" in listing and "store: 1 images" in listing
    assert "fake.jpg in 图/样例站/频道/坏图1.md: not an image" in listing
    # failed for good: not asked again on the next run
    before = len(image_paths(server))
    crawl(config(base, IMAGE_LINKS="local"), images=True)
    assert len(image_paths(server)) == before


def test_size_limits(server, crawl, tmp_path):
    server.add("/i/big.jpg", images.picture(800, 600), content_type="image/jpeg")
    server.add("/feed.xml", feed([("大图", img(f"{server.base_url}/i/big.jpg"))]), content_type="application/rss+xml")
    for name, setting, reason in [("bytes", {"IMAGES_MAX_BYTES": 2000}, "download failed"),
                                  ("pixels", {"IMAGES_MAX_PIXELS": 100_000}, "more than IMAGES_MAX_PIXELS")]:
        result = crawl(config(server.base_url, **setting), images=True, data=tmp_path / name)
        assert result.returncode == 0 and "1 images not mirrored" in result.stdout
        assert reason in result.stderr
        assert not list((result.data / "images").rglob("*.jpg"))


def test_an_image_shared_by_two_sources_is_fetched_once(server, crawl):
    serve_images(server)
    base = server.base_url
    server.add("/feed.xml", feed([("甲", img(f"{base}/i/photo.jpg"))]), content_type="application/rss+xml")
    server.add("/other.xml", feed([("乙", img(f"{base}/i/photo.jpg"))], prefix="b"), content_type="application/rss+xml")
    two = config(base) + config(base).split("\n\n", 1)[1].replace('"f"', '"g"').replace("/feed.xml", "/other.xml")
    result = crawl(two, images=True)
    assert result.returncode == 0 and len(result.posts()) == 2
    assert image_paths(server) == ["/i/photo.jpg"]


def test_origin_fetch_unwraps_the_proxy_and_sends_the_page_as_referer(server, crawl):
    serve_images(server)
    base = server.base_url
    server.add("/i/hotlink.jpg", images.picture(seed=2), content_type="image/jpeg",
               when=lambda h: h.get("Referer", "").startswith(f"{base}/a/"))
    server.add("/i/no-referer.jpg", images.picture(seed=3), content_type="image/jpeg",
               when=lambda h: "Referer" not in h)
    server.add("/feed.xml", feed([("防盗链", img(f"{base}/i/hotlink.jpg") + img(f"{base}/i/no-referer.jpg"))]),
               content_type="application/rss+xml")
    result = crawl(config(base, IMAGE_LINKS="local"), images=True)
    assert result.returncode == 0
    assert [h.get("Referer") for h in server.headers_of("/i/hotlink.jpg")] == [f"{base}/a/0"]
    # refused with the page as Referer, then fetched with none
    assert [h.get("Referer") for h in server.headers_of("/i/no-referer.jpg")] == [f"{base}/a/0", None]
    assert not any(p.startswith(PROXY_PATH) for p in server.paths())
    assert "/images/full/" in next(iter(result.posts().values()))


def test_host_policy_and_proxy_fetch(server, crawl, tmp_path):
    serve_images(server)
    base = server.base_url
    proxied = f"{PROXY_PATH}{base}/i/photo.jpg"
    server.add(proxied, images.picture(), content_type="image/jpeg")
    server.add("/feed.xml", feed([("代理", img(f"{base}/i/photo.jpg"))]), content_type="application/rss+xml")
    crawl(config(base, IMAGE_FETCH="proxy"), images=True, data=tmp_path / "p")
    assert server.paths().count(proxied) == 1 and "/i/photo.jpg" not in server.paths()

    crawl(config(base), images=True, data=tmp_path / "o")  # default: the page as Referer
    assert server.headers_of("/i/photo.jpg")[-1].get("Referer") == f"{base}/a/0"
    text = config(base).replace("[[sources]]", '[settings.IMAGE_HOST_POLICIES."127.0.0.1"]\nreferer = "none"\n'
                                                'user_agent = "mirror-test/1"\n\n[[sources]]')
    crawl(text, images=True, data=tmp_path / "h")
    last = server.headers_of("/i/photo.jpg")[-1]
    assert "Referer" not in last and last.get("User-Agent") == "mirror-test/1"


def test_no_images_fetches_no_image(server, crawl):
    serve_images(server)
    server.add("/feed.xml", feed([("一", img(f"{server.base_url}/i/photo.jpg"))]), content_type="application/rss+xml")
    result = crawl(config(server.base_url, IMAGE_LINKS="local"))
    assert result.returncode == 0
    assert image_paths(server) == []
    assert not (result.data / "images").exists()
    assert f"{server.base_url}/i/photo.jpg" in next(iter(result.posts().values()))
