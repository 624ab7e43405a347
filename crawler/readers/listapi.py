"""Qutoutiao-style aggregators: a JSON list API, then each article's own page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from w3lib.url import add_or_replace_parameter, url_query_parameter

from crawler.config import Source
from crawler.dates import from_timestamp, parse_date
from crawler.htmlsource import inner_html

if TYPE_CHECKING:
    from crawler.spiders.sources import SourcesSpider


class ListApiReader:
    """Reads ``data.data[]`` of the list API and follows each entry's ``url``.

    The article body is the inner HTML of the page's ``.content`` element, as the page wrote
    it; the pipelines turn its lazy ``data-src`` images into real ones.

    List pages are read one after another, each after its articles (article requests have the
    higher priority): pending requests stay at one page's worth however many pages a source
    has, and an unchanged page whose articles are all known ends the walk, so a run where
    nothing changed costs one request for the source.
    """

    content_class = "content"

    def __init__(self, spider: "SourcesSpider") -> None:
        self.spider = spider

    def start(self, source: Source):
        yield self._list_request(source, 1)

    def _list_request(self, source: Source, number: int):
        """The source's ``number``-th list page (1 is the URL as configured)."""
        first = int(url_query_parameter(source.url, "page") or 1)
        url = source.url if number == 1 else add_or_replace_parameter(source.url, "page", str(first + number - 1))
        return self.spider.request(source, url, "parse_list", document=True, number=number)

    def parse_list(self, response, source: Source, number: int = 1) -> Iterator[Any]:
        spider = self.spider
        try:
            entries = response.json()["data"]["data"]
            if not isinstance(entries, list):
                raise TypeError("data.data is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            spider.document_broken(source, response.url, f"not a list API answer ({exc})")
            return
        listed = fresh = 0
        for index, entry in enumerate(entries):
            where = f"{response.url} entry {index}"
            if not isinstance(entry, dict):
                spider.skip(source, "malformed entry: not an object", where)
                continue
            url = entry.get("url") or entry.get("detail_url")
            if not isinstance(url, str) or not url.strip():
                spider.skip(source, "missing field: url", where)
                continue
            link = response.urljoin(url.strip())
            if not link.startswith(("http://", "https://")):
                spider.skip(source, f"refused URL {link[:60]!r}: only http and https are fetched", where)
                continue
            listed += 1
            if spider.already_done(link.split("?", 1)[0], link):
                continue  # list-API articles are fetched once; --force fetches them again
            fresh += 1
            # Article pages stay out of the HTTP cache: only list pages need revalidating.
            yield spider.request(source, link, "parse_article", document=False, priority=1,
                                 meta={"dont_cache": True}, entry=entry, link=link)
        spider.document_read(source, response.url, listed=listed, known=listed - fresh)
        unchanged = "cached" in response.flags and fresh == 0
        if number < source.pages and entries and not unchanged:
            yield self._list_request(source, number + 1)

    def parse_article(self, response, source: Source, entry: dict, link: str):
        spider = self.spider
        if not hasattr(response, "text"):
            spider.skip(source, "not an HTML page", response.url)
            return
        body = inner_html(response.text, self.content_class)
        if body is None:
            spider.skip(source, f"no .{self.content_class} element", response.url)
            return
        title = entry.get("title")
        if not isinstance(title, str) or not title.strip():
            spider.skip(source, "missing field: title", response.url)
            return
        repairs: list[str] = []
        show_time = entry.get("show_time")
        published = spider.publication_date(show_time, _show_time(show_time), "show_time", repairs)
        yield spider.article(
            source,
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
