"""The sources file: which aggregators to crawl, and the settings they run with.

A mistake in this file must stop a run before anything is fetched, with one line that names the
file and the field, so a cron job's mail says exactly what to fix.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.options import SettingError, check_settings

SPIDER_NAMES = ("qutoutiao", "feed")
"""Shapes a source may name in ``spider`` (the readers of ``crawler.readers``); kept here so a
config can be checked without loading Scrapy."""

_SOURCE_NAME = re.compile(r"^[\w][\w.-]{0,99}$")
_SOURCE_KEYS = {"name", "spider", "url", "categories", "author", "pages"}


class ConfigError(ValueError):
    """A sources file that cannot be used; the message is the whole explanation."""


@dataclass(frozen=True)
class Source:
    name: str
    spider: str
    url: str
    categories: tuple[str, ...]
    author: str | None = None
    pages: int = 1

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
        source = _parse_source(path, index, raw)
        if source.name in seen:
            raise ConfigError(f"{path}: sources[{index}].name: duplicate name {source.name!r}")
        seen.add(source.name)
        sources.append(source)
    return Config(path=path, settings=dict(settings), sources=tuple(sources))


def _parse_source(path: Path, index: int, raw: Any) -> Source:
    where = f"{path}: sources[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table")
    unknown = set(raw) - _SOURCE_KEYS
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown field (expected one of {', '.join(sorted(_SOURCE_KEYS))})")

    name = _required_str(where, raw, "name")
    if not _SOURCE_NAME.match(name):
        raise ConfigError(
            f"{where}.name: {name!r} is not a usable name (letters, digits, '.', '_', '-'; "
            "no leading dot; at most 100 characters)"
        )
    where = f"{path}: sources[{index}] ({name})"
    spider = _required_str(where, raw, "spider")
    if spider not in SPIDER_NAMES:
        raise ConfigError(f"{where}.spider: unknown spider {spider!r} (expected one of {', '.join(SPIDER_NAMES)})")
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

    pages = raw.get("pages", 1)
    if isinstance(pages, bool) or not isinstance(pages, int) or pages < 1:
        raise ConfigError(f"{where}.pages: must be a whole number of at least 1")
    if pages != 1 and spider != "qutoutiao":
        raise ConfigError(f"{where}.pages: only the qutoutiao spider pages through a list")

    return Source(name=name, spider=spider, url=url, categories=tuple(categories), author=author, pages=pages)


def _required_str(where: str, raw: dict, key: str) -> str:
    value = raw.get(key)
    if value is None:
        raise ConfigError(f"{where}.{key}: missing")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key}: must be a non-empty string")
    return value
