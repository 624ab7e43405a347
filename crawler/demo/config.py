"""The sources file for a demo crawl of a running demo aggregator.

Written rather than checked in because the server's port changes from run to run. Which
category is crawled through which shape comes from ``content.DEMO_SHAPE``, so the demo
shows every spider and every feed flavour without fetching any article twice.

    python -m crawler.demo.config PATH BASE_URL
"""

from __future__ import annotations

import sys
from pathlib import Path

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
    tables = ["[settings]\n" + "".join(f"{key} = {_string(value)}\n" for key, value in settings.items())]
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
    else:
        fields = {
            "name": f"demo-daily-{category.slug}-{shape}",
            "spider": "feed",
            "url": urls.feed(shape, category),
            "categories": [ROOT_CATEGORY, FEED_SITE, category.name],
        }
    lines = "".join(f"{key} = {_value(value)}\n" for key, value in fields.items())
    return f"[[sources]]\n{lines}"


def _value(value: str | int | list[str]) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_string(item) for item in value) + "]"
    if isinstance(value, int):
        return str(value)
    return _string(value)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m crawler.demo.config PATH BASE_URL", file=sys.stderr)
        return 2
    write_sources(args[0], args[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
