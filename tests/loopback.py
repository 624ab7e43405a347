"""A small configurable HTTP server on 127.0.0.1 (or another loopback address) for tests.

Each route answers with a fixed status, headers and body; ``{BASE}`` in a body becomes the
server's own base URL, so fixtures can link to each other. Every request is logged, so a test
can check what was fetched (or that nothing was).
"""

from __future__ import annotations

import hashlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    when: Callable[[dict[str, str]], bool] | None = None
    """A condition on the request headers; when it is false the answer is 403."""
    etag: bool = True
    """Send an ETag (a hash of the body) and answer a matching If-None-Match with 304."""
    delay: float = 0
    """Seconds to wait before answering (a slow server)."""


class LoopbackServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        """``host``: the loopback address to listen on (``127.0.0.2`` plays an internal host)."""
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._faults: dict[str, list[str]] = {}
        self.stall_seconds = 3.0
        self.open_requests = 0
        self.max_open_requests = 0
        """The most requests this server was answering at the same time."""
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                server._answer(self, head=False)

            def do_HEAD(self):
                server._answer(self, head=True)

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer((host, 0), Handler)
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def fail(self, path: str, *faults: str) -> None:
        """Answer the next requests for ``path`` with these faults, in turn, then normally.

        Faults: ``500``, ``reset`` (connection reset before any answer), ``half`` (headers
        promise the whole body, half of it comes, then the connection closes), ``stall``
        (no answer for ``self.stall_seconds``)."""
        with self._lock:
            self._faults.setdefault(path, []).extend(faults)

    def recover(self, path: str) -> int:
        """Drop the faults still pending for ``path`` (the server has come back); how many."""
        with self._lock:
            return len(self._faults.pop(path, []))

    def add(self, path: str, body: bytes | str = b"", **kwargs) -> None:
        """Serve ``body`` at ``path`` (the path may include a query string)."""
        self.routes[path] = Route(body, **kwargs)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def paths(self) -> list[str]:
        with self._lock:
            return [path for _, path, _ in self.requests]

    def headers_of(self, path: str) -> list[dict[str, str]]:
        """The headers of every request made for ``path``."""
        with self._lock:
            return [headers for _, p, headers in self.requests if p == path]

    def _answer(self, handler: BaseHTTPRequestHandler, head: bool) -> None:
        with self._lock:
            self.open_requests += 1
            self.max_open_requests = max(self.max_open_requests, self.open_requests)
        try:
            self._respond(handler, head)
        finally:
            with self._lock:
                self.open_requests -= 1

    def _respond(self, handler: BaseHTTPRequestHandler, head: bool) -> None:
        with self._lock:
            self.requests.append((handler.command, handler.path, dict(handler.headers)))
            pending = self._faults.get(handler.path) or self._faults.get(handler.path.split("?", 1)[0])
            fault = pending.pop(0) if pending else None
        route = self.routes.get(handler.path) or self.routes.get(handler.path.split("?", 1)[0])
        if fault is not None and self._inject(handler, fault, route):
            return
        if route is None:
            route = Route(b"not found", status=404, content_type="text/plain")
        elif route.when is not None and not route.when(dict(handler.headers)):
            route = Route(b"forbidden", status=403, content_type="text/plain")
        body = route.body.encode("utf-8") if isinstance(route.body, str) else route.body
        body = body.replace(b"{BASE}", self.base_url.encode())
        if route.delay:
            time.sleep(route.delay)
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if route.etag and route.status == 200 and handler.headers.get("If-None-Match") == etag:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(route.status)
        if route.etag and route.status == 200:
            handler.send_header("ETag", etag)
        handler.send_header("Content-Type", route.content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in route.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if not head:
            handler.wfile.write(body)

    def _inject(self, handler: BaseHTTPRequestHandler, fault: str, route: Route | None) -> bool:
        """Misbehave as ``fault`` says; True when the request has been dealt with."""
        if fault == "500":
            handler.send_response(500)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        elif fault == "reset":
            handler.close_connection = True
            handler.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.request.close()
        elif fault == "half":
            body = route.body if route is not None else b"x" * 1000
            body = body.encode("utf-8") if isinstance(body, str) else body
            handler.close_connection = True
            handler.send_response(200)
            handler.send_header("Content-Type", route.content_type if route else "text/plain")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            handler.request.shutdown(socket.SHUT_RDWR)
        elif fault == "stall":
            time.sleep(self.stall_seconds)
            handler.close_connection = True
        else:
            raise ValueError(f"unknown fault {fault!r}")
        return True
