"""A broken sources file stops the run before anything is fetched, with one clear line."""

from __future__ import annotations

import pytest

from tests.conftest import run_crawler

GOOD = '[[sources]]\nname = "a"\nspider = "feed"\nurl = "{base}/feed.xml"\ncategories = ["x", "y", "z"]\n'
HTML = GOOD.replace('"feed"', '"html"') + 'items = "li"\nlink = "a::attr(href)"\ntitle = "a::text"\ncontent = ".body"\n'
JSON = GOOD.replace('"feed"', '"json"') + 'items = "data.list"\nlink = "url"\ntitle = "title"\nbody = "html"\n'


@pytest.mark.parametrize(
    "config,expected",
    [
        (GOOD.replace('"feed"', '"rss"'), "sources[0] (a).spider: unknown spider 'rss'"),
        (GOOD.replace('url = "{base}/feed.xml"\n', ""), "sources[0] (a).url: missing"),
        (GOOD.replace('"{base}/feed.xml"', '"file:///etc/passwd"'), "sources[0] (a).url: 'file:///etc/passwd' is not an http"),
        (GOOD + GOOD, "sources[1].name: duplicate name 'a'"),
        (GOOD.replace("categories = [", "categories = [1, "), "sources[0] (a).categories: must be a list"),
        (GOOD.replace('name = "a"', 'name = "../x"'), "sources[0].name: '../x' is not a usable name"),
        (GOOD + "colour = 1\n", "sources[0].colour: unknown field"),
        (GOOD + "pages = 2\n", "sources[0] (a).pages: not a field of the feed spider (only of html, json)"),
        ("[[sources]\nname = 1", "not valid TOML"),
        # the options of sources without a spider of their own
        (GOOD + 'fulltext = "full"\n', "sources[0] (a).fulltext: must be one of selector, extract (not 'full')"),
        (GOOD + 'fulltext = "selector"\n', "sources[0] (a).content: missing"),
        (GOOD + 'fulltext = "extract"\ncontent = ".x"\n', "sources[0] (a).content: not used with fulltext"),
        (GOOD + 'items = "li"\n', "sources[0] (a).items: not a field of the feed spider (only of html, json)"),
        (HTML.replace('"li"', '"li["'), "sources[0] (a).items: 'li[' is not a usable CSS selector"),
        (HTML.replace('".body"', '"div::text"'), "sources[0] (a).content: 'div::text' is not a usable CSS selector"),
        (HTML.replace('content = ".body"\n', ""), "sources[0] (a).content: missing: an entry's body needs"),
        (HTML + 'next = "a.next::attr(href)"\n', "sources[0] (a).pages: missing: how many list pages"),
        (HTML + "pages = 3\n", "sources[0] (a).pages: 3 pages need next to find the next one"),
        (JSON.replace('"data.list"', '"data..list"'), "sources[0] (a).items: 'data..list' is not a dotted path"),
        (JSON + 'next = "more"\npage_param = "p"\npages = 2\n', "sources[0] (a).page_param: a list pages by next"),
        (JSON + 'block = "(广告"\n', "sources[0] (a).block: not a valid regular expression"),
        (JSON + 'keep = ""\n', "sources[0] (a).keep: must be a regular expression"),
        (JSON + 'match_body = "yes"\n', "sources[0] (a).match_body: must be true or false"),
        ("[settings]\nX = 1\n", "sources: at least one [[sources]] table is required"),
        # settings with a fixed set of values or a range are checked with the file
        ('[settings]\nIMAGE_FETCH = "both"\n\n' + GOOD, "settings.IMAGE_FETCH: must be one of origin, proxy (not 'both')"),
        ('[settings]\nIMAGE_LINKS = "locale"\n\n' + GOOD, "settings.IMAGE_LINKS: must be one of remote, local"),
        ("[settings]\nIMAGES_MAX_BYTES = -1\n\n" + GOOD, "settings.IMAGES_MAX_BYTES: must be a whole number of at least 1"),
        ("[settings]\nIMAGES_CHECK_NICE = 20\n\n" + GOOD, "settings.IMAGES_CHECK_NICE: must be a whole number from 0 to 19 (not 20)"),
        ("[settings]\nIMAGES_THUMB_SIZE = [400]\n\n" + GOOD, "settings.IMAGES_THUMB_SIZE: must be two whole numbers"),
        ("[settings]\nDOWNLOAD_DELAY = -1\n\n" + GOOD, "settings.DOWNLOAD_DELAY: must be a number of at least 0 (not -1)"),
        ('[settings.IMAGE_HOST_POLICIES."cdn.test"]\nreferer = "always"\n\n' + GOOD,
         "settings.IMAGE_HOST_POLICIES['cdn.test'].referer: must be one of page, origin, none"),
        ('[settings.DOWNLOAD_SLOTS."rsshub.app"]\nconcurrency = 0\n\n' + GOOD,
         "settings.DOWNLOAD_SLOTS['rsshub.app'].concurrency: must be a whole number of at least 1"),
        ('[settings.DOWNLOAD_SLOTS."rsshub.app"]\nwait = 1\n\n' + GOOD,
         "settings.DOWNLOAD_SLOTS['rsshub.app'].wait: unknown key"),
    ],
)
def test_config_errors_are_one_line_exit_2_and_fetch_nothing(server, tmp_path, config, expected):
    path = tmp_path / "bad.toml"
    path.write_text(config.replace("{base}", server.base_url), encoding="utf-8")
    proc = run_crawler("run", "--config", str(path), "--data", str(tmp_path / "d"), "--no-images")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"crawler: {path}: ")
    assert expected in lines[0]
    assert server.requests == []
    assert not (tmp_path / "d").exists()


def test_missing_file_and_unknown_source(tmp_path, server):
    proc = run_crawler("run", "--config", str(tmp_path / "none.toml"))
    assert proc.returncode == 2 and "file not found" in proc.stderr
    path = tmp_path / "ok.toml"
    path.write_text(GOOD.replace("{base}", server.base_url), encoding="utf-8")
    proc = run_crawler("run", "--config", str(path), "--source", "nope", "--data", str(tmp_path / "d"))
    assert proc.returncode == 2 and "no source named 'nope'" in proc.stderr


def test_help_documents_every_option():
    proc = run_crawler("run", "--help")
    for option in ("--config", "--data", "--source", "--no-images", "--log-level"):
        assert option in proc.stdout


def test_a_bad_setting_on_the_scrapy_command_line_stops_before_any_request(server, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    path = tmp_path / "ok.toml"
    path.write_text(GOOD.replace("{base}", server.base_url), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "feed", "-s", f"SOURCES_FILE={path}",
                           "-s", f"DATA_DIR={tmp_path / 'd'}", "-s", "IMAGE_REFERER=sometimes"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "settings.IMAGE_REFERER: must be one of page, origin, none (not 'sometimes')" in proc.stderr
    assert server.requests == []


def test_a_feed_is_read_again_when_any_part_of_its_source_changes():
    """``feed_mark`` stands for the source's whole definition: rules compared by their whole
    patterns (a pattern's own repr stops at 200 characters)."""
    from crawler.config import parse_source
    from crawler.readers.feed import feed_mark

    def source(**extra):
        return parse_source("test", {"name": "f", "spider": "feed", "url": "http://feed.test/rss",
                                     "categories": ["新闻", "网站", "首页"], **extra})

    long_rule = "^(" + "|".join(f"广告{n}" for n in range(60)) + ")"
    marks = {feed_mark(source(**extra), b"<rss/>") for extra in (
        {}, {"author": "某人"}, {"block": long_rule + "甲"}, {"block": long_rule + "乙"},
        {"block": long_rule + "乙", "match_body": True})}
    assert len(marks) == 5
    assert feed_mark(source(), b"<rss/>") == feed_mark(source(), b"<rss/>") != feed_mark(source(), b"<rss></rss>")
