"""The files of an add's commit (path to object id), made from the add's columns
(:class:`~gitblobts.core.blobrefs.AddedBlobs`) and the ids the backend wrote rather than
held as a dictionary of a million strings. A commit's own additions (the configuration, a
key's name record) and files found present already are held beside them.

:meth:`BatchFiles.grouped_items` lists the files grouped by folder, which lets a backend
write the commit's trees a folder at a time (:mod:`gitblobts.gitfiles.treebuild`): as
they are when the blobs came with their paths in order, either way (times from a
generator usually do), else sorted (which holds every path for the while).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, MutableMapping, Sequence

from gitblobts.core.blobrefs import AddedBlobs
from gitblobts.core.parts import SUMS, part_name


class BatchFiles(MutableMapping[str, str]):
    """The stored files of the blobs ``positions`` of ``blobs``, their ids from ``oids``
    (every file the add wrote, in order), plus ``extra`` files, less ``dropped`` paths."""

    def __init__(
        self,
        blobs: AddedBlobs,
        oids: Sequence[str],
        positions: range,
        extra: dict[str, str] | None = None,
        dropped: set[str] | None = None,
    ) -> None:
        self._blobs = blobs
        self._oids = oids
        self._positions = positions
        self._extra = dict(extra or {})
        self._dropped = set(dropped or ())

    def copy(self) -> BatchFiles:
        """The same files, whose additions and removals are the copy's own."""
        return BatchFiles(self._blobs, self._oids, self._positions, self._extra, self._dropped)

    def _batch(self) -> Iterator[tuple[str, str]]:
        """The blobs' files, in the blobs' order."""
        blobs, oids = self._blobs, self._oids
        for index in self._positions:
            path, first = blobs.path(index), blobs.first_file(index)
            count = blobs.file_count(index)
            if count == 1:
                if path not in self._dropped:
                    yield path, oids[first]
                continue
            for offset, stored in enumerate(stored_paths(path, count)):
                if stored not in self._dropped:
                    yield stored, oids[first + offset]

    def items(self) -> Iterator[tuple[str, str]]:  # type: ignore[override]
        yield from self._batch()
        yield from self._extra.items()

    def __iter__(self) -> Iterator[str]:
        return (path for path, _ in self.items())

    def __len__(self) -> int:
        blobs = self._blobs
        files = 0
        if self._positions:
            start, stop = self._positions[0], self._positions[-1]
            files = blobs.first_file(stop) + blobs.file_count(stop) - blobs.first_file(start)
        return files - len(self._dropped) + len(self._extra)

    def __getitem__(self, path: str) -> str:
        if path in self._extra:
            return self._extra[path]
        if path not in self._dropped:
            position = self._file_position(path)
            if position is not None:
                return self._oids[position]
        raise KeyError(path)

    def _file_position(self, path: str) -> int | None:
        """Where the batch's file at ``path`` is among the files the add wrote; ``None`` if
        the batch has no file there. Searches the paths: no index is kept."""
        blobs = self._blobs
        index = blobs.find(path)
        if index is not None and blobs.file_count(index) == 1 and index in self._positions:
            return blobs.first_file(index)
        folder = path.rpartition("/")[0]
        index = blobs.find(folder) if folder else None
        if index is None or index not in self._positions:
            return None
        count = blobs.file_count(index)
        names = stored_paths(folder, count) if count > 1 else []
        return blobs.first_file(index) + names.index(path) if path in names else None

    def __setitem__(self, path: str, oid: str) -> None:
        self._extra[path] = oid

    def __delitem__(self, path: str) -> None:
        if path in self._extra:
            del self._extra[path]
            return
        self[path]
        self._dropped.add(path)

    def grouped_items(self) -> Iterator[tuple[str, str]]:
        """Every (path, id), each folder's one after another (see the module's text)."""
        extra = sorted(self._extra.items())
        order = self._blobs.order
        if order == 0:
            batch = sorted(self._batch())
            return heapq.merge(batch, extra)
        if order > 0:
            return heapq.merge(self._batch(), extra)
        return heapq.merge(self._batch(), reversed(extra), reverse=True)


def stored_paths(path: str, files: int) -> list[str]:
    """The paths of a blob stored at ``path`` as ``files`` files: itself, or its parts then
    ``SHA256SUMS`` in its folder."""
    if files == 1:
        return [path]
    return [f"{path}/{part_name(index)}" for index in range(files - 1)] + [f"{path}/{SUMS}"]
