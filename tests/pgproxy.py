"""A TCP relay in front of PostgreSQL that breaks a connection exactly where a test says.

The app connects through it (with TLS off, so that the relay can read the statements); a
test arms a cut on some text the client sends, such as `INSERT INTO appointment` or
`COMMIT`. The connection carrying it is then broken, either before the server gets the
message (the server rolls the transaction back) or, with `deliver=True`, after the server
has answered it (a COMMIT then has committed, but the client never hears so): the two
network failures a client cannot tell apart.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass


@dataclass
class _Cut:
    pattern: bytes
    deliver: bool
    times: int | None  # None: every time


class _Link:
    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client, self.server = client, server
        self.swallow = threading.Event()  # the next answer from the server is dropped

    def close(self) -> None:
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class Proxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cuts: list[_Cut] = []
        self.made = 0  # connections cut so far
        self.lock = threading.Lock()
        self.links: list[_Link] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database: str) -> str:
        return (
            f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"
            "?sslmode=disable&gssencmode=disable"
        )

    def cut(self, pattern: str, *, deliver: bool = False, times: int | None = 1) -> None:
        """Break the connection that next sends `pattern` (`times` times, None: always)."""
        with self.lock:
            self.cuts.append(_Cut(pattern.encode(), deliver, times))

    def heal(self) -> None:
        with self.lock:
            self.cuts.clear()

    def close(self) -> None:
        with contextlib.suppress(OSError):  # shutdown wakes the thread waiting in accept()
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for link in self.links:
            link.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(self.target)
            link = _Link(client, server)
            self.links.append(link)
            threading.Thread(target=self._upstream, args=(link,), daemon=True).start()
            threading.Thread(target=self._downstream, args=(link,), daemon=True).start()

    def _armed(self, tail: bytes, data: bytes) -> _Cut | None:
        seen = tail + data
        with self.lock:
            for cut in self.cuts:
                found = seen.rfind(cut.pattern)
                if found >= 0 and found + len(cut.pattern) > len(tail):  # not only in the old
                    if cut.times is not None:
                        cut.times -= 1
                        if cut.times == 0:
                            self.cuts.remove(cut)
                    self.made += 1
                    return cut
        return None

    def _upstream(self, link: _Link) -> None:
        tail = b""  # a pattern may straddle two reads
        try:
            while data := link.client.recv(65536):
                cut = self._armed(tail, data)
                tail = data[-64:]
                if cut is None:
                    link.server.sendall(data)
                elif cut.deliver:
                    link.swallow.set()  # before sending: the answer may come at once
                    link.server.sendall(data)
                    return  # the downstream side breaks the link on the answer
                else:
                    return
        except OSError:
            pass
        finally:
            if not link.swallow.is_set():
                link.close()

    def _downstream(self, link: _Link) -> None:
        try:
            while data := link.server.recv(65536):
                if link.swallow.is_set():
                    return  # the server has answered: the client never hears it
                link.client.sendall(data)
        except OSError:
            pass
        finally:
            link.close()
