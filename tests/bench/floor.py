"""The floor: bare Scrapy requesting exactly the pages a posts run requests, parsing nothing.

No pipelines, no HTTP cache, no extensions of the project: what this machine and Scrapy
itself cost for these requests, with the same concurrency settings as the project.

    python -m tests.bench.floor URLS_FILE
"""

from __future__ import annotations

import sys
from pathlib import Path

import scrapy
from scrapy.crawler import CrawlerProcess


class FloorSpider(scrapy.Spider):
    name = "floor"

    def __init__(self, urls_file: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.urls = Path(urls_file).read_text().split()

    async def start(self):
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response):
        return None


def main() -> None:
    from crawler import settings as project

    process = CrawlerProcess({
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "CONCURRENT_REQUESTS": project.CONCURRENT_REQUESTS,
        "CONCURRENT_REQUESTS_PER_DOMAIN": project.CONCURRENT_REQUESTS_PER_DOMAIN,
        "DOWNLOAD_DELAY": 0,
    })
    process.crawl(FloorSpider, urls_file=sys.argv[1])
    process.start()


if __name__ == "__main__":
    main()
