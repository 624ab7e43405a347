"""The post format: layout, quoting, brace escaping, file names."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath

import frontmatter
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler import bodyrules, filenames, postformat
from crawler.filenames import post_relpath
from crawler.postformat import Post, clean_title, escape_braces, render


def make_post(**overrides) -> Post:
    values = dict(
        title="样例标题",
        categories=("新闻", "样例站", "频道"),
        headimg="https://img.example.test/a.jpg",
        author="样例站",
        date="Tue, 22 Jun 2021 10:54:49 GMT",
        body="<p>第一段</p>",
    )
    values.update(overrides)
    return Post(**values)


def test_layout_is_the_seed_layout_byte_for_byte():
    expected = (
        "\n---\n"
        "title: '样例标题'\n"
        "categories: \n - 新闻\n - 样例站\n - 频道\n"
        "headimg: 'https://img.example.test/a.jpg'\n"
        "author: 样例站\n"
        "comments: false\n"
        "date: Tue, 22 Jun 2021 10:54:49 GMT\n"
        "thumbnail: 'https://img.example.test/a.jpg'\n"
        "---\n\n<div>   \n<p>第一段</p>  \n</div>\n"
        "            "
    )
    assert render(make_post()) == expected


def test_body_whitespace_is_kept_as_the_source_ends():
    text = render(make_post(body="<p>a</p> \n   "))
    assert text.endswith("<p>a</p> \n     \n</div>\n            ")


def test_braces_become_character_references_everywhere():
    text = render(make_post(title="a{b}", categories=("x{", "y", "}z"), headimg="https://h/{i}.jpg",
                            body="<style>p{color:red}</style>{{ x }}{% y %}"))
    assert "{" not in text and "}" not in text
    assert "&#123;&#123; x &#125;&#125;&#123;% y %&#125;" in text
    meta = frontmatter.loads(text).metadata
    assert meta["title"] == "a&#123;b&#125;"
    assert meta["categories"] == ["x&#123;", "y", "&#125;z"]


def test_title_is_quoted_as_the_original_quoted_it():
    assert "title: \"''变废为宝''也要依法\"\n" in render(make_post(title="''变废为宝''也要依法"))
    assert "title: '\"引号\"在内'\n" in render(make_post(title='"引号"在内'))


@pytest.mark.parametrize(
    "title",
    [
        "both ' and \" quotes",
        "back\\slash \"quoted\" 'x'",
        "line\nbreak",
        "trailing newline\n",
        "tab\there",
        "trailing space ",
        "\u2028separator",
        "#hash first",
        "- leading dash",
        "[bracket",
        "*star",
        "&anchor",
        "!!python/object:os.system",
        "key: value",
        "\n---\nevil: true\n---\n",
        "emoji ✌️ 😀",
        "x" * 300,
    ],
)
def test_any_title_reads_back_exactly(title):
    meta = frontmatter.loads(render(make_post(title=title))).metadata
    assert meta["title"] == title
    assert list(meta) == ["title", "categories", "headimg", "author", "comments", "date", "thumbnail"]


@pytest.mark.parametrize("value", ["yes", "null", "123", "0o17", "1e3", "- x", "a: b", "'q'", "#c", "&a", "~", ""])
def test_authors_and_categories_that_yaml_would_retype_are_quoted(value):
    meta = frontmatter.loads(render(make_post(author=value or "x", categories=("a", value or "y", "c")))).metadata
    assert meta["author"] == (value or "x")
    assert meta["categories"][1] == (value or "y")


def test_clean_title_replaces_exactly_the_originals_characters():
    assert clean_title(': / \\ ? * “ ” < > | [ ]') == "_ _ _ _ _ _ _ _ _ _ _ _"
    kept = "\"'‘’#.&%~^{}：？！｜【】（）"
    assert clean_title(kept) == kept


text_values = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=300
).filter(lambda s: s.strip())


@settings(max_examples=300, deadline=None)
@given(title=text_values, author=text_values, categories=st.lists(text_values, min_size=1, max_size=4),
       clean=st.booleans())
def test_every_post_reads_back_to_the_values_it_was_built_from(title, author, categories, clean):
    title = clean_title(title) if clean else title
    post = make_post(title=title, author=author, categories=tuple(categories))
    parsed = frontmatter.loads(render(post))
    assert parsed.metadata["title"] == escape_braces(title)
    assert parsed.metadata["author"] == escape_braces(author)
    assert parsed.metadata["categories"] == [escape_braces(c) for c in categories]
    assert parsed.metadata["comments"] is False
    assert parsed.content.startswith("<div>")


def test_dates_are_rfc822_gmt():
    moment = datetime(2021, 6, 22, 18, 54, 49, 123, tzinfo=timezone(timedelta(hours=8)))
    assert postformat.format_date(moment) == "Tue, 22 Jun 2021 10:54:49 GMT"


def test_headimg_fallback_is_stable_and_in_range():
    a = bodyrules.headimg_fallback("http://example.test/a")
    assert a == bodyrules.headimg_fallback("http://example.test/a")
    numbers = {int(bodyrules.headimg_fallback(f"http://example.test/{i}").rsplit("=", 1)[1]) for i in range(300)}
    assert min(numbers) >= 0 and max(numbers) <= 10000 and len(numbers) > 250


def test_file_path_follows_the_original():
    path = post_relpath(("新媒体", "PMCAFF", "今日推荐 / 精选"), "v1.54 #发布\n说明")
    assert path == PurePosixPath("新媒体/PMCAFF/今日推荐/ 精选/v154 发布说明.md")


@pytest.mark.parametrize(
    "categories,title",
    [
        (("..", "..", ".."), "../../etc/passwd"),
        (("/abs", "a", "b"), "/etc/shadow"),
        (("a\x00b", "c", "d"), "nul\x00byte"),
        (("CON", "aux.txt", "Lpt1"), "NUL"),
        (("a", "b", "c"), "标" * 300),
        (("a", "b", "c"), "..."),
        (("_drafts", ".NET", "a"), "“引号”开头 100%"),
    ],
)
def test_file_path_stays_inside_and_is_portable(tmp_path, categories, title):
    rel = post_relpath(categories, title, filenames.name_suffix("k"))
    target = (tmp_path / rel).resolve()
    assert tmp_path.resolve() in target.parents
    for part in rel.parts:
        assert part not in ("", ".", "..")
        assert not any(ord(c) < 32 or c in '/\\<>:"|?*%' for c in part)
        assert not part.startswith(("_", "."))  # Hexo ignores such files and folders
        assert len(part.encode("utf-8")) <= 200
        assert part.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "LPT1", "COM1"}, part
        assert not part.endswith((" ", "."))


@settings(max_examples=200, deadline=None)
@given(categories=st.lists(st.text(max_size=80), min_size=1, max_size=3), title=st.text(max_size=400))
def test_no_name_can_climb_out(categories, title):
    rel = post_relpath(tuple(categories), title, filenames.name_suffix(title))
    assert not rel.is_absolute()
    for part in rel.parts:
        assert part not in ("", ".", "..") and "/" not in part and "\x00" not in part
        assert not part.startswith(("_", ".")) and "%" not in part
        assert len(part.encode("utf-8")) <= 200
    assert Path("/base", rel).resolve().is_relative_to("/base")
