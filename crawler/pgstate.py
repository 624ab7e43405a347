"""The state of ``crawler.state``, kept in PostgreSQL instead of ``DIR/state.sqlite3``.

Chosen by ``STATE_URL = "postgresql://…"``: the same records behind the same methods, so the
spider, the pipelines, the run report and the commands never know which one they talk to, and
several machines can share one state. Times are ``timestamptz`` and run outcomes ``jsonb``; a
schema of its own can be named in the URL (``?options=-csearch_path%3Dcrawler``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime, timezone

import psycopg
from psycopg.types.json import Jsonb

from crawler.state import ArticleRecord, ImageRecord, StateUnavailable, articles_and_owners_in

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    key        text PRIMARY KEY,
    path       text NOT NULL UNIQUE,
    hash       text NOT NULL,
    source     text NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    url        text PRIMARY KEY,
    path       text,
    thumb      text,
    checksum   text,
    size       bigint,
    error      text,
    checked_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS source_runs (
    name       text PRIMARY KEY,
    finished   timestamptz NOT NULL,
    outcome    jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS worker_reports (
    run        text NOT NULL,
    worker     text NOT NULL,
    updated    timestamptz NOT NULL,
    report     jsonb NOT NULL,
    PRIMARY KEY (run, worker)
);
CREATE TABLE IF NOT EXISTS published (
    site       text NOT NULL,
    path       text NOT NULL,
    hash       text NOT NULL,
    PRIMARY KEY (site, path)
);
CREATE TABLE IF NOT EXISTS signatures (
    id         bigserial PRIMARY KEY,
    key        text NOT NULL UNIQUE,
    minhash    bytea NOT NULL,
    size       integer NOT NULL,
    seen       timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS signature_bands (
    band       bigint NOT NULL,
    id         bigint NOT NULL,
    PRIMARY KEY (band, id)
);
CREATE TABLE IF NOT EXISTS duplicates (
    key        text PRIMARY KEY,
    original   text NOT NULL,
    source     text NOT NULL,
    seen       timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    source     text NOT NULL,
    url        text NOT NULL,
    mark       text NOT NULL,
    entries    integer NOT NULL,
    PRIMARY KEY (source, url)
);
"""


RECONNECT_DELAYS = (0.5, 1, 2, 4, 8)
"""Seconds between tries to reach the database again once the connection is lost (about a
quarter of a minute in all), before ``StateUnavailable``."""


class PostgresStateStore:
    """One connection to the database at ``url``; writes grouped as ``StateStore`` groups them
    (one transaction every ``commit_every`` writes or ``commit_seconds`` seconds).

    A write is sent with the next read or commit (pipeline mode), not waited for on its own.
    A connection lost mid-run (the server restarted, a network blip) is made again, with the
    delays of ``RECONNECT_DELAYS``, and the writes of the transaction it took with it are made
    again in the new one, so nothing recorded is lost; a database that stays away raises
    ``StateUnavailable`` and the crawl stops (``crawler.lifecycle.DataDirGuard``)."""

    def __init__(self, url: str, commit_every: int = 1, commit_seconds: float = 1.0, batch_wait: float = 0.0) -> None:
        self.url = url
        self.batch_wait = batch_wait
        self._db = self._connect()
        with self._db.transaction():
            # Two first runs at once would both create the tables: one waits for the other.
            self._db.execute("SELECT pg_advisory_xact_lock(hashtext('crawler state schema'))")
            self._db.execute(_SCHEMA)
        self.commit_every = commit_every
        self.commit_seconds = commit_seconds
        self._uncommitted: list[tuple[str, tuple]] = []
        """The open transaction's writes, made again on a new connection if this one is lost."""
        self._unsent = 0
        """How many of the last of them wait to be sent (``_write``)."""
        self._begun = False
        """Whether this connection's transaction is open (its ``BEGIN`` sent)."""
        self._since = 0.0

    def _connect(self) -> psycopg.Connection:
        try:
            # Keepalives and a user timeout: a connection whose other end vanished without closing
            # it (a partition, a dead relay) fails within about half a minute instead of hanging.
            # Autocommit, with BEGIN and COMMIT sent by ``_send`` itself: psycopg's own
            # transactions wait for the server at each BEGIN and COMMIT in pipeline mode.
            db = psycopg.connect(self.url, connect_timeout=10, keepalives=1, keepalives_idle=10,
                                 keepalives_interval=3, keepalives_count=3, tcp_user_timeout=20000,
                                 autocommit=True)
        except psycopg.OperationalError as exc:
            raise StateUnavailable(f"cannot reach the state database ({_without_password(self.url)}): "
                                   f"{str(exc).strip().splitlines()[0]}") from None
        # A commit is visible to every other session at once, and its flush to disk follows
        # within a fraction of a second: a crash of the server loses at most the last records,
        # of posts already stored, which the next run finds unchanged and records again.
        db.execute("SET synchronous_commit = off")
        # Every question here is small. The planner, whose statistics lag behind tables growing
        # within a run, can think otherwise and compile a query for tens of milliseconds (JIT).
        db.execute("SET jit = off")
        return db

    def _again(self, call):
        """``call()``, through lost connections: reconnect, replay the open transaction, retry."""
        try:
            return call()
        except psycopg.OperationalError as first:
            lost = first
        logger.warning("lost the connection to the state database (%s): %s; connecting again",
                       _without_password(self.url), str(lost).strip().splitlines()[0] if str(lost).strip() else lost)
        for delay in RECONNECT_DELAYS:
            time.sleep(delay)
            try:
                self._db.close()
                self._db = self._connect()
                self._unsent, self._begun = len(self._uncommitted), False  # the new connection has none of them
                return call()
            except (psycopg.OperationalError, StateUnavailable) as exc:
                lost = exc
        raise StateUnavailable(f"lost the state database ({_without_password(self.url)}) and could not "
                               f"reach it again: {str(lost).strip().splitlines()[0]}") from None

    def _write(self, sql: str, values: tuple) -> None:
        """A write of the open transaction. It is sent with the next read or commit rather than
        on its own: a write waits for nothing it needs, while a round trip to the server costs
        about as much as the statement."""
        if not self._uncommitted:
            self._since = time.monotonic()
        self._uncommitted.append((sql, values))
        self._unsent += 1
        if len(self._uncommitted) >= self.commit_every or time.monotonic() - self._since >= self.commit_seconds:
            self.flush()

    def _send(self, read: tuple[str, tuple] | None = None, commit: bool = False) -> psycopg.Cursor | None:
        """The writes not sent yet, then ``read`` (its cursor is returned) or the commit, in one
        round trip: in pipeline mode the server runs them in order, so the read sees the writes,
        and the client waits once, at the pipeline's end, for every answer."""
        def send():
            if not self._unsent and not (commit and self._begun):
                return None if read is None else self._db.execute(*read)
            with self._db.pipeline():
                if self._unsent and not self._begun:
                    self._db.execute("BEGIN")
                for sql, values in self._uncommitted[len(self._uncommitted) - self._unsent:]:
                    self._db.execute(sql, values)
                cursor = None if read is None else self._db.execute(*read)
                if commit:
                    self._db.execute("COMMIT")
            self._unsent, self._begun = 0, not commit
            return cursor
        return self._again(send)

    def _one(self, sql: str, values: tuple):
        return self._send((sql, values)).fetchone()

    def _all(self, sql: str, values: tuple = ()):
        return self._send((sql, values)).fetchall()

    def flush(self) -> None:
        """Commit the writes made so far."""
        self._send(commit=True)
        self._uncommitted.clear()

    def close(self) -> None:
        if not self._db.closed:
            self.flush()
            self._db.close()

    def article(self, key: str) -> ArticleRecord | None:
        row = self._one("SELECT key, path, hash, source, first_seen, last_seen FROM articles WHERE key = %s", (key,))
        return None if row is None else ArticleRecord(*row)

    def known(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` an earlier run wrote, or found to be near-duplicates: one question
        for a whole list page or feed."""
        keys = list(keys)
        rows = self._all("SELECT key FROM articles WHERE key = ANY(%s) UNION "
                         "SELECT key FROM duplicates WHERE key = ANY(%s)", (keys, keys))
        return {key for key, in rows}

    def articles_and_owners(self, asks: list[tuple[str, str]]) -> list[tuple[ArticleRecord | None, str | None]]:
        """For each ``(key, path)``: the article's record, and which article's post has the file
        name ``path``. What the post writer needs of new articles, in one question for the
        articles of a page."""
        rows = self._all("SELECT key, path, hash, source, first_seen, last_seen FROM articles"
                         " WHERE key = ANY(%s) OR path = ANY(%s)",
                         ([key for key, _ in asks], [path for _, path in asks]))
        return articles_and_owners_in((ArticleRecord(*row) for row in rows), asks)

    def record_signature(self, key: str, minhash: bytes, size: int, bands: list[int], seen: datetime) -> None:
        """Remember an article's near-duplicate signature and its LSH bands."""
        self._write("INSERT INTO signatures (key, minhash, size, seen) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (key) DO NOTHING", (key, minhash, size, seen.astimezone(timezone.utc)))
        self._write("INSERT INTO signature_bands (band, id) SELECT unnest(%s::bigint[]),"
                    " (SELECT id FROM signatures WHERE key = %s) ON CONFLICT DO NOTHING", (bands, key))

    def similar(self, asks: list[tuple[list[int], datetime]]) -> list[list[tuple[str, bytes, int]]]:
        """For each ``(bands, since)``: ``(key, minhash, size)`` of the articles signed since
        ``since`` sharing one of ``bands``; one query for the articles of a feed."""
        numbers = [n for n, (bands, _) in enumerate(asks) for _ in bands]
        bands = [band for bands, _ in asks for band in bands]
        earliest = min(since for _, since in asks).astimezone(timezone.utc)
        # Each band, then each candidate's signature, looked up in its index (LATERAL, kept from
        # being turned into a join by OFFSET 0): a join lets the planner, whose statistics lag
        # behind tables growing within a run, scan them whole.
        rows = self._all("SELECT c.n, s.key, s.minhash, s.size, s.seen"
                         " FROM (SELECT DISTINCT q.n, b.id FROM unnest(%s::int[], %s::bigint[]) AS q(n, band)"
                         " CROSS JOIN LATERAL (SELECT id FROM signature_bands WHERE band = q.band OFFSET 0) b) c"
                         " CROSS JOIN LATERAL (SELECT key, minhash, size, seen FROM signatures"
                         " WHERE id = c.id AND seen >= %s OFFSET 0) s", (numbers, bands, earliest))
        found: list[list[tuple[str, bytes, int]]] = [[] for _ in asks]
        for n, key, minhash, size, seen in rows:
            if seen >= asks[n][1]:
                found[n].append((key, bytes(minhash), size))
        return found

    def record_duplicate(self, key: str, original: str, source: str, seen: datetime) -> None:
        self._write("INSERT INTO duplicates (key, original, source, seen) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (key) DO NOTHING", (key, original, source, seen.astimezone(timezone.utc)))

    def duplicate_of(self, key: str) -> str | None:
        """The article ``key`` was found to be a near-duplicate of, if it was."""
        row = self._one("SELECT original FROM duplicates WHERE key = %s", (key,))
        return row[0] if row else None

    def document(self, source: str, url: str) -> tuple[str, int] | None:
        row = self._one("SELECT mark, entries FROM documents WHERE source = %s AND url = %s", (source, url))
        return (row[0], row[1]) if row else None

    def record_document(self, source: str, url: str, mark: str, entries: int) -> None:
        self._write("INSERT INTO documents (source, url, mark, entries) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (source, url) DO UPDATE SET mark = excluded.mark, entries = excluded.entries",
                    (source, url, mark, entries))

    def record(self, key: str, path: str, hash: str, source: str, seen: datetime) -> None:
        """Remember an article whose post has been written (call only after the write)."""
        seen = seen.astimezone(timezone.utc)
        self._write(
            "INSERT INTO articles (key, path, hash, source, first_seen, last_seen) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (key) DO UPDATE SET path = excluded.path, hash = excluded.hash,"
            " source = excluded.source, last_seen = excluded.last_seen",
            (key, path, hash, source, seen, seen),
        )

    def images(self, urls: list[str]) -> list[ImageRecord | None]:
        """What the index holds for each of ``urls`` (None: nothing), in one question."""
        rows = self._all("SELECT url, path, thumb, checksum, size, error, checked_at FROM images WHERE url = ANY(%s)", (urls,))
        found = {row[0]: ImageRecord(*row) for row in rows}
        return [found.get(url) for url in urls]

    def record_image(self, url: str, path: str, thumb: str, checksum: str, size: int, when: datetime) -> None:
        """Remember a stored image (call only once its files are in the store)."""
        self._write(
            "INSERT INTO images (url, path, thumb, checksum, size, error, checked_at) VALUES (%s, %s, %s, %s, %s, NULL, %s)"
            " ON CONFLICT (url) DO UPDATE SET path = excluded.path, thumb = excluded.thumb, checksum = excluded.checksum,"
            " size = excluded.size, error = NULL, checked_at = excluded.checked_at",
            (url, path, thumb, checksum, size, when.astimezone(timezone.utc)),
        )

    def record_image_failure(self, url: str, error: str, when: datetime) -> None:
        """Remember that an image cannot be had (not an image, 404…), keeping any older copy."""
        self._write(
            "INSERT INTO images (url, error, checked_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (url) DO UPDATE SET error = excluded.error, checked_at = excluded.checked_at",
            (url, error, when.astimezone(timezone.utc)),
        )

    def image_totals(self) -> tuple[int, int]:
        """How many images are stored, and their bytes."""
        count, size = self._one("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM images WHERE path IS NOT NULL", ())
        return count, int(size)

    def articles(self) -> list[tuple[str, str]]:
        """``(path, hash)`` of every post written."""
        return self._all("SELECT path, hash FROM articles ORDER BY path COLLATE \"C\"")

    def stored_images(self) -> list[tuple[str, str | None, str]]:
        """``(path, thumb, checksum)`` of every image in the store."""
        return self._all("SELECT path, thumb, checksum FROM images WHERE path IS NOT NULL ORDER BY path COLLATE \"C\"")

    def record_source_runs(self, finished: datetime, outcomes: dict[str, dict]) -> None:
        """Remember how this run went for each of its sources, and commit."""
        finished = finished.astimezone(timezone.utc).replace(microsecond=0)
        for name, outcome in outcomes.items():
            self._write("INSERT INTO source_runs (name, finished, outcome) VALUES (%s, %s, %s)"
                        " ON CONFLICT (name) DO UPDATE SET finished = excluded.finished, outcome = excluded.outcome",
                        (name, finished, Jsonb(outcome)))
        self.flush()

    def source_runs(self) -> dict[str, tuple[str, dict]]:
        rows = self._all("SELECT name, finished, outcome FROM source_runs")
        return {name: (finished.astimezone(timezone.utc).isoformat(timespec="seconds"), outcome)
                for name, finished, outcome in rows}

    def record_worker_report(self, run: str, worker: str, report: dict) -> None:
        """A worker's report of a shared run so far (it is replaced as the run goes on), committed."""
        self._write("INSERT INTO worker_reports (run, worker, updated, report) VALUES (%s, %s, now(), %s)"
                    " ON CONFLICT (run, worker) DO UPDATE SET updated = excluded.updated, report = excluded.report",
                    (run, worker, Jsonb(report)))
        self.flush()

    def worker_reports(self, run: str) -> dict[str, dict]:
        rows = self._all("SELECT worker, report FROM worker_reports WHERE run = %s", (run,))
        return dict(rows)

    def published(self, site: str) -> dict[str, str]:
        return dict(self._all("SELECT path, hash FROM published WHERE site = %s", (site,)))

    def record_published(self, site: str, path: str, hash: str) -> None:
        self._write("INSERT INTO published (site, path, hash) VALUES (%s, %s, %s)"
                    " ON CONFLICT (site, path) DO UPDATE SET hash = excluded.hash", (site, path, hash))


def _without_password(url: str) -> str:
    """The URL as it may appear in a message: no password."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
