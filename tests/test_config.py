"""A broken sources file stops the run before anything is fetched, with one clear line."""

from __future__ import annotations

import pytest

from tests.conftest import run_crawler

GOOD = '[[sources]]\nname = "a"\nspider = "feed"\nurl = "{base}/feed.xml"\ncategories = ["x", "y", "z"]\n'


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
        (GOOD + "pages = 2\n", "sources[0] (a).pages: only the qutoutiao spider"),
        ("[[sources]\nname = 1", "not valid TOML"),
        ("[settings]\nX = 1\n", "sources: at least one [[sources]] table is required"),
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
