"""The sources file: which aggregators to crawl, and the settings they run with.

A mistake in this file must stop a run before anything is fetched, with one line that names the
file, the source and the field, so a cron job's mail says exactly what to fix: a CSS selector,
a JSON path and a regular expression are checked here, not when the first page arrives.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.options import SettingError, check_settings

SPIDER_NAMES = ("qutoutiao", "feed", "html", "json")
"""Shapes a source may name in ``spider`` (the readers of ``crawler.readers``); kept here so a
config can be checked without loading Scrapy."""

FULLTEXT_MODES = ("selector", "extract")
"""How an article page becomes the body: the ``content`` element as the page wrote it, or the
main text as trafilatura finds it."""

_SOURCE_NAME = re.compile(r"^[\w][\w.-]{0,99}$")
_COMMON_KEYS = {"name", "spider", "url", "categories", "author", "keep", "block", "match_body"}
_LIST_KEYS = {"items", "link", "title", "date", "next", "pages", "content", "fulltext"}
SOURCE_KEYS = {
    "feed": _COMMON_KEYS | {"fulltext", "content"},
    "html": _COMMON_KEYS | _LIST_KEYS,
    "json": _COMMON_KEYS | _LIST_KEYS | {"body", "page_param", "ignore_query"},
}
SOURCE_KEYS["qutoutiao"] = SOURCE_KEYS["json"]
_ALL_KEYS = set().union(*SOURCE_KEYS.values())

QUTOUTIAO = {
    "items": "data.data", "link": ["url", "detail_url"], "title": "title", "date": "show_time",
    "content": ".content", "page_param": "page", "ignore_query": True,
}
"""The ``qutoutiao`` spider is the ``json`` one with these fields: each entry's ``url`` is the
article page, whose ``.content`` element is the body; ``page`` counts the list pages; and an
article is the page without its query (the list adds tracking parameters to it)."""


class ConfigError(ValueError):
    """A sources file that cannot be used; the message is the whole explanation."""


@dataclass(frozen=True)
class Listing:
    """Where an ``html`` list page (CSS selectors) or a ``json`` answer (dotted paths) holds its
    entries and their fields; ``link`` may name several places, the first filled one wins."""

    items: str
    link: tuple[str, ...]
    title: str
    date: str | None = None
    body: str | None = None
    next: str | None = None
    """Where the next list page's URL is (a selector or a path)."""
    page_param: str | None = None
    """The query parameter that numbers the list pages (json)."""
    ignore_query: bool = False
    """An article is its link without the query string (lists that add tracking parameters)."""


@dataclass(frozen=True, repr=False)
class EntryRules:
    """Which entries are written: ``keep`` (when given) must match, ``block`` must not; both are
    matched against the title, and against the body's text too with ``match_body``."""

    keep: re.Pattern | None = None
    block: re.Pattern | None = None
    match_body: bool = False

    def __repr__(self) -> str:
        # Whole patterns: re.Pattern's own repr stops at 200 characters, and a source's repr is
        # what tells a changed definition (crawler.readers.feed.feed_mark).
        patterns = [(rule.pattern, rule.flags) if rule is not None else None for rule in (self.keep, self.block)]
        return f"EntryRules(keep={patterns[0]!r}, block={patterns[1]!r}, match_body={self.match_body!r})"

    def verdict(self, title: str, body_text: str | None) -> str | None:
        """Why the entry is not written, or None. ``body_text`` None: the body is not known
        yet, so only what the title decides is said (an entry its body may keep is let by)."""
        texts = [title] + ([body_text] if self.match_body and body_text is not None else [])
        if self.block is not None and any(self.block.search(text) for text in texts):
            return f"blocked by {self.block.pattern!r}"
        if self.keep is not None and not any(self.keep.search(text) for text in texts):
            if self.match_body and body_text is None:
                return None
            return f"not kept by {self.keep.pattern!r}"
        return None

    @property
    def judges_body(self) -> bool:
        return self.match_body and (self.keep is not None or self.block is not None)


@dataclass(frozen=True)
class Source:
    name: str
    spider: str
    url: str
    categories: tuple[str, ...]
    author: str | None = None
    pages: int = 1
    listing: Listing | None = None
    """For ``html``, ``json`` and ``qutoutiao`` sources."""
    fulltext: str | None = None
    """``selector`` or ``extract``: each entry's page is fetched for its body (a feed's or a
    list's own body then stands in when the page gives less)."""
    content: str | None = None
    """The CSS selector of the article page's body element."""
    rules: EntryRules = field(default_factory=EntryRules)

    def in_category(self, path: str) -> bool:
        """Whether the source's categories start with ``path`` (``新媒体/趣头条``)."""
        joined, path = "/".join(self.categories), path.strip("/")
        return joined == path or joined.startswith(path + "/")

    @property
    def post_author(self) -> str:
        """The post's ``author``: the configured one, else the site (``categories[1]``)."""
        if self.author is not None:
            return self.author
        return self.categories[1] if len(self.categories) > 1 else self.categories[0]


@dataclass(frozen=True)
class Config:
    path: Path
    settings: dict[str, Any]
    sources: tuple[Source, ...]

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"{self.path}: no source named {name!r} (configured: {known})")

    def choose(self, names: Iterable[str] = (), categories: Iterable[str] = (), shape: str | None = None) -> list[Source]:
        """The sources a run crawls: the named ones (all by default), of those the ones under one
        of ``categories``, and, for a spider of one shape, only that shape's."""
        names, categories = list(names), list(categories)
        sources = [self.source(name) for name in names] if names else list(self.sources)
        if shape is not None:
            wrong = [s for s in sources if s.spider != shape] if names else []
            if wrong:
                raise ConfigError(f"{self.path}: source {wrong[0].name!r} is for the {wrong[0].spider!r} "
                                  f"spider, not {shape!r}")
            sources = [s for s in sources if s.spider == shape]
        if categories:
            sources = [s for s in sources if any(s.in_category(path) for path in categories)]
            if not sources:
                raise ConfigError(f"{self.path}: no source has categories starting with {' or '.join(categories)}")
        if not sources:
            raise ConfigError(f"{self.path}: no {shape} source configured")
        return sources


def load_config(path: str | Path) -> Config:
    """Read and check a sources file; raise ConfigError on the first problem found."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 text") from None

    unknown = set(data) - {"settings", "sources"}
    if unknown:
        raise ConfigError(f"{path}: {sorted(unknown)[0]}: unknown table (expected settings, sources)")
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: settings: must be a table")
    try:
        check_settings(f"{path}: settings", settings)
    except SettingError as exc:
        raise ConfigError(str(exc)) from None
    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list) or not raw_sources:
        raise ConfigError(f"{path}: sources: at least one [[sources]] table is required")

    sources: list[Source] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_sources):
        source = parse_source(f"{path}: sources[{index}]", raw)
        if source.name in seen:
            raise ConfigError(f"{path}: sources[{index}].name: duplicate name {source.name!r}")
        seen.add(source.name)
        sources.append(source)
    return Config(path=path, settings=dict(settings), sources=tuple(sources))


def parse_source(where: str, raw: Any) -> Source:
    """One ``[[sources]]`` table, checked; ``where`` names it in errors (file and index)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table")
    unknown = set(raw) - _ALL_KEYS
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown field (expected one of {', '.join(sorted(_ALL_KEYS))})")

    name = _required_str(where, raw, "name")
    if not _SOURCE_NAME.match(name):
        raise ConfigError(
            f"{where}.name: {name!r} is not a usable name (letters, digits, '.', '_', '-'; "
            "no leading dot; at most 100 characters)"
        )
    where = f"{where} ({name})"
    spider = _required_str(where, raw, "spider")
    if spider not in SPIDER_NAMES:
        raise ConfigError(f"{where}.spider: unknown spider {spider!r} (expected one of {', '.join(SPIDER_NAMES)})")
    foreign = set(raw) - SOURCE_KEYS[spider]
    if foreign:
        key = sorted(foreign)[0]
        takers = [s for s in SPIDER_NAMES if key in SOURCE_KEYS[s] and s != "qutoutiao"]
        raise ConfigError(f"{where}.{key}: not a field of the {spider} spider (only of {', '.join(takers)})")
    url = _required_str(where, raw, "url")
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"{where}.url: {url!r} is not an http:// or https:// URL")

    categories = raw.get("categories")
    if (
        not isinstance(categories, list)
        or not categories
        or not all(isinstance(c, str) and c.strip() for c in categories)
    ):
        raise ConfigError(f"{where}.categories: must be a list of one or more non-empty strings")

    author = raw.get("author")
    if author is not None and (not isinstance(author, str) or not author.strip()):
        raise ConfigError(f"{where}.author: must be a non-empty string")

    if ("next" in raw or "page_param" in raw) and "pages" not in raw:
        raise ConfigError(f"{where}.pages: missing: how many list pages to read at most")
    if spider == "qutoutiao":
        raw = {**QUTOUTIAO, **raw}
    pages = raw.get("pages", 1)
    if isinstance(pages, bool) or not isinstance(pages, int) or pages < 1:
        raise ConfigError(f"{where}.pages: must be a whole number of at least 1")

    fulltext = raw.get("fulltext")
    if fulltext is not None and fulltext not in FULLTEXT_MODES:
        raise ConfigError(f"{where}.fulltext: must be one of {', '.join(FULLTEXT_MODES)} (not {fulltext!r})")
    content = _selector(where, raw, "content", element=True)
    if fulltext == "selector" and content is None:
        raise ConfigError(f'{where}.content: missing (fulltext = "selector" takes the element it names)')
    if fulltext == "extract" and content is not None:
        raise ConfigError(f'{where}.content: not used with fulltext = "extract" (drop one of them)')

    listing = None
    if spider != "feed":
        listing = _listing(where, raw, spider, pages)
        if listing.body is None and content is None and fulltext is None:
            what = "content (the article page's element) or fulltext = \"extract\"" + (
                ", or body" if spider != "html" else "")
            raise ConfigError(f"{where}.content: missing: an entry's body needs {what}")
    return Source(name=name, spider=spider, url=url, categories=tuple(categories), author=author, pages=pages,
                  listing=listing, fulltext=fulltext, content=content, rules=_rules(where, raw))


def _listing(where: str, raw: dict, spider: str, pages: int) -> Listing:
    field_of = _path if spider != "html" else _selector
    links = raw.get("link")
    links = links if isinstance(links, list) and links else [links]
    link = tuple(field_of(where, {"link": value}, "link", required=True) for value in links)
    next_page = field_of(where, raw, "next")
    page_param = raw.get("page_param")
    if page_param is not None and (not isinstance(page_param, str) or not re.fullmatch(r"[\w.-]+", page_param)):
        raise ConfigError(f"{where}.page_param: must be the name of a query parameter, such as \"page\"")
    if next_page is not None and page_param is not None:
        raise ConfigError(f"{where}.page_param: a list pages by next or by page_param, not both")
    if pages > 1 and next_page is None and page_param is None:
        follow = "next" + (" or page_param" if spider != "html" else "")
        raise ConfigError(f"{where}.pages: {pages} pages need {follow} to find the next one")
    ignore_query = raw.get("ignore_query", False)
    if not isinstance(ignore_query, bool):
        raise ConfigError(f"{where}.ignore_query: must be true or false")
    return Listing(items=field_of(where, raw, "items", required=True), link=link,
                   title=field_of(where, raw, "title", required=True), date=field_of(where, raw, "date"),
                   body=field_of(where, raw, "body") if spider != "html" else None, next=next_page,
                   page_param=page_param, ignore_query=ignore_query)


def _rules(where: str, raw: dict) -> EntryRules:
    match_body = raw.get("match_body", False)
    if not isinstance(match_body, bool):
        raise ConfigError(f"{where}.match_body: must be true or false")
    return EntryRules(keep=_regex(where, raw, "keep"), block=_regex(where, raw, "block"), match_body=match_body)


def _regex(where: str, raw: dict, key: str) -> re.Pattern | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key}: must be a regular expression (a non-empty string)")
    try:
        return re.compile(value)
    except re.error as exc:
        raise ConfigError(f"{where}.{key}: not a valid regular expression: {exc}") from None


def _selector(where: str, raw: dict, key: str, required: bool = False, element: bool = False) -> str | None:
    """A CSS selector as Scrapy reads it (``::text`` and ``::attr(name)`` included, except for an
    ``element`` such as ``content``, whose inner HTML is taken)."""
    from cssselect import SelectorError, parse
    from parsel.csstranslator import HTMLTranslator

    value = _optional_str(where, raw, key, required)
    if value is None:
        return None
    try:
        HTMLTranslator().css_to_xpath(value)
        if element and any(part.pseudo_element for part in parse(value)):
            raise SelectorError("names text or an attribute, not an element")
    except SelectorError as exc:
        raise ConfigError(f"{where}.{key}: {value!r} is not a usable CSS selector: {exc}") from None
    return value


_PATH = re.compile(r"[^.\s]+(?:\.[^.\s]+)*")


def _path(where: str, raw: dict, key: str, required: bool = False) -> str | None:
    """A dotted path into a JSON answer: keys, and numbers for list positions (``data.list``)."""
    value = _optional_str(where, raw, key, required)
    if value is not None and not _PATH.fullmatch(value):
        raise ConfigError(f"{where}.{key}: {value!r} is not a dotted path such as \"data.list\" or \"items.0.url\"")
    return value


def _optional_str(where: str, raw: dict, key: str, required: bool) -> str | None:
    if raw.get(key) is None and not required:
        return None
    return _required_str(where, raw, key)


def source_table(fields: dict[str, Any]) -> str:
    """A ``[[sources]]`` table of ``fields`` (strings, whole numbers, lists of strings) in TOML,
    for the commands that write sources files."""
    lines = "".join(f"{key} = {_toml_value(value)}\n" for key, value in fields.items())
    return f"[[sources]]\n{lines}"


def _toml_value(value: str | int | list[str]) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(toml_string(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return toml_string(value)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _required_str(where: str, raw: dict, key: str) -> str:
    value = raw.get(key)
    if value is None:
        raise ConfigError(f"{where}.{key}: missing")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key}: must be a non-empty string")
    return value
