"""How many requests a second the benchmark server answers, measured from another process.

    python -m tests.bench.load BASE_URL URLS_FILE SECONDS
Prints one JSON line: requests, seconds, requests per second, megabytes per second.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

CONNECTIONS = 16


async def worker(host: str, port: int, paths: list[str], start: int, deadline: float, totals: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    index = start
    try:
        while time.monotonic() < deadline:
            path = paths[index % len(paths)]
            index += CONNECTIONS
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
            await reader.readexactly(length)
            totals[0] += 1
            totals[1] += length
    finally:
        writer.close()


async def measure(base: str, paths: list[str], seconds: float) -> dict:
    parts = urlsplit(base)
    totals = [0, 0]
    began = time.monotonic()
    deadline = began + seconds
    await asyncio.gather(*(worker(parts.hostname, parts.port, paths, i, deadline, totals) for i in range(CONNECTIONS)))
    elapsed = time.monotonic() - began
    return {"requests": totals[0], "seconds": round(elapsed, 2), "requests_per_s": round(totals[0] / elapsed, 1),
            "mb_per_s": round(totals[1] / elapsed / 1e6, 1), "connections": CONNECTIONS}


def main() -> None:
    base, urls_file, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    paths = [urlsplit(u).path + (f"?{urlsplit(u).query}" if urlsplit(u).query else "") for u in Path(urls_file).read_text().split()]
    print(json.dumps(asyncio.run(measure(base, paths, seconds))))


if __name__ == "__main__":
    main()
