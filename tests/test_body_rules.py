"""Body rules: only the attributes a rule names change; everything else keeps its bytes."""

from __future__ import annotations

from crawler import htmlsource
from crawler.bodyrules import first_image, prepare_body

PROXY = "https://proxy.example.test/?"
BASE = "http://news.example.test/a/page.html"


def test_lazy_data_src_becomes_src_in_place_and_the_placeholder_goes():
    html = '<p>文</p><p><img data-src="http://i.test/1.jpg" data-size="960,640" src="http://i.test/1.jpg"></p>'
    body = prepare_body(html, BASE)
    assert body.html == '<p>文</p><p><img src="http://i.test/1.jpg" data-size="960,640" referrerpolicy="no-referrer"></p>'


def test_other_lazy_attributes_fill_a_missing_or_placeholder_src():
    html = (
        '<img data-original="http://i.test/a.jpg">'
        '<img data-actualsrc="/b.png" src="data:image/gif;base64,R0lGOD">'
        '<img srcset="http://i.test/c.webp 1x, http://i.test/c2.webp 2x">'
        '<img class="x" data-original="http://i.test/d.jpg" src="http://i.test/d.jpg" referrerpolicy="no-referrer">'
    )
    body = prepare_body(html, BASE)
    assert body.image_srcs == ("http://i.test/a.jpg", "http://news.example.test/b.png",
                               "http://i.test/c.webp", "http://i.test/d.jpg")
    assert '<img data-original="http://i.test/a.jpg" src="http://i.test/a.jpg" referrerpolicy="no-referrer">' in body.html
    assert '<img data-actualsrc="/b.png" src="http://news.example.test/b.png" referrerpolicy="no-referrer">' in body.html
    # already complete: untouched
    assert html.split("<img")[-1] in body.html


def test_referrerpolicy_is_added_once_and_respects_self_closing_tags():
    body = prepare_body('<img src="https://i.test/x.jpg" /><img src="https://i.test/y.jpg" referrerpolicy="origin">', BASE)
    assert body.html == ('<img src="https://i.test/x.jpg" referrerpolicy="no-referrer" />'
                         '<img src="https://i.test/y.jpg" referrerpolicy="origin">')


def test_every_http_src_is_proxied_even_after_an_https_first_image():
    html = ('<img src="https://i.test/1.jpg" referrerpolicy="no-referrer"><img src="http://i.test/2.jpg" '
            'referrerpolicy="no-referrer"><iframe src="http://v.test/p"></iframe><a href="http://l.test/">l</a>'
            "<img src='http://i.test/3.jpg' referrerpolicy=\"no-referrer\">")
    body = prepare_body(html, BASE, PROXY)
    assert body.html == html.replace('src="http://', f'src="{PROXY}http://').replace("src='http://", f"src='{PROXY}http://")
    assert body.image_srcs[1] == PROXY + "http://i.test/2.jpg"


def test_without_a_proxy_nothing_is_prefixed():
    html = '<img src="http://i.test/2.jpg" referrerpolicy="no-referrer">'
    assert prepare_body(html, BASE).html == html


def test_relative_links_become_absolute_but_protocol_relative_and_fragments_stay():
    html = ('<a href="../b.html">b</a><a href="#top">t</a><a href="mailto:x@y.test">m</a>'
            '<img src="/i/1.jpg" referrerpolicy="no-referrer"><iframe src="//v.test/p"></iframe>')
    body = prepare_body(html, BASE, PROXY)
    assert body.html == (
        '<a href="http://news.example.test/b.html">b</a><a href="#top">t</a><a href="mailto:x@y.test">m</a>'
        f'<img src="{PROXY}http://news.example.test/i/1.jpg" referrerpolicy="no-referrer"><iframe src="//v.test/p"></iframe>'
    )


def test_text_comments_scripts_and_entities_keep_their_bytes():
    html = ("<p>a&nbsp;b &lt;code&gt; \u00a0{x}</p><!-- <img src=\"http://c.test/x\"> -->"
            "<pre>if (a < b) {}</pre>")
    assert prepare_body(html, BASE, PROXY).html == html


def test_headimg_is_the_first_image_after_the_rules_else_the_fallback():
    body = prepare_body('<p><img data-src="http://i.test/1.jpg" src="x.gif"><img src="http://i.test/2.jpg"></p>', BASE, PROXY)
    assert first_image(body, BASE) == PROXY + "http://i.test/1.jpg"
    no_images = prepare_body('<p data-logo="https://i.test/logo.png">text</p>', BASE, PROXY)
    assert first_image(no_images, BASE).startswith("https://picsum.photos/400/300?random=")


def test_inner_html_of_the_content_element_is_the_source_text():
    page = ('<div class="article"><div class="content main"><div><p>a<p>b</div>\n<img data-src=x>'
            '</div><div class="content">second</div></div>')
    assert htmlsource.inner_html(page, "content") == '<div><p>a<p>b</div>\n<img data-src=x>'
    assert htmlsource.inner_html("<p>none</p>", "content") is None
