"""The state behind ``STATE_URL``: SQLite in DIR by default, PostgreSQL when a URL names it.

Both stores answer the same calls with the same records; the PostgreSQL cases talk to the
machine's real server (a schema of their own, dropped after)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from crawler.datadir import DataDir
from crawler.state import StateUnavailable, open_state
from tests.conftest import run_crawler
from tests.test_crawl import feed_item, feed_xml

pytestmark = pytest.mark.services

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_factory(request, tmp_path):
    """Opens the store under test (each call a new connection to the same state)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    opened = []

    def open_store(commit_every: int = 1):
        store = open_state(DataDir(tmp_path / "data"), url, commit_every=commit_every)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


def test_articles_keep_their_file_and_first_seen_time(store_factory):
    store = store_factory()
    assert store.article("guid:a") is None and store.articles_and_owners([("guid:a", "x/a.md")]) == [(None, None)]
    store.record("guid:a", "x/a.md", "h1", "feed-1", T0)
    store.record("guid:a", "x/a.md", "h2", "feed-1", T0 + timedelta(days=1))
    known = store.article("guid:a")
    assert (known.path, known.hash, known.source) == ("x/a.md", "h2", "feed-1")
    assert (known.first_seen, known.last_seen) == (T0, T0 + timedelta(days=1))
    assert store.articles_and_owners([("guid:a", "x/a.md")]) == [(known, "guid:a")]
    store.record("url:http://b/", "x/b.md", "h3", "feed-2", T0)
    # A new article asking for a name another article has; an article asking for a free name;
    # the two asked again together, with an article and a name nobody has: answered in order.
    assert store.articles_and_owners([("guid:n", "x/b.md")]) == [(None, "url:http://b/")]
    assert store.articles_and_owners([("guid:a", "x/free.md")]) == [(known, None)]
    assert store.articles_and_owners([("guid:a", "x/free.md"), ("guid:z", "x/z.md"), ("guid:n", "x/b.md")]) == [
        (known, None), (None, None), (None, "url:http://b/")]
    assert store.articles_and_owners([]) == []
    assert store.articles() == [("x/a.md", "h2"), ("x/b.md", "h3")]


def test_image_records_failures_and_totals(store_factory):
    store = store_factory()
    store.record_image("http://i/1.jpg", "full/1.jpg", "thumbs/1.jpg", "c1", 1000, T0)
    store.record_image("http://i/2.png", "full/2.png", "thumbs/2.png", "c2", 2500, T0)
    store.record_image_failure("http://i/1.jpg", "HTTP 404", T0 + timedelta(hours=1))  # keeps the older copy
    store.record_image_failure("http://i/3.gif", "not an image", T0)
    one, missing, three = store.images(["http://i/1.jpg", "http://i/none.jpg", "http://i/3.gif"])
    assert missing is None
    assert (one.path, one.thumb, one.error, one.checked_at) == ("full/1.jpg", "thumbs/1.jpg", "HTTP 404", T0 + timedelta(hours=1))
    assert (three.path, three.error, three.size) == (None, "not an image", None)
    assert store.image_totals() == (2, 3500)
    assert store.stored_images() == [("full/1.jpg", "thumbs/1.jpg", "c1"), ("full/2.png", "thumbs/2.png", "c2")]
    store.record_image("http://i/1.jpg", "full/1.jpg", "thumbs/1.jpg", "c1", 1000, T0 + timedelta(hours=2))
    assert store.images(["http://i/1.jpg"])[0].error is None  # stored again: the failure is forgotten


def test_source_runs_and_publish_marks(store_factory):
    store = store_factory()
    outcome = {"fetched": True, "posts": {"created": 2}, "failures": [], "名字": "中文"}
    store.record_source_runs(T0 + timedelta(microseconds=123), {"feed-1": outcome})
    assert store.source_runs() == {"feed-1": ("2026-11-30T08:00:00+00:00", outcome)}
    store.record_published("/site", "posts/a.md", "h1")
    store.record_published("/site", "posts/a.md", "h2")
    store.record_published("/other", "posts/b.md", "h3")
    assert store.published("/site") == {"posts/a.md": "h2"}


def test_feeds_read_whole_are_kept_per_source_and_replaced(store_factory):
    store = store_factory()
    assert store.document("feed-1", "http://f/rss") is None
    store.record_document("feed-1", "http://f/rss", "m1", 100)
    store.record_document("feed-2", "http://f/rss", "m2", 3)  # another source of the same URL
    store.record_document("feed-1", "http://f/rss", "m3", 101)
    assert store.document("feed-1", "http://f/rss") == ("m3", 101)
    assert store_factory().document("feed-2", "http://f/rss") == ("m2", 3)


def test_signatures_are_found_by_a_shared_band_within_the_window_and_duplicates_stay(store_factory):
    store = store_factory()
    store.record("guid:a", "x/a.md", "h", "s1", T0)
    store.record_signature("guid:a", b"\x01" * 512, 90, [-(2**63), 5, 2**63 - 1], T0)
    store.record_signature("guid:b", b"\x02" * 512, 40, [7, 8], T0 - timedelta(days=10))
    week, fortnight = T0 - timedelta(days=7), T0 - timedelta(days=11)
    a, b = ("guid:a", b"\x01" * 512, 90), ("guid:b", b"\x02" * 512, 40)
    assert store.similar([([5, 99], week)]) == [[a]]
    # one question for several articles, each with its own bands and window
    found = store.similar([([2**63 - 1, -(2**63)], week), ([7], week), ([7], fortnight), ([5, 7, 8], fortnight),
                           ([5, 7], week), ([99], fortnight)])
    assert [sorted(candidates) for candidates in found] == [[a], [], [b], [a, b], [a], []]
    assert store.duplicate_of("guid:c") is None and store.known(["guid:c"]) == set()
    store.record_duplicate("guid:c", "guid:a", "s2", T0)
    store.record_duplicate("guid:c", "guid:b", "s2", T0)  # the first decision stands
    assert store.duplicate_of("guid:c") == "guid:a"
    assert store.known(["guid:a", "guid:b", "guid:c", "guid:d"]) == {"guid:a", "guid:c"}
    assert store.known([]) == set()
    many = [f"guid:n{i}" for i in range(1200)] + ["guid:c"]  # more keys than one statement asks about
    assert store.known(many) == {"guid:c"}


def test_grouped_writes_are_seen_by_another_connection_once_committed(store_factory):
    writer, reader = store_factory(commit_every=3), store_factory()
    writer.record("guid:a", "a.md", "h", "s", T0)
    writer.record("guid:b", "b.md", "h", "s", T0)
    assert writer.article("guid:b") is not None  # the writer sees its own writes at once
    assert reader.article("guid:a") is None
    writer.record("guid:c", "c.md", "h", "s", T0)  # the third write commits the group
    assert reader.article("guid:a") is not None and reader.article("guid:c") is not None


def test_a_lost_postgresql_connection_is_made_again_and_its_open_transaction_replayed(postgres_url, tmp_path):
    import psycopg

    store = open_state(DataDir(tmp_path / "data"), postgres_url, commit_every=100)
    reader = open_state(DataDir(tmp_path / "data"), postgres_url)
    try:
        store.record("guid:a", "a.md", "h", "s", T0)
        assert store.article("guid:a") is not None  # sent, with the read, in the open transaction
        store.record("guid:b", "b.md", "h", "s", T0)  # not sent yet
        pid = store._db.info.backend_pid
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert store.article("guid:b") is not None and store._db.info.backend_pid != pid
        assert reader.article("guid:a") is None  # still one open transaction, on the new connection
        store.flush()
        assert [path for path, _ in reader.articles()] == ["a.md", "b.md"]
    finally:
        store.close()
        reader.close()


def test_a_crawl_keeps_its_state_in_postgresql(server, tmp_path, postgres_url):
    items = "".join(feed_item(n, f"库{n}", f"<p>正文 {n}</p>") for n in range(3))
    server.add("/feed.xml", feed_xml(items), content_type="application/rss+xml")
    config = tmp_path / "s.toml"
    config.write_text(f'[settings]\nSTATE_URL = "{postgres_url}"\n\n[[sources]]\nname = "f"\nspider = "feed"\n'
                      f'url = "{server.base_url}/feed.xml"\ncategories = ["a", "b", "c"]\n', encoding="utf-8")
    data = tmp_path / "data"
    first = run_crawler("run", "--config", str(config), "--data", str(data), "--no-images")
    assert first.returncode == 0, first.stderr
    assert len(list((data / "posts").rglob("*.md"))) == 3
    assert not (data / "state.sqlite3").exists()  # the state went to the database
    store = open_state(DataDir(data), postgres_url)
    assert sorted(path for path, _ in store.articles()) == ["a/b/c/库0.md", "a/b/c/库1.md", "a/b/c/库2.md"]
    assert store.source_runs()["f"][1]["posts"]["created"] == 3
    store.close()
    second = run_crawler("run", "--config", str(config), "--data", str(data), "--no-images")
    assert second.returncode == 0, second.stderr
    assert json.loads((data / "runs" / "latest.json").read_text())["sources"][0]["posts"]["unchanged"] == 3
    listing = run_crawler("sources", "--config", str(config), "--data", str(data))
    assert "last run:" in listing.stdout and "3 unchanged" in listing.stdout


def test_an_unreachable_state_database_stops_the_run_before_anything_is_written(server, tmp_path):
    server.add("/feed.xml", feed_xml(feed_item(1, "t", "<p>x</p>")), content_type="application/rss+xml")
    config = tmp_path / "s.toml"
    sources = f'[[sources]]\nname = "f"\nspider = "feed"\nurl = "{server.base_url}/feed.xml"\ncategories = ["a"]\n'
    # port 9 (discard) on loopback: nothing listens there on the test machines
    config.write_text('[settings]\nSTATE_URL = "postgresql://127.0.0.1:9/nowhere"\n\n' + sources, encoding="utf-8")
    data = tmp_path / "data"
    result = run_crawler("run", "--config", str(config), "--data", str(data), "--no-images")
    assert result.returncode == 69
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("crawler: cannot reach the state database (127.0.0.1:9/nowhere)")
    assert server.paths() == [] and not (data / "posts").exists()
    config.write_text(sources, encoding="utf-8")  # the lock was released: the next run goes ahead
    assert run_crawler("run", "--config", str(config), "--data", str(data), "--no-images").returncode == 0


def test_a_state_url_that_is_not_postgresql_is_a_setting_error(tmp_path):
    config = tmp_path / "s.toml"
    config.write_text('[settings]\nSTATE_URL = "mysql://db/x"\n\n[[sources]]\nname = "f"\nspider = "feed"\n'
                      'url = "http://127.0.0.1:9/f.xml"\ncategories = ["a"]\n', encoding="utf-8")
    result = run_crawler("run", "--config", str(config), "--data", str(tmp_path / "data"))
    assert result.returncode == 2 and "settings.STATE_URL: must be empty" in result.stderr


def test_open_state_without_a_database_raises_state_unavailable(tmp_path):
    with pytest.raises(StateUnavailable, match="cannot reach the state database"):
        open_state(DataDir(tmp_path), "postgresql://127.0.0.1:9/nowhere")
