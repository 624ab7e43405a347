"""Referer and User-Agent for image requests, per image host, and one more try on a 403.

Hotlink-protected CDNs look at the ``Referer``: some refuse an image without the article page
as Referer, others refuse it *because* of a foreign one. Media requests skip spider middlewares
but go through downloader middlewares, so this is where their headers are set: the image
pipeline only says which article an image belongs to (``meta["article"]``). A 403 is answered by
returning the same request with the other kind of Referer (page or origin <-> none); Scrapy
follows a request a middleware returns, so the pipeline sees only the final answer.
"""

from __future__ import annotations

from urllib.parse import urlsplit

ALTERNATIVE_REFERER = {"page": "none", "origin": "none", "none": "page"}


class ImageRefererMiddleware:
    def __init__(self, default_referer: str, host_policies: dict[str, dict], stats) -> None:
        self.default_referer = default_referer
        self.host_policies = {host.lower(): dict(policy) for host, policy in host_policies.items()}
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings  # values checked with the sources file (crawler.options)
        return cls(settings.get("IMAGE_REFERER"), settings.getdict("IMAGE_HOST_POLICIES"), crawler.stats)

    def process_request(self, request, spider=None):
        if "image_url" not in request.meta:
            return None  # not an image of the mirror's
        policy = self._policy(request.url)
        kind = request.meta.setdefault("referer_policy", policy.get("referer", self.default_referer))
        referer = _referer(kind, request.meta["article"])
        if referer:
            request.headers["Referer"] = referer
        else:
            request.headers.pop("Referer", None)
        if policy.get("user_agent"):
            request.headers["User-Agent"] = policy["user_agent"]
        return None

    def process_response(self, request, response, spider=None):
        if response.status != 403 or "image_url" not in request.meta or request.meta.get("referer_retried"):
            return response
        self.stats.inc_value("images/referer_retries")
        kind = ALTERNATIVE_REFERER[request.meta["referer_policy"]]
        return request.replace(meta={**request.meta, "referer_policy": kind, "referer_retried": True}, dont_filter=True)

    def _policy(self, url: str) -> dict:
        """The host's policy; a key starting with ``.`` matches every subdomain."""
        host = (urlsplit(url).hostname or "").lower()
        for pattern, policy in self.host_policies.items():
            if host == pattern or (pattern.startswith(".") and host.endswith(pattern)):
                return policy
        return {}


def _referer(kind: str, article: str) -> str | None:
    if kind == "page":
        return article
    if kind == "origin":
        parts = urlsplit(article)
        return f"{parts.scheme}://{parts.netloc}/"
    return None
