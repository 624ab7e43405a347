"""Feed parsing keeps each body exactly as the XML holds it."""

import pytest

from crawler.feeds import FeedError, parse_feed

BODY = '<p>一段 <b>正文</b></p>\n  <p><img src="http://i.test/1.jpg" referrerpolicy="no-referrer"></p>  '


def rss(items: str, decl: str = '<?xml version="1.0" encoding="UTF-8"?>') -> str:
    return f'{decl}\n<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


def test_rss2_cdata_body_is_verbatim():
    xml = rss(f"<item><title><![CDATA[标题 A & B]]></title><description><![CDATA[{BODY}]]></description>"
              "<pubDate>Tue, 22 Jun 2021 10:54:49 GMT</pubDate><guid isPermaLink=\"false\">g1</guid>"
              "<link>http://n.test/1</link></item>")
    (entry,) = parse_feed(xml.encode()).entries
    assert (entry.title, entry.body, entry.guid, entry.link) == ("标题 A & B", BODY, "g1", "http://n.test/1")
    assert entry.published == "Tue, 22 Jun 2021 10:54:49 GMT"


def test_escaped_description_is_decoded_once_and_content_encoded_wins():
    xml = rss('<item xmlns:content="http://purl.org/rss/1.0/modules/content/"><title>t</title>'
              "<description>short &amp;lt;b&amp;gt;</description>"
              "<content:encoded>&lt;p&gt;full &amp;amp; text&lt;/p&gt;</content:encoded><link>http://n.test/2</link></item>")
    (entry,) = parse_feed(xml.encode()).entries
    assert entry.body == "<p>full &amp; text</p>"


def test_rss1_rdf_items():
    xml = ('<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
           'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
           '<channel rdf:about="x"><title>c</title></channel>'
           '<item rdf:about="http://n.test/3"><title>三</title><link>http://n.test/3</link>'
           "<description>&lt;p&gt;x&lt;/p&gt;</description><dc:date>2021-06-22T10:54:49Z</dc:date></item></rdf:RDF>")
    (entry,) = parse_feed(xml.encode()).entries
    assert (entry.title, entry.link, entry.body, entry.published) == ("三", "http://n.test/3", "<p>x</p>", "2021-06-22T10:54:49Z")


def test_atom_html_xhtml_and_text_content():
    xml = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>'
           '<entry><title type="html">A &amp;amp; B</title><id>urn:1</id><link rel="alternate" href="http://n.test/a"/>'
           '<published>2021-06-22T10:54:49Z</published><author><name>写作者</name></author>'
           '<content type="html">&lt;p&gt;html&lt;/p&gt;</content></entry>'
           '<entry><title>x</title><id>urn:2</id><link href="http://n.test/b"/><updated>2021-06-22T10:54:49Z</updated>'
           '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>xhtml</p></div></content></entry>'
           '<entry><title>y</title><id>urn:3</id><summary>1 &lt; 2</summary></entry></feed>')
    a, b, c = parse_feed(xml.encode()).entries
    assert (a.title, a.body, a.author, a.guid, a.link) == ("A & B", "<p>html</p>", "写作者", "urn:1", "http://n.test/a")
    assert "<p" in b.body and "xhtml</p>" in b.body and b.published == "2021-06-22T10:54:49Z"
    assert c.body == "1 &lt; 2" and c.link is None


def test_declared_gb18030_encoding_is_used():
    xml = rss("<item><title>中文标题</title><description><![CDATA[<p>内容</p>]]></description><link>http://n.test/g</link></item>",
              decl='<?xml version="1.0" encoding="GB18030"?>')
    (entry,) = parse_feed(xml.encode("gb18030")).entries
    assert (entry.title, entry.body) == ("中文标题", "<p>内容</p>")


def test_not_a_feed_and_broken_xml():
    with pytest.raises(FeedError):
        parse_feed(b"<html><body>not a feed</body></html>")
    with pytest.raises(FeedError):
        parse_feed(b"\x00\x01 garbage")
    truncated = rss("<item><title>ok</title><link>http://n.test/1</link></item><item><title>cut").encode()
    feed = parse_feed(truncated)
    assert feed.recovered and feed.entries[0].title == "ok"


def test_entities_are_not_expanded():
    xml = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel><item><title>&x;</title><link>http://n.test/</link></item></channel></rss>'
    feed = parse_feed(xml)
    assert all("root:" not in (e.title or "") for e in feed.entries)
