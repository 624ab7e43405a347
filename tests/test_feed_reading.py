"""Feeds as they come from real sites: each class of trouble, on fixtures written for it."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.feeds import parse_feed

CHANNEL = "<channel><title>样例频道</title><link>http://site.test/</link>{items}</channel>"


def rss(items: str, attrs: str = ' version="2.0"', decl: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return f"{decl}<rss{attrs}>{CHANNEL.format(items=items)}</rss>".encode("utf-8")


def atom(entries: str) -> bytes:
    return ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
            f"{entries}</feed>").encode("utf-8")


def only(feed):
    (entry,) = feed.entries
    return entry


# 1. not well-formed XML: repaired before parsing, not sent through recover mode


def test_leading_whitespace_undefined_entities_and_bare_ampersands_are_repaired_losslessly():
    items = ("<item><title>Tom &amp; Jerry&nbsp;return</title><link>http://site.test/a?x=1&y=2</link>"
             "<description>&lt;p&gt;caf&eacute; &amp; bar&lt;/p&gt;</description></item>"
             "<item><title>Fish & chips</title><link>http://site.test/b</link>"
             "<description><![CDATA[<p>A &nbsp; kept as written & so is this</p>]]></description></item>")
    feed = parse_feed(b"\n\n  " + rss(items))
    assert not feed.recovered
    first, second = feed.entries
    assert first.title == "Tom & Jerry\u00a0return"
    assert first.link == "http://site.test/a?x=1&y=2"
    assert first.body == "<p>café & bar</p>"  # the XML's text: its &amp; is one '&'
    assert second.title == "Fish & chips"
    assert second.body == "<p>A &nbsp; kept as written & so is this</p>"  # CDATA untouched
    assert any("whitespace before the XML declaration" in r for r in feed.repairs)
    assert any("HTML entities" in r for r in feed.repairs) and any("bare '&'" in r for r in feed.repairs)


def test_recover_mode_is_the_last_resort_and_says_what_it_lost():
    items = ("<item><title>一</title><link>http://site.test/1</link><description>x</description></item>"
             "<item><title>二</title><link>http://site.test/2</link><description><![CDATA[cut")
    feed = parse_feed(rss(items)[: -len("</channel></rss>")])
    assert feed.recovered and [e.title for e in feed.entries] == ["一"]
    assert "1 of 2 entries after the break lost" in feed.lost


# 2. RSS in a namespace


def test_rss_in_a_default_namespace_and_namespaced_items():
    userland = rss("<item><title>默认命名空间</title><link>http://site.test/u</link><description>b</description></item>",
                   attrs=' version="2.0" xmlns="http://backend.userland.com/rss2"')
    assert only(parse_feed(userland)).title == "默认命名空间"
    prefixed = ('<?xml version="1.0"?><r:rss xmlns:r="http://backend.userland.com/rss2" version="2.0"><r:channel>'
                "<r:item><r:title>前缀</r:title><r:link>http://site.test/p</r:link><r:description>b</r:description>"
                "</r:item></r:channel></r:rss>").encode()
    entry = only(parse_feed(prefixed))
    assert (entry.title, entry.link, entry.body) == ("前缀", "http://site.test/p", "b")


def test_a_feed_with_items_never_ends_with_zero_posts_and_no_failure(server, crawl):
    odd = ('<?xml version="1.0"?><rss version="2.0"><channel><odd:item xmlns:odd="http://odd.test/">'
           "<odd:title>x</odd:title></odd:item></channel></rss>")
    server.add("/odd.xml", odd, content_type="application/rss+xml")
    result = crawl(f'[[sources]]\nname = "odd"\nspider = "feed"\nurl = "{server.base_url}/odd.xml"\n'
                   'categories = ["a", "b", "c"]\n')
    assert result.returncode == 1 and "NOT FETCHED" in result.stdout
    report = json.loads((result.data / "runs" / "latest.json").read_text(encoding="utf-8"))
    assert "holds 1 items or entries but only 0 could be read" in report["sources"][0]["failures"][0]["reason"]


# 3. encodings without a declaration


SAMPLES = {
    "iso-8859-1": "Café crème à la française: déjà vu à Zürich, über naïve Ökonomie",
    "euc-jp": "東京で新しい図書館が開館しました。市民の皆さんが楽しみにしていた図書館です",
    "shift_jis": "大阪の商店街で夏祭りが始まりました。多くの人が集まっています",
    "euc-kr": "서울에 새 도서관이 문을 열었습니다. 시민들이 기다리던 도서관입니다",
    "gb18030": "社区举办了一场活动，居民们积极参与，组织者表示下次还会继续",
}


def test_undeclared_encodings_are_read_from_the_evidence():
    for encoding, text in SAMPLES.items():
        xml = (f"<rss version='2.0'><channel><title>{text[:6]}</title><item><title>{text}</title>"
               f"<link>http://site.test/x</link><description>{text}</description></item></channel></rss>")
        feed = parse_feed(xml.encode(encoding))
        assert only(feed).title == text, encoding
        assert feed.encoding_note.startswith("no encoding declared; read as"), feed.encoding_note
        assert "HTTP" not in feed.encoding_note


def test_the_http_charset_wins_over_a_wrong_declaration_and_a_server_default_does_not():
    text = SAMPLES["euc-kr"]
    xml = f"<?xml version='1.0' encoding='utf-8'?><rss><channel><item><title>{text}</title></item></channel></rss>"
    feed = parse_feed(xml.encode("euc-kr"), http_charset="euc-kr")
    assert only(feed).title == text and feed.encoding_note is None
    utf8 = xml.encode("utf-8")
    feed = parse_feed(utf8, http_charset="iso-8859-1")  # a server's default, against the document's word
    assert only(feed).title == text and feed.encoding_note is None


# 4. HTML in titles


def test_titles_are_the_text_a_reader_sees():
    items = ("<item><title><![CDATA[$4300 3bd 1930ft<sup>2</sup>]]></title><link>http://site.test/1</link></item>"
             "<item><title>&lt;b&gt;Bold&lt;/b&gt; claim</title><link>http://site.test/2</link></item>"
             "<item><title>1 &lt; 2 and 3 &gt; 2</title><link>http://site.test/3</link></item>")
    assert [e.title for e in parse_feed(rss(items)).entries] == ["$4300 3bd 1930ft2", "Bold claim", "1 < 2 and 3 > 2"]
    entries = ('<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">History of the &lt;blink&gt; tag'
            '</div></title><id>urn:1</id><link href="http://site.test/blink"/></entry>'
            '<entry><title type="html">A &lt;em&gt;short&lt;/em&gt; history</title><id>urn:2</id></entry>'
            '<entry><title type="text">Less &lt; more</title><id>urn:3</id></entry>')
    assert [e.title for e in parse_feed(atom(entries)).entries] == [
        "History of the <blink> tag", "A short history", "Less < more"]


# 5. escaped HTML in a body stays escaped


def test_escaped_markup_in_text_and_xhtml_bodies_stays_text():
    entries = ('<entry><title>x</title><id>urn:1</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
            "<p>real</p>&lt;b&gt;bold&lt;/b&gt; &lt;img src=x onerror=alert(1)&gt;</div></content></entry>"
            '<entry><title>y</title><id>urn:2</id><content type="text">&lt;b&gt;not bold&lt;/b&gt; &amp; so</content></entry>')
    first, second = parse_feed(atom(entries)).entries
    assert first.body == "<p>real</p>&lt;b&gt;bold&lt;/b&gt; &lt;img src=x onerror=alert(1)&gt;"
    assert second.body == "&lt;b&gt;not bold&lt;/b&gt; &amp; so"


# 6. the body's source element


def test_the_richest_non_empty_element_is_the_body():
    items = ('<item xmlns:content="http://purl.org/rss/1.0/modules/content/"><title>a</title><link>http://site.test/a</link>'
             "<description>the summary</description><content:encoded></content:encoded></item>"
             '<item xmlns:media="http://search.yahoo.com/mrss/"><title>b</title><link>http://site.test/b</link>'
             "<media:group><media:description>the media text</media:description></media:group></item>"
             '<item xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><title>c</title><link>http://site.test/c</link>'
             "<itunes:summary>the episode notes</itunes:summary></item>")
    assert [e.body for e in parse_feed(rss(items)).entries] == ["the summary", "the media text", "the episode notes"]
    entries = ('<entry><title>s</title><id>urn:1</id><summary>the summary</summary><content src="http://site.test/full"/></entry>'
            '<entry><title>h</title><id>urn:2</id><content type="text/html"><p>raw <b>child</b> markup</p></content></entry>')
    assert [e.body for e in parse_feed(atom(entries)).entries] == ["the summary", "<p>raw <b>child</b> markup</p>"]


# 7. links and bases


def test_atom_links_in_rss_items_and_xml_base_resolve_links():
    items = ('<item xmlns:a10="http://www.w3.org/2005/Atom"><title>net</title><guid isPermaLink="false">1</guid>'
             '<a10:link href="/posts/net" /></item>')
    assert only(parse_feed(rss(items), url="http://site.test/feed.xml")).link == "http://site.test/posts/net"
    atom = ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://blog.test/2021/">'
            '<title>t</title><entry><title>e</title><id>urn:1</id><link href="post.html"/>'
            '<content type="html" xml:base="http://cdn.test/img/">&lt;img src="a.png"&gt;</content></entry></feed>')
    entry = only(parse_feed(atom.encode(), url="http://elsewhere.test/feed"))
    assert entry.link == "http://blog.test/2021/post.html"
    assert entry.base == "http://cdn.test/img/"


def test_xml_base_makes_relative_images_absolute_in_the_post(server, crawl):
    atom = ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://blog.test/2021/">'
            '<title>t</title><entry><title>基准图</title><id>urn:b</id><link href="post.html"/>'
            '<updated>2021-06-22T10:54:49Z</updated>'
            '<content type="html" xml:base="http://cdn.test/img/">&lt;p&gt;&lt;img src="a.png"&gt;&lt;/p&gt;</content>'
            "</entry></feed>")
    server.add("/atom.xml", atom, content_type="application/atom+xml")
    result = crawl(f'[[sources]]\nname = "a"\nspider = "feed"\nurl = "{server.base_url}/atom.xml"\ncategories = ["a", "b", "c"]\n')
    assert result.returncode == 0, result.stderr
    (post,) = result.posts().values()
    assert 'src="http://cdn.test/img/a.png"' in post


# 8. dates


def test_dates_come_from_whatever_element_holds_them():
    items = ('<item xmlns:dcterms="http://purl.org/dc/terms/"><title>a</title><link>http://site.test/a</link>'
             "<dcterms:modified>2021-06-22T10:54:49+00:0</dcterms:modified></item>"
             '<item xmlns:atom="http://www.w3.org/2005/Atom"><title>b</title><link>http://site.test/b</link>'
             "<atom:updated>2021-06-23T08:00:00Z</atom:updated></item>")
    assert [e.published for e in parse_feed(rss(items)).entries] == ["2021-06-22T10:54:49+00:0", "2021-06-23T08:00:00Z"]
    from crawler.dates import parse_date

    assert parse_date("2021-06-22T10:54:49+00:0").isoformat() == "2021-06-22T10:54:49+00:00"


# 9. formats users meet


def test_atom_03_and_json_feed_are_read_and_unknown_documents_say_what_they_are():
    atom03 = ('<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>旧</title>'
              '<entry><title>旧格式</title><link rel="alternate" type="text/html" href="http://site.test/old"/>'
              "<id>tag:site.test,2005:1</id><issued>2005-07-01T12:00:00Z</issued>"
              '<content type="text/html" mode="escaped">&lt;p&gt;escaped body&lt;/p&gt;</content></entry></feed>')
    entry = only(parse_feed(atom03.encode()))
    assert (entry.title, entry.link, entry.published, entry.body) == (
        "旧格式", "http://site.test/old", "2005-07-01T12:00:00Z", "<p>escaped body</p>")
    jsonfeed = {"version": "https://jsonfeed.org/version/1.1", "title": "j", "items": [
        {"id": "1", "url": "http://site.test/j1", "title": "JSON <i>one</i>", "content_html": "<p>html body</p>",
         "date_published": "2021-06-22T10:54:49+08:00", "authors": [{"name": "作者"}]},
        {"id": 2, "url": "/j2", "content_text": "plain <text> & more"}]}
    first, second = parse_feed(json.dumps(jsonfeed).encode(), url="http://site.test/feed.json").entries
    assert (first.title, first.body, first.author, first.published) == (
        "JSON one", "<p>html body</p>", "作者", "2021-06-22T10:54:49+08:00")
    assert (second.guid, second.link, second.body) == ("2", "http://site.test/j2", "plain &lt;text&gt; &amp; more")
    import pytest

    from crawler.feeds import FeedError

    with pytest.raises(FeedError, match=r"the document is <opml>, not an RSS, Atom or JSON feed"):
        parse_feed(b"<?xml version='1.0'?><opml version='2.0'><body/></opml>")
    with pytest.raises(FeedError, match="JSON but not a JSON Feed"):
        parse_feed(b'{"data": []}')


# --- property: generated feeds read back as a reader sees them ----------------------------


class _Visible(HTMLParser):
    """Python's own HTML tokenizer, independent of lxml: the reference for visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def reference_visible(text: str) -> str:
    if not re.search(r"<[A-Za-z/!][^<>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);", text):
        return text.strip()
    parser = _Visible()
    parser.feed(text)
    parser.close()
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()


words = st.sampled_from(["新闻", "Tom", "&", "<", ">", "&amp;", "&nbsp;", "<b>", "</b>", "a<sup>2</sup>", "R&D",
                         "1 < 2", "x;", "#", "“引号”", "'", '"', " "])
text = st.lists(words, min_size=1, max_size=8).map(" ".join).filter(lambda t: t.strip() and "]]>" not in t)
paths = st.lists(st.sampled_from(["a", "b", "x=1", "&", "y=2", "?", "%20"]), min_size=1, max_size=5).map("".join)


@settings(max_examples=150, deadline=None)
@given(title=text, body=text, path=paths, cdata=st.booleans(), namespace=st.booleans(), leading=st.booleans())
def test_generated_feeds_read_back_as_a_reader_sees_them(title, body, path, cdata, namespace, leading):
    link = f"http://site.test/{path}"
    wrap = (lambda v: f"<![CDATA[{v}]]>") if cdata else (lambda v: html.escape(v, quote=False))
    item = (f"<item><title>{wrap(title)}</title><link>{html.escape(link, quote=False)}</link>"
            f"<description>{wrap(body)}</description></item>")
    attrs = ' version="2.0" xmlns="http://backend.userland.com/rss2"' if namespace else ' version="2.0"'
    data = (b"\n  " if leading else b"") + rss(item, attrs=attrs)
    entry = only(parse_feed(data))
    assert entry.title == (reference_visible(title) or None)
    assert entry.link == link
    assert entry.body == body
