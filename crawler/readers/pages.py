"""Article pages: the step every reader shares once an entry's listing has been read.

A listing (a feed entry, a list page's item, a JSON list's object) says what an article is; its
page, when the source asks for it, says what its body is. ``Draft`` carries the first to the
second, and ``Reader`` turns the two into one item, whichever reader made the draft:

- ``content = "<selector>"`` cuts the inner HTML of the first element the selector matches out
  of the page's text exactly as the page wrote it (the post format keeps a source's characters:
  lxml finds the element, the offsets come from the page's own text);
- ``fulltext = "extract"`` hands the page to trafilatura, which finds the main text itself;
- a draft that came with a body of its own (a summary-only feed) keeps it when the page fails,
  lacks the element or gives less text than the summary: the post is still written and its
  repairs say why.

The source's keep/block rules are applied here too, on the title as soon as it is known (an
entry blocked by its title is not fetched) and on the body's text once it is settled.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from crawler.config import Source
from crawler.feeds import visible_text
from crawler.htmlsource import first_inner_html, inner_html
from crawler.items import Article

if TYPE_CHECKING:
    from crawler.spiders.sources import SourcesSpider


@dataclass
class Draft:
    """What an entry's listing said of one article, before its body is settled."""

    title: str
    link: str
    guid: str | None = None
    published: datetime | None = None
    summary: str | None = None
    """The body the listing gave itself, if any: the post's body unless the page gives more."""
    base: str | None = None
    """What the summary's relative URLs resolve against when it is not ``link``."""
    repairs: list[str] = field(default_factory=list)
    known: bool | None = None
    """Whether an earlier run wrote the article or found it a copy (``SourcesSpider.known_among``),
    or None if the state was not asked."""


class Reader:
    """What every reader does with drafts: fetch their pages, settle their bodies, apply the
    source's rules and hand the spider its items."""

    def __init__(self, spider: "SourcesSpider") -> None:
        self.spider = spider

    def admitted(self, source: Source, draft: Draft) -> bool:
        """False (and the entry reported as blocked) when the title alone settles that the source's
        rules do not let the entry through."""
        reason = source.rules.verdict(draft.title, None)
        if reason is not None:
            self.spider.blocked(source, draft.link, draft.title, reason)
        return reason is None

    def page_request(self, source: Source, draft: Draft):
        """The request for ``draft``'s page; when the draft has a summary, a failed request still
        gives its post (``page_failed``)."""
        # Article pages stay out of the HTTP cache: only lists and feeds need revalidating.
        return self.spider.request(source, draft.link, "parse_page", document=False, priority=1,
                                   meta={"dont_cache": True}, fallback=draft.summary is not None, draft=draft)

    def parse_page(self, response, source: Source, draft: Draft) -> Iterator[Article]:
        body, missing = page_body(response, source)
        base = response.url if response.url != draft.link else None
        if body is not None and draft.summary is not None:
            page_length, summary_length = _length(body), _length(draft.summary)
            if page_length < summary_length:
                missing, body = (f"the page's text is shorter than the summary's ({page_length} < "
                                 f"{summary_length} characters)"), None
        if body is not None:
            yield from self.written(source, draft, body, base)
        elif draft.summary is not None:
            yield from self.with_summary(source, draft, f"{missing} at {response.url}")
        else:
            self.spider.skip(source, missing, response.url)

    def page_failed(self, reason: str, source: Source, draft: Draft) -> Iterator[Article]:
        """A page whose draft has a summary could not be fetched (``reason``): the post keeps
        the summary."""
        yield from self.with_summary(source, draft, f"{reason} at {draft.link}")

    def with_summary(self, source: Source, draft: Draft, why: str) -> Iterator[Article]:
        draft.repairs.append(f"full text not used ({why}): kept the summary")
        self.spider.crawler.stats.inc_value("fulltext/kept_summary")
        yield from self.written(source, draft, draft.summary, draft.base)

    def written(self, source: Source, draft: Draft, body: str, base: str | None) -> Iterator[Article]:
        """The item of ``draft`` with ``body``, unless the source's rules block it."""
        if source.rules.judges_body:
            reason = source.rules.verdict(draft.title, visible_text(body))
            if reason is not None:
                self.spider.blocked(source, draft.link, draft.title, reason)
                return
        yield self.spider.article(source, title=draft.title, link=draft.link, guid=draft.guid, body=body,
                                  base=base, published=draft.published, repairs=draft.repairs, known=draft.known)


def page_body(response, source: Source) -> tuple[str | None, str]:
    """The body ``source`` takes from an article page, or None and why there is none."""
    if not hasattr(response, "text"):
        return None, "not an HTML page"
    if source.fulltext == "extract":
        body = extract_main_text(response.text, response.url)
        return body, "trafilatura found no main text"
    return cut(response, source.content), f"no {source.content} element"


_CLASS_ONLY = re.compile(r"\s*\.(-?[^\s.#\[\]:>+~,()*'\"]+)\s*")


def cut(response, selector: str) -> str | None:
    """The inner HTML of the first element ``selector`` matches, exactly as the page wrote it.

    lxml (through Scrapy's selectors) finds the element; its start tag is then found in the
    page's own text as the same-ranked tag of its name with the same attributes, so tags lxml
    adds (``<tbody>``, ``<html>``) or mends cannot shift it. A selector that is one class goes
    straight to the text, without building a tree."""
    text = response.text
    if (one_class := _CLASS_ONLY.fullmatch(selector)) is not None:
        return inner_html(text, one_class[1])
    matches = response.css(selector)
    if not matches or not hasattr(matches[0].root, "getroottree"):
        return None
    element = matches[0].root
    name, attributes = element.tag, _attributes(element.attrib.items())
    rank = 0
    for other in element.getroottree().iter(name):
        if other is element:
            break
        rank += _attributes(other.attrib.items()) == attributes

    def same_element(tag) -> bool:
        nonlocal rank
        if tag.name != name or _attributes((a.name, a.value) for a in tag.attributes) != attributes:
            return False
        rank -= 1
        return rank < 0
    return first_inner_html(text, same_element)


def _attributes(pairs) -> dict[str, str]:
    """Attributes as a browser keeps them: the first of each name, a bare one empty."""
    kept: dict[str, str] = {}
    for name, value in pairs:
        kept.setdefault(name, value or "")
    return kept


_HTML_WRAPPER = re.compile(r"^\s*<html>\s*<body>(.*)</body>\s*</html>\s*$", re.DOTALL)


def extract_main_text(page: str, url: str) -> str | None:
    """The page's main text as HTML (paragraphs, headings, lists, tables, images and links), as
    trafilatura finds it with its own fallbacks; None when it finds none."""
    import trafilatura  # its import takes a fifth of a second: only runs that extract pay it

    found = trafilatura.extract(page, url=url, output_format="html", include_images=True, include_links=True,
                                include_tables=True, include_comments=False)
    if not found:
        return None
    wrapped = _HTML_WRAPPER.match(found)
    return (wrapped[1] if wrapped else found).strip() or None


def _length(body: str) -> int:
    """Characters of text a reader sees in ``body``, whitespace not counted."""
    return len(re.sub(r"\s+", "", visible_text(body)))
