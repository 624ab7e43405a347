"""The one item type every spider yields.

Spiders only report what the source said; everything that makes a post out of it (clean-up,
image rules, the front matter) happens in the pipelines, so both spiders feed exactly the same
steps. Pipelines read and fill the item through ItemAdapter, as Scrapy's media pipelines do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Article:
    """One article as a source delivered it.

    ``body`` is the article's HTML exactly as the source sent it (the feed item's description
    text, or the inner HTML of the page's content element): the post format promises to keep
    those characters, so nothing upstream may re-serialise it.
    """

    source: str
    """Name of the configured source that produced the article."""
    title: str
    link: str
    """Absolute URL of the article page; also the base for relative links in ``body``."""
    body: str
    categories: list[str]
    guid: str | None = None
    published: datetime | None = None
    """Timezone-aware publication time, if the source gave one."""
    author: str | None = None
    """The article's own author (list API nickname, feed author): kept, not written to the post."""
    post_author: str | None = None
    """The post's ``author`` field when the source configures one (default: ``categories[1]``)."""
    repairs: list[str] = field(default_factory=list)
    """What was wrong with the article and how it was mended (reported, not a failure)."""
    base: str | None = None
    """What relative URLs in ``body`` resolve against when it is not ``link`` (a feed's
    ``xml:base``)."""
    known: bool | None = None
    """Whether the state knew the article when its list page or feed was read (asked once for
    all of them), or None if it was not asked: the near-duplicate step then asks itself."""

    # Filled by the pipelines.
    headimg: str | None = None
    thumbnail: str | None = None
    image_urls: list[str] = field(default_factory=list)
    """Every ``<img src>`` of the body after the body rules, as the post writes it."""
    images: list[dict] = field(default_factory=list)
    """Mirrored images: ``{"url": as in the post, "path": in the store, "thumb": thumbnail}``."""
    image_failures: list[dict] = field(default_factory=list)
    """Images that could not be mirrored: ``{"url", "reason"}``; the post keeps their URLs."""
    duplicate_of: str | None = None
    """The post this article's text is a near-duplicate of (``pipelines.duplicates``)."""
    post_path: str | None = None
    post_outcome: str | None = None
    """``created``, ``updated`` or ``unchanged``: what writing the post did."""
