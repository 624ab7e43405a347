"""Shared runs: ``crawler enqueue``, workers on one Redis frontier, the state in PostgreSQL.

Every test here talks to the machine's Redis and PostgreSQL on 127.0.0.1 (keys and a schema of
its own, removed after) and to loopback sites of its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_crawler
from tests.images import picture, transparent_png
from tests.loopback import LoopbackServer
from tests.test_crawl import feed_item, feed_xml

pytestmark = pytest.mark.services


def shared_site(server: LoopbackServer, sources: int, entries: int) -> str:
    """``sources`` feeds of ``entries`` items on ``server``; each item shows its own source's
    image of 100 (so three sources share each image) and one logo every item shows: the
    sources file's ``[[sources]]`` part."""
    server.add("/img/logo.png", transparent_png(), content_type="image/png")
    for n in range(min(sources, 100)):
        server.add(f"/img/{n}.jpg", picture(seed=n % 11 + 1, width=60 + n, height=40), content_type="image/jpeg")
    lines = []
    for i in range(sources):
        items = "".join(
            feed_item(i * 1000 + j, f"第{i}源的第{j}篇", f'<p>来自源 {i} 的第 {j} 段文字。</p>'
                      f'<img src="{{BASE}}/img/{i % 100}.jpg"><img src="{{BASE}}/img/logo.png">')
            for j in range(entries))
        server.add(f"/f/{i}.xml", feed_xml(items), content_type="application/rss+xml")
        lines.append(f'[[sources]]\nname = "s{i}"\nspider = "feed"\nurl = "{server.base_url}/f/{i}.xml"\n'
                     f'categories = ["站{i % 5}", "频道", "子"]\n')
    return "\n".join(lines)


def settings_table(**settings) -> str:
    return "[settings]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()) + "\n"


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def image_requests(server: LoopbackServer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in server.paths():
        if path.startswith("/img/"):
            counts[path] = counts.get(path, 0) + 1
    return counts


def shared_config(tmp_path: Path, sources_part: str, **settings) -> tuple[Path, Path]:
    """A shared run's sources file, its stores folders under ``tmp_path/shared``:
    ``(config, shared)``. ``settings`` name the services (and anything else)."""
    shared = tmp_path / "shared"
    config = tmp_path / "shared.toml"
    config.write_text(settings_table(FRONTIER_LEASE_SECONDS=3, POSTS_STORE=str(shared / "posts"),
                                     IMAGES_STORE=str(shared / "images"), **settings) + sources_part, encoding="utf-8")
    return config, shared


def enqueue(config: Path) -> str:
    """``crawler enqueue`` of the whole file; the run's id."""
    queued = run_crawler("enqueue", "--config", str(config))
    assert queued.returncode == 0, queued.stderr
    return queued.stdout.strip()


def start_worker(config: Path, data: Path, *args: str) -> subprocess.Popen:
    data.mkdir(parents=True, exist_ok=True)
    log = (data.parent / f"{data.name}.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "crawler.cli", "worker", "--config", str(config), "--data", str(data),
                             "--burst", "--log-level", "INFO", *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)


def wait_for(worker: subprocess.Popen, url: str, prefix: str, run: str, timeout: float = 180) -> int:
    """The worker's exit status; if it does not stop in time, it is killed and the test fails
    with what the frontier held then."""
    try:
        return worker.wait(timeout)
    except subprocess.TimeoutExpired:
        import redis

        from crawler.frontier import Frontier

        client = redis.Redis.from_url(url)
        held = Frontier.describe(client, prefix, run) or {}
        held.pop("description", None), held.pop("documents", None)
        keys = sorted(k.decode() for k in client.scan_iter(match=f"{prefix}:*") if b":claim:" not in k)
        worker.kill()
        pytest.fail(f"worker {worker.pid} still running after {timeout} s; frontier: {held}; keys: {keys}")


@pytest.fixture
def site():
    server = LoopbackServer().start()
    yield server
    server.stop()


def single_machine_reference(tmp_path: Path, sources_part: str) -> Path:
    config = tmp_path / "single.toml"
    config.write_text(sources_part, encoding="utf-8")
    data = tmp_path / "single"
    result = run_crawler("run", "--config", str(config), "--data", str(data), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return data


def test_enqueue_and_workers_need_their_services(tmp_path, frontier_url, postgres_url):
    url, prefix = frontier_url
    body = '[[sources]]\nname = "a"\nspider = "feed"\nurl = "http://127.0.0.1:9/f.xml"\ncategories = ["站", "频道"]\n'
    cases = {
        "no frontier": (settings_table(STATE_URL=postgres_url, POSTS_STORE=str(tmp_path / "p")), 2, "needs FRONTIER_URL"),
        "no state": (settings_table(FRONTIER_URL=url, POSTS_STORE=str(tmp_path / "p")), 2, "needs STATE_URL"),
        "no posts store": (settings_table(FRONTIER_URL=url, STATE_URL=postgres_url), 2, "needs POSTS_STORE"),
        "redis down": (settings_table(FRONTIER_URL="redis://127.0.0.1:9/0", STATE_URL=postgres_url,
                                      POSTS_STORE=str(tmp_path / "p")), 69, "cannot reach the frontier (127.0.0.1:9/0)"),
        "postgres down": (settings_table(FRONTIER_URL=url, FRONTIER_PREFIX=prefix, POSTS_STORE=str(tmp_path / "p"),
                                         STATE_URL="postgresql://127.0.0.1:9/x"), 69, "cannot reach the state database"),
    }
    for name, (settings, code, message) in cases.items():
        config = tmp_path / f"{name.replace(' ', '-')}.toml"
        config.write_text(settings + body, encoding="utf-8")
        for command in (["enqueue"], ["worker", "--burst", "--no-images", "--data", str(tmp_path / "w")]):
            result = run_crawler(*command, "--config", str(config))
            assert (result.returncode, result.stdout) == (code, ""), (name, command, result.stderr)
            assert message in result.stderr and result.stderr.count("\n") == 1, (name, result.stderr)
    assert not (tmp_path / "p").exists()
    # the services may be named in the environment instead of the sources file
    config = tmp_path / "env.toml"
    config.write_text(settings_table(FRONTIER_PREFIX=prefix) + body, encoding="utf-8")
    queued = run_crawler("enqueue", "--config", str(config), env={
        "FRONTIER_URL": url, "STATE_URL": postgres_url, "POSTS_STORE": str(tmp_path / "p")})
    assert queued.returncode == 0 and len(queued.stdout.split()) == 1, queued.stderr


def test_two_workers_write_every_post_once_and_fetch_every_image_once(tmp_path, site, frontier_url, postgres_url):
    url, prefix = frontier_url
    sources_part = shared_site(site, sources=30, entries=4)
    reference = single_machine_reference(tmp_path, sources_part)
    site.clear()
    config, shared = shared_config(tmp_path, sources_part, FRONTIER_URL=url, FRONTIER_PREFIX=prefix,
                                   STATE_URL=postgres_url)
    run = enqueue(config)
    workers = [start_worker(config, tmp_path / f"w{n}") for n in range(2)]
    for n, worker in enumerate(workers):
        assert wait_for(worker, url, prefix, run) == 0, (tmp_path / f"w{n}.log").read_text()[-3000:]
    assert tree(shared / "posts") == tree(reference / "posts")
    assert tree(shared / "images" / "full") == tree(reference / "images" / "full")
    assert set(image_requests(site).values()) == {1} and len(image_requests(site)) == 31
    status = run_crawler("status", run, "--config", str(config))
    assert status.returncode == 0, status.stderr
    assert f"run {run}: done" in status.stdout
    assert "30 sources, 120 posts written" in status.stdout and "NOT FETCHED" not in status.stdout
    # the run's keys are gone but its description, kept a day
    import redis
    left = sorted(k.decode() for k in redis.Redis.from_url(url).scan_iter(match=f"{prefix}:*"))
    assert left == [f"{prefix}:{{{run}}}:{name}" for name in ("documents", "meta")], left


def test_three_workers_one_killed_finish_the_run_as_one_machine_would(tmp_path, site, frontier_url, postgres_url):
    """The acceptance case: 300 sources of 10 entries with images, three workers, one killed
    with SIGKILL mid-run and not started again."""
    url, prefix = frontier_url
    sources_part = shared_site(site, sources=300, entries=10)
    reference = single_machine_reference(tmp_path, sources_part)
    site.clear()
    config, shared = shared_config(tmp_path, sources_part, FRONTIER_URL=url, FRONTIER_PREFIX=prefix,
                                   STATE_URL=postgres_url)
    run = enqueue(config)
    workers = [start_worker(config, tmp_path / f"w{n}") for n in range(3)]
    deadline = time.monotonic() + 120
    while len(list((shared / "posts").rglob("*.md"))) < 600:  # well under way
        assert time.monotonic() < deadline and workers[0].poll() is None, "the run never got under way"
        time.sleep(0.05)
    os.kill(workers[0].pid, signal.SIGKILL)
    assert workers[0].wait(10) == -signal.SIGKILL
    for n, worker in enumerate(workers[1:], 1):
        assert wait_for(worker, url, prefix, run) == 0, (tmp_path / f"w{n}.log").read_text()[-3000:]

    posts = {k: v for k, v in tree(shared / "posts").items() if not Path(k).name.startswith(".tmp-")}
    assert len(posts) == 3000 and posts == tree(reference / "posts")
    assert tree(shared / "images") == tree(reference / "images")  # every image once, thumbnails too
    fetched = image_requests(site)
    assert len(fetched) == 101
    # each image once, but those the killed worker had under way (fetched, not yet recorded)
    assert sum(fetched.values()) - len(fetched) <= 16, fetched

    status = run_crawler("status", run, "--config", str(config))
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == f"run {run}: done"
    assert "300 sources, " in status.stdout and "NOT FETCHED" not in status.stdout, status.stdout[-2000:]
    assert sum(1 for line in lines if line.rstrip().endswith("  ok")) == 300
    killed = [line for line in lines if "taken over by" in line]
    assert len(killed) == 1 and f"-{workers[0].pid}-" in killed[0], status.stdout[-1500:]

    # published into a site, the shared run gives the tree the single machine gives
    single_site, shared_site_dir = tmp_path / "site-single", tmp_path / "site-shared"
    published = run_crawler("publish", "--to", str(single_site), "--data", str(reference), "--images", "yes")
    assert published.returncode == 0, published.stderr
    published = run_crawler("publish", "--to", str(shared_site_dir), "--config", str(config), "--images", "yes",
                            "--data", str(tmp_path / "w1"))
    assert published.returncode == 0, published.stderr
    assert tree(shared_site_dir) == tree(single_site) and len(tree(single_site)) == 3000 + 2 * 101


@pytest.mark.parametrize("loss", ["cut", "silence"])
def test_a_frontier_lost_mid_run_stops_the_worker_and_a_later_one_finishes_the_run(loss, tmp_path, site, frontier_url,
                                                                                   postgres_url):
    """``cut``: Redis closes every connection; ``silence``: it stops answering and closes none
    (each try then waits for ``crawler.frontier.REPLY_TIMEOUT``)."""
    from tests.tcpproxy import TcpRelay

    url, prefix = frontier_url
    sources_part = shared_site(site, sources=40, entries=5)
    reference = single_machine_reference(tmp_path, sources_part)
    for n in range(40):
        site.routes[f"/f/{n}.xml"].delay = 0.1  # a run that lasts a few seconds
    relay = TcpRelay(6379)
    config, shared = shared_config(tmp_path, sources_part, FRONTIER_URL=f"redis://127.0.0.1:{relay.port}/0",
                                   FRONTIER_PREFIX=prefix, FRONTIER_RETRIES=2, STATE_URL=postgres_url,
                                   CONCURRENT_REQUESTS_PER_DOMAIN=2)
    try:
        run = enqueue(config)
        first = start_worker(config, tmp_path / "w0")
        while len(list((shared / "posts").rglob("*.md"))) < 20:
            assert first.poll() is None, (tmp_path / "w0.log").read_text()[-3000:]
            time.sleep(0.02)
        getattr(relay, loss)()
        started = time.monotonic()
        assert first.wait(60) == 69
        log = (tmp_path / "w0.log").read_text()
        assert "the frontier was lost" in log and "`crawler worker` continues the run once Redis is back" in log
        assert time.monotonic() - started < 30
        written = len(list((shared / "posts").rglob("*.md")))
        assert written < 200
        relay.restore()
        second = start_worker(config, tmp_path / "w1")
        assert wait_for(second, url, prefix, run) == 0, (tmp_path / "w1.log").read_text()[-3000:]
        status = run_crawler("status", run, "--config", str(config))
    finally:
        relay.close()
    posts = {k: v for k, v in tree(shared / "posts").items() if not Path(k).name.startswith(".tmp-")}
    assert posts == tree(reference / "posts")
    assert f"run {run}: done" in status.stdout and "NOT FETCHED" not in status.stdout, status.stdout[-1500:]


def test_a_state_database_blip_mid_run_loses_no_record(tmp_path, site, frontier_url, postgres_url):
    from urllib.parse import urlsplit

    from tests.tcpproxy import TcpRelay

    url, prefix = frontier_url
    sources_part = shared_site(site, sources=40, entries=5)
    for n in range(40):
        site.routes[f"/f/{n}.xml"].delay = 0.1
    relay = TcpRelay(5432)
    options = urlsplit(postgres_url).query
    config, shared = shared_config(tmp_path, sources_part, FRONTIER_URL=url, FRONTIER_PREFIX=prefix,
                                   STATE_URL=f"postgresql://127.0.0.1:{relay.port}/test?{options}",
                                   CONCURRENT_REQUESTS_PER_DOMAIN=2)
    try:
        run = enqueue(config)
        worker = start_worker(config, tmp_path / "w0")
        while len(list((shared / "posts").rglob("*.md"))) < 20:
            assert worker.poll() is None, (tmp_path / "w0.log").read_text()[-3000:]
            time.sleep(0.02)
        relay.cut()
        time.sleep(1.0)
        relay.restore()
        assert wait_for(worker, url, prefix, run) == 0, (tmp_path / "w0.log").read_text()[-3000:]
    finally:
        relay.close()
    import psycopg

    with psycopg.connect(postgres_url) as db:
        assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 200
    assert len(list((shared / "posts").rglob("*.md"))) == 200
