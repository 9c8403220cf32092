"""A TCP proxy between the server and PostgreSQL that can stall, cut, refuse, or lose the
answer to a chosen statement: the network faults the tests in this folder inflict.

``FaultProxy(("127.0.0.1", 5432))`` listens on a free loopback port; point a database URL at
``proxy.port``. It forwards until told otherwise:

- ``stall()``: bytes stop moving both ways; sockets stay open (a frozen network or server).
  New connections are accepted and then hang the same way. ``restore()`` delivers what was
  held back, as TCP would once the path is back.
- ``cut()``: every open connection is reset; new ones are still forwarded.
- ``refuse()``: the listening socket closes, so new connections are refused; open ones
  stay. ``restore()`` listens again on the same port.
- ``lose_answer_to(marker)``: the next client chunk containing ``marker`` (say
  ``b"COMMIT"``) reaches the server, but its answer never reaches the client, whose
  connection is then reset: the server did the work, the client cannot know.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

_CHUNK = 65536


class FaultProxy:
    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.target = target
        self.host = host
        self._flowing = threading.Event()
        self._flowing.set()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lose_marker: bytes | None = None
        self._muted: set[socket.socket] = set()  # clients whose answers are dropped
        self._closed = False
        listener = self._listen(0)
        self._listener: socket.socket | None = listener
        self.port: int = listener.getsockname()[1]
        self._acceptor = self._start_acceptor()
        self.answers_lost = 0

    # -- faults ----------------------------------------------------------------------------

    def stall(self) -> None:
        self._flowing.clear()

    def cut(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                _reset(sock)

    def refuse(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            _close_listener(listener)
            self._acceptor.join(timeout=5)

    def lose_answer_to(self, marker: bytes) -> None:
        with self._lock:
            self._lose_marker = marker

    def restore(self) -> None:
        """Forward normally again (listening again after ``refuse``)."""
        with self._lock:
            self._lose_marker = None
            relisten = self._listener is None and not self._closed
        if relisten:
            listener = self._listen(self.port)
            with self._lock:
                self._listener = listener
            self._acceptor = self._start_acceptor()
        self._flowing.set()

    @contextmanager
    def stalled(self) -> Iterator[None]:
        self.stall()
        try:
            yield
        finally:
            self.restore()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.refuse()
        self._flowing.set()
        self.cut()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, port))
        listener.listen(128)
        return listener

    def _start_acceptor(self) -> threading.Thread:
        listener = self._listener
        assert listener is not None
        thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        thread.start()
        return thread

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by refuse() or close()
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self._flowing.wait()  # a stalled network answers no new connection either
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        with self._lock:
            closed = self._closed
            if not closed:
                self._pairs.append((client, upstream))
        if closed:  # close() ran while this connection waited (a stall): no pair outlives it
            _reset(client)
            _reset(upstream)
            return
        threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, to_server: bool) -> None:
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                self._flowing.wait()
                if to_server and self._take_marker(data):
                    # Its answer must never arrive: mute the way back, deliver the statement,
                    # let the server read it to the end (FIN after the data), reset the client.
                    with self._lock:
                        self._muted.add(source)
                    sink.sendall(data)
                    self.answers_lost += 1
                    _reset(source)
                    return
                if not to_server and sink in self._muted:
                    continue
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def _take_marker(self, data: bytes) -> bool:
        with self._lock:
            marker = self._lose_marker
            if marker is None or marker not in data:
                return False
            self._lose_marker = None
            return True


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a network failure does, not with an orderly FIN."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with suppress(OSError):
        sock.close()


def _close_listener(listener: socket.socket) -> None:
    with suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        listener.close()
