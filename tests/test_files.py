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


DIES_WHILE_MAKING_TABLES = """
import os, sqlite3, sys
from pathlib import Path

connect = sqlite3.connect

def connect_and_die_at_a_table(*args, **kwargs):
    db = connect(*args, **kwargs)
    made = [0]

    def authorize(action, *_):
        if action == sqlite3.SQLITE_CREATE_TABLE:
            made[0] += 1
            if made[0] > int(sys.argv[2]):
                os._exit(9)  # as sudden as SIGKILL: no clean-up, no commit
        return sqlite3.SQLITE_OK

    db.set_authorizer(authorize)
    return db

sqlite3.connect = connect_and_die_at_a_table
from crawler.state import StateStore
StateStore(Path(sys.argv[1]))
"""


def test_a_run_killed_while_the_state_tables_are_made_leaves_all_of_them_or_none(tmp_path):
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    from crawler.state import _SCHEMA, StateStore

    tables = _SCHEMA.count("CREATE TABLE")
    for made in range(1, tables):
        path = tmp_path / f"state-{made}.sqlite3"
        died = subprocess.run([sys.executable, "-c", DIES_WHILE_MAKING_TABLES, str(path), str(made)],
                              cwd=Path(__file__).resolve().parents[1])
        assert died.returncode == 9
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone() == (0,)
        StateStore(path).close()  # the next run makes them all
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone() == (tables,)
