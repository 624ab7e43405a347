"""What the pipeline remembers between runs, in ``DIR/state.sqlite3``.

Each article has a stable key (its guid, else its canonical link) and keeps the file it was
first written to: the same article always lands in the same file, two articles that want the
same name get different ones, and a post without a date keeps the time it was first seen.
SQLite in WAL mode lets a reader (``crawler sources``) look while a run writes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from w3lib.url import canonicalize_url

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    key        TEXT PRIMARY KEY,
    path       TEXT NOT NULL UNIQUE,
    hash       TEXT NOT NULL,
    source     TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL
);
"""


def article_key(guid: str | None, link: str) -> str:
    """The feed's guid when it has one, else the canonical form of the link."""
    if guid and guid.strip():
        return "guid:" + guid.strip()
    return "url:" + canonicalize_url(link)


@dataclass(frozen=True)
class ArticleRecord:
    key: str
    path: str
    hash: str
    source: str
    first_seen: datetime
    last_seen: datetime


class StateStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def article(self, key: str) -> ArticleRecord | None:
        row = self._db.execute(
            "SELECT key, path, hash, source, first_seen, last_seen FROM articles WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        return ArticleRecord(*row[:4], datetime.fromisoformat(row[4]), datetime.fromisoformat(row[5]))

    def path_owner(self, path: str) -> str | None:
        row = self._db.execute("SELECT key FROM articles WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    def record(self, key: str, path: str, hash: str, source: str, seen: datetime) -> None:
        """Remember an article whose post has been written (call only after the write)."""
        stamp = seen.astimezone(timezone.utc).isoformat()
        self._db.execute(
            "INSERT INTO articles (key, path, hash, source, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET path = excluded.path, hash = excluded.hash,"
            " source = excluded.source, last_seen = excluded.last_seen",
            (key, path, hash, source, stamp, stamp),
        )
