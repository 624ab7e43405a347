"""Step one: apply the post format's body rules and choose the post's image."""

from __future__ import annotations

from itemadapter import ItemAdapter

from crawler import postformat


class BodyRulesPipeline:
    """Rewrites the body (lazy images, ``referrerpolicy``, absolute links, image proxy) and
    fills ``headimg`` and ``image_urls`` for the steps after it."""

    def __init__(self, image_proxy: str | None, headimg_fallback: str) -> None:
        self.image_proxy = image_proxy or None
        self.headimg_fallback = headimg_fallback

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(
            image_proxy=settings.get("IMAGE_PROXY"),
            headimg_fallback=settings.get("HEADIMG_FALLBACK", postformat.DEFAULT_HEADIMG_FALLBACK),
        )

    def process_item(self, item):
        adapter = ItemAdapter(item)
        body = postformat.prepare_body(adapter["body"], adapter["link"], self.image_proxy)
        adapter["body"] = body.html
        adapter["headimg"] = postformat.first_image(body, adapter["link"], self.headimg_fallback)
        adapter["image_urls"] = list(dict.fromkeys(body.image_srcs))
        return item
