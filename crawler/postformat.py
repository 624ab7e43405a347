"""The seed post format: the one module that knows how a post looks on disk.

The original generator built each file with ``str.format`` on a fixed template (its rules are
written down in the project's README). This module reproduces that layout byte for byte and
fixes the original's bugs: values are quoted whenever the original's plain quoting would not
read back as the same string. What goes into the body is ``crawler.bodyrules``'s; where the
file goes, ``crawler.filenames``'s.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime

import yaml

try:  # the loader python-frontmatter itself uses
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

TITLE_REPLACED = re.compile(r"[:/\\?*“”<>|\[\]]")
"""Characters the original replaced with ``_`` in titles."""

_YAML_LINE_BREAKS = re.compile("[\r\n\x85\u2028\u2029]")
# Scalars YAML 1.2 loaders (Hexo's js-yaml) type as numbers though PyYAML's 1.1 reads a string.
_YAML12_NUMBER = re.compile(r"^[-+]?(0o[0-7]+|0x[0-9a-fA-F]+|(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?)$")


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
