"""Readers and pipelines driven in this process, through the project's own crawler set-up."""

from __future__ import annotations

import asyncio

from itemadapter import ItemAdapter
from scrapy.http import Request, TextResponse, XmlResponse

from crawler.report import RunReport
from crawler.spiders.sources import SourcesSpider
from pipelines.bodies import BodyRulesPipeline
from pipelines.posts import PostWriterPipeline
from tests.test_crawl import feed_item, feed_xml, list_page

BASE = "http://news.test"
CONFIG = (f'[settings]\nIMAGE_PROXY = "https://proxy.test/?"\n\n'
          f'[[sources]]\nname = "f"\nspider = "feed"\nurl = "{BASE}/feed.xml"\ncategories = ["一", "二", "三"]\n\n'
          f'[[sources]]\nname = "q"\nspider = "qutoutiao"\nurl = "{BASE}/list?page=1"\ncategories = ["四", "五", "六"]\n')


def answer(request: Request, body: str, cls=TextResponse) -> TextResponse:
    return cls(url=request.url, body=body.replace("{BASE}", BASE).encode("utf-8"), encoding="utf-8", request=request)


async def start_requests(spider: SourcesSpider) -> list[Request]:
    return [request async for request in spider.start()]


def test_every_source_starts_in_one_spider_and_its_requests_name_it(project_crawler):

    crawler = project_crawler(CONFIG)
    spider = SourcesSpider.from_crawler(crawler)
    requests = asyncio.run(start_requests(spider))
    assert [(r.url, r.meta["source"], r.cb_kwargs["step"]) for r in requests] == [
        (f"{BASE}/feed.xml", "f", "parse_feed"), (f"{BASE}/list?page=1", "q", "parse_list")]
    assert crawler.settings["IMAGE_PROXY"] == "https://proxy.test/?"  # the file's [settings]


def test_feed_reader_and_post_writer_in_process(project_crawler, tmp_path):
    crawler = project_crawler(CONFIG)
    spider = SourcesSpider.from_crawler(crawler, source="f")
    crawler.spider = spider
    feed = spider.request(spider.sources["f"], f"{BASE}/feed.xml", "parse_feed", document=True)
    xml = feed_xml(feed_item(1, "甲", '<p>正文 <img src="http://img.test/a.jpg"></p>') + feed_item(2, "", ""))
    items = list(spider.read(answer(feed, xml, XmlResponse), **feed.cb_kwargs))
    assert [ItemAdapter(i)["title"] for i in items] == ["甲"]
    record = crawler.get_extension(RunReport).records["f"]
    assert record.counts["pages"] == 1 and record.counts["listed"] == 1
    assert [f["reason"] for f in record.failures] == ["missing field: title and body"]

    body_rules, writer = BodyRulesPipeline.from_crawler(crawler), PostWriterPipeline.from_crawler(crawler)
    writer.open_spider()
    item = asyncio.run(writer.process_item(body_rules.process_item(items[0])))
    post = (tmp_path / "data" / "posts" / ItemAdapter(item)["post_path"]).read_text(encoding="utf-8")
    assert ItemAdapter(item)["post_outcome"] == "created"
    assert 'src="https://proxy.test/?http://img.test/a.jpg"' in post and "title: '甲'" in post


def test_list_reader_follows_entries_with_the_source_in_meta(project_crawler):
    crawler = project_crawler(CONFIG)
    spider = SourcesSpider.from_crawler(crawler, category="四")
    assert list(spider.sources) == ["q"]
    listing = spider.request(spider.sources["q"], f"{BASE}/list?page=1", "parse_list", document=True, number=1)
    out = list(spider.read(answer(listing, list_page(("a1", "第一篇", 1624359289))), **listing.cb_kwargs))
    assert [(r.url, r.meta["source"], r.cb_kwargs["step"]) for r in out] == [
        (f"{BASE}/detail/a1.html?content_id=a1", "q", "parse_page")]
    assert crawler.get_extension(RunReport).records["q"].counts["listed"] == 1


def test_image_referer_middleware_sets_headers_and_retries_a_403_once(project_crawler):
    from scrapy.http import Response

    from crawler.imagereferers import ImageRefererMiddleware

    crawler = project_crawler(CONFIG.replace("[[sources]]", '[settings.IMAGE_HOST_POLICIES.".cdn.test"]\n'
                                             'referer = "origin"\nuser_agent = "mirror/1"\n\n[[sources]]', 1))
    middleware = ImageRefererMiddleware.from_crawler(crawler)
    page = Request(f"{BASE}/p/1")
    assert middleware.process_request(page) is None and b"Referer" not in page.headers  # not an image
    image = Request("http://img.cdn.test/a.jpg", meta={"image_url": "http://img.cdn.test/a.jpg", "article": f"{BASE}/p/1"})
    middleware.process_request(image)
    assert image.headers[b"Referer"] == f"{BASE}/".encode() and image.headers[b"User-Agent"] == b"mirror/1"
    retry = middleware.process_response(image, Response(image.url, status=403, request=image))
    assert isinstance(retry, Request) and retry.meta["referer_policy"] == "none"
    middleware.process_request(retry)
    assert b"Referer" not in retry.headers
    refused = Response(retry.url, status=403, request=retry)
    assert middleware.process_response(retry, refused) is refused  # tried once, then the 403 stands
    plain = Request("http://other.test/b.jpg", meta={"image_url": "http://other.test/b.jpg", "article": f"{BASE}/p/2"})
    middleware.process_request(plain)
    assert plain.headers[b"Referer"] == f"{BASE}/p/2".encode()  # IMAGE_REFERER's default: the page
