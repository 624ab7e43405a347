"""The floor: bare Scrapy requesting exactly the pages a posts run requests.

No pipelines, no HTTP cache, no extensions of the project: what this machine and Scrapy
itself cost for these requests, with the same concurrency settings as the project, and the
project's downloader (``crawler.downloader``), which holds each host to
``CONCURRENT_REQUESTS_PER_DOMAIN`` as Scrapy 2.19's own does not (so both runs are as polite).

    python -m tests.bench.floor URLS_FILE [--parse-feeds]

``--parse-feeds``: parse each answer with lxml and walk its items, as the sources scenario's
bare spider does; otherwise nothing is parsed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import scrapy
from lxml import etree
from scrapy.crawler import CrawlerProcess


class FloorSpider(scrapy.Spider):
    name = "floor"

    def __init__(self, urls_file: str, parse_feeds: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.urls = Path(urls_file).read_text().split()
        self.parse_feeds = parse_feeds

    async def start(self):
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response):
        if self.parse_feeds:
            for item in etree.fromstring(response.body).iter("item"):
                item.findtext("title"), item.findtext("link"), item.findtext("description")
        return None


def main() -> None:
    from crawler import settings as project

    parser = argparse.ArgumentParser(prog="python -m tests.bench.floor")
    parser.add_argument("urls_file")
    parser.add_argument("--parse-feeds", action="store_true")
    args = parser.parse_args()
    process = CrawlerProcess({
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "CONCURRENT_REQUESTS": project.CONCURRENT_REQUESTS,
        "CONCURRENT_REQUESTS_PER_DOMAIN": project.CONCURRENT_REQUESTS_PER_DOMAIN,
        "DOWNLOADER": project.DOWNLOADER,
        "DOWNLOAD_DELAY": 0,
    })
    process.crawl(FloorSpider, urls_file=args.urls_file, parse_feeds=args.parse_feeds)
    process.start()


if __name__ == "__main__":
    main()
