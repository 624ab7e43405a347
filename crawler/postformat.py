"""The seed post format: the one module that knows how a post looks on disk.

The original generator built each file with ``str.format`` on a fixed template (its rules are
written down in the project's README). This module reproduces that layout byte for byte and
fixes the original's bugs: values are quoted whenever the original's plain quoting would not
read back as the same string, every ``http://`` source is proxied (not only when the first image
is), and file names are safe on every file system.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin

import yaml

from crawler import htmlsource

try:  # the loader python-frontmatter itself uses
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

TITLE_REPLACED = re.compile(r"[:/\\?*“”<>|\[\]]")
"""Characters the original replaced with ``_`` in titles."""

DEFAULT_HEADIMG_FALLBACK = "https://picsum.photos/400/300?random={n}"
REFERRER_POLICY = ' referrerpolicy="no-referrer"'
LAZY_SOURCES = ("data-original", "data-actualsrc", "data-lazy-src", "data-lazy", "data-url")
"""Attributes lazy-loading pages keep the real image URL in, when there is no ``data-src``."""

MAX_NAME_BYTES = 200
SUFFIX_BYTES = 7  # "-" + 6 hex digits, added when two articles want the same file name
_YAML_LINE_BREAKS = re.compile("[\r\n\x85\u2028\u2029]")
# Scalars YAML 1.2 loaders (Hexo's js-yaml) type as numbers though PyYAML's 1.1 reads a string.
_YAML12_NUMBER = re.compile(r"^[-+]?(0o[0-7]+|0x[0-9a-fA-F]+|(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?)$")
# ``%`` too: Hexo decodes permalinks as URIs, and a bare ``%`` makes it drop the post.
_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f/\\<>:"|?*%]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Post:
    """Every value a post file holds, final: rendering only lays them out."""

    title: str
    categories: tuple[str, ...]
    headimg: str
    author: str
    date: str
    body: str
    thumbnail: str | None = None
    """Defaults to ``headimg``, as in the original; a mirrored thumbnail when links are local."""


@dataclass(frozen=True)
class Body:
    html: str
    image_srcs: tuple[str, ...]
    """Each ``<img>``'s ``src`` after the body rules, in document order (decoded URLs)."""
    removed: tuple[str, ...] = ()
    """What sanitising took out (``<script>``, ``onclick handler``, ``tracking pixel``…)."""


def clean_title(title: str) -> str:
    """The original's title clean-up: path and markup characters become ``_``."""
    return TITLE_REPLACED.sub("_", title)


def escape_braces(text: str) -> str:
    """``{``/``}`` as HTML character references, so Hexo's template engine sees no tags."""
    return text.replace("{", "&#123;").replace("}", "&#125;")


def format_date(moment: datetime) -> str:
    """RFC 822 in GMT, as RSSHub writes ``pubDate``: ``Tue, 22 Jun 2021 10:54:49 GMT``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return format_datetime(moment.astimezone(timezone.utc).replace(microsecond=0), usegmt=True)


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
        return htmlsource.StartTag(tag.name, tag.start, tag.end, tuple(kept), tag.self_closing)

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


# --- front matter -------------------------------------------------------------------------


def _reads_back(text: str, value: str, in_sequence: bool) -> bool:
    if _YAML_LINE_BREAKS.search(text):
        return False  # a raw line break could end the front matter for a line-based reader
    document = f"k:\n - {text}\n" if in_sequence else f"k: {text}\n"
    try:
        loaded = yaml.load(document, Loader=_Loader)
    except yaml.YAMLError:
        return False
    return loaded == {"k": [value] if in_sequence else value}


def _escaped(value: str) -> str:
    """A double-quoted YAML scalar with escapes: reads back as ``value`` whatever it holds."""
    text = yaml.dump(value, Dumper=yaml.SafeDumper, default_style='"', allow_unicode=True, width=float("inf"))
    return text[: text.rindex('"') + 1]


# Characters YAML accepts in a stream (PyYAML's reader): anything else must be escaped.
_YAML_PRINTABLE = re.compile("[\x09\x20-\x7E\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]*")


def _quoted_reads_back(value: str, style: str) -> bool:
    r"""Whether the unescaped quoting reads back exactly, decided without a YAML parser: a
    one-line printable value is safe in ``'…'`` unless it holds ``'``, and in ``"…"`` unless it
    holds ``"`` or ``\``."""
    if not _YAML_PRINTABLE.fullmatch(value) or value.startswith("\ufeff"):
        return False
    return "'" not in value if style == "single" else '"' not in value and "\\" not in value


@functools.lru_cache(maxsize=4096)
def yaml_scalar(value: str, styles: tuple[str, ...], in_sequence: bool = False) -> str:
    """The first of ``styles`` (plain, single, double: unescaped, as the original wrote them)
    that reads back as exactly ``value``; else an escaped double-quoted scalar. Cached: the
    same categories and authors come back in every post of a source."""
    for style in styles:
        if style == "plain":
            if not _YAML12_NUMBER.match(value) and value == value.strip() and _reads_back(value, value, in_sequence):
                return value
        elif _quoted_reads_back(value, style):
            quote = "'" if style == "single" else '"'
            return quote + value + quote
    return _escaped(value)


def render(post: Post) -> str:
    """The whole file, as the original laid it out; values are read back exactly by YAML."""
    title = escape_braces(post.title)
    title_styles = ("double",) if "'" in title else ("single",)
    front = [
        "",
        "---",
        "title: " + yaml_scalar(title, title_styles),
        "categories: ",
        *(" - " + yaml_scalar(escape_braces(c), ("plain", "single"), in_sequence=True) for c in post.categories),
        "headimg: " + yaml_scalar(escape_braces(post.headimg), ("single",)),
        "author: " + yaml_scalar(escape_braces(post.author), ("plain", "single")),
        "comments: false",
        "date: " + yaml_scalar(post.date, ("plain", "single")),
        "thumbnail: " + yaml_scalar(escape_braces(post.thumbnail or post.headimg), ("single",)),
        "---",
        "",
        "<div>   ",
    ]
    return escape_braces("\n".join(front) + "\n" + post.body + "  \n</div>\n" + " " * 12)


# --- file names ---------------------------------------------------------------------------


def safe_component(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """One path component that every file system accepts and that cannot climb out."""
    name = _UNSAFE_NAME_CHARS.sub("_", name)
    # No leading "_" or ".": Hexo ignores such files and folders (the original's “quoted”
    # titles became "_quoted_…" and silently never appeared); no trailing space or dot either.
    name = _truncate(name, max_bytes).lstrip("_.").rstrip(" .")
    if not name:
        return "untitled"
    if _WINDOWS_RESERVED.match(name):
        device, dot, rest = name.partition(".")
        name = device + "_" + dot + rest
    return _truncate(name, max_bytes)


def _truncate(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", "ignore")


def post_relpath(categories: tuple[str, ...] | list[str], title: str, suffix: str = "") -> PurePosixPath:
    """``<categories…>/<T>.md`` as the original named it (a ``/`` inside a category nests
    folders, and ``T`` is the title without newlines, ``#`` and ``.``), made safe.

    ``suffix`` tells apart two articles whose names would otherwise be the same.
    """
    folders = [safe_component(part) for category in categories for part in category.split("/")]
    stem = title.replace("\n", "").replace("#", "").replace(".", "")
    stem = safe_component(stem, MAX_NAME_BYTES - len(".md") - SUFFIX_BYTES)
    return PurePosixPath(*folders, stem + suffix + ".md")


def name_suffix(key: str) -> str:
    """The short stable suffix for an article whose file name is taken by another."""
    return "-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:6]
