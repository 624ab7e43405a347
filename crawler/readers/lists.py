"""List pages: an HTML page or a JSON answer naming articles, read by the source's own
selectors or paths (``crawler.config.Listing``), then each article's page when the list gives
no body. The ``qutoutiao`` spider is the JSON reader with the fields of ``config.QUTOUTIAO``.

List pages are read one after another, each after its articles (article requests have the
higher priority): pending requests stay at one page's worth however many pages a source has,
and an unchanged page whose articles are all known ends the walk, so a run where nothing
changed costs one request for the source.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from w3lib.url import add_or_replace_parameter, url_query_parameter

from crawler.config import Source
from crawler.dates import read_date
from crawler.readers.pages import Draft, Reader
from crawler.state import article_key


class NotAList(ValueError):
    """The answer is not the list the source describes; the message says how."""


class ListReader(Reader):
    """The walk through a source's list pages; subclasses read one page's entries."""

    def start(self, source: Source):
        yield self._list_request(source, source.url, 1)

    def _list_request(self, source: Source, url: str, number: int):
        return self.spider.request(source, url, "parse_list", document=True, number=number)

    def parse_list(self, response, source: Source, number: int = 1) -> Iterator[Any]:
        spider, listing = self.spider, source.listing
        try:
            document = self.document(response)
            entries = self.entries(document, listing.items)
        except NotAList as exc:
            spider.document_broken(source, response.url, str(exc))
            return
        drafts = []
        for index, entry in enumerate(entries):
            draft = self._draft(response, source, entry, f"{response.url} entry {index}")
            if draft is None:
                continue
            body = self.field(entry, listing.body) if listing.body else None
            draft.summary = body if isinstance(body, str) and body.strip() else None
            drafts.append(draft)
        keys = [article_key(draft.guid, draft.link) for draft in drafts]
        known = spider.known_among(keys)
        # Articles whose page gives the body are fetched once (``--force``: again).
        cached = "cached" in response.flags
        listed, fresh = len(drafts), 0
        for draft, key in zip(drafts, keys):
            draft.known = key in known
            needs_page = source.fulltext is not None or draft.summary is None
            if (needs_page or cached) and draft.known and not spider.force:
                continue
            fresh += 1
            if not self.admitted(source, draft):
                continue
            if needs_page:
                yield self.page_request(source, draft)
            else:
                yield from self.written(source, draft, draft.summary, None)
        spider.document_read(source, response.url, listed=listed, known=listed - fresh)
        unchanged = cached and fresh == 0
        if number < source.pages and entries and not unchanged:
            following = self._next_url(response, source, document, number)
            if following:
                yield self._list_request(source, following, number + 1)

    def _draft(self, response, source: Source, entry, where: str) -> Draft | None:
        """The draft of one entry, or None (and the entry reported) when it names no article."""
        spider, listing = self.spider, source.listing
        if entry is None:
            spider.skip(source, "malformed entry: not an object", where)
            return None
        url = next((value for path in listing.link if (value := self.field(entry, path, link=True))), None)
        if not isinstance(url, str) or not url.strip():
            spider.skip(source, f"missing field: {listing.link[0]}", where)
            return None
        link = response.urljoin(url.strip())
        if not link.startswith(("http://", "https://")):
            spider.skip(source, f"refused URL {link[:60]!r}: only http and https are fetched", where)
            return None
        title = self.field(entry, listing.title)
        if not isinstance(title, str) or not title.strip():
            spider.skip(source, f"missing field: {listing.title}", where)
            return None
        repairs: list[str] = []
        published = None
        if listing.date:
            raw = self.field(entry, listing.date)
            published = spider.publication_date(raw, read_date(raw), listing.date, repairs)
        return Draft(title=title.strip(), link=link, guid=link.split("?", 1)[0] if listing.ignore_query else None,
                     published=published, repairs=repairs)

    def _next_url(self, response, source: Source, document, number: int) -> str | None:
        listing = source.listing
        if listing.page_param:
            first = int(url_query_parameter(source.url, listing.page_param) or 1)
            return add_or_replace_parameter(source.url, listing.page_param, str(first + number))
        following = self.field(document, listing.next, link=True)
        return response.urljoin(following.strip()) if isinstance(following, str) and following.strip() else None

    # --- what a subclass reads --------------------------------------------------------------

    def document(self, response):
        """The answer as the thing ``entries`` and ``field`` read; raises NotAList."""
        raise NotImplementedError

    def entries(self, document, path: str) -> list:
        """The page's entries (None for one that cannot be an entry); raises NotAList."""
        raise NotImplementedError

    def field(self, entry, path: str, link: bool = False):
        """One field of an entry (or, for ``next``, of the document): a string, or None;
        ``link``: the field is a URL."""
        raise NotImplementedError


class JsonListReader(ListReader):
    """A JSON answer: ``items`` is the dotted path of the entry list, the fields are dotted
    paths inside an entry (numbers pick list positions)."""

    def document(self, response):
        try:
            return response.json()
        except (ValueError, AttributeError) as exc:
            raise NotAList(f"not a list API answer (not JSON: {exc})") from None

    def entries(self, document, path: str) -> list:
        found = lookup(document, path)
        if not isinstance(found, list):
            what = "missing" if found is None else f"a {type(found).__name__}, not a list"
            raise NotAList(f"not a list API answer ({path} is {what})")
        return [entry if isinstance(entry, dict) else None for entry in found]

    def field(self, entry, path: str, link: bool = False):
        value = lookup(entry, path)
        if isinstance(value, bool) or value is None:
            return None
        return value if isinstance(value, (str, int, float)) else None


def lookup(document, path: str):
    """The value at a dotted path (``data.list``, ``items.0.url``), or None."""
    value = document
    for key in path.split("."):
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and re.fullmatch(r"-?\d+", key) and -len(value) <= int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


class HtmlListReader(ListReader):
    """An HTML list page: ``items`` selects each entry's element, the fields are CSS selectors
    inside it (``a::attr(href)``, ``h2::text``; an element alone gives its text, or for
    ``link`` and ``next`` its ``href``)."""

    def document(self, response):
        if not hasattr(response, "css"):
            raise NotAList("not an HTML page")
        return response

    def entries(self, document, path: str) -> list:
        found = list(document.css(path))
        if not found:  # a news list is never empty: the site changed under the selector
            raise NotAList(f"no element matches items {path!r}")
        return found

    def field(self, entry, path: str, link: bool = False):
        found = entry.css(path)
        if not found:
            return None
        root = found[0].root
        if isinstance(root, str):  # ::text, ::attr()
            texts = found.getall() if path.rstrip().endswith("::text") else [root]
            return re.sub(r"\s+", " ", "".join(texts)).strip() or None
        if link and root.get("href"):
            return root.get("href")
        return re.sub(r"\s+", " ", root.text_content()).strip() or None
