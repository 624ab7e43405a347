"""POSTS_STORE: posts in a folder (DIR/posts by default) or in an S3-compatible store.

The S3 cases talk to moto's S3 server, started on 127.0.0.1 by the test."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_crawler
from tests.test_crawl import feed_item, feed_xml

pytestmark = pytest.mark.services


def write_config(path, base: str, **settings) -> None:
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
    path.write_text(f"[settings]\n{lines}\n[[sources]]\nname = \"f\"\nspider = \"feed\"\n"
                    f'url = "{base}/feed.xml"\ncategories = ["站", "频道", "子"]\n', encoding="utf-8")


def stored(client, prefix: str) -> dict[str, dict]:
    listing = client.list_objects_v2(Bucket="posts", Prefix=prefix).get("Contents", [])
    return {o["Key"][len(prefix):]: o for o in listing}


def test_posts_go_to_s3_byte_for_byte_as_to_a_folder(server, tmp_path, s3_server):
    client, aws = s3_server
    # two articles share a title: the second gets the suffixed name in the store as in a folder
    items = "".join(feed_item(n, f"云{n % 3}", f"<p>正文 {n}</p>") for n in range(4))
    server.add("/feed.xml", feed_xml(items), content_type="application/rss+xml")
    folder_config, s3_config = tmp_path / "folder.toml", tmp_path / "s3.toml"
    write_config(folder_config, server.base_url)
    write_config(s3_config, server.base_url, POSTS_STORE="s3://posts/site/", **aws)
    folder = run_crawler("run", "--config", str(folder_config), "--data", str(tmp_path / "folder"), "--no-images")
    assert folder.returncode == 0, folder.stderr
    expected = {p.relative_to(tmp_path / "folder" / "posts").as_posix(): p.read_bytes()
                for p in (tmp_path / "folder" / "posts").rglob("*.md")}
    data = tmp_path / "s3data"
    first = run_crawler("run", "--config", str(s3_config), "--data", str(data), "--no-images")
    assert first.returncode == 0, first.stderr
    assert "4 posts written to s3://posts/site/" in first.stdout
    objects = stored(client, "site/")
    got = {key: client.get_object(Bucket="posts", Key="site/" + key)["Body"].read() for key in objects}
    assert got == expected and len(got) == 4 and len([k for k in got if "云0" in k]) == 2
    assert {o["Key"] for o in objects.values()} and not (data / "posts").exists()
    assert client.head_object(Bucket="posts", Key="site/站/频道/子/云1.md")["ContentType"] == "text/markdown; charset=utf-8"

    # nothing changed: nothing is written again
    second = run_crawler("run", "--config", str(s3_config), "--data", str(data), "--no-images")
    assert second.returncode == 0, second.stderr
    assert json.loads((data / "runs" / "latest.json").read_text())["sources"][0]["posts"]["unchanged"] == 4
    assert {k: o["LastModified"] for k, o in stored(client, "site/").items()} == \
        {k: o["LastModified"] for k, o in objects.items()}

    # a run that died after storing but before recording: the store's checksum says "unchanged"
    (data / "state.sqlite3").unlink()
    third = run_crawler("run", "--config", str(s3_config), "--data", str(data), "--no-images")
    assert third.returncode == 0, third.stderr
    assert json.loads((data / "runs" / "latest.json").read_text())["sources"][0]["posts"]["unchanged"] == 4


def test_an_unreachable_store_loses_the_post_and_says_why(server, tmp_path):
    server.add("/feed.xml", feed_xml(feed_item(1, "失", "<p>x</p>")), content_type="application/rss+xml")
    config = tmp_path / "s.toml"
    # nothing listens on port 9 of loopback: every PUT fails, each post is reported, none recorded
    write_config(config, server.base_url, POSTS_STORE="s3://posts/x/", AWS_ENDPOINT_URL="http://127.0.0.1:9",
                 AWS_ACCESS_KEY_ID="k", AWS_SECRET_ACCESS_KEY="s", AWS_REGION_NAME="us-east-1")
    result = run_crawler("run", "--config", str(config), "--data", str(tmp_path / "data"), "--no-images")
    assert result.returncode == 1
    assert "cannot store 站/频道/子/失.md" in result.stderr
    report = json.loads((tmp_path / "data" / "runs" / "latest.json").read_text())
    assert report["created"] == [] and report["sources"][0]["failures"]


def test_a_posts_store_of_another_kind_is_a_setting_error(tmp_path):
    config = tmp_path / "s.toml"
    write_config(config, "http://127.0.0.1:9", POSTS_STORE="gs://bucket/posts/")
    result = run_crawler("run", "--config", str(config), "--data", str(tmp_path / "data"))
    assert result.returncode == 2 and "settings.POSTS_STORE: must be a folder or an s3:// URL" in result.stderr


def test_images_and_thumbnails_go_to_the_same_kind_of_store(server, tmp_path, s3_server):
    from tests import images

    client, aws = s3_server
    base = server.base_url
    server.add("/i/a.jpg", images.picture(), content_type="image/jpeg")
    server.add("/feed.xml", feed_xml(feed_item(1, "图", f'<p><img src="{base}/i/a.jpg"></p>')),
               content_type="application/rss+xml")
    config = tmp_path / "s.toml"
    write_config(config, base, POSTS_STORE="s3://posts/site/", IMAGES_STORE="s3://posts/images/",
                 IMAGE_LINKS="local", **aws)
    result = run_crawler("run", "--config", str(config), "--data", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    kept = stored(client, "images/")
    assert sorted(key.split("/")[0] for key in kept) == ["full", "thumbs"]
    full = next(key for key in kept if key.startswith("full/"))
    assert client.get_object(Bucket="posts", Key="images/" + full)["Body"].read() == images.picture()
    post = client.get_object(Bucket="posts", Key="site/站/频道/子/图.md")["Body"].read().decode()
    assert f'src="/images/{full}"' in post


def site_tree(site) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def test_publish_from_s3_gives_the_site_a_folder_run_gives(server, tmp_path, s3_server):
    from tests import images

    client, aws = s3_server
    base = server.base_url
    server.add("/i/a.jpg", images.picture(), content_type="image/jpeg")
    server.add("/i/b.png", images.transparent_png(), content_type="image/png")
    items = "".join(feed_item(n, f"发{n}", f'<p>{n}</p><p><img src="{base}/i/{"ab"[n % 2]}.{("jpg", "png")[n % 2]}"></p>')
                    for n in range(3))
    server.add("/feed.xml", feed_xml(items), content_type="application/rss+xml")
    folder_config, s3_config = tmp_path / "folder.toml", tmp_path / "s3.toml"
    write_config(folder_config, base, IMAGE_LINKS="local")
    write_config(s3_config, base, IMAGE_LINKS="local", POSTS_STORE="s3://posts/p/", IMAGES_STORE="s3://posts/i/", **aws)
    for config, data, site in ((folder_config, "folder", "site-folder"), (s3_config, "s3", "site-s3")):
        crawled = run_crawler("run", "--config", str(config), "--data", str(tmp_path / data))
        assert crawled.returncode == 0, crawled.stderr
        published = run_crawler("publish", "--config", str(config), "--data", str(tmp_path / data),
                                "--to", str(tmp_path / site))
        assert published.returncode == 0, published.stderr
        assert "copied 3 posts and 4 images" in published.stdout  # two images and their thumbnails
    assert site_tree(tmp_path / "site-s3") == site_tree(tmp_path / "site-folder")
    # nothing changed since: nothing is copied again, and the store is not read for it
    again = run_crawler("publish", "--config", str(s3_config), "--data", str(tmp_path / "s3"), "--to", str(tmp_path / "site-s3"))
    assert again.returncode == 0 and "copied 0 posts and 0 images" in again.stdout
    # a post recorded in the state but gone from the store is said, not silently skipped
    (tmp_path / "site-s3" / "source" / "_posts" / "站" / "频道" / "子" / "发0.md").unlink()
    client.delete_object(Bucket="posts", Key="p/站/频道/子/发0.md")
    gone = run_crawler("publish", "--config", str(s3_config), "--data", str(tmp_path / "s3"), "--to", str(tmp_path / "site-s3"))
    assert gone.returncode == 1 and "posts/站/频道/子/发0.md is recorded but gone from its store" in gone.stderr
