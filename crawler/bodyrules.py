"""The body rules: what the pipeline changes in an article's HTML, and nothing else.

Lazy images get their real ``src``, every image ``referrerpolicy="no-referrer"``, relative links
and sources become absolute, ``http://`` sources go through the image proxy, and (with
sanitising on) active content goes. Only the attributes a rule names are rewritten: every other
character of the body passes untouched (``crawler.htmlsource`` locates tags without
re-serialising the HTML), which is what keeps posts byte-identical to the original's.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import unquote, urljoin

from crawler import htmlsource

DEFAULT_HEADIMG_FALLBACK = "https://picsum.photos/400/300?random={n}"
REFERRER_POLICY = ' referrerpolicy="no-referrer"'
LAZY_SOURCES = ("data-original", "data-actualsrc", "data-lazy-src", "data-lazy", "data-url")
"""Attributes lazy-loading pages keep the real image URL in, when there is no ``data-src``."""


@dataclass(frozen=True)
class Body:
    html: str
    image_srcs: tuple[str, ...]
    """Each ``<img>``'s ``src`` after the body rules, in document order (decoded URLs)."""
    removed: tuple[str, ...] = ()
    """What sanitising took out (``<script>``, ``onclick handler``, ``tracking pixel``…)."""


def headimg_fallback(link: str, template: str = DEFAULT_HEADIMG_FALLBACK) -> str:
    """The image for a post without one: stable per article, so reruns write the same bytes."""
    n = int.from_bytes(hashlib.sha256(link.encode("utf-8")).digest()[:8], "big") % 10001
    return template.format(n=n)


def _is_relative(url: str) -> bool:
    return bool(url) and not url.startswith(("//", "#")) and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url)


def prepare_body(html: str, base_url: str, image_proxy: str | None = None, sanitize: bool = False) -> Body:
    """Apply the body rules, changing only the attributes they name.

    - a lazy ``data-src`` becomes the real ``src`` in place (any placeholder ``src`` goes);
      without one, an image that has no usable ``src`` gets it from the other lazy attributes;
    - ``<img>`` gets ``referrerpolicy="no-referrer"`` when it has none, so CDNs that refuse
      foreign referers still serve the published page;
    - relative ``<img src>``/``<a href>`` become absolute against the article's URL
      (protocol-relative ``//host`` URLs are left to the publishing site's scheme);
    - with an image proxy, every ``src`` starting with ``http://`` gets the proxy prefix.

    With ``sanitize``, nothing that runs gets through: ``<script>`` and other active elements
    go with their content, ``on*`` handlers and ``javascript:``-style URLs go, and so do 1x1
    tracking pixels. A body without them keeps every byte.
    """
    return _BodyRules(html, base_url, image_proxy, sanitize).apply()


class _BodyRules:
    """One body's edits, collected tag by tag and spliced in at the end."""

    def __init__(self, html: str, base_url: str, proxy: str | None, sanitize: bool = False) -> None:
        self.html = html
        self.base_url = base_url
        self.proxy = proxy or None
        self.sanitize = sanitize
        self.edits: list[tuple[int, int, str]] = []
        self.removed: list[str] = []

    def apply(self) -> Body:
        image_srcs = []
        tags = htmlsource.tags(self.html)
        removed_until = -1
        for index, tag in enumerate(tags):
            if tag.start < removed_until or not isinstance(tag, htmlsource.StartTag):
                continue
            if self.sanitize:
                end = self._active_element_end(tags, index)
                if end is not None:
                    self.edits.append((tag.start, end, ""))
                    removed_until = end
                    continue
                tag = self._without_unsafe_attributes(tag)
            if tag.name == "img":
                src = self._image(tag)
                if src:
                    image_srcs.append(src)
                continue
            for attr in tag.attributes:
                if attr.name == "src":
                    self._url(attr, proxy=True)
                elif attr.name == "href" and tag.name == "a":
                    self._url(attr, proxy=False)
        return Body(htmlsource.splice(self.html, self.edits), tuple(image_srcs), tuple(self.removed))

    def _active_element_end(self, tags: list, index: int) -> int | None:
        """Where the element to remove at ``tags[index]`` ends; None to keep it."""
        tag = tags[index]
        if tag.name == "img" and _is_tracking_pixel(tag):
            self.removed.append("tracking pixel")
            return tag.end
        if tag.name not in ACTIVE_ELEMENTS:
            return None
        self.removed.append(f"<{tag.name}>")
        if tag.self_closing or tag.name in htmlsource.VOID_ELEMENTS:
            return tag.end
        depth = 0
        for later in tags[index + 1 :]:
            if later.name != tag.name:
                continue
            if isinstance(later, htmlsource.StartTag):
                depth += 1
            elif depth:
                depth -= 1
            else:
                return later.end
        return len(self.html)  # never closed: a browser would run the rest as its content too

    def _without_unsafe_attributes(self, tag: htmlsource.StartTag) -> htmlsource.StartTag:
        kept = []
        for attr in tag.attributes:
            reason = _unsafe_attribute(tag.name, attr)
            if reason is None:
                kept.append(attr)
            else:
                self.removed.append(reason)
                self.edits.append((self._space_before(attr.start), attr.end, ""))
        if len(kept) == len(tag.attributes):
            return tag
        return tag.with_attributes(tuple(kept))

    def _image(self, tag: htmlsource.StartTag) -> str | None:
        """Queue the edits one ``<img>`` needs; return its final ``src``."""
        after = tag.attributes[-1].end if tag.attributes else tag.start + 1 + len(tag.name)
        srcs = [a for a in tag.attributes if a.name == "src"]
        lazy = tag.get("data-src")
        if lazy is not None and _usable_src(lazy.value):
            self.edits.append((lazy.start, lazy.start + len("data-src"), "src"))
            for placeholder in srcs:
                self.edits.append((self._space_before(placeholder.start), placeholder.end, ""))
            final = self._url(lazy, proxy=True)
        elif srcs and _usable_src(srcs[0].value):
            final = self._url(srcs[0], proxy=True)
        else:
            final = self._lazy_source(tag)
            if final is not None:
                final = self._final_url(final, proxy=True)
                value = htmlsource.attribute_value(final)
                if srcs:
                    self.edits.append((srcs[0].value_start, srcs[0].value_end, value))
                else:
                    self.edits.append((after, after, f' src="{value}"'))
        if tag.get("referrerpolicy") is None:
            self.edits.append((after, after, REFERRER_POLICY))
        return final

    def _space_before(self, offset: int) -> int:
        while offset > 0 and self.html[offset - 1] in " \t\r\n\f":
            offset -= 1
        return offset

    @staticmethod
    def _lazy_source(tag: htmlsource.StartTag) -> str | None:
        for name in LAZY_SOURCES:
            attr = tag.get(name)
            if attr is not None and _usable_src(attr.value):
                return attr.value.strip()
        for name in ("srcset", "data-srcset"):
            attr = tag.get(name)
            candidates = (attr.value or "").strip() if attr is not None else ""
            if candidates:
                first = candidates.split(",")[0].split()[0]
                if _usable_src(first):
                    return first
        return None

    def _final_url(self, url: str, proxy: bool) -> str:
        if _is_relative(url.strip()):
            url = urljoin(self.base_url, url.strip())
        if proxy and self.proxy and url.startswith("http://"):
            url = self.proxy + url
        return url

    def _url(self, attr: htmlsource.Attribute, proxy: bool) -> str | None:
        """Absolutise (and proxy) one URL attribute in place; return its final decoded value."""
        value = attr.value
        if value is None:
            return None
        final = self._final_url(value, proxy)
        if final == value:
            return final
        if self.proxy and final == self.proxy + value:
            # Only the prefix is new: insert it, keep the value's own characters.
            self.edits.append((attr.value_start, attr.value_start, htmlsource.attribute_value(self.proxy)))
        else:
            self.edits.append((attr.value_start, attr.value_end, htmlsource.attribute_value(final)))
        return final


ACTIVE_ELEMENTS = frozenset({"script", "object", "embed", "applet", "base", "meta", "link", "frame", "frameset"})
"""Elements removed, with their content, when sanitising: they run code or redirect the page."""
URL_ATTRIBUTES = frozenset({
    "href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "cite",
    "lowsrc", "dynsrc", "longdesc", "codebase", "srcset", "data-src", "data-original",
})
_SCRIPT_URL = re.compile(r"^(javascript|vbscript|livescript):")
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")


def _unsafe_attribute(tag_name: str, attr: htmlsource.Attribute) -> str | None:
    """Why this attribute must go when sanitising, or None."""
    if attr.name.startswith("on"):
        return f"{attr.name} handler"
    if attr.name == "srcdoc":
        return "srcdoc"
    if attr.name == "style" and re.search(r"expression\s*\(|javascript:", (attr.value or ""), re.IGNORECASE):
        return "scripted style"
    if attr.name in URL_ATTRIBUTES and attr.value:
        url = _URL_NOISE.sub("", attr.value).lower()
        if _SCRIPT_URL.match(url):
            return f"{url.split(':', 1)[0]}: URL"
        if url.startswith("data:") and not (tag_name == "img" and url.startswith("data:image/") and "svg" not in url[:20]):
            return "data: URL"
    return None


def _is_tracking_pixel(tag: htmlsource.StartTag) -> bool:
    sizes = []
    for name in ("width", "height"):
        attr = tag.get(name)
        match = re.match(r"^\s*(\d+)\s*(px)?\s*$", (attr.value or "") if attr is not None else "")
        sizes.append(int(match.group(1)) if match else None)
    return all(size is not None and size <= 1 for size in sizes)


def _usable_src(value: str | None) -> bool:
    value = (value or "").strip()
    return bool(value) and not value.startswith(("data:", "about:"))


def unwrap_proxy(url: str, proxy: str | None) -> str:
    """The original URL behind an image-proxy URL (``PROXY + http://origin/…``)."""
    if proxy and url.startswith(proxy):
        inner = url[len(proxy):]
        return unquote(inner) if re.match(r"^https?%3A", inner, re.IGNORECASE) else inner
    return url


def replace_image_srcs(html: str, replacements: dict[str, str]) -> str:
    """Point each ``<img src>`` found in ``replacements`` (by its decoded value) elsewhere."""
    edits = []
    for tag in htmlsource.start_tags(html, "img"):
        src = tag.get("src")
        if src is not None and src.value in replacements:
            edits.append((src.value_start, src.value_end, htmlsource.attribute_value(replacements[src.value])))
    return htmlsource.splice(html, edits)


def first_image(body: Body, link: str, fallback: str = DEFAULT_HEADIMG_FALLBACK) -> str:
    """``headimg``: the first image's ``src`` after the body rules, else the stable fallback."""
    return body.image_srcs[0] if body.image_srcs else headimg_fallback(link, fallback)
