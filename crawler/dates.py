"""Publication dates as sources write them, read into timezone-aware datetimes.

Feeds use RFC 822 (RSS) or RFC 3339 (Atom); list APIs use Unix seconds; Chinese sites write
``2021-06-22 10:54:49`` or ``2021年06月22日``. A date that cannot be read is ``None``: the post
then takes the time the article was first seen, rather than losing the article.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

_CHINESE = re.compile(
    r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
    r"(?:\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?\s*秒?)?\s*$"
)
_DIGITS = re.compile(r"^\s*\d{9,13}(\.\d+)?\s*$")


def from_timestamp(value: float | int | str) -> datetime | None:
    """Unix seconds, or milliseconds when the number is too large to be seconds."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number > 1e11:  # past the year 5138 in seconds: it is milliseconds
        number /= 1000
    try:
        return datetime.fromtimestamp(number, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def parse_date(text: str | None, default_tz: timezone = timezone.utc) -> datetime | None:
    """Read a date written in any of the forms above; ``default_tz`` applies when none is given."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    if _DIGITS.match(text):
        return from_timestamp(text)
    moment = _rfc822(text) or _iso(text) or _chinese(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=default_tz)
    return moment.astimezone(timezone.utc)


def _rfc822(text: str) -> datetime | None:
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


_SHORT_OFFSET = re.compile(r"(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*([+-])(\d{1,2})(?::?(\d{1,2}))?$")


def _iso(text: str) -> datetime | None:
    candidate = text.replace("/", "-")
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    # Offsets written short (``+8``, ``+00:0``, ``+0800``): padded to ``+HH:MM``.
    candidate = _SHORT_OFFSET.sub(lambda m: f"{m[1]}{m[2]}{int(m[3]):02d}:{int(m[4] or 0):02d}", candidate)
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _chinese(text: str) -> datetime | None:
    m = _CHINESE.match(text)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in m.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def read_date(value) -> datetime | None:
    """A date as a JSON answer or a page holds it: Unix seconds (a number or digits) or any of
    the written forms above."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return from_timestamp(value)
    return parse_date(value) if isinstance(value, str) else None


def not_in_future(moment: datetime | None, now: datetime, slack: timedelta = timedelta(hours=1)) -> datetime | None:
    """A date later than ``now`` (beyond clock skew) is a source's mistake: treat it as unknown."""
    if moment is not None and moment > now + slack:
        return None
    return moment
