"""The sources file for a demo crawl of a running demo aggregator.

Written rather than checked in because the server's port changes from run to run. Which
category is crawled through which shape comes from ``content.DEMO_SHAPE``, so the demo
shows every spider and every feed flavour without fetching any article twice.

    python -m crawler.demo.config PATH BASE_URL
"""

from __future__ import annotations

import sys
from pathlib import Path

from crawler.config import source_table, toml_string

from . import content
from .content import Category
from .render import FEED_SITE, LIST_SITE, Urls

ROOT_CATEGORY = "演示"
PAGED_CID = 1
"""The list-API category crawled two pages deep, to show ``pages``."""


def write_sources(path: str | Path, base_url: str) -> Path:
    """Write the demo sources file for the aggregator at ``base_url`` and return its path."""
    path = Path(path)
    path.write_text(sources_toml(base_url), encoding="utf-8")
    return path


def sources_toml(base_url: str) -> str:
    urls = Urls(base_url.rstrip("/"), tls_base="")
    settings = {
        "IMAGE_PROXY": urls.base + "/proxy/?",
        # Mirror images and point posts at the copies, as a site that serves its own would.
        "IMAGE_LINKS": "local",
        # The demo runs offline: the post without images falls back to one of the demo's own.
        "HEADIMG_FALLBACK": urls.base + "/img/lantern.jpg?random={n}",
    }
    tables = ["[settings]\n" + "".join(f"{key} = {toml_string(value)}\n" for key, value in settings.items())]
    tables += [_source(urls, category) for category in content.CATEGORIES]
    return "\n".join(tables)


def _source(urls: Urls, category: Category) -> str:
    shape = content.DEMO_SHAPE[category.cid]
    if shape == "list":
        fields = {
            "name": f"demo-toutiao-{category.slug}",
            "spider": "qutoutiao",
            "url": urls.list_api(category.cid),
            "categories": [ROOT_CATEGORY, LIST_SITE, category.name],
        }
        if category.cid == PAGED_CID:
            fields["pages"] = 2
    elif shape == "html":
        fields = {
            "name": f"demo-daily-{category.slug}-html",
            "spider": "html",
            "url": urls.news_list(category),
            "categories": [ROOT_CATEGORY, FEED_SITE, category.name],
            "items": "ul.news > li", "link": "a.headline::attr(href)", "title": "a.headline::text",
            "date": "time::attr(datetime)", "next": "a.next::attr(href)", "pages": 5,
            "content": "div.article div.content",
            "block": "^推广",  # the list's advertisements
        }
    elif shape == "json":
        fields = {
            "name": f"demo-daily-{category.slug}-json",
            "spider": "json",
            "url": urls.stories(category),
            "categories": [ROOT_CATEGORY, FEED_SITE, category.name],
            "items": "result.stories", "link": "share.url", "title": "headline", "date": "published_at",
            "fulltext": "extract",
        }
    else:
        fields = {
            "name": f"demo-daily-{category.slug}-{shape}",
            "spider": "feed",
            "url": urls.feed(shape, category),
            "categories": [ROOT_CATEGORY, FEED_SITE, category.name],
        }
        if shape == "summary":
            fields.update(fulltext="selector", content="div.article > div.content")
    return source_table(fields)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m crawler.demo.config PATH BASE_URL", file=sys.stderr)
        return 2
    write_sources(args[0], args[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
