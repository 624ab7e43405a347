"""Request routing and HTTP caching rules of the demo aggregator, kept apart from sockets.

The image routes imitate the CDNs that make real crawls fail: one that insists on the
article page as Referer, one that refuses any Referer, an image proxy in the style of a
CORS worker, and images that are missing, mislabelled or cut short.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from email.utils import formatdate, parsedate_to_datetime
from typing import Callable, Mapping
from urllib.parse import parse_qs, unquote, urlsplit

from . import content, images, render
from .render import Urls

LAST_MODIFIED_AT = 1733011200  # 2024-12-01 00:00:00 UTC
LAST_MODIFIED = formatdate(LAST_MODIFIED_AT, usegmt=True)

HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
DEFAULT_LIMIT = 10
MAX_LIMIT = 50


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = TEXT
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, reason: str) -> Response:
    return Response(status, f"{status} {reason}\n".encode())


NOT_FOUND = _error(404, "Not Found")
FORBIDDEN = _error(403, "Forbidden")

_NAME = r"([\w][\w.-]*)"
_SLUG = r"([a-z0-9-]+)"


class Site:
    """Maps a request target to a Response; one instance serves both listeners."""

    def __init__(self, urls: Urls) -> None:
        self.urls = urls
        self._routes: list[tuple[re.Pattern, Callable[..., Response]]] = [
            (re.compile(r"/(?:index\.html)?"), self._index),
            (re.compile(r"/content/outList"), self._list_api),
            (re.compile(r"/detail/([0-9a-f]{16})\.html"), self._detail),
            (re.compile(rf"/(rss|rss-gb|atom|summary)/{_SLUG}\.xml"), self._feed),
            (re.compile(rf"/news/{_SLUG}/(?:page/([0-9]+)\.html)?"), self._news_list),
            (re.compile(rf"/api/v2/{_SLUG}\.json"), self._stories),
            (re.compile(rf"/img/{_NAME}"), self._image),
            (re.compile(rf"/protected/{_NAME}"), self._protected),
            (re.compile(rf"/no-referer/{_NAME}"), self._no_referer),
            (re.compile(r"/proxy/?"), self._proxy),
        ]

    def answer(self, target: str, headers: Mapping[str, str]) -> Response:
        """The full answer to a GET (or HEAD) of ``target``, validators and 304 included."""
        response = self._route(target, headers)
        if response.status != 200:
            return response
        return _conditional(_with_validators(response), headers)

    def _route(self, target: str, headers: Mapping[str, str]) -> Response:
        parts = urlsplit(target)
        for pattern, handler in self._routes:
            match = pattern.fullmatch(parts.path)
            if match:
                return handler(*match.groups(), query=parts.query, headers=headers)
        return NOT_FOUND

    def _index(self, *, query, headers) -> Response:
        return Response(200, render.index_page(self.urls), HTML)

    def _list_api(self, *, query, headers) -> Response:
        params = parse_qs(query)
        cid = _int_param(params, "cid", 0)
        page = max(1, _int_param(params, "page", 1))
        limit = min(MAX_LIMIT, max(1, _int_param(params, "limit", DEFAULT_LIMIT)))
        return Response(200, render.list_api(self.urls, cid, page, limit), "application/json; charset=utf-8")

    def _detail(self, article_id: str, *, query, headers) -> Response:
        article = content.article(article_id)
        if article is None:
            return NOT_FOUND
        return Response(200, render.detail_page(self.urls, article), HTML)

    def _feed(self, kind: str, slug: str, *, query, headers) -> Response:
        category = content.category_by_slug(slug)
        if category is None:
            return NOT_FOUND
        if kind == "atom":
            return Response(200, render.atom(self.urls, category), "application/atom+xml; charset=utf-8")
        if kind == "summary":
            return Response(200, render.rss(self.urls, category, summary=True), "application/rss+xml; charset=utf-8")
        if kind == "rss-gb":
            return Response(200, render.rss(self.urls, category, "GB18030"), "application/rss+xml; charset=GB18030")
        return Response(200, render.rss(self.urls, category), "application/rss+xml; charset=utf-8")

    def _news_list(self, slug: str, page: str | None, *, query, headers) -> Response:
        category = content.category_by_slug(slug)
        body = render.news_list(self.urls, category, int(page or 1)) if category else None
        return NOT_FOUND if body is None else Response(200, body, HTML)

    def _stories(self, slug: str, *, query, headers) -> Response:
        category = content.category_by_slug(slug)
        if category is None:
            return NOT_FOUND
        return Response(200, render.stories(self.urls, category), "application/json; charset=utf-8")

    def _image(self, name: str, *, query, headers) -> Response:
        body = images.image_bytes(name)
        if body is None:
            return NOT_FOUND
        return Response(200, body, images.content_type(name))

    def _protected(self, name: str, *, query, headers) -> Response:
        """A hotlink-protected CDN: only pages of this site may embed its images."""
        referer = headers.get("Referer") or ""
        pages = (f"{self.urls.base}/detail/", f"{self.urls.tls_base}/detail/")
        if not referer.startswith(pages):
            return FORBIDDEN
        return self._image(name, query=query, headers=headers)

    def _no_referer(self, name: str, *, query, headers) -> Response:
        """A CDN that refuses every Referer, so only direct fetches (and readers honouring
        ``referrerpolicy="no-referrer"``) get the image."""
        if headers.get("Referer") is not None:
            return FORBIDDEN
        return self._image(name, query=query, headers=headers)

    def _proxy(self, *, query, headers) -> Response:
        """An image proxy taking the origin URL as the raw query string, as CORS workers do;
        it only relays this server's own ``/img/`` images."""
        origin = unquote(query) if re.match(r"https?%3A", query, re.IGNORECASE) else query
        parts = urlsplit(origin)
        own = {urlsplit(self.urls.base).netloc, urlsplit(self.urls.tls_base).netloc}
        match = re.fullmatch(rf"/img/{_NAME}", parts.path)
        if parts.scheme not in ("http", "https") or parts.netloc not in own or not match:
            return NOT_FOUND
        response = self._image(match.group(1), query="", headers=headers)
        return replace(response, headers={**response.headers, "Access-Control-Allow-Origin": "*"})


def _int_param(params: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return int(params[name][0])
    except (KeyError, ValueError):
        return default


def _with_validators(response: Response) -> Response:
    """ETag from the bytes, one fixed Last-Modified: stable across restarts, so a crawler's
    HTTP cache sees unchanged content as unchanged."""
    etag = '"' + hashlib.sha1(response.body).hexdigest()[:20] + '"'
    return replace(response, headers={**response.headers, "ETag": etag, "Last-Modified": LAST_MODIFIED})


def _conditional(response: Response, headers: Mapping[str, str]) -> Response:
    """Turn a 200 into a 304 when the client's copy is current (RFC 9110 section 13.2.2:
    If-None-Match wins over If-Modified-Since when both are sent)."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        fresh = _etag_matches(if_none_match, response.headers["ETag"])
    else:
        fresh = _not_modified_since(headers.get("If-Modified-Since"))
    return replace(response, status=304) if fresh else response


def _etag_matches(header: str, etag: str) -> bool:
    candidates = [tag.strip() for tag in header.split(",")]
    return "*" in candidates or any(tag.removeprefix("W/") == etag for tag in candidates)


def _not_modified_since(header: str | None) -> bool:
    if not header:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and since.timestamp() >= LAST_MODIFIED_AT
