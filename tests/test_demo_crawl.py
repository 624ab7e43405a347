"""`crawler demo`: the bundled aggregator crawled end to end, twice."""

from __future__ import annotations

import socket

import frontmatter

from tests.conftest import run_crawler


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_writes_posts_of_both_shapes_and_a_rerun_changes_nothing(tmp_path):
    ports = ["--port", str(free_port()), "--tls-port", str(free_port())]
    first = run_crawler("demo", "--data", str(tmp_path), "--no-images", *ports)
    assert first.returncode == 0, first.stdout + first.stderr
    posts = sorted((tmp_path / "posts").rglob("*.md"))
    assert len(posts) >= 30
    categories = {tuple(frontmatter.load(p)["categories"]) for p in posts}
    assert len(categories) >= 3
    sites = {c[1] for c in categories}
    assert len(sites) == 2  # the list-API site and the feed site
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in posts}

    second = run_crawler("demo", "--data", str(tmp_path), "--no-images", *ports)
    assert second.returncode == 0
    assert sorted((tmp_path / "posts").rglob("*.md")) == posts
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in posts} == before
