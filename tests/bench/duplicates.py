"""The near-duplicate step, measured: how well it tells copies apart on the labelled set (against a
64-bit SimHash over the same 3-grams), and what one article's check costs as the state grows.

    python -m tests.bench.duplicates [--stored 10000,100000] [--new 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

from crawler.datadir import DataDir
from crawler.items import Article
from crawler.neardup import NearDuplicate, Signer, text_of
from crawler.settings import DUPLICATE_THRESHOLD
from crawler.state import open_state
from pipelines.duplicates import NearDuplicatesPipeline
from tests.bench.site import story
from tests.near_duplicates import labelled_pairs


def _rates(verdicts: list[tuple[bool, bool]]) -> dict:
    tp = sum(v and same for v, same in verdicts)
    fp = sum(v and not same for v, same in verdicts)
    fn = sum(not v and same for v, same in verdicts)
    return {"precision": round(tp / (tp + fp), 3) if tp + fp else 1.0, "recall": round(tp / (tp + fn), 3)}


def simhash(body: str) -> int:
    """A 64-bit SimHash of the body's character 3-grams (for comparison only)."""
    text = text_of(body)
    weights = [0] * 64
    for shingle in {text[i : i + 3] for i in range(len(text) - 2)}:
        value = int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if value >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def labelled() -> dict:
    """Precision and recall on the labelled set: MinHash as the pipeline judges (a shared band,
    then containment at the default threshold), and SimHash at each Hamming distance."""
    pairs = labelled_pairs()
    signer = Signer()
    verdicts = []
    for first, second, same, _ in pairs:
        a, b = signer.sign(first), signer.sign(second)
        found = a is not None and b is not None and bool(set(a.bands()) & set(b.bands())) and \
            a.containment(b) >= DUPLICATE_THRESHOLD
        verdicts.append((found, same))
    distances = [(bin(simhash(first) ^ simhash(second)).count("1"), same) for first, second, same, _ in pairs]
    by_distance = {k: _rates([(d <= k, same) for d, same in distances]) for k in (3, 6, 10, 14, 18, 22)}
    return {"pairs": len(pairs), "copies": sum(p[2] for p in pairs), "minhash": _rates(verdicts),
            "threshold": DUPLICATE_THRESHOLD, "simhash": by_distance}


def lookup_cost(stored: int, new: int) -> dict:
    """Milliseconds per article the step takes (sign, look up, compare, record) against a state
    of ``stored`` signed articles, and how many candidates a lookup had to compare."""
    signer = Signer()
    with tempfile.TemporaryDirectory() as folder:
        state = open_state(DataDir(Path(folder)), commit_every=1000)
        now = datetime.now(timezone.utc)
        began = time.perf_counter()
        for n in range(stored):
            signature = signer.sign(f"<p>{story(10_000_000 + n, 300)}</p>")
            key = f"url:http://stored/{n}"
            state.record(key, f"p/{n}.md", "h", "stored", now - timedelta(hours=n % 100))
            state.record_signature(key, signature.to_bytes(), signature.size, signature.bands(),
                                   now - timedelta(hours=n % 100))
        state.flush()
        filled = time.perf_counter() - began
        candidates: list[int] = []
        similar = state.similar

        def counted(asks):
            answers = similar(asks)
            candidates.extend(len(found) for found in answers if found)
            return answers

        state.similar = counted
        stats = SimpleNamespace(inc_value=lambda *a, **k: None)
        crawler = SimpleNamespace(stats=stats, get_extension=lambda _: SimpleNamespace(state=state))
        pipeline = NearDuplicatesPipeline(crawler, keep=False, threshold=DUPLICATE_THRESHOLD, window=timedelta(days=7))
        pipeline.open_spider()
        times: list[float] = []

        async def check_each() -> int:
            copies = 0
            for n in range(new):
                # every tenth new article republishes a stored one inside some boilerplate
                text = story(10_000_000 + n * 7 % stored, 300) if n % 10 == 0 else story(20_000_000 + n, 300)
                item = Article(source="new", title=f"t{n}", link=f"http://new/{n}", body=f"<p>来源：某报</p><p>{text}</p>",
                               categories=["x"])
                start = time.perf_counter()
                try:
                    await pipeline.process_item(item)
                except NearDuplicate:
                    copies += 1
                times.append((time.perf_counter() - start) * 1000)
            return copies

        copies = asyncio.run(check_each())
        state.close()
    return {"stored": stored, "new": new, "fill_s": round(filled, 1), "ms_per_article": round(statistics.mean(times), 3),
            "p95_ms": round(sorted(times)[int(len(times) * 0.95)], 3), "copies_found": copies,
            "copies_planted": len(range(0, new, 10)), "candidates_compared": sum(candidates),
            "lookups_with_candidates": len(candidates)}


def table(result: dict) -> str:
    lines = ["| stored articles | ms per new article | p95 ms | candidates compared (all lookups) | copies found / planted |",
             "|---|---|---|---|---|"]
    for row in result["lookups"]:
        lines.append(f"| {row['stored']:,} | {row['ms_per_article']} | {row['p95_ms']} | {row['candidates_compared']} "
                     f"| {row['copies_found']} / {row['copies_planted']} |")
    quality = result["labelled"]
    lines += ["", f"Labelled set: {quality['pairs']} pairs, {quality['copies']} of them copies. MinHash (containment "
              f"≥ {quality['threshold']}): precision {quality['minhash']['precision']}, recall "
              f"{quality['minhash']['recall']}. SimHash, Hamming distance ≤ k: " + "; ".join(
                  f"k={k}: P {r['precision']} R {r['recall']}" for k, r in quality["simhash"].items())]
    return "\n".join(lines)


def run(stored: list[int], new: int) -> dict:
    return {"labelled": labelled(), "lookups": [lookup_cost(n, new) for n in stored]}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.duplicates")
    parser.add_argument("--stored", default="10000,100000")
    parser.add_argument("--new", type=int, default=1000)
    args = parser.parse_args()
    result = run([int(n) for n in args.stored.split(",")], args.new)
    print(json.dumps(result, indent=2))
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
