"""The generated aggregator the benchmark crawls: N articles, both shapes, 2 images each.

Half the articles come through Qutoutiao-style list APIs (20 entries a page, one article page
each), half through RSS feeds of 100 items. Every article shows two images: one of its own URL
and one shared with other articles; the bytes come from a small pool of generated JPEG, PNG and
WebP pictures of 20–200 KB, so the pipeline decodes realistic images without the benchmark
spending minutes drawing them.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

LIST_PAGE_SIZE = 20
FEED_SIZE = 100
LIST_SOURCES = 5
SHARED_IMAGES = 50
POOL = 24
HANZI = [chr(code) for code in range(0x4E00, 0x4E00 + 3000)]
HANZI_WEIGHTS = [1 / rank for rank in range(1, len(HANZI) + 1)]
"""Characters drawn as a language uses them (a few very often, most rarely: Zipf's law), so
unrelated stories share common 3-grams as real ones do."""


def story(n: int, chars: int) -> str:
    """A paragraph of ``chars`` characters of its own, as real stories are (the near-duplicate
    step rightly merges articles made of one repeated paragraph): drawn by a generator seeded
    with the article's number, so every run serves the same site."""
    return "".join(random.Random(n).choices(HANZI, weights=HANZI_WEIGHTS, k=chars)) + "。"


def rss_item(title: str, body: str, link: str, n: int) -> str:
    """One RSS item of a generated feed: CDATA title and body, the link as guid, a fixed date."""
    return (f"<item><title><![CDATA[{title}]]></title><description><![CDATA[{body}]]></description>"
            f"<pubDate>Tue, 14 Nov 2023 22:13:{n % 60:02d} GMT</pubDate><guid>{link}</guid><link>{link}</link></item>")


def rss_document(channel: str, base: str, items: list[str]) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{channel}</title><link>{base}/</link>{''.join(items)}</channel></rss>").encode("utf-8")


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str


def image_pool(cache: Path) -> list[tuple[bytes, str]]:
    """Pictures of 20–200 KB (JPEG, PNG, WebP), drawn once and kept in ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    pool = []
    for index in range(POOL):
        fmt, ctype, ext = [("JPEG", "image/jpeg", "jpg"), ("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp")][index % 3]
        path = cache / f"pool-{index}.{ext}"
        if not path.exists():
            path.write_bytes(_picture(index, fmt))
        pool.append((path.read_bytes(), ctype))
    return pool


def _picture(seed: int, fmt: str) -> bytes:
    rng = random.Random(seed)
    width, height = rng.choice([(640, 420), (800, 533), (960, 640), (720, 480)])
    if fmt == "PNG":
        width, height = width // 2, height // 2  # PNG is lossless: smaller pictures, similar bytes
    image = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = rng.randrange(width), rng.randrange(height)
        draw.ellipse((x, y, x + rng.randrange(20, 160), y + rng.randrange(20, 120)),
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    image = Image.blend(image, noise, 0.25).filter(ImageFilter.SMOOTH)
    out = BytesIO()
    image.save(out, fmt, **({"quality": 88} if fmt != "PNG" else {}))
    return out.getvalue()


class BenchSite:
    """Every URL of the site, answered from memory."""

    def __init__(self, n: int, base: str, cache: Path) -> None:
        self.n = n
        self.base = base
        self.pool = image_pool(cache)
        self.pages: dict[str, Page] = {}
        self.list_urls: list[str] = []
        self.feed_urls: list[str] = []
        self.article_urls: list[str] = []
        self._build()

    def _image(self, name: str) -> str:
        return f"{self.base}/img/{name}"

    def _images_of(self, n: int) -> tuple[str, str]:
        return self._image(f"own-{n}"), self._image(f"shared-{n % SHARED_IMAGES}")

    def _text(self, n: int) -> str:
        return "".join(f"<p>{story(n * 6 + k, 46 * (1 + (n + k) % 3))}{n}-{k}</p>" for k in range(6))

    def _build(self) -> None:
        listed = self.n // 2
        per_source = max(1, listed // LIST_SOURCES)
        for source in range(LIST_SOURCES):
            ids = range(source * per_source, min(listed, (source + 1) * per_source))
            pages = [list(ids)[i : i + LIST_PAGE_SIZE] for i in range(0, len(ids), LIST_PAGE_SIZE)]
            for number, chunk in enumerate(pages, start=1):
                path = f"/content/outList?cid={source + 1}&tn=1&page={number}&limit={LIST_PAGE_SIZE}"
                entries = [{
                    "id": f"b{n}", "title": f"基准文章 {n}", "url": f"{self.base}/detail/b{n}.html?content_id=b{n}",
                    "detail_url": f"{self.base}/detail/b{n}.html", "show_time": 1700000000 + n, "nickname": "基准",
                    "cover": [self._images_of(n)[0]],
                } for n in chunk]
                self.pages[path] = Page(json.dumps({"code": 0, "data": {"data": entries}}, ensure_ascii=False).encode(),
                                        "application/json; charset=utf-8")
                if number == 1:
                    self.list_urls.append(self.base + path)
            for n in ids:
                own, shared = self._images_of(n)
                content = (self._text(n) + f'<p><img data-src="{own}" data-size="960,640" src="{own}"></p>'
                           f'<p><img data-src="{shared}" src="{shared}"></p>')
                page = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>基准文章 {n}</title></head><body>'
                        f'<div class="article"><h1>基准文章 {n}</h1><div class="content">{content}</div></div></body></html>')
                self.pages[f"/detail/b{n}.html"] = Page(page.encode(), "text/html; charset=utf-8")
                self.article_urls.append(f"{self.base}/detail/b{n}.html?content_id=b{n}")
        self.list_pages_per_source = -(-per_source // LIST_PAGE_SIZE)
        fed = list(range(listed, self.n))
        for number, start in enumerate(range(0, len(fed), FEED_SIZE)):
            items = []
            for n in fed[start : start + FEED_SIZE]:
                own, shared = self._images_of(n)
                body = self._text(n) + f'<p><img src="{own}" referrerpolicy="no-referrer"></p><p><img src="{shared}" referrerpolicy="no-referrer"></p>'
                items.append(rss_item(f"订阅文章 {n}", body, f"{self.base}/f/{n}", n))
            path = f"/feed/{number}.xml"
            self.pages[path] = Page(rss_document("基准", self.base, items), "application/rss+xml; charset=utf-8")
            self.feed_urls.append(self.base + path)

    def image(self, name: str) -> Page | None:
        kind, _, number = name.partition("-")
        if kind not in ("own", "shared") or not number.isdigit():
            return None
        data, ctype = self.pool[int(hashlib.md5(name.encode()).hexdigest(), 16) % len(self.pool)]
        return Page(data, ctype)

    def page_urls(self) -> list[str]:
        """Every list page, feed and article page: what a posts run requests."""
        urls = [self.base + p for p in self.pages if p.startswith(("/content/", "/feed/"))]
        return urls + self.article_urls

    def image_urls(self) -> list[str]:
        """Every image the articles show, once: what an images run requests besides its pages."""
        return list(dict.fromkeys(url for n in range(self.n) for url in self._images_of(n)))

    def sources_toml(self) -> str:
        tables = ['[settings]\nIMAGE_LINKS = "local"\n']
        for url in self.list_urls:
            cid = url.split("cid=")[1].split("&")[0]
            tables.append(f'[[sources]]\nname = "list-{cid}"\nspider = "qutoutiao"\nurl = "{url}"\n'
                          f'categories = ["基准", "列表", "{cid}"]\npages = {self.list_pages_per_source}\n')
        for number, url in enumerate(self.feed_urls):
            tables.append(f'[[sources]]\nname = "feed-{number}"\nspider = "feed"\nurl = "{url}"\n'
                          f'categories = ["基准", "订阅", "{number}"]\n')
        return "\n".join(tables)


class SourcesSite:
    """``sources`` feeds of ``FEEDS_ENTRIES`` entries each, all on one host: the shape of a user's
    RSSHub routes. Entries carry no images: the scenario measures sources, not the mirror."""

    entries = 10

    def __init__(self, sources: int, base: str) -> None:
        self.base = base
        self.sources = sources
        self.pages: dict[str, Page] = {}
        for number in range(sources):
            items = []
            for k in range(self.entries):
                n = number * self.entries + k
                body = "".join(f"<p>{story(n * 3 + p, 46)}{n}-{p}</p>" for p in range(3))
                items.append(rss_item(f"路由文章 {n}", body, f"{base}/r/{n}", n))
            self.pages[f"/route/{number}.xml"] = Page(rss_document("路由", base, items), "application/rss+xml; charset=utf-8")

    def image(self, name: str) -> None:
        return None

    def page_urls(self) -> list[str]:
        return [self.base + path for path in self.pages]

    def sources_toml(self) -> str:
        tables = []
        for number in range(self.sources):
            tables.append(f'[[sources]]\nname = "route-{number}"\nspider = "feed"\nurl = "{self.base}/route/{number}.xml"\n'
                          f'categories = ["路由", "站点{number % 50}", "频道{number}"]\n')
        return "\n".join(tables)
