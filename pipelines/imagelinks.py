"""With ``IMAGE_LINKS = "local"``, point the post at its mirrored images.

``src``, ``headimg`` and ``thumbnail`` then name files under ``IMAGE_LINKS_PREFIX`` (default
``/images/``), which a Hexo site serves once ``DIR/images`` is copied to ``source/images``.
Images that could not be mirrored keep their remote URLs, so a post never points at nothing.
"""

from __future__ import annotations

from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured

from crawler.bodyrules import replace_image_srcs


class LocalImageLinksPipeline:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        mode = settings.get("IMAGE_LINKS")  # one of crawler.options.LINK_MODES, checked with the sources file
        if mode == "remote" or not settings.getbool("IMAGES_ENABLED"):
            raise NotConfigured  # posts keep remote links; a bare NotConfigured logs nothing
        return cls(settings.get("IMAGE_LINKS_PREFIX"))

    def process_item(self, item):
        adapter = ItemAdapter(item)
        local = {image["url"]: self.prefix + image["path"] for image in adapter.get("images", [])}
        if not local:
            return item
        adapter["body"] = replace_image_srcs(adapter["body"], local)
        headimg = adapter.get("headimg")
        if headimg in local:
            adapter["headimg"] = local[headimg]
            thumb = next(image["thumb"] for image in adapter["images"] if image["url"] == headimg)
            adapter["thumbnail"] = self.prefix + thumb
        return item
