"""Atomic writes and what a killed writer leaves behind."""

from __future__ import annotations

from crawler.files import remove_temporaries, write_atomic


def test_an_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "新闻" / "一.md"
    write_atomic(target, "旧".encode())
    write_atomic(target, "新的正文".encode())
    assert target.read_text(encoding="utf-8") == "新的正文"
    assert sorted(p.name for p in target.parent.iterdir()) == ["一.md"]


def test_temporaries_are_removed_at_any_depth_and_nothing_else(tmp_path):
    kept = [tmp_path / "a.md", tmp_path / "x" / ".tmp-notes.md", tmp_path / "x" / "y" / "b.part"]
    leftovers = [tmp_path / ".tmp-1-0.part", tmp_path / "x" / "y" / ".tmp-22-7.part"]
    for path in kept + leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    assert remove_temporaries(tmp_path) == 2
    assert all(p.exists() for p in kept) and not any(p.exists() for p in leftovers)
    assert remove_temporaries(tmp_path / "missing") == 0
