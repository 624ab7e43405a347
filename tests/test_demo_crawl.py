"""`crawler demo`: the bundled aggregator crawled end to end, twice, images included."""

from __future__ import annotations

import json
import re
import tomllib

import frontmatter
from PIL import Image

from tests.conftest import free_port, run_crawler


def test_demo_mirrors_images_and_a_rerun_fetches_and_writes_nothing(tmp_path):
    ports = ["--port", str(free_port()), "--tls-port", str(free_port())]
    first = run_crawler("demo", "--data", str(tmp_path), *ports)
    assert first.returncode == 0, first.stdout + first.stderr
    posts = sorted((tmp_path / "posts").rglob("*.md"))
    assert len(posts) >= 30
    categories = {tuple(frontmatter.load(p)["categories"]) for p in posts}
    assert len(categories) >= 3 and len({c[1] for c in categories}) == 2  # list-API site and feed site

    local = 0
    for post in posts:
        text = post.read_text(encoding="utf-8")
        for ref in re.findall(r'<img src="(/images/[^"]+)"', text) + re.findall(r"^(?:headimg|thumbnail): '(/images/[^']+)'", text, re.M):
            Image.open(tmp_path / "images" / ref[len("/images/"):]).load()
            local += 1
    assert local > 60

    report = json.loads((tmp_path / "runs" / "latest.json").read_text(encoding="utf-8"))
    failed = {f["url"].rsplit("/", 1)[1]: f for s in report["sources"] for f in s["image_failures"]}
    assert set(failed) == {"missing.jpg", "fake.jpg", "truncated.jpg"}
    for failure in failed.values():
        assert (tmp_path / "posts" / failure["post"]).exists()
    assert "3 images not mirrored" in first.stdout
    # every kind of source: list API, feeds, full text behind a summary feed, HTML list, JSON API
    config = tomllib.loads((tmp_path / "demo-sources.toml").read_text(encoding="utf-8"))
    assert {s["spider"] for s in config["sources"]} == {"qutoutiao", "feed", "html", "json"}
    assert {s.get("fulltext") for s in config["sources"]} >= {"selector", "extract"}
    sources = {s["name"]: s for s in report["sources"]}
    assert [b["title"] for s in sources.values() for b in s["blocked"]] == ["推广：澄湖文创市集摊位火热招租中"]
    assert sources["demo-daily-culture-html"]["pages"] == 2
    assert not any("full text" in r["repair"] for s in sources.values() for r in s["repairs"])

    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in posts}
    second = run_crawler("demo", "--data", str(tmp_path), *ports)
    assert second.returncode == 0
    assert sorted((tmp_path / "posts").rglob("*.md")) == posts
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in posts} == before
    report = json.loads((tmp_path / "runs" / "latest.json").read_text(encoding="utf-8"))
    for source in report["sources"]:
        assert source["images"]["mirrored"] == 0
        # only the list pages or the feed, and article pages: no image request at all
        articles = source["items"] if "toutiao" in source["name"] else 0
        assert source["requests"] == source["pages"] + articles
    assert report["created"] == [] and report["updated"] == []
