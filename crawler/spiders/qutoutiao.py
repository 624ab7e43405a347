"""Qutoutiao-style aggregators: a JSON list API, then each article's own page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy
from w3lib.url import add_or_replace_parameter, url_query_parameter

from datetime import datetime

from crawler.dates import from_timestamp, parse_date
from crawler.htmlsource import inner_html
from crawler.spiders.base import SourceSpider


class QutoutiaoSpider(SourceSpider):
    """Reads ``data.data[]`` of the list API and follows each entry's ``url``.

    The article body is the inner HTML of the page's ``.content`` element, as the page wrote
    it; the pipelines turn its lazy ``data-src`` images into real ones.

    List pages are read one after another, each after its articles (article requests have the
    higher priority): pending requests stay at one page's worth however many pages a source
    has, and an unchanged page whose articles are all known ends the walk, so a run where
    nothing changed costs one request for the source.
    """

    name = "qutoutiao"
    content_class = "content"

    async def start(self) -> AsyncIterator[Any]:
        self.pages_read_before()
        yield self._list_request(1)

    def _list_request(self, number: int) -> scrapy.Request:
        """The source's ``number``-th list page (1 is the URL as configured)."""
        first = int(url_query_parameter(self.source.url, "page") or 1)
        url = self.source.url if number == 1 else add_or_replace_parameter(self.source.url, "page", str(first + number - 1))
        return scrapy.Request(url, callback=self.parse_list, errback=self.source_failed, cb_kwargs={"number": number})

    def parse_list(self, response, number: int = 1):
        try:
            entries = response.json()["data"]["data"]
            if not isinstance(entries, list):
                raise TypeError("data.data is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            self.source_broken(response.url, f"not a list API answer ({exc})")
            return
        self.source_read()
        fresh = 0
        for index, entry in enumerate(entries):
            where = f"{response.url} entry {index}"
            if not isinstance(entry, dict):
                self.skip("malformed entry: not an object", where)
                continue
            url = entry.get("url") or entry.get("detail_url")
            if not isinstance(url, str) or not url.strip():
                self.skip("missing field: url", where)
                continue
            link = response.urljoin(url.strip())
            if not link.startswith(("http://", "https://")):
                self.skip(f"refused URL {link[:60]!r}: only http and https are fetched", where)
                continue
            self.count("articles/listed")
            if self.already_done(link.split("?", 1)[0], link):
                continue  # list-API articles are fetched once; --force fetches them again
            fresh += 1
            # Article pages stay out of the HTTP cache: only list pages need revalidating.
            yield scrapy.Request(link, callback=self.parse_article, errback=self.article_failed, priority=1,
                                 cb_kwargs={"entry": entry, "link": link}, meta={"dont_cache": True})
        unchanged = "cached" in response.flags and fresh == 0
        if number < self.source.pages and entries and not unchanged:
            yield self._list_request(number + 1)

    def parse_article(self, response, entry: dict, link: str):
        if not hasattr(response, "text"):
            self.skip("not an HTML page", response.url)
            return
        body = inner_html(response.text, self.content_class)
        if body is None:
            self.skip(f"no .{self.content_class} element", response.url)
            return
        title = entry.get("title")
        if not isinstance(title, str) or not title.strip():
            self.skip("missing field: title", response.url)
            return
        repairs: list[str] = []
        show_time = entry.get("show_time")
        published = self.publication_date(show_time, _show_time(show_time), "show_time", repairs)
        yield self.article(
            title=title.strip(),
            link=link,
            guid=link.split("?", 1)[0],
            body=body,
            published=published,
            author=entry.get("nickname") if isinstance(entry.get("nickname"), str) else None,
            repairs=repairs,
        )


def _show_time(value) -> datetime | None:
    """Unix seconds as a number or a string, or any date form a string may take."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return from_timestamp(value)
    return parse_date(str(value)) if isinstance(value, str) else None
