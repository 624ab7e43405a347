"""The documents the demo aggregator serves: list-API JSON, article pages, RSS and Atom.

Every URL inside a document is absolute and built from the server's own base URLs, the
way real aggregators hand out CDN links, so spiders exercise their URL handling rather
than relying on relative links. The markup follows the real sites closely where the
spiders depend on it (the list API's field names, the article page's lazy ``data-src``
images, RSSHub's finished ``<img referrerpolicy>`` form) and stays minimal elsewhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate
from html import escape
from typing import Iterator

from . import content, images
from .content import Article, Category, Picture

PLACEHOLDER_GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
LIST_SITE = "演示头条"
FEED_SITE = "演示日报"


@dataclass(frozen=True)
class Urls:
    """The two listeners' base URLs, e.g. ``http://127.0.0.1:8000``, without a final slash."""

    base: str
    tls_base: str

    def picture(self, picture: Picture) -> str:
        return (self.tls_base if picture.secure else self.base) + picture.path

    def detail(self, article: Article) -> str:
        return f"{self.base}/detail/{article.id}.html"

    def link(self, article: Article) -> str:
        """The share link aggregators hand out: the page URL plus a tracking parameter."""
        return f"{self.detail(article)}?content_id={article.id}"

    def list_api(self, cid: int, page: int = 1, limit: int = 10) -> str:
        return f"{self.base}/content/outList?cid={cid}&tn=1&page={page}&limit={limit}"

    def feed(self, kind: str, category: Category) -> str:
        return f"{self.base}/{kind}/{category.slug}.xml"

    def news_list(self, category: Category, page: int = 1) -> str:
        return f"{self.base}/news/{category.slug}/" + (f"page/{page}.html" if page > 1 else "")

    def stories(self, category: Category) -> str:
        return f"{self.base}/api/v2/{category.slug}.json"


def _blocks(article: Article) -> Iterator[str | Picture]:
    """Paragraphs with the pictures woven in, one after each paragraph, leftovers last,
    so every article shape puts the same image at the same place."""
    for index, paragraph in enumerate(article.paragraphs):
        yield paragraph
        if index < len(article.pictures):
            yield article.pictures[index]
    yield from article.pictures[len(article.paragraphs):]


def _text(value: str) -> str:
    return escape(value, quote=False)


def _attr(value: str) -> str:
    return escape(value, quote=True)


# --- the Qutoutiao-style list API and article page ---------------------------------------


def list_api(urls: Urls, cid: int, page: int, limit: int) -> bytes:
    chosen = content.articles_in(cid)[(page - 1) * limit : page * limit]
    times = [a.published * 1000 for a in chosen]
    data = {
        "min_time": min(times, default=0),
        "max_time": max(times, default=0),
        "data": [_list_item(urls, a) for a in chosen],
    }
    return json.dumps({"code": 0, "message": "", "data": data}, ensure_ascii=False).encode("utf-8")


def _list_item(urls: Urls, article: Article) -> dict:
    return {
        "id": article.id,
        "title": article.title,
        "url": urls.link(article),
        "detail_url": urls.detail(article),
        "show_time": article.published,
        "publish_time": str(article.published * 1000),
        "source_name": article.author,
        "nickname": article.author,
        "introduction": article.text[:40],
        "cover": [urls.picture(article.pictures[0])] if article.pictures else [],
    }


def detail_page(urls: Urls, article: Article) -> bytes:
    body = "".join(_page_block(urls, article, block) for block in _blocks(article))
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{_text(article.title)}</title></head><body>"
        f'<div class="article"><h1 class="title">{_text(article.title)}</h1>'
        f'<div class="info"><span class="source">{_text(article.author)}</span></div>'
        f'<div class="content">{body}</div></div></body></html>'
    ).encode("utf-8")


def _page_block(urls: Urls, article: Article, block: str | Picture) -> str:
    if isinstance(block, str):
        return f"<p>{_text(block)}</p>"
    url = _attr(urls.picture(block))
    width, height = images.size_of(block.name)
    src = PLACEHOLDER_GIF if article.gif_placeholder else url
    return f'<p><img data-src="{url}" data-size="{width},{height}" src="{src}"></p>'


# --- feeds --------------------------------------------------------------------------------


def feed_html(urls: Urls, article: Article) -> str:
    """An article body as RSSHub hands it out: lazy images already resolved to a plain
    ``src``, marked ``referrerpolicy="no-referrer"`` for readers that honour it."""
    return "".join(_feed_block(urls, block) for block in _blocks(article))


def _feed_block(urls: Urls, block: str | Picture) -> str:
    if isinstance(block, str):
        return f"<p>{_text(block)}</p>"
    return f'<p><img src="{_attr(urls.picture(block))}" referrerpolicy="no-referrer"></p>'


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def rss(urls: Urls, category: Category, encoding: str = "UTF-8", summary: bool = False) -> bytes:
    """The category's RSS feed; ``summary``: each item's description is only the article's first
    paragraph, the way many sites cut their feeds, so a reader must fetch the page."""
    items = "".join(_rss_item(urls, a, summary) for a in content.articles_in(category.cid))
    return (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
        f"<title>{_cdata(f'{FEED_SITE} - {category.name}')}</title>"
        f"<link>{_text(urls.base)}/</link>"
        f"<description>{_cdata(f'{FEED_SITE}「{category.name}」频道的最新文章')}</description>"
        f"{items}</channel></rss>"
    ).encode(encoding)


def _rss_item(urls: Urls, article: Article, summary: bool = False) -> str:
    description = f"<p>{_text(article.paragraphs[0])}</p>" if summary else feed_html(urls, article)
    return (
        f"<item><title>{_cdata(article.title)}</title>"
        f"<description>{_cdata(description)}</description>"
        f"<pubDate>{formatdate(article.published, usegmt=True)}</pubDate>"
        f'<guid isPermaLink="false">{_text(urls.detail(article))}</guid>'
        f"<link>{_text(urls.link(article))}</link></item>"
    )


def _rfc3339(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, content.CHINA_TIME).isoformat()


def atom(urls: Urls, category: Category) -> bytes:
    articles = content.articles_in(category.cid)
    updated = _rfc3339(max((a.published for a in articles), default=0))
    entries = "".join(_atom_entry(urls, a) for a in articles)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{_text(f'{FEED_SITE} - {category.name}')}</title>"
        f"<id>{_text(urls.feed('atom', category))}</id>"
        f'<link href="{_attr(urls.feed("atom", category))}" rel="self"/>'
        f'<link href="{_attr(urls.base)}/"/>'
        f"<updated>{updated}</updated>{entries}</feed>"
    ).encode("utf-8")


def _atom_entry(urls: Urls, article: Article) -> str:
    when = _rfc3339(article.published)
    return (
        f"<entry><title>{_text(article.title)}</title>"
        f"<id>{_text(urls.detail(article))}</id>"
        f'<link href="{_attr(urls.link(article))}"/>'
        f"<updated>{when}</updated><published>{when}</published>"
        f"<author><name>{_text(article.author)}</name></author>"
        f'<content type="html">{_text(feed_html(urls, article))}</content></entry>'
    )


# --- an HTML news list and a JSON API of another shape --------------------------------------

NEWS_PER_PAGE = 2


def news_list(urls: Urls, category: Category, page: int) -> bytes | None:
    """One page of a category's HTML news list (None past the last page); page 1 also shows the
    demo's advertisement, the way portals mix promotions into their lists."""
    articles = content.articles_in(category.cid)
    pages = max(1, -(-len(articles) // NEWS_PER_PAGE))
    if not 1 <= page <= pages:
        return None
    rows = [
        f'<li class="news-item"><a class="headline" href="{_attr(urls.detail(a))}">{_text(a.title)}</a> '
        f'<time datetime="{_rfc3339(a.published)}">{datetime.fromtimestamp(a.published, content.CHINA_TIME):%m月%d日}</time></li>'
        for a in articles[(page - 1) * NEWS_PER_PAGE : page * NEWS_PER_PAGE]
    ]
    cid, title, link = content.PROMOTED
    if page == 1 and cid == category.cid:
        rows.insert(1, f'<li class="news-item promo"><a class="headline" href="{_attr(link)}">{_text(title)}</a></li>')
    following = f'<a class="next" href="{_attr(urls.news_list(category, page + 1))}">下一页</a>' if page < pages else ""
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{_text(category.name)} - {FEED_SITE}</title></head><body>"
        f'<h1>{_text(category.name)}</h1><ul class="news">{"".join(rows)}</ul>'
        f'<div class="pager">{following}</div></body></html>'
    ).encode("utf-8")


def stories(urls: Urls, category: Category) -> bytes:
    """A JSON API shaped unlike Qutoutiao's: ``result.stories[]`` with a headline, a share URL
    and an ISO 8601 time, and no body (the page has it)."""
    items = [{"headline": a.title, "share": {"url": urls.detail(a)}, "published_at": _rfc3339(a.published),
              "byline": a.author} for a in content.articles_in(category.cid)]
    return json.dumps({"status": "ok", "result": {"channel": category.name, "stories": items}},
                      ensure_ascii=False).encode("utf-8")


# --- index --------------------------------------------------------------------------------


def index_page(urls: Urls) -> bytes:
    """A page for a person exploring the demo by hand: every entry point, one click away."""
    rows = "".join(_index_row(urls, c) for c in content.CATEGORIES)
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>演示聚合站</title></head>'
        "<body><h1>演示聚合站</h1><p>Offline stand-in for a news aggregator. "
        f"TLS listener: <code>{_text(urls.tls_base)}</code></p>"
        "<table><tr><th>分类</th><th>cid</th><th>demo crawls</th><th>list API</th><th>feeds</th></tr>"
        f"{rows}</table></body></html>"
    ).encode("utf-8")


def _index_row(urls: Urls, category: Category) -> str:
    links = " ".join(
        f'<a href="{_attr(url)}">{label}</a>'
        for label, url in (
            ("RSS", urls.feed("rss", category)),
            ("Atom", urls.feed("atom", category)),
            ("RSS GB18030", urls.feed("rss-gb", category)),
        )
    )
    api = urls.list_api(category.cid)
    return (
        f"<tr><td>{_text(category.name)}</td><td>{category.cid}</td>"
        f"<td>{content.DEMO_SHAPE[category.cid]}</td>"
        f'<td><a href="{_attr(api)}">page 1</a> <a href="{_attr(urls.list_api(category.cid, 2))}">page 2</a></td>'
        f"<td>{links}</td></tr>"
    )
