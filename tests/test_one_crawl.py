"""Every source in one crawler: politeness per host holds across sources, figures stay per source."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests import images
from tests.conftest import ROOT
from tests.test_crawl import feed_item, feed_xml

SOURCES = 24


def many_feeds(server, settings: str = "", delay: float = 0.1, image: bool = False) -> str:
    """``SOURCES`` feeds of two entries on one host, each answered after ``delay`` seconds."""
    tables = [f"[settings]\n{settings}\n"]
    picture = '<img src="{BASE}/i/shared.jpg">' if image else ""
    for n in range(SOURCES):
        items = feed_item(2 * n, f"源{n}甲", f"<p>{n} a</p>{picture}") + feed_item(2 * n + 1, f"源{n}乙", f"<p>{n} b</p>")
        server.add(f"/feeds/{n}.xml", feed_xml(items), content_type="application/rss+xml", delay=delay)
        tables.append(f'[[sources]]\nname = "feed-{n}"\nspider = "feed"\nurl = "{server.base_url}/feeds/{n}.xml"\n'
                      f'categories = ["多源", "站{n}", "频道"]\n')
    return "\n".join(tables)


def latest(data) -> dict:
    return json.loads((data / "runs" / "latest.json").read_text(encoding="utf-8"))


def test_sources_on_one_host_share_its_download_slot(server, crawl):
    result = crawl(many_feeds(server, "CONCURRENT_REQUESTS_PER_DOMAIN = 2"))
    assert result.returncode == 0, result.stderr
    assert len(result.posts()) == 2 * SOURCES
    assert server.max_open_requests == 2  # not one slot per source
    report = latest(result.data)
    assert [s["name"] for s in report["sources"]] == [f"feed-{n}" for n in range(SOURCES)]
    for entry in report["sources"]:  # each source still has its own figures
        assert entry["fetched"] and entry["pages"] == 1 and entry["requests"] == 1
        assert entry["posts"] == {"created": 2, "updated": 0, "unchanged": 0}
        assert len(entry["created"]) == 2
    assert f"{SOURCES} sources, {2 * SOURCES} posts written" in result.stdout


def test_download_slots_limit_one_host(server, crawl):
    result = crawl(many_feeds(server, '[settings.DOWNLOAD_SLOTS."127.0.0.1"]\nconcurrency = 1\n'))
    assert result.returncode == 0, result.stderr
    assert len(result.posts()) == 2 * SOURCES
    assert server.max_open_requests == 1


def test_autothrottle_spaces_requests_when_switched_on(server, crawl):
    settings = ("AUTOTHROTTLE_ENABLED = true\nAUTOTHROTTLE_START_DELAY = 0.3\nAUTOTHROTTLE_TARGET_CONCURRENCY = 1.0\n"
                "AUTOTHROTTLE_MAX_DELAY = 1.0\n")
    began = time.monotonic()
    result = crawl(many_feeds(server, settings, delay=0.05))
    took = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    assert len(result.posts()) == 2 * SOURCES
    # Eight would be open without it; it aims at one, its delays jitter by half around the latency.
    assert server.max_open_requests <= 2
    assert took > (SOURCES - 1) * 0.05 / 2
    unthrottled = crawl(many_feeds(server, delay=0.05), data=result.data.parent / "unthrottled")
    assert unthrottled.returncode == 0 and server.max_open_requests == 8


def test_an_image_shared_by_many_sources_is_fetched_once(server, crawl):
    server.add("/i/shared.jpg", images.picture(seed=7), content_type="image/jpeg")
    result = crawl(many_feeds(server, 'IMAGE_LINKS = "local"', delay=0, image=True), images=True)
    assert result.returncode == 0, result.stderr
    assert server.paths().count("/i/shared.jpg") == 1
    report = latest(result.data)
    assert sum(s["images"]["mirrored"] for s in report["sources"]) == 1  # counted once, for one source
    with_image = [text for path, text in result.posts().items() if "甲" in path]
    assert len(with_image) == SOURCES
    assert all('src="/images/full/' in text and "/i/shared.jpg" not in text for text in with_image)


def test_a_scrapy_crawl_job_waits_for_the_folder_like_a_run(server, tmp_path):
    server.add("/slow.xml", feed_xml(feed_item(1, "慢", "<p>1</p>")), content_type="application/rss+xml", delay=2)
    config = tmp_path / "s.toml"
    config.write_text(f'[[sources]]\nname = "slow"\nspider = "feed"\nurl = "{server.base_url}/slow.xml"\n'
                      'categories = ["a", "b", "c"]\n', encoding="utf-8")
    data = tmp_path / "data"
    run = subprocess.Popen([sys.executable, "-m", "crawler.cli", "run", "--config", str(config), "--data", str(data),
                            "--no-images"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        if (data / ".lock").exists() and (data / ".lock").read_text():
            break
        time.sleep(0.05)
    job = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "feed", "-s", f"SOURCES_FILE={config}",
                          "-s", f"DATA_DIR={data}"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.wait(60) == 0
    assert job.returncode != 0 and "is in use by pid" in job.stderr
    assert server.paths().count("/slow.xml") == 1  # the refused job fetched nothing
