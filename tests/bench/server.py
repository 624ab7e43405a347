"""The benchmark's aggregator, served fast enough not to be what is measured.

An asyncio HTTP/1.1 server (keep-alive, every answer prebuilt in memory, ETag/304) in a
process of its own, so it never shares an interpreter with the crawler it serves. Two
administrative paths let the benchmark read and reset its counters between runs:
``/__stats`` (requests, image requests, distinct images asked for) and ``/__reset``.

    python -m tests.bench.server --n N --port-file FILE [--cache DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
from collections import Counter
from pathlib import Path

from tests.bench.site import BenchSite, Page, SourcesSite


class Server:
    def __init__(self, n: int, cache: Path, sources: int = 0, delay: float = 0) -> None:
        self.n = n
        self.cache = cache
        self.sources = sources
        self.delay = delay
        """Seconds before each answer (a remote host's latency), in the sources scenario."""
        self.site: BenchSite | SourcesSite | None = None
        self.open = 0
        self.max_open = 0
        self.requests = 0
        self.images = Counter()
        self._etags: dict[int, str] = {}

    def route(self, target: str) -> Page | None:
        site = self.site
        page = site.pages.get(target)
        if page is not None:
            return page
        path = target.split("?", 1)[0]
        if path.startswith("/img/"):
            self.images[path] += 1
            return site.image(path[5:])
        return site.pages.get(path)

    def etag(self, page: Page) -> str:
        key = id(page.body)
        if key not in self._etags:
            self._etags[key] = '"' + hashlib.md5(page.body).hexdigest() + '"'
        return self._etags[key]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                self.open += 1
                self.max_open = max(self.max_open, self.open)
                try:
                    if self.delay and not target.startswith("/__"):
                        await asyncio.sleep(self.delay)
                    answer = self.answer(method, target, headers)
                finally:
                    self.open -= 1
                writer.write(answer)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def answer(self, method: str, target: str, headers: dict[str, str]) -> bytes:
        if target == "/__stats":
            body = json.dumps({"requests": self.requests, "image_requests": sum(self.images.values()),
                               "distinct_images": len(self.images), "max_open": self.max_open,
                               "repeated_images": sum(1 for c in self.images.values() if c > 1)}).encode()
            return _response(200, body, "application/json")
        if target == "/__reset":
            self.requests, self.images, self.max_open = 0, Counter(), 0
            return _response(200, b"ok", "text/plain")
        self.requests += 1
        page = self.route(target)
        if page is None:
            return _response(404, b"not found", "text/plain")
        etag = self.etag(page)
        if headers.get("if-none-match") == etag:
            return _response(304, b"", page.content_type, etag, body_allowed=False)
        return _response(200, page.body if method != "HEAD" else b"", page.content_type, etag)

    async def serve(self, port_file: Path, port: int = 0) -> None:
        server = await asyncio.start_server(self.handle, "127.0.0.1", port, backlog=512)
        actual = server.sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{actual}"
        self.site = SourcesSite(self.sources, base) if self.sources else BenchSite(self.n, base, self.cache)
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(str(actual))
        tmp.replace(port_file)
        async with server:
            await server.serve_forever()


def _response(status: int, body: bytes, ctype: str, etag: str | None = None, body_allowed: bool = True) -> bytes:
    reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {ctype}", f"Content-Length: {len(body) if body_allowed else 0}"]
    if etag:
        head.append(f"ETag: {etag}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + (body if body_allowed else b"")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path("data/bench/cache"))
    parser.add_argument("--sources", type=int, default=0, help="serve this many feeds instead (the sources scenario)")
    parser.add_argument("--delay", type=float, default=0, help="seconds before each answer")
    args = parser.parse_args()
    asyncio.run(Server(args.n, args.cache, args.sources, args.delay).serve(args.port_file))


if __name__ == "__main__":
    main()
