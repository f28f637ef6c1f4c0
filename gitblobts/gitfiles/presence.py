"""Which objects a repository holds, told from its object directories alone.

A partial clone lacks the blobs its promisor remote holds, and git fetches each one it is
asked for, one request per object. Asking git whether an object is there would start that
fetch; here an object is looked up in the packs (:class:`~gitblobts.gitfiles.packs.PackReader`)
and as a loose object of the repository's object directory and of its alternates
(``objects/info/alternates``), without running git.

An object in a pack this reader does not map (an index of version 1, more packs than it
maps) is taken as missing: fetching it again costs a few bytes, never a wrong answer.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from gitblobts.gitfiles.packs import PackReader


class ObjectPresence:
    """Present and missing objects of one object directory (``.git/objects``) and its
    alternates."""

    def __init__(self, objects_dir: str) -> None:
        self._dirs = [objects_dir, *_alternates(objects_dir)]
        self._packs = [PackReader(folder) for folder in self._dirs]

    def has(self, oid: str) -> bool:
        """Whether object ``oid`` (hexadecimal) is in a pack or loose."""
        for folder, packs in zip(self._dirs, self._packs, strict=True):
            if packs.has(oid) or os.path.exists(os.path.join(folder, oid[:2], oid[2:])):
                return True
        return False

    def missing(self, oids: Iterable[str]) -> list[str]:
        """The objects of ``oids`` that are neither packed nor loose, in order, once each."""
        return [oid for oid in dict.fromkeys(oids) if not self.has(oid)]

    def close(self) -> None:
        for packs in self._packs:
            packs.close()


def _alternates(objects_dir: str) -> list[str]:
    """The object directories ``objects/info/alternates`` names (relative ones relative to
    ``objects_dir``), and theirs in turn, once each."""
    found: list[str] = []
    pending = [objects_dir]
    while pending:
        folder = pending.pop()
        try:
            with open(os.path.join(folder, "info", "alternates"), encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            other = os.path.normpath(os.path.join(folder, line))
            if other != objects_dir and other not in found and os.path.isdir(other):
                found.append(other)
                pending.append(other)
    return found
