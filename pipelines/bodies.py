"""Step one: apply the post format's body rules and choose the post's image."""

from __future__ import annotations

import logging
from collections import Counter

from itemadapter import ItemAdapter

from crawler import bodyrules

logger = logging.getLogger(__name__)


class BodyRulesPipeline:
    """Rewrites the body (lazy images, ``referrerpolicy``, absolute links, image proxy) and
    fills ``headimg`` and ``image_urls`` for the steps after it."""

    def __init__(self, image_proxy: str | None, headimg_fallback: str, sanitize: bool = True) -> None:
        self.image_proxy = image_proxy or None
        self.headimg_fallback = headimg_fallback
        self.sanitize = sanitize

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(
            image_proxy=settings.get("IMAGE_PROXY"),
            headimg_fallback=settings.get("HEADIMG_FALLBACK"),
            sanitize=settings.getbool("SANITIZE_HTML"),
        )

    def process_item(self, item):
        adapter = ItemAdapter(item)
        base = adapter.get("base") or adapter["link"]
        body = bodyrules.prepare_body(adapter["body"], base, self.image_proxy, self.sanitize)
        if body.removed:
            counts = Counter(body.removed)
            what = ", ".join(f"{n} {name}" if n > 1 else name for name, n in counts.items())
            logger.info("sanitised %s: removed %s", adapter["link"], what)
            adapter["repairs"] = [*adapter.get("repairs", []), f"sanitised: removed {what}"]
        adapter["body"] = body.html
        adapter["headimg"] = bodyrules.first_image(body, adapter["link"], self.headimg_fallback)
        adapter["image_urls"] = list(dict.fromkeys(body.image_srcs))
        return item
