"""The test relay itself: a cut must reach every client, or a test of a service going away
waits for an answer that can never come instead of seeing the connection close."""

from __future__ import annotations

import socket
import threading
import time

from tests.tcpproxy import TcpRelay


def test_a_cut_closes_every_relayed_connection_at_the_client():
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:  # a server that takes connections and never answers
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    relay = TcpRelay(server.getsockname()[1])
    clients = [socket.create_connection(("127.0.0.1", relay.port)) for _ in range(30)]
    try:
        for client in clients:
            client.sendall(b"a question")  # each relaying thread has passed data, then waits
        deadline = time.monotonic() + 10
        while len(accepted) < len(clients) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        relay.cut()
        for number, client in enumerate(clients):
            client.settimeout(5)
            try:
                assert client.recv(1) == b"", f"client {number} was answered after the cut"
            except ConnectionResetError:
                pass  # a reset is a close too
            except TimeoutError:
                raise AssertionError(f"client {number} still open 5 s after the cut") from None
    finally:
        for sock in clients + accepted:
            sock.close()
        relay.close()
        server.close()
