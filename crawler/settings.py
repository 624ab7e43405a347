"""Scrapy settings of the project; a sources file's ``[settings]`` table overrides any of them."""

BOT_NAME = "crawler"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
USER_AGENT = "aggregator-posts/0.1 (Scrapy)"

# Feeds and list APIs are published for machines; set True in [settings] to honour robots.txt
# for article pages too.
ROBOTSTXT_OBEY = False
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
RETRY_TIMES = 2
TELNETCONSOLE_ENABLED = False  # a scheduled run needs no listening port
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

ITEM_PIPELINES = {
    "pipelines.bodies.BodyRulesPipeline": 100,
    "pipelines.posts.PostWriterPipeline": 800,
}

# --- the project's own settings --------------------------------------------------------------
SOURCES_FILE = "sources.toml"
"""The sources file ``scrapy crawl`` reads; ``crawler run --config`` sets it."""
DATA_DIR = "data"
"""Output folder: ``posts/``, ``state.sqlite3``."""
IMAGE_PROXY = None
"""Prefix put before every ``http://`` src, e.g. ``https://cors.zfour.workers.dev/?``."""
CLEAN_TITLES = True
"""Replace ``: / \\ ? * “ ” < > | [ ]`` in titles with ``_``, as the original did."""
HEADIMG_FALLBACK = "https://picsum.photos/400/300?random={n}"
"""``headimg`` of a post without images; ``{n}`` is 0–10000, stable per article."""
