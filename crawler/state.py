"""What the pipeline remembers between runs, in ``DIR/state.sqlite3`` (or, with ``STATE_URL``,
in PostgreSQL: ``crawler.pgstate``).

Each article has a stable key (its guid, else its canonical link) and keeps the file it was
first written to: the same article always lands in the same file, two articles that want the
same name get different ones, and a post without a date keeps the time it was first seen.
SQLite in WAL mode lets a reader (``crawler sources``) look while a run writes.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

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
CREATE TABLE IF NOT EXISTS images (
    url        TEXT PRIMARY KEY,  -- the image's original URL (proxy prefix removed)
    path       TEXT,              -- in the image store; NULL while it has never been stored
    thumb      TEXT,
    checksum   TEXT,
    size       INTEGER,
    error      TEXT,              -- why the last attempt failed for good; NULL when stored
    checked_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS source_runs (
    name       TEXT PRIMARY KEY,
    finished   TEXT NOT NULL,
    outcome    TEXT NOT NULL      -- JSON: the source's part of the run report, without file lists
);
CREATE TABLE IF NOT EXISTS worker_reports (
    run        TEXT NOT NULL,     -- a shared run's id (crawler enqueue)
    worker     TEXT NOT NULL,
    updated    TEXT NOT NULL,
    report     TEXT NOT NULL,     -- JSON: the worker's run report so far
    PRIMARY KEY (run, worker)
);
CREATE TABLE IF NOT EXISTS published (
    site       TEXT NOT NULL,     -- the Hexo site's folder, absolute
    path       TEXT NOT NULL,     -- "posts/…" or "images/…", relative to DIR
    hash       TEXT NOT NULL,
    PRIMARY KEY (site, path)
);
CREATE TABLE IF NOT EXISTS signatures (
    id         INTEGER PRIMARY KEY,  -- what the bands point at: 8 bytes, not the key's text
    key        TEXT NOT NULL UNIQUE, -- an article's key, signed when it was first written
    minhash    BLOB NOT NULL,        -- crawler.neardup.Signature.to_bytes()
    size       INTEGER NOT NULL,
    seen       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS signature_bands (
    band       INTEGER NOT NULL,     -- one LSH band's value (crawler.neardup.Signature.bands)
    id         INTEGER NOT NULL,
    PRIMARY KEY (band, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS duplicates (
    key        TEXT PRIMARY KEY,  -- an article found to be a near-duplicate…
    original   TEXT NOT NULL,     -- …of this one's (an article key), for good
    source     TEXT NOT NULL,
    seen       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    source     TEXT NOT NULL,     -- a feed read whole, every entry of it known
    url        TEXT NOT NULL,
    mark       TEXT NOT NULL,     -- crawler.readers.feed.feed_mark: its bytes and the source
    entries    INTEGER NOT NULL,
    PRIMARY KEY (source, url)
);
"""


_KEYS_PER_STATEMENT = 500
"""Keys asked about in one statement by ``known`` (a feed may list thousands)."""


class StateUnavailable(Exception):
    """The state cannot be opened (its database is unreachable): nothing can be recorded, so
    nothing is crawled. The message says where and why, without a password."""


class State(Protocol):
    """What the crawl asks of its state, whichever store keeps it (``StateStore`` in DIR,
    ``crawler.pgstate.PostgresStateStore`` in PostgreSQL)."""

    batch_wait: float
    """Seconds a question may wait for others to share its round trip
    (``crawler.coalesce.Coalesced``): 0 for a store in the crawl's own process."""

    def article(self, key: str) -> ArticleRecord | None: ...
    def known(self, keys: Iterable[str]) -> set[str]: ...
    def articles_and_owners(self, asks: list[tuple[str, str]]) -> list[tuple[ArticleRecord | None, str | None]]: ...
    def record(self, key: str, path: str, hash: str, source: str, seen: datetime) -> None: ...
    def images(self, urls: list[str]) -> list[ImageRecord | None]: ...
    def record_image(self, url: str, path: str, thumb: str, checksum: str, size: int, when: datetime) -> None: ...
    def record_image_failure(self, url: str, error: str, when: datetime) -> None: ...
    def image_totals(self) -> tuple[int, int]: ...
    def articles(self) -> list[tuple[str, str]]: ...
    def stored_images(self) -> list[tuple[str, str | None, str]]: ...
    def record_source_runs(self, finished: datetime, outcomes: dict[str, dict]) -> None: ...
    def source_runs(self) -> dict[str, tuple[str, dict]]: ...
    def record_worker_report(self, run: str, worker: str, report: dict) -> None: ...
    def worker_reports(self, run: str) -> dict[str, dict]: ...
    def record_signature(self, key: str, minhash: bytes, size: int, bands: list[int], seen: datetime) -> None: ...
    def similar(self, asks: list[tuple[list[int], datetime]]) -> list[list[tuple[str, bytes, int]]]: ...
    def record_duplicate(self, key: str, original: str, source: str, seen: datetime) -> None: ...
    def duplicate_of(self, key: str) -> str | None: ...
    def document(self, source: str, url: str) -> tuple[str, int] | None: ...
    def record_document(self, source: str, url: str, mark: str, entries: int) -> None: ...
    def published(self, site: str) -> dict[str, str]: ...
    def record_published(self, site: str, path: str, hash: str) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


def open_state(data_dir, url: str | None = None, commit_every: int = 1, batch_wait: float = 0.0) -> State:
    """The state store: PostgreSQL when ``url`` (``STATE_URL``) names a database, which several
    machines can share, its questions waiting ``batch_wait`` seconds for others; else
    ``DIR/state.sqlite3``. Both answer the same calls."""
    if url:
        from crawler.pgstate import PostgresStateStore  # psycopg only where it is used

        return PostgresStateStore(url, commit_every=commit_every, batch_wait=batch_wait)
    return StateStore(data_dir.state, commit_every=commit_every)


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


def _article_record(row) -> ArticleRecord:
    return ArticleRecord(*row[:4], datetime.fromisoformat(row[4]), datetime.fromisoformat(row[5]))


def articles_and_owners_in(records: Iterable[ArticleRecord], asks: list[tuple[str, str]]) -> list[tuple[ArticleRecord | None, str | None]]:
    """``articles_and_owners``'s answer, from the records whose key or file is asked about."""
    by_key, by_path = {}, {}
    for record in records:
        by_key[record.key], by_path[record.path] = record, record.key
    return [(by_key.get(key), by_path.get(path)) for key, path in asks]


@dataclass(frozen=True)
class ImageRecord:
    url: str
    path: str | None
    thumb: str | None
    checksum: str | None
    size: int | None
    error: str | None
    checked_at: datetime


class StateStore:
    """One connection to ``DIR/state.sqlite3``.

    Writes are grouped: they go into one open transaction, committed every ``commit_every``
    writes or ``commit_seconds`` seconds (and by ``flush``/``close``). Each commit of SQLite is a
    round of locks and WAL writes; one per post cost more than rendering it. A crawl shares one
    store (``crawler.lifecycle.DataDirGuard.state``), so its readers see its own writes at once;
    a run killed between commits loses only records of posts already on disk, which the next
    run finds unchanged and records. The default (``commit_every=1``) commits every write.
    """

    def __init__(self, path: Path, commit_every: int = 1, commit_seconds: float = 1.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA cache_size=-4096")  # KiB
        # One transaction: a run killed while the tables are made leaves all of them or none.
        self._db.executescript(f"BEGIN;{_SCHEMA}COMMIT;")
        self.batch_wait = 0.0  # asked in the crawl's own process: nothing to save by waiting
        self.commit_every = commit_every
        self.commit_seconds = commit_seconds
        self._pending = 0
        self._since = 0.0

    def _write(self, sql: str, values: tuple) -> None:
        if not self._db.in_transaction:
            self._db.execute("BEGIN IMMEDIATE")
            self._since = time.monotonic()
        self._db.execute(sql, values)
        self._pending += 1
        if self._pending >= self.commit_every or time.monotonic() - self._since >= self.commit_seconds:
            self.flush()

    def flush(self) -> None:
        """Commit the writes made so far."""
        if self._db.in_transaction:
            self._db.execute("COMMIT")
        self._pending = 0

    def close(self) -> None:
        self.flush()
        self._db.close()

    def article(self, key: str) -> ArticleRecord | None:
        row = self._db.execute(
            "SELECT key, path, hash, source, first_seen, last_seen FROM articles WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else _article_record(row)

    def known(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` an earlier run wrote, or found to be near-duplicates: one statement
        for a whole list page or feed."""
        keys, found = list(keys), set()
        for start in range(0, len(keys), _KEYS_PER_STATEMENT):
            chunk = json.dumps(keys[start : start + _KEYS_PER_STATEMENT])
            found.update(key for key, in self._db.execute(
                "SELECT key FROM articles WHERE key IN (SELECT value FROM json_each(?)) UNION "
                "SELECT key FROM duplicates WHERE key IN (SELECT value FROM json_each(?))", (chunk, chunk)))
        return found

    def articles_and_owners(self, asks: list[tuple[str, str]]) -> list[tuple[ArticleRecord | None, str | None]]:
        """For each ``(key, path)``: the article's record, and which article's post has the file
        name ``path``. What the post writer needs of new articles, in one statement for the
        articles of a page."""
        records = []
        for start in range(0, len(asks), _KEYS_PER_STATEMENT):
            chunk = asks[start : start + _KEYS_PER_STATEMENT]
            keys, paths = json.dumps([key for key, _ in chunk]), json.dumps([path for _, path in chunk])
            records.extend(_article_record(row) for row in self._db.execute(
                "SELECT key, path, hash, source, first_seen, last_seen FROM articles"
                " WHERE key IN (SELECT value FROM json_each(?)) OR path IN (SELECT value FROM json_each(?))",
                (keys, paths)))
        return articles_and_owners_in(records, asks)

    def record_signature(self, key: str, minhash: bytes, size: int, bands: list[int], seen: datetime) -> None:
        """Remember an article's near-duplicate signature and its LSH bands."""
        self._write("INSERT OR IGNORE INTO signatures (key, minhash, size, seen) VALUES (?, ?, ?, ?)",
                    (key, minhash, size, seen.astimezone(timezone.utc).isoformat()))
        self._write("INSERT OR IGNORE INTO signature_bands (band, id)"
                    " SELECT value, (SELECT id FROM signatures WHERE key = ?) FROM json_each(?)", (key, json.dumps(bands)))

    def similar(self, asks: list[tuple[list[int], datetime]]) -> list[list[tuple[str, bytes, int]]]:
        """For each ``(bands, since)``: ``(key, minhash, size)`` of the articles signed since
        ``since`` sharing one of ``bands``."""
        return [self._db.execute(
            "SELECT s.key, s.minhash, s.size FROM signatures s WHERE s.id IN"
            " (SELECT id FROM signature_bands WHERE band IN (SELECT value FROM json_each(?))) AND s.seen >= ?",
            (json.dumps(bands), since.astimezone(timezone.utc).isoformat())).fetchall() for bands, since in asks]

    def record_duplicate(self, key: str, original: str, source: str, seen: datetime) -> None:
        self._write("INSERT OR IGNORE INTO duplicates (key, original, source, seen) VALUES (?, ?, ?, ?)",
                    (key, original, source, seen.astimezone(timezone.utc).isoformat()))

    def duplicate_of(self, key: str) -> str | None:
        """The article ``key`` was found to be a near-duplicate of, if it was."""
        row = self._db.execute("SELECT original FROM duplicates WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def document(self, source: str, url: str) -> tuple[str, int] | None:
        """``(mark, entries)`` of the feed at ``url`` when a run last found all of it known."""
        return self._db.execute("SELECT mark, entries FROM documents WHERE source = ? AND url = ?",
                                (source, url)).fetchone()

    def record_document(self, source: str, url: str, mark: str, entries: int) -> None:
        self._write("INSERT OR REPLACE INTO documents (source, url, mark, entries) VALUES (?, ?, ?, ?)",
                    (source, url, mark, entries))

    def record(self, key: str, path: str, hash: str, source: str, seen: datetime) -> None:
        """Remember an article whose post has been written (call only after the write)."""
        stamp = seen.astimezone(timezone.utc).isoformat()
        self._write(
            "INSERT INTO articles (key, path, hash, source, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET path = excluded.path, hash = excluded.hash,"
            " source = excluded.source, last_seen = excluded.last_seen",
            (key, path, hash, source, stamp, stamp),
        )

    def images(self, urls: list[str]) -> list[ImageRecord | None]:
        """What the index holds for each of ``urls`` (None: nothing), in one statement."""
        found = {}
        for start in range(0, len(urls), _KEYS_PER_STATEMENT):
            for row in self._db.execute(
                    "SELECT url, path, thumb, checksum, size, error, checked_at FROM images"
                    " WHERE url IN (SELECT value FROM json_each(?))", (json.dumps(urls[start : start + _KEYS_PER_STATEMENT]),)):
                found[row[0]] = ImageRecord(*row[:6], datetime.fromisoformat(row[6]))
        return [found.get(url) for url in urls]

    def record_image(self, url: str, path: str, thumb: str, checksum: str, size: int, when: datetime) -> None:
        """Remember a stored image (call only once its files are in the store)."""
        self._write(
            "INSERT OR REPLACE INTO images (url, path, thumb, checksum, size, error, checked_at)"
            " VALUES (?, ?, ?, ?, ?, NULL, ?)",
            (url, path, thumb, checksum, size, when.astimezone(timezone.utc).isoformat()),
        )

    def record_image_failure(self, url: str, error: str, when: datetime) -> None:
        """Remember that an image cannot be had (not an image, 404…), keeping any older copy."""
        self._write(
            "INSERT INTO images (url, error, checked_at) VALUES (?, ?, ?)"
            " ON CONFLICT(url) DO UPDATE SET error = excluded.error, checked_at = excluded.checked_at",
            (url, error, when.astimezone(timezone.utc).isoformat()),
        )

    def image_totals(self) -> tuple[int, int]:
        """How many images are stored, and their bytes."""
        count, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM images WHERE path IS NOT NULL").fetchone()
        return count, size

    def articles(self) -> list[tuple[str, str]]:
        """``(path, hash)`` of every post written."""
        return self._db.execute("SELECT path, hash FROM articles ORDER BY path").fetchall()

    def stored_images(self) -> list[tuple[str, str | None, str]]:
        """``(path, thumb, checksum)`` of every image in the store."""
        return self._db.execute(
            "SELECT path, thumb, checksum FROM images WHERE path IS NOT NULL ORDER BY path"
        ).fetchall()

    def record_source_runs(self, finished: datetime, outcomes: dict[str, dict]) -> None:
        """Remember how this run went for each of its sources, and commit."""
        stamp = finished.astimezone(timezone.utc).isoformat(timespec="seconds")
        for name, outcome in outcomes.items():
            self._write("INSERT OR REPLACE INTO source_runs (name, finished, outcome) VALUES (?, ?, ?)",
                        (name, stamp, json.dumps(outcome, ensure_ascii=False)))
        self.flush()

    def source_runs(self) -> dict[str, tuple[str, dict]]:
        rows = self._db.execute("SELECT name, finished, outcome FROM source_runs").fetchall()
        return {name: (finished, json.loads(outcome)) for name, finished, outcome in rows}

    def record_worker_report(self, run: str, worker: str, report: dict) -> None:
        """A worker's report of a shared run so far (it is replaced as the run goes on), committed."""
        self._write("INSERT OR REPLACE INTO worker_reports (run, worker, updated, report) VALUES (?, ?, ?, ?)",
                    (run, worker, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     json.dumps(report, ensure_ascii=False)))
        self.flush()

    def worker_reports(self, run: str) -> dict[str, dict]:
        rows = self._db.execute("SELECT worker, report FROM worker_reports WHERE run = ?", (run,)).fetchall()
        return {worker: json.loads(report) for worker, report in rows}

    def published(self, site: str) -> dict[str, str]:
        return dict(self._db.execute("SELECT path, hash FROM published WHERE site = ?", (site,)).fetchall())

    def record_published(self, site: str, path: str, hash: str) -> None:
        self._write("INSERT OR REPLACE INTO published (site, path, hash) VALUES (?, ?, ?)", (site, path, hash))
