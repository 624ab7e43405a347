"""The demo aggregator as a loopback HTTP + HTTPS server.

``make demo`` crawls it so the whole pipeline can be shown and checked without touching
the network. Tests use :func:`start`; people use the command line::

    python -m crawler.demo.server [--port N] [--tls-port N] [--port-file FILE]

Port 0 picks a free port. The port file gets one line ``HTTP_PORT TLS_PORT`` once both
listeners accept connections, so a script can wait for the file instead of guessing.
"""

from __future__ import annotations

import argparse
import os
import signal
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .render import Urls
from .site import Site
from .tls import server_context

HOST = "127.0.0.1"


class RequestLog:
    """Every request both listeners received, as ``(method, path, headers)``, in arrival
    order; lets tests check what a crawl fetched and with which Referer."""

    def __init__(self) -> None:
        self._entries: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()

    def append(self, entry: tuple[str, str, dict[str, str]]) -> None:
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> list[tuple[str, str, dict[str, str]]]:
        with self._lock:
            return list(self._entries)

    def matching(self, path_prefix: str) -> list[tuple[str, str, dict[str, str]]]:
        return [entry for entry in self.snapshot() if entry[1].startswith(path_prefix)]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __iter__(self):
        return iter(self.snapshot())

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __getitem__(self, index):
        return self.snapshot()[index]

    def __repr__(self) -> str:
        return f"RequestLog({self.snapshot()!r})"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DemoAggregator/1.0"
    timeout = 30  # an idle keep-alive connection must not hold a thread forever

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()  # here, in the request's thread, not in accept()

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        if parsed:
            self.server.request_log.append((self.command, self.path, dict(self.headers.items())))
        return parsed

    def do_GET(self) -> None:
        self._serve(with_body=True)

    def do_HEAD(self) -> None:
        self._serve(with_body=False)

    def _serve(self, with_body: bool) -> None:
        response = self.server.site.answer(self.path, self.headers)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        # For HEAD and 304 this is the length a GET would carry, as RFC 9110 asks.
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if with_body and response.status != 304:
            self.wfile.write(response.body)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args) -> None:
        """Quiet: a crawl makes hundreds of requests, and the request log keeps them all."""


class _Listener(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, tls_context: ssl.SSLContext | None = None) -> None:
        super().__init__((HOST, port), _Handler)
        self.tls_context = tls_context
        self.site: Site | None = None
        self.request_log: RequestLog | None = None

    def get_request(self):
        sock, address = super().get_request()
        if self.tls_context is not None:
            sock = self.tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request, client_address) -> None:
        """Clients hanging up or refusing the self-signed certificate are routine here;
        anything else is a bug in the demo and keeps its traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)


class DemoServer:
    """Both listeners, running in daemon threads until :meth:`stop`."""

    def __init__(self, http: _Listener, tls: _Listener) -> None:
        self._listeners = (http, tls)
        self.port = http.server_port
        self.tls_port = tls.server_port
        self.base_url = f"http://{HOST}:{self.port}"
        self.tls_base_url = f"https://{HOST}:{self.tls_port}"
        self.request_log = RequestLog()
        site = Site(Urls(self.base_url, self.tls_base_url))
        for listener in self._listeners:
            listener.site = site
            listener.request_log = self.request_log
        self._threads = [
            threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            for listener in self._listeners
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for listener, thread in zip(self._listeners, self._threads):
            if thread.is_alive():
                listener.shutdown()
                thread.join()
            listener.server_close()

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def start(port: int = 0, tls_port: int = 0) -> DemoServer:
    """Bind both listeners on 127.0.0.1 (0 = any free port) and serve in the background."""
    http = _Listener(port)
    try:
        tls = _Listener(tls_port, server_context(HOST))
    except BaseException:
        http.server_close()
        raise
    return DemoServer(http, tls)


def _write_port_file(path: Path, server: DemoServer) -> None:
    """Written whole or not at all, so a script polling for it never reads half a line."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(f"{server.port} {server.tls_port}\n", encoding="ascii")
    os.replace(partial, path)


def _wait_for_signal() -> None:
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    while not stopping.wait(1):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.demo.server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="HTTP port (0: any free port)")
    parser.add_argument("--tls-port", type=int, default=0, help="HTTPS port (0: any free port)")
    parser.add_argument("--port-file", type=Path, help='write "HTTP_PORT TLS_PORT" here once listening')
    args = parser.parse_args(argv)

    if args.port_file:
        args.port_file.unlink(missing_ok=True)  # a stale file would point a waiting script at a dead port
    server = start(args.port, args.tls_port)
    try:
        if args.port_file:
            _write_port_file(args.port_file, server)
        print(f"demo aggregator at {server.base_url}/ and {server.tls_base_url}/", flush=True)
        _wait_for_signal()
    finally:
        server.stop()
        if args.port_file:
            args.port_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
