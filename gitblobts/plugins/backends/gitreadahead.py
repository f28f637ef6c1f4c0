"""Trees the ``git`` backend asks its ``git cat-file --batch`` for before they are needed,
and the bytes of those recently read.

A query walks a store's folders level by level: once a folder is listed, the layout reads
some of its subfolders, one at a time. Asking for all of them at once (up to
:data:`MOST_AHEAD`) turns a round trip to git per folder into one per level; a folder of
blobs is then listed from bytes already here. Replies stay until :data:`KEPT_BYTES` of newer
ones push them out: trees never change, and a second query of the same hour reads none.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from gitblobts.core.errors import RepositoryError
from gitblobts.plugins.backends.gitprocesses import ObjectReader, Request

MOST_AHEAD = 512
"""Most subfolders of one folder asked for ahead; a folder of more has none asked for."""
KEPT_BYTES = 8 << 20
"""Most bytes of trees kept (and most requests: one per 64 bytes)."""


class TreeReadAhead:
    """Trees asked for ahead of need, then kept, by id (most recently used last)."""

    def __init__(self, reader: ObjectReader) -> None:
        self._reader = reader
        self._held: OrderedDict[str, tuple[Request, int]] = OrderedDict()
        """Each request, and the bytes it is counted for."""
        self._bytes = 0

    def request(self, oids: Iterable[str]) -> None:
        """Ask for the trees ``oids`` that are not held yet (none if there are too many)."""
        wanted = [oid for oid in dict.fromkeys(oids) if oid not in self._held]
        if not wanted or len(wanted) > MOST_AHEAD:
            return
        for request in self._reader.send(wanted):
            self._held[request.oid] = (request, 64)
            self._bytes += 64
        self._trim()

    def take(self, oid: str) -> tuple[str, bytes] | None:
        """The type and bytes of tree ``oid`` if it was asked for and git answered, else
        ``None``: the caller reads it itself (after a fork, say, or once the process died,
        when git is started anew)."""
        held = self._held.get(oid)
        if held is None:
            return None
        request, counted = held
        try:
            reply = self._reader.receive(request)
        except RepositoryError:
            self._forget(oid)
            return None
        if reply is None:
            self._forget(oid)
            return None
        self._held.move_to_end(oid)
        if counted == 64:
            self._held[oid] = (request, 64 + len(reply[1]))
            self._bytes += len(reply[1])
            self._trim()
        return reply

    def _forget(self, oid: str) -> None:
        _, counted = self._held.pop(oid)
        self._bytes -= counted

    def _trim(self) -> None:
        while self._bytes > KEPT_BYTES and self._held:
            _, (_, counted) = self._held.popitem(last=False)
            self._bytes -= counted

    def clear(self) -> None:
        self._held.clear()
        self._bytes = 0
