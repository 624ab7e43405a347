from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.loopback import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
REACTOR_SETTINGS = ("TWISTED_REACTOR", "ASYNCIO_EVENT_LOOP")


def free_port() -> int:
    """A port nothing listens on now (for servers that must keep one port across runs)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    srv = LoopbackServer().start()
    yield srv
    srv.stop()


@dataclass
class CrawlResult:
    returncode: int
    stdout: str
    stderr: str
    data: Path

    def posts(self) -> dict[str, str]:
        """Every post written, by path relative to DIR/posts."""
        root = self.data / "posts"
        return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.md"))}


def run_crawler(*args: str, cwd: Path = ROOT, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    """``crawler ARGS``; ``env``: variables set for it, over this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **env} if env else None,
    )


@pytest.fixture
def crawl(tmp_path):
    """Write a sources file and run ``crawler run`` on it; returns a CrawlResult."""

    def _crawl(config: str, *args: str, data: Path | None = None, images: bool = False) -> CrawlResult:
        config_path = tmp_path / "sources.toml"
        config_path.write_text(config, encoding="utf-8")
        data = data or tmp_path / "data"
        flags = [] if images else ["--no-images"]
        proc = run_crawler("run", "--config", str(config_path), "--data", str(data), *flags, *args)
        return CrawlResult(proc.returncode, proc.stdout, proc.stderr, data)

    return _crawl


@pytest.fixture
def project_crawler(tmp_path):
    """Build a Crawler with the project's settings and a sources file, in this process (as
    Scrapy's own tests do with ``get_crawler``), so a reader or a pipeline can be tested without
    a subprocess. ``make(config, **settings)`` returns the crawler; its extensions are built, its
    engine is not started."""
    from scrapy.utils.project import get_project_settings
    from scrapy.utils.test import get_crawler

    from crawler.lifecycle import DataDirGuard
    from crawler.spiders.sources import SourcesSpider

    made = []

    def make(config: str, spidercls=SourcesSpider, **settings):
        path = tmp_path / "sources.toml"
        path.write_text(config, encoding="utf-8")
        # get_crawler chooses the reactor settings that suit this process (no reactor running)
        project = {k: v for k, v in get_project_settings().copy_to_dict().items() if not k.startswith(REACTOR_SETTINGS)}
        values = {**project, "SOURCES_FILE": str(path), "DATA_DIR": str(tmp_path / "data"), **settings}
        crawler = get_crawler(spidercls, values)
        made.append(crawler)
        return crawler

    yield make
    for crawler in made:
        crawler.get_extension(DataDirGuard).engine_stopped()  # closes the state, frees DIR


POSTGRES_ADMIN_URL = "postgresql://127.0.0.1:5432/test"
"""The test machines' PostgreSQL (trust auth); each test gets a schema of its own in it."""


def service_missing(what: str) -> None:
    """Skip, saying which service is missing; where ``REQUIRE_SERVICES`` is set (``.ci/run``),
    fail instead: there a skipped service test would pass off as a passing one."""
    if os.environ.get("REQUIRE_SERVICES"):
        pytest.fail(f"{what} (REQUIRE_SERVICES is set)")
    pytest.skip(what)


@pytest.fixture
def postgres_url():
    """A ``STATE_URL`` whose tables land in a fresh schema of the test database, dropped after."""
    try:
        import psycopg
    except ImportError:
        service_missing("psycopg is not installed (pip install -e '.[distributed]')")
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        service_missing(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {str(exc).strip().splitlines()[0]}")
    schema = f"crawler_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


@pytest.fixture
def s3_server(tmp_path):
    """An S3 server of moto's on 127.0.0.1 for this test, with a bucket ``posts`` and the
    settings that point Scrapy's S3 store at it."""
    try:
        import botocore.session
        import moto.server  # noqa: F401  (the server is run as a module below)
    except ImportError:
        service_missing("moto[server] or botocore is not installed (pip install -e '.[test,distributed]')")
    port = free_port()
    log = (tmp_path / "moto.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    settings = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_REGION_NAME": "us-east-1"}
    client = botocore.session.get_session().create_client(
        "s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    try:
        for _ in range(100):
            try:
                client.create_bucket(Bucket="posts")
                break
            except Exception:
                if process.poll() is not None:
                    pytest.fail(f"moto's S3 server did not start: {(tmp_path / 'moto.log').read_text()[-500:]}")
                time.sleep(0.1)
        yield client, settings
    finally:
        process.terminate()
        process.wait(10)
        log.close()


REDIS_URL = "redis://127.0.0.1:6379/0"
"""The test machines' Redis; each test gets a key prefix of its own in it, deleted after."""


@pytest.fixture
def frontier_url():
    """``(FRONTIER_URL, FRONTIER_PREFIX)`` for a test: the machine's Redis, keys of its own."""
    try:
        import redis
    except ImportError:
        service_missing("redis is not installed (pip install -e '.[distributed]')")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis not reachable at {REDIS_URL}: {exc}")
    prefix = f"crawler-test-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        yield REDIS_URL, prefix
    finally:
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)
        client.close()
