"""The project's settings with a fixed set of values or a range, checked before anything runs.

A wrong value must stop a run with one line that names the file and the setting, before a
request is made: not as a ``ValueError`` from a pipeline's constructor once the crawl has
started. ``check_settings`` runs on the sources file's ``[settings]`` when the file is read, and
on the effective settings (command-line ``-s`` included) when a crawler is built. Components
then read their settings without checking them again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

FETCH_MODES = ("origin", "proxy")
REFERER_POLICIES = ("page", "origin", "none")
LINK_MODES = ("remote", "local")
DUPLICATE_MODES = ("skip", "keep", "off")

Rule = Callable[[Any], str | None]
"""A check: None when the value is usable, else what is wrong with it."""


class SettingError(ValueError):
    """A setting that cannot be used; the message names it and says why."""


def _one_of(*choices: str) -> Rule:
    def rule(value):
        return None if value in choices else f"must be one of {', '.join(choices)} (not {value!r})"
    return rule


def _number(minimum: float, whole: bool = False, maximum: float | None = None) -> Rule:
    kind = "a whole number" if whole else "a number"
    wanted = f"{kind} of at least {minimum:g}" if maximum is None else f"{kind} from {minimum:g} to {maximum:g}"

    def rule(value):
        if isinstance(value, str):  # `-s NAME=VALUE` on the command line
            try:
                value = int(value) if whole else float(value)
            except ValueError:
                return f"must be {wanted} (not {value!r})"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)):
            return f"must be {wanted} (not {value!r})"
        if value < minimum or (maximum is not None and value > maximum):
            return f"must be {wanted} (not {value!r})"
        return None
    return rule


def _fraction(value) -> str | None:
    if _number(0)(value) is None and 0 < float(value) <= 1:
        return None
    return f"must be a number above 0 and at most 1 (not {value!r})"


def _flag(value) -> str | None:
    if isinstance(value, bool) or value in (0, 1) or (isinstance(value, str) and value.lower() in ("true", "false", "0", "1")):
        return None
    return f"must be true or false (not {value!r})"


def _text(value) -> str | None:
    return None if isinstance(value, str) else f"must be a string (not {value!r})"


def _database_url(value) -> str | None:
    if not isinstance(value, str):
        return f"must be a string (not {value!r})"
    if value and not value.startswith(("postgresql://", "postgres://")):
        return f"must be empty (the state in DIR) or a postgresql:// URL (not {value.split('://')[0]!r}://…)"
    return None


def _frontier_url(value) -> str | None:
    if not isinstance(value, str):
        return f"must be a string (not {value!r})"
    if value and not value.startswith(("redis://", "rediss://", "unix://")):
        return f"must be empty or a redis:// URL (not {value.split('://')[0]!r}://…)"
    return None


def _networks(value) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):  # `-s NAME=VALUE`: true, false or CIDRs separated by commas
        if value.lower() in ("true", "false", "1", "0"):
            return None
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)):
        return f"must be true, false or a list of networks such as \"10.0.0.0/8\" (not {value!r})"
    import ipaddress

    for network in value:
        try:
            ipaddress.ip_network(network, strict=False)
        except (TypeError, ValueError):
            return f"{network!r} is not a network such as \"10.0.0.0/8\" or \"fd00::/8\""
    return None


def _store_url(value) -> str | None:
    if not isinstance(value, str):
        return f"must be a string (not {value!r})"
    scheme = value.split("://", 1)[0] if "://" in value else ""
    return None if scheme in ("", "file", "s3") else f"must be a folder or an s3:// URL (not {scheme}://…)"


def _size_pair(value) -> str | None:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)) or len(value) != 2 or any(_number(1, whole=True)(v) for v in value):
        return f"must be two whole numbers of at least 1, width and height (not {value!r})"
    return None


def _table(value) -> Mapping | str:
    """A TOML table, or the JSON object ``-s`` gives as text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return f"must be a table (not {value!r})"
    if not isinstance(value, Mapping):
        return f"must be a table (not {value!r})"
    return value


def _per_host(checks: dict[str, Rule]) -> Rule:
    """A table of hosts, each a table of the keys ``checks`` knows."""
    def rule(value):
        table = _table(value)
        if isinstance(table, str):
            return table
        for host, entry in table.items():
            if not isinstance(entry, Mapping):
                return f"[{host!r}]: must be a table"
            unknown = set(entry) - set(checks)
            if unknown:
                return f"[{host!r}].{sorted(unknown)[0]}: unknown key (expected {', '.join(sorted(checks))})"
            for key, check in checks.items():
                if key in entry and (problem := check(entry[key])):
                    return f"[{host!r}].{key}: {problem}"
        return None
    return rule


RULES: dict[str, Rule] = {
    "IMAGE_FETCH": _one_of(*FETCH_MODES),
    "IMAGE_REFERER": _one_of(*REFERER_POLICIES),
    "IMAGE_LINKS": _one_of(*LINK_MODES),
    "IMAGE_LINKS_PREFIX": _text,
    "IMAGE_HOST_POLICIES": _per_host({"referer": _one_of(*REFERER_POLICIES), "user_agent": _text}),
    "IMAGE_PROXY": _text,
    "IMAGES_STORE": _text,
    "HEADIMG_FALLBACK": _text,
    "IMAGES_ENABLED": _flag,
    "CLEAN_TITLES": _flag,
    "SANITIZE_HTML": _flag,
    "FORCE_REFRESH": _flag,
    "DUPLICATES": _one_of(*DUPLICATE_MODES),
    "DUPLICATE_THRESHOLD": _fraction,
    "DUPLICATE_WINDOW_DAYS": _number(0),
    "IMAGES_EXPIRES": _number(0),
    "IMAGES_RETRY_FAILED_HOURS": _number(0),
    "IMAGES_MAX_BYTES": _number(1, whole=True),
    "IMAGES_MAX_PIXELS": _number(1, whole=True),
    "IMAGES_THUMB_SIZE": _size_pair,
    "IMAGES_CHECK_WORKERS": _number(1, whole=True),
    "IMAGES_CHECK_NICE": _number(0, whole=True, maximum=19),
    "LOCK_WAIT": _number(0),
    "STATE_URL": _database_url,
    "POSTS_STORE": _store_url,
    "ALLOW_PRIVATE_NETWORKS": _networks,
    "FRONTIER_URL": _frontier_url,
    "FRONTIER_PREFIX": _text,
    "FRONTIER_LEASE_SECONDS": _number(1),
    "FRONTIER_RETRIES": _number(0, whole=True),
    "BATCH_WAIT": _number(0, maximum=1),
    "CONCURRENT_REQUESTS": _number(1, whole=True),
    "CONCURRENT_REQUESTS_PER_DOMAIN": _number(1, whole=True),
    "CONCURRENT_ITEMS": _number(1, whole=True),
    "DOWNLOAD_DELAY": _number(0),
    "DOWNLOAD_TIMEOUT": _number(0),
    # Scrapy's per-slot keys (``DOWNLOAD_SLOTS``): a misspelt key would be ignored silently.
    "DOWNLOAD_SLOTS": _per_host({"concurrency": _number(1, whole=True), "delay": _number(0), "jitter": _number(0),
                                 "randomize_delay": _flag}),
}


def check_settings(where: str, values: Mapping) -> None:
    """Raise SettingError for the first setting of ``values`` that breaks its rule.

    ``values`` is a plain table (the sources file's ``[settings]``) or Scrapy's Settings."""
    for key, rule in RULES.items():
        value = values.get(key)
        if value is None:  # not given (TOML has no null; Scrapy's unset defaults are None)
            continue
        problem = rule(value)
        if problem:
            separator = "" if problem.startswith("[") else ": "
            raise SettingError(f"{where}.{key}{separator}{problem}")
