"""Scrapy settings of the project; a sources file's ``[settings]`` table overrides any of them."""

import os

BOT_NAME = "crawler"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
USER_AGENT = "aggregator-posts/0.1 (Scrapy)"

# Feeds and list APIs are published for machines; set True in [settings] to honour robots.txt
# for article pages too.
ROBOTSTXT_OBEY = False
# Every source runs in one crawler, so these hold per host across all sources (RSSHub routes
# mostly share one host). Per-host limits: DOWNLOAD_SLOTS, e.g. in a sources file
#   [settings.DOWNLOAD_SLOTS."rsshub.app"]
#   concurrency = 2
#   delay = 1.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOADER = "crawler.downloader.SlotBoundDownloader"  # holds each slot to its concurrency
# Items in the pipelines at once, each waiting for its images: bounds the bodies held for checks.
CONCURRENT_ITEMS = 16
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024  # also bounds what a gzip/deflate/brotli body inflates to
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 5
# Only http and https are fetched: no local files, no FTP, no data: or s3: URLs from a feed.
DOWNLOAD_HANDLERS = {"file": None, "ftp": None, "data": None, "s3": None}
TELNETCONSOLE_ENABLED = False  # a scheduled run needs no listening port
REMOTE_CONTROL_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"

# List pages and feeds are asked for conditionally (If-None-Match / If-Modified-Since): an
# unchanged source costs one 304. Article pages and images opt out with ``dont_cache``.
HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "crawler.httpcache.RevalidatingPolicy"
# Kept as is, not gzipped: the cache holds one copy of each list page and feed (no history), and
# gzip at Scrapy's level 9 took 28 ms for a 200 KB feed, longer than reading it. A folder gzipped
# by an earlier version is read as misses (Scrapy logs each), then written again.
HTTPCACHE_GZIP = False
HTTPCACHE_IGNORE_HTTP_CODES = [401, 403, 404, 408, 429, 500, 502, 503, 504]
# HTTPCACHE_DIR defaults to DATA_DIR/httpcache (set by the spider from DATA_DIR).
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    # after Scrapy's UserAgentMiddleware (500), so a host's own User-Agent wins
    "crawler.imagereferers.ImageRefererMiddleware": 560,
    # before the retries (550) in the exception chain: a refused address is not asked again
    "crawler.addresses.PrivateAddressMiddleware": 590,
}
# The reactor's resolver drops the addresses a URL from a feed may not reach (crawler.addresses).
TWISTED_DNS_RESOLVER = "crawler.addresses.GuardedResolver"

EXTENSIONS = {
    "crawler.lifecycle.DataDirGuard": 0,
    "crawler.report.RunReport": 10,
}

ITEM_PIPELINES = {
    "pipelines.bodies.BodyRulesPipeline": 100,
    "pipelines.duplicates.NearDuplicatesPipeline": 200,
    "pipelines.images.MirrorImagesPipeline": 300,
    "pipelines.imagelinks.LocalImageLinksPipeline": 400,
    "pipelines.posts.PostWriterPipeline": 800,
}

# --- the project's own settings --------------------------------------------------------------
SOURCES_FILE = "sources.toml"
"""The sources file ``scrapy crawl`` reads; ``crawler run --config`` sets it."""
DATA_DIR = "data"
"""Output folder: ``posts/``, ``images/``, ``state.sqlite3``, ``runs/`` (``crawler.datadir``)."""
LOCK_WAIT = 0
"""Seconds to wait for another crawl of ``DATA_DIR`` to finish (``--wait``); 0: fail at once."""
POSTS_STORE = os.environ.get("POSTS_STORE", "")
"""Where posts go: empty for ``DIR/posts``, another folder, or ``s3://bucket/prefix/`` (with
Scrapy's ``AWS_*`` settings; ``IMAGES_STORE`` takes the same URLs). See ``crawler.stores``.
Also read from the environment, as the shared run's other services are."""
STATE_URL = os.environ.get("STATE_URL", "")
"""Where the state lives: empty for ``DIR/state.sqlite3``, or ``postgresql://…`` (also read from
the environment, so a password need not be in the sources file)."""
FRONTIER_URL = os.environ.get("FRONTIER_URL", "")
"""``redis://…`` of the shared frontier for ``crawler enqueue`` and ``crawler worker`` (also read
from the environment); ``crawler run`` never uses it."""
BATCH_WAIT = 0.005
"""Seconds a question to a state in PostgreSQL or to a shared run's Redis waits for those of
the next responses, to travel with them in one query or pipeline: a one-worker run of 2,000
articles made about 2,300 round trips instead of 4,500. SQLite in DIR is asked at the end of
each turn of the event loop, as ever (nothing to save by waiting in the crawl's own process)."""
FRONTIER_PREFIX = "crawler"
"""First part of every Redis key, so several deployments can share one Redis."""
FRONTIER_LEASE_SECONDS = 30
"""A worker that has not been heard from for this long is taken for dead: its unfinished
requests go back to the queue for the others."""
FRONTIER_RETRIES = 6
"""Tries, with exponential backoff (0.5 s doubling up to 8 s: about 25 s for 6), to reach a
Redis that went away mid-run before the worker stops; ``crawler worker`` continues later."""
RUN_ID = ""
WORKER_ID = ""
"""Set by ``crawler worker`` for each run it works on: which run, and who this worker is."""
ALLOW_PRIVATE_NETWORKS = []
"""Networks (CIDRs, e.g. ``["10.20.0.0/16"]``) that URLs from feeds and pages may reach though
they are private, loopback, link-local…; ``true``: any. The sources' own hosts are always
allowed. See ``crawler.addresses``."""
IMAGE_PROXY = None
"""Prefix put before every ``http://`` src, e.g. ``https://cors.zfour.workers.dev/?``."""
SANITIZE_HTML = True
"""Remove scripts, active elements, on* handlers, javascript: URLs and tracking pixels from
bodies (a clean body keeps every byte). False keeps bodies exactly as the original did."""
CLEAN_TITLES = True
"""Replace ``: / \\ ? * “ ” < > | [ ]`` in titles with ``_``, as the original did."""
HEADIMG_FALLBACK = "https://picsum.photos/400/300?random={n}"
"""``headimg`` of a post without images; ``{n}`` is 0–10000, stable per article."""
FORCE_REFRESH = False
"""``--force``: fetch known articles again and rewrite their posts even when unchanged."""
DUPLICATES = "skip"
"""A new article whose text is a near-duplicate of one written within ``DUPLICATE_WINDOW_DAYS``:
``skip`` records it as a duplicate of that one and writes nothing; ``keep`` writes it anyway
(the report still names the post it matched); ``off`` compares nothing."""
DUPLICATE_THRESHOLD = 0.65
"""How much of the shorter text must be in the other (estimated containment, 0–1) for a
near-duplicate; 0.65 measured best on the labelled set (BENCHMARKS.md)."""
DUPLICATE_WINDOW_DAYS = 7
"""How far back a new article is compared: stories are republished within days."""

# --- images (pipelines/images.py) ---------------------------------------------------------------
IMAGES_ENABLED = True
"""False (``--no-images``) mirrors nothing and fetches no image."""
IMAGES_STORE = os.environ.get("IMAGES_STORE") or None
"""Where images go; default ``DATA_DIR/images``. Any store FilesPipeline knows (s3://, gs://, ftp://).
Also read from the environment."""
IMAGE_FETCH = "origin"
"""``origin``: fetch the URL behind the image proxy, with the article page as Referer;
``proxy``: fetch the proxied URL as the post writes it."""
IMAGE_REFERER = "page"
"""Referer sent for images: ``page`` (the article), ``origin`` (the article's site) or ``none``.
A 403 is retried once with the other kind (page/origin <-> none)."""
IMAGE_HOST_POLICIES = {}
"""Per image host: ``{"cdn.example.com": {"referer": "none", "user_agent": "…"}}``;
a key starting with ``.`` matches every subdomain."""
IMAGE_LINKS = "remote"
"""``remote``: posts keep the seed format's URLs; ``local``: posts point at the mirrored files."""
IMAGE_LINKS_PREFIX = "/images/"
IMAGES_EXPIRES = 90
"""Days before a stored image is fetched again."""
IMAGES_RETRY_FAILED_HOURS = 24
"""Hours before an image that failed for good (404, not an image, too large) is tried again;
network errors and 5xx answers are retried on the next run."""
IMAGES_MAX_BYTES = 20 * 1024 * 1024
IMAGES_MAX_PIXELS = 40_000_000
IMAGES_THUMB_SIZE = [400, 300]
IMAGES_CHECK_WORKERS = 2
"""Worker processes that check and thumbnail images, beside the crawl, for the whole run."""
IMAGES_CHECK_NICE = 10
"""How far the image checkers step back for the crawl and its servers (Unix ``nice``: 0, as the
crawl, to 19): nothing waits on one check, while the crawl waits on each answer it asks for."""

# Scrapy's own extensions less its remote control: that one is off (REMOTE_CONTROL_ENABLED) but
# Scrapy imports every listed extension to read its priority, and its module loads aiohttp's web
# server, a tenth of a second of every run's start.
from scrapy.settings.default_settings import EXTENSIONS_BASE as _SCRAPY_EXTENSIONS  # noqa: E402

EXTENSIONS_BASE = {path: order for path, order in _SCRAPY_EXTENSIONS.items() if not path.endswith(".RemoteControl")}
