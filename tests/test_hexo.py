"""The demo's posts, published into a real Hexo site and built: what a reader gets.

The seed format exists to be read by Hexo, so the last word on it is Hexo's, not a YAML library
that reads it the same way by intention. These tests crawl the bundled demo with local image
links, ``crawler publish`` it into a copy of ``tests/hexo`` (a minimal site whose versions are
pinned by its package-lock.json, with a theme that prints every field), run ``hexo generate``
and read the HTML back with lxml. Hexo's own front-matter parser reads every post too, and
must agree field by field with python-frontmatter, which the rest of the test suite trusts.

They need Node.js and ``npm ci`` in tests/hexo (``make test-hexo`` does both); without either
they are skipped, saying why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import frontmatter
import lxml.html
import pytest

from crawler.postformat import Post, render
from tests.conftest import ROOT, free_port, run_crawler

pytestmark = pytest.mark.hexo

SITE = ROOT / "tests" / "hexo"
NODE_MODULES = SITE / "node_modules"
READ_FRONT_MATTER = SITE / "read-front-matter.js"
MIN_NODE = (20, 19)  # hexo 8's "engines"

# Hexo builds in the zone of the machine it runs on. Building in the readers' zone (UTC+8)
# rather than UTC makes a date read as local time, or shifted, show up as a wrong instant, and
# for the posts published late in the GMT day as a wrong day in the permalink. Asia/Shanghai
# has had no daylight saving time since 1991, so one fixed offset is the zone for every date.
BUILD_TZ = "Asia/Shanghai"
BUILD_OFFSET = timezone(timedelta(hours=8), BUILD_TZ)

FIELDS = ("title", "categories", "headimg", "author", "comments", "date", "thumbnail")


def node_or_skip() -> str:
    """The ``node`` to run Hexo with; skips (never passes) when the site cannot be built here."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: the Hexo tests need Node.js >= 20.19 (see make test-hexo)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    match = re.match(r"v(\d+)\.(\d+)", version)
    if not match or tuple(map(int, match.groups())) < MIN_NODE:
        pytest.skip(f"node {version or '(unknown version)'} is older than hexo 8 needs (>= 20.19)")
    if not (NODE_MODULES / "hexo" / "package.json").exists():
        pytest.skip("tests/hexo/node_modules is not installed: run make test-hexo (or npm ci in tests/hexo)")
    return node


def node_env() -> dict[str, str]:
    return {**os.environ, "TZ": BUILD_TZ, "NO_COLOR": "1", "FORCE_COLOR": "0"}


def shown(value: str) -> str:
    """A front-matter value as a reader should see it: the format's one escape undone."""
    return value.replace("&#123;", "{").replace("&#125;", "}")


def instant(value: object, js_type: str = "string") -> datetime:
    """The moment a front-matter date names, whichever way its reader typed it."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if js_type == "Date":
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsedate_to_datetime(str(value))


def text_of(element) -> str:
    return " ".join(element.text_content().split())


def hexo_front_matter(node: str, files: list[Path]) -> dict[str, dict]:
    """What Hexo's parser (hexo-front-matter, the copy hexo loads) reads in each file."""
    proc = subprocess.run(
        [node, str(READ_FRONT_MATTER)], input="\n".join(map(str, files)) + "\n",
        capture_output=True, text=True, timeout=120, env=node_env(),
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def front_matter_disagreements(node: str, files: dict[str, Path]) -> list[str]:
    """Every field on which Hexo's parser and python-frontmatter read a post differently
    (``files``: each post by the name to report it under)."""
    hexo = hexo_front_matter(node, list(files.values()))
    problems = []
    for name, path in files.items():
        # The file's exact characters: reading it as text would turn a "\r" into "\n" first.
        python = frontmatter.loads(path.read_bytes().decode("utf-8"))
        data, types = hexo[str(path)]["data"], hexo[str(path)]["types"]
        keys = set(data) - {"_content"}
        if keys != set(python.metadata):
            problems.append(f"{name}: keys: python {sorted(python.metadata)} != hexo {sorted(keys)}")
        for key in FIELDS:
            mine, theirs = python.get(key), data.get(key)
            if key == "date" and (types.get(key) == "Date" or isinstance(mine, datetime)):
                # One of them typed the date: the same instant is agreement.
                if mine is None or theirs is None or instant(mine) != instant(theirs, types.get(key)):
                    problems.append(f"{name}: date: python {mine!r} != hexo {types.get(key)} {theirs!r}")
            elif mine != theirs or type(mine) is not type(theirs):
                problems.append(f"{name}: {key}: python {mine!r} != hexo ({types.get(key)}) {theirs!r}")
        if python.content.strip() != data.get("_content", "").strip():
            problems.append(f"{name}: body: python and hexo split the front matter from the body differently")
    return problems


# --- the build ------------------------------------------------------------------------------


@dataclass
class Page:
    path: Path
    """Relative to public/."""
    tree: lxml.html.HtmlElement


@dataclass(repr=False)  # a failing test prints its fixture: the site's folder is enough
class Build:
    node: str
    data: Path
    site: Path
    port: int
    hexo: subprocess.CompletedProcess
    posts: dict[str, Path] = field(default_factory=dict)
    """Every published post, by its path under source/_posts/."""
    pages: dict[str, Page] = field(default_factory=dict)
    """Every page of public/, by its path relative to public/."""
    post_pages: dict[str, Page] = field(default_factory=dict)
    """Each post's page, by the post's path under source/_posts/ (the theme writes it out)."""

    def __repr__(self) -> str:
        return f"Build(site={str(self.site)!r})"

    @property
    def public(self) -> Path:
        return self.site / "public"

    @property
    def output(self) -> str:
        return self.hexo.stdout + self.hexo.stderr


def copy_site(target: Path) -> None:
    """A copy of tests/hexo without what installs and builds write, sharing its node_modules,
    so that publishing and building in it leave the repository's folder as it was."""
    generated = {"node_modules", "public", "db.json", "source/_posts", "source/images"}

    def ignore(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(SITE)
        return {n for n in names if (relative / n).as_posix() in generated}

    shutil.copytree(SITE, target, ignore=ignore)
    (target / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Build:
    node = node_or_skip()
    root = tmp_path_factory.mktemp("hexo")
    data, site = root / "data", root / "site"
    port = free_port()
    # Run from the temporary folder: from the repository's root, Scrapy finds scrapy.cfg and
    # keeps its HTTP cache in the repository's .scrapy/ folder.
    crawl = run_crawler("demo", "--data", str(data), "--port", str(port), "--tls-port", str(free_port()), cwd=root)
    assert crawl.returncode == 0, crawl.stdout + crawl.stderr

    copy_site(site)
    published = run_crawler("publish", "--to", str(site), "--data", str(data), cwd=root)
    assert published.returncode == 0, published.stdout + published.stderr

    hexo = subprocess.run(
        [node, str(site / "node_modules" / ".bin" / "hexo"), "generate"],
        cwd=site, capture_output=True, text=True, timeout=300, env=node_env(),
    )
    result = Build(node=node, data=data, site=site, port=port, hexo=hexo)
    posts_dir = site / "source" / "_posts"
    result.posts = {p.relative_to(posts_dir).as_posix(): p for p in sorted(posts_dir.rglob("*.md"))}
    crawled = {p.relative_to(data / "posts").as_posix() for p in (data / "posts").rglob("*.md")}
    assert set(result.posts) == crawled and len(crawled) >= 30, "publish did not copy every crawled post"

    for html in sorted(result.public.rglob("*.html")) if result.public.is_dir() else []:
        page = Page(html.relative_to(result.public), lxml.html.fromstring(html.read_bytes()))
        result.pages[page.path.as_posix()] = page
        for article in page.tree.xpath('//article[@class="post"]'):
            result.post_pages[article.get("data-source").removeprefix("_posts/")] = page
    return result


def local_target(build: Build, url: str) -> Path | None:
    """The file in public/ a site-relative URL names; None for a URL on another site."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    path = unquote(parts.path).lstrip("/")
    return build.public / (path + "index.html" if path.endswith("/") or not path else path)


def why_no_page(relpath: str) -> str:
    """What in a post's path Hexo is known to refuse, so that a missing page says why."""
    reasons = []
    if any(part.startswith(("_", ".")) for part in relpath.split("/")):
        reasons.append("Hexo skips, silently, any file under _posts/ with a path part starting with '_' or '.'")
    if "%" in relpath:
        reasons.append("its permalink holds a '%', and Hexo's url_for runs decodeURI on it: 'URI malformed'")
    return f" ({'; '.join(reasons)})" if reasons else ""


def report(problems: list[str], what: str, context: str = "") -> str:
    listed = "\n".join(problems[:40])
    more = f"\n… and {len(problems) - 40} more" if len(problems) > 40 else ""
    return f"{len(problems)} {what}:\n{listed}{more}" + (f"\n\n{context}" if context else "")


# --- the tests ------------------------------------------------------------------------------


def test_hexo_builds_the_published_posts_without_errors(build):
    # Hexo logs a post it cannot process ("ERROR Process failed: …") and still exits with 0,
    # so its output is read as well as its status.
    assert build.hexo.returncode == 0, build.output
    errors = [line for line in build.output.splitlines() if "ERROR" in line or "Template render error" in line]
    warnings = [line for line in build.output.splitlines() if re.match(r"\s*WARN\b", line)]
    assert not errors, report(errors, "errors from hexo generate", "hexo's output ends with:\n" + "\n".join(build.output.splitlines()[-25:]))
    assert not warnings, report(warnings, "warnings from hexo generate")
    assert re.search(r"\b\d+ files generated in\b", build.hexo.stdout), build.output


def test_every_post_has_a_page_with_its_title_date_images_and_body(build):
    problems = []
    for relpath, source in build.posts.items():
        post = frontmatter.load(source)
        page = build.post_pages.get(relpath)
        if page is None:
            problems.append(f"{relpath}: no page in public/{why_no_page(relpath)}")
            continue
        moment = instant(post["date"])
        expected_path = f"{moment.astimezone(BUILD_OFFSET):%Y/%m/%d}/{relpath.removesuffix('.md')}/index.html"
        if page.path.as_posix() != expected_path:
            problems.append(f"{relpath}: page at {page.path}, expected {expected_path}")

        article = page.tree.xpath('//article[@class="post"]')[0]
        title = text_of(article.xpath('.//h1[@class="post-title"]')[0])
        if title != shown(post["title"]):
            problems.append(f"{relpath}: title shown as {title!r}, the post says {shown(post['title'])!r}")
        author = text_of(article.xpath('.//span[@class="post-author"]')[0])
        if author != shown(post["author"]):
            problems.append(f"{relpath}: author shown as {author!r}, the post says {post['author']!r}")
        shown_date = article.xpath('.//time[@class="post-date"]/@datetime')[0]
        if instant(shown_date, "Date") != moment:
            problems.append(f"{relpath}: dated {shown_date}, the post says {post['date']!r} ({moment.isoformat()})")
        headimg = article.xpath('.//figure[@class="headimg"]/img/@src')
        if headimg != [shown(post["headimg"])]:
            problems.append(f"{relpath}: headimg shown as {headimg}, the post says {post['headimg']!r}")

        body = article.xpath('.//div[@class="post-body"]')[0]
        written = lxml.html.fragment_fromstring(post.content, create_parent="div")
        images, expected_images = body.xpath(".//img/@src"), written.xpath(".//img/@src")
        if images != expected_images:
            problems.append(f"{relpath}: body images {images}, the post has {expected_images}")
        if text_of(body) != text_of(written):
            problems.append(f"{relpath}: body text differs from the post's:\n  {text_of(body)!r}\n  {text_of(written)!r}")
    assert not problems, report(problems, "posts not shown as written")


def test_nested_categories_have_pages_that_list_their_posts(build):
    problems = []
    leaf_pages = set()
    for relpath, source in build.posts.items():
        post = frontmatter.load(source)
        page = build.post_pages.get(relpath)
        if page is None:
            problems.append(f"{relpath}: no page in public/, so no category links either{why_no_page(relpath)}")
        else:
            trail = page.tree.xpath('//nav[@class="post-categories"]/a[@class="category"]')
            names = [text_of(a) for a in trail]
            if names != [shown(c) for c in post["categories"]]:
                problems.append(f"{relpath}: categories shown as {' › '.join(names)}, the post says {post['categories']}")
            for a in trail:
                target = local_target(build, a.get("href"))
                if target is None or not target.is_file():
                    problems.append(f"{relpath}: category link {a.get('href')} leads nowhere")

        # The category pages themselves, one per level, each listing the post.
        for depth in range(1, len(post["categories"]) + 1):
            levels = post["categories"][:depth]
            category_page = Path("categories", *levels, "index.html").as_posix()
            listing = build.pages.get(category_page)
            if listing is None:
                problems.append(f"{relpath}: no category page {category_page}")
                continue
            if depth == len(post["categories"]):
                leaf_pages.add(category_page)
                heading = text_of(listing.tree.xpath('//h1[@class="category-name"]')[0])
                if heading != shown(levels[-1]):
                    problems.append(f"{category_page}: headed {heading!r}")
            items = listing.tree.xpath(f'//li[@class="post-item"][@data-source="_posts/{relpath}"]')
            if not items:
                problems.append(f"{category_page}: does not list {relpath}")
                continue
            link = local_target(build, items[0].xpath(".//a/@href")[0])
            if page is not None and link != build.public / page.path:
                problems.append(f"{category_page}: links {relpath} to {link}, its page is {page.path}")
            thumbnails = items[0].xpath('.//img[@class="thumbnail"]/@src')
            if thumbnails != [shown(post["thumbnail"])]:
                problems.append(f"{category_page}: thumbnail of {relpath} is {thumbnails}, the post says {post['thumbnail']!r}")
    assert "categories/演示/演示头条/科技/index.html" in leaf_pages
    assert not problems, report(problems, "category problems")


def test_every_local_image_the_pages_reference_is_in_public(build):
    assert build.pages, build.output
    problems, local = [], 0
    proxy = f"http://127.0.0.1:{build.port}/proxy/"
    for name, page in build.pages.items():
        for url in page.tree.xpath("//img/@src | //link/@href"):
            target = local_target(build, url)
            if target is None:
                if not url.startswith(proxy):  # only the demo's broken images stay remote
                    problems.append(f"{name}: refers to {url}, neither local nor a demo image left remote")
            elif not target.is_file():
                problems.append(f"{name}: {url} is not in public/")
            else:
                local += 1
    assert not problems, report(problems, "missing files")
    assert local > 100  # post bodies, head images and thumbnails on the lists: the check saw them


def test_braces_show_as_braces_and_nothing_reached_nunjucks(build):
    assert build.pages, build.output
    problems = []
    for name, page in build.pages.items():
        raw = (build.public / name).read_text(encoding="utf-8")
        for marker in ("Template render error", "unknown block tag", "Nunjucks", "{%", "{{"):
            if marker in raw:
                problems.append(f"{name}: contains {marker!r}")
        # lxml has decoded each character reference once: a reference left in the text or in
        # an attribute was escaped twice, and a reader sees "&#123;" instead of a brace.
        texts = [page.tree.text_content(), *page.tree.xpath("//@*")]
        for reference in ("&#123;", "&#125;", "&amp;#"):
            if any(reference in text for text in texts):
                problems.append(f"{name}: shows {reference!r} as text")
    braced = [r for r, p in build.posts.items() if "&#123;" in frontmatter.load(p)["title"]]
    assert braced, "no demo title has braces: this test would check nothing"
    for relpath in braced:
        page = build.post_pages.get(relpath)
        if page is None:
            problems.append(f"{relpath}: no page in public/")
            continue
        title = text_of(page.tree.xpath('//h1[@class="post-title"]')[0])
        head_title = page.tree.findtext(".//title")
        if "{" not in title or "{" not in head_title:
            problems.append(f"{relpath}: braces lost in the title: {title!r} / {head_title!r}")
    assert not problems, report(problems, "brace or template problems")


def test_hexo_front_matter_reads_every_post_as_python_frontmatter_does(build):
    problems = front_matter_disagreements(build.node, build.posts)
    assert not problems, report(problems, "disagreements between hexo-front-matter and python-frontmatter")


HOSTILE = [
    "yes", "no", "on", "off", "~", "null", "true", "1e3", ".5", "0o17", "0x1F", "1_000", "+1", ".inf",
    "12:30", "190:20:30", "0777", "2021-06-22", "2021-06-22 10:54:49", "!tag x", "&anchor x", "*alias",
    "%TAG x", "@x", "`x", "- x", "? x", "[a]", "{a}", "a: b", "a #b", "#x", "<<", "---", "...", " lead",
    "trail ", "tab\there", "line\u2028break", "next\x85line", "cr\r", "bell\x07", "\ufeffbom", "a'b",
    'a"b', "a\\b", "nbsp\u00a0x", "\u3000全角", "emoji 😀", "R&D 12%",
]


def test_hexo_front_matter_reads_hostile_values_as_python_frontmatter_does(tmp_path):
    """Values the demo does not have, written by the format module itself: YAML 1.1 (PyYAML)
    and 1.2 (js-yaml) type plain scalars differently, and both must read back one string."""
    node = node_or_skip()
    files = {}
    for i, value in enumerate(HOSTILE):
        post = Post(title=value, categories=("演示", value, "c"), headimg="/images/full/x.jpg",
                    author=value, date="Tue, 22 Jun 2021 10:54:49 GMT", body=f"<p>{value}</p>")
        path = tmp_path / f"{i}.md"
        path.write_bytes(render(post).encode("utf-8"))
        files[repr(value)] = path
    problems = front_matter_disagreements(node, files)
    assert not problems, report(problems, "disagreements between hexo-front-matter and python-frontmatter")
