"""A TCP relay on 127.0.0.1 that a test can cut and restore: a service going away mid-run
(Redis, PostgreSQL) without stopping the machine's own server."""

from __future__ import annotations

import socket
import threading


class TcpRelay:
    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._up = True
        self._silent = False
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def silence(self) -> None:
        """Nothing is relayed any more, and nothing is closed: a partition, where the other
        end neither answers nor says it has gone. New connections are accepted and held."""
        with self._lock:
            self._silent = True

    def cut(self) -> None:
        """Every connection is closed, as by a server that went down, and new ones are closed
        at once, until ``restore``."""
        with self._lock:
            self._up = False
            self._drop(self._open)

    @classmethod
    def _drop(cls, sockets) -> None:
        """Close each of ``sockets`` (the caller holds the lock), and forget them."""
        for sock in sockets:
            cls._close(sock)
        sockets.clear()

    @staticmethod
    def _close(sock: socket.socket) -> None:
        """Shut ``sock`` down, then close it. The shutdown is what the peer sees and what wakes
        a relaying thread waiting in ``recv`` on it: a socket only closed while another thread
        waits on it stays open, without a FIN, until that wait ends, and a client waiting for an
        answer through it would wait for ever."""
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # not connected any more, or closed already
        try:
            sock.close()
        except OSError:
            pass

    def restore(self) -> None:
        with self._lock:
            self._up = True
            if self._silent:
                self._silent = False
                self._drop(self._held)
                self._drop(self._open)

    def close(self) -> None:
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                up, silent = self._up, self._silent
                if silent:
                    self._held.append(client)
                    continue
            if not up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self._silent:
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                self._close(sock)
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
