"""The distributed pair of `make bench`: shared runs against `crawler run` on the same sources.

For each repetition, on the benchmark's generated site (images mirrored): `crawler run` into an
empty folder, then the same sources as a shared run with one `crawler worker --burst`, then with
two, each from an empty state (a PostgreSQL schema of its own) and empty stores (folders). The
wall of a shared run is from `crawler enqueue` to the last worker's exit. Redis commands and
PostgreSQL transactions and rows are counted over each shared run (Redis `INFO`, PostgreSQL
`pg_stat_database`), per article, and set against what `redis-benchmark` and `pgbench` measure
on the same machine: how many articles a second one Redis and one PostgreSQL could carry.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_URL = "postgresql://127.0.0.1:5432/test"


def unavailable() -> str | None:
    """Why the pair cannot run here, or None."""
    try:
        import psycopg
        import redis
    except ImportError as exc:
        return f"{exc.name} is not installed (the distributed extra)"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc}"
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {str(exc).strip().splitlines()[0]}"
    return None


class SharedRun:
    """One shared run's services: a key prefix and a schema of its own, removed after."""

    def __init__(self) -> None:
        import psycopg
        import redis

        self.redis = redis.Redis.from_url(REDIS_URL)
        self.admin = psycopg.connect(POSTGRES_URL, autocommit=True)
        self.prefix = f"crawler-bench-{secrets.token_hex(4)}"
        self.schema = self.prefix.replace("-", "_")
        self.admin.execute(f'CREATE SCHEMA "{self.schema}"')
        self.state_url = f"{POSTGRES_URL}?options=-csearch_path%3D{self.schema}"

    def counters(self) -> dict[str, int]:
        time.sleep(1.0)  # PostgreSQL publishes its counters about once a second
        self.admin.execute("SELECT pg_stat_clear_snapshot()")
        commits, rows_written, rows_read = self.admin.execute(
            "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted, tup_fetched"
            " FROM pg_stat_database WHERE datname = 'test'").fetchone()
        return {"redis_commands": int(self.redis.info("stats")["total_commands_processed"]),
                "pg_commits": commits, "pg_rows_written": rows_written, "pg_rows_read": rows_read}

    def close(self) -> None:
        for key in self.redis.scan_iter(match=f"{self.prefix}:*", count=1000):
            self.redis.delete(key)
        self.admin.execute(f'DROP SCHEMA "{self.schema}" CASCADE')
        self.admin.close()
        self.redis.close()


def _shared_config(base_config: Path, run: SharedRun, stores: Path) -> Path:
    settings = {"FRONTIER_URL": REDIS_URL, "FRONTIER_PREFIX": run.prefix, "STATE_URL": run.state_url,
                "POSTS_STORE": str(stores / "posts"), "IMAGES_STORE": str(stores / "images")}
    text = base_config.read_text(encoding="utf-8")
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
    text = text.replace("[settings]\n", "[settings]\n" + lines, 1) if "[settings]\n" in text else "[settings]\n" + lines + "\n" + text
    path = stores.parent / f"{stores.name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def shared_wall(base_config: Path, work: Path, workers: int, rep: int) -> dict:
    """One shared run of ``workers`` workers from empty state and stores."""
    stores = work / f"shared-{workers}-{rep}"
    shutil.rmtree(stores, ignore_errors=True)
    stores.mkdir(parents=True)
    run = SharedRun()
    try:
        config = _shared_config(base_config, run, stores)
        before = run.counters()
        began = time.monotonic()
        queued = subprocess.run([sys.executable, "-m", "crawler.cli", "enqueue", "--config", str(config)],
                                capture_output=True, text=True)
        if queued.returncode:
            raise RuntimeError(f"crawler enqueue exited {queued.returncode}: {queued.stderr[-1000:]}")
        processes = [subprocess.Popen([sys.executable, "-m", "crawler.cli", "worker", "--config", str(config),
                                       "--data", str(stores / f"worker-{n}"), "--burst"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for n in range(workers)]
        codes = [p.wait() for p in processes]
        wall = time.monotonic() - began
        after = run.counters()
    finally:
        run.close()
    posts = sum(1 for _ in (stores / "posts").rglob("*.md"))
    return {"wall_s": round(wall, 3), "posts_written": posts, "exit": max(codes),
            **{key: after[key] - before[key] for key in before}}


def single_wall(base_config: Path, work: Path, rep: int) -> dict:
    data = work / f"single-{rep}"
    shutil.rmtree(data, ignore_errors=True)
    began = time.monotonic()
    code = subprocess.run([sys.executable, "-m", "crawler.cli", "run", "--config", str(base_config), "--data", str(data)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.monotonic() - began
    posts = sum(1 for _ in (data / "posts").rglob("*.md"))
    return {"wall_s": round(wall, 3), "posts_written": posts, "exit": code}


def service_ceilings() -> dict:
    """What this machine's Redis and PostgreSQL do alone: `redis-benchmark` (SET and ZADD, 50
    clients) and `pgbench` (its default read-write transaction, 4 clients, 10 s) in a database
    made for it and dropped after."""
    out: dict = {}
    if shutil.which("redis-benchmark"):
        import redis

        try:
            text = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", "6379", "-q", "-n", "100000",
                                   "-t", "set,zadd"], capture_output=True, text=True, timeout=120).stdout
        finally:  # the two keys redis-benchmark writes
            redis.Redis.from_url(REDIS_URL).delete("key:__rand_int__", "myzset")
        for name, rate in re.findall(r"(\w+): ([\d.]+) requests per second", text):
            out[f"redis_{name.lower()}_per_s"] = float(rate)
    if shutil.which("pgbench"):
        import psycopg

        database = f"crawler_bench_{secrets.token_hex(3)}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        try:
            env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": "5432"}
            subprocess.run(["pgbench", "-i", "-s", "5", "-q", database], env=env, capture_output=True, check=True, timeout=300)
            text = subprocess.run(["pgbench", "-c", "4", "-j", "2", "-T", "10", database], env=env,
                                  capture_output=True, text=True, timeout=120).stdout
            found = re.search(r"tps = ([\d.]+)", text)
            if found:
                out["pgbench_tps"] = float(found.group(1))
        finally:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{database}"')
    return out


def pair(base_config: Path, work: Path, reps: int, server_reset, summarise) -> dict:
    samples: dict[str, list[dict]] = {"single": [], "one_worker": [], "two_workers": []}
    for rep in range(reps):
        server_reset()
        samples["single"].append(single_wall(base_config, work, rep))
        server_reset()
        samples["one_worker"].append(shared_wall(base_config, work, 1, rep))
        server_reset()
        samples["two_workers"].append(shared_wall(base_config, work, 2, rep))
        print(f"  rep {rep + 1} shared: run {samples['single'][-1]['wall_s']:.2f} s, one worker "
              f"{samples['one_worker'][-1]['wall_s']:.2f} s, two {samples['two_workers'][-1]['wall_s']:.2f} s", flush=True)
    runs = {kind: summarise(values) for kind, values in samples.items()}
    med = lambda kind: runs[kind]["wall_s"]["median"]  # noqa: E731
    articles = runs["one_worker"]["posts_written"]["median"] or 1
    per_article = {key: round(runs["one_worker"][key]["median"] / articles, 2)
                   for key in ("redis_commands", "pg_commits", "pg_rows_written", "pg_rows_read")}
    ceilings = service_ceilings()
    carried = {}
    if "redis_set_per_s" in ceilings:
        carried["articles_per_s_one_redis"] = round(ceilings["redis_set_per_s"] / per_article["redis_commands"])
    if "pgbench_tps" in ceilings and per_article["pg_commits"]:
        carried["articles_per_s_one_postgresql"] = round(ceilings["pgbench_tps"] / per_article["pg_commits"])
    # Each repetition's own ratio too: on a shared machine the pair moves by a tenth from one
    # repetition to the next, which the ratio of medians alone does not show.
    each = [round(single["wall_s"] / one["wall_s"], 3) for single, one in zip(samples["single"], samples["one_worker"])]
    return {"runs": runs, "samples": samples, "worker/run each repetition": each,
            "worker/run (throughput)": round(med("single") / med("one_worker"), 3),
            "two/one (throughput)": round(med("one_worker") / med("two_workers"), 3),
            "per_article": per_article, "ceilings": ceilings, "carried": carried}


def table(result: dict) -> str:
    if "skipped" in result:
        return f"distributed pair skipped: {result['skipped']}"
    lines = ["| run | wall s | posts written | Redis commands | PostgreSQL commits | exit |", "|" + "---|" * 6]
    for kind, label in (("single", "crawler run"), ("one_worker", "1 worker"), ("two_workers", "2 workers")):
        r = result["runs"][kind]
        cell = f"{r['wall_s']['median']:.2f} ({r['wall_s']['min']:.2f}–{r['wall_s']['max']:.2f})"
        redis_ops = f"{r['redis_commands']['median']:.0f}" if "redis_commands" in r else ""
        commits = f"{r['pg_commits']['median']:.0f}" if "pg_commits" in r else ""
        lines.append(f"| {label} | {cell} | {r['posts_written']['median']:.0f} | {redis_ops} | {commits} | {r['exit']['max']:.0f} |")
    per, carried, ceilings = result["per_article"], result["carried"], result["ceilings"]
    lines += ["", f"worker/run (throughput) = {result['worker/run (throughput)']:.2f} (each repetition: "
              f"{', '.join(f'{ratio:.2f}' for ratio in result['worker/run each repetition'])}); "
              f"two/one (throughput) = {result['two/one (throughput)']:.2f}",
              f"per article: {per['redis_commands']} Redis commands, {per['pg_commits']} PostgreSQL commits, "
              f"{per['pg_rows_written']} rows written, {per['pg_rows_read']} rows read",
              f"this machine alone: {json.dumps(ceilings)}; so one Redis carries about "
              f"{carried.get('articles_per_s_one_redis', '?')} articles/s and one PostgreSQL about "
              f"{carried.get('articles_per_s_one_postgresql', '?')} articles/s at pgbench's rate of commits "
              f"(commits only: a worker's statements are counted on paper in BENCHMARKS.md)"]
    return "\n".join(lines)
