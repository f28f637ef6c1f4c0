"""The index file rewritten whole through dulwich, where splicing its bytes cannot add the
files (:mod:`gitblobts.gitfiles.index` does that): for the ``dulwich`` backend."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import BinaryIO

from dulwich.index import (
    ConflictedIndexEntry,
    IndexChecksumReader,
    IndexChecksumWriter,
    IndexEntry,
    IndexExtension,
    TreeExtension,
    index_entry_from_stat,
    read_index_dict_with_version,
    write_index_dict,
)

from gitblobts.core.backend import FILE_MODE
from gitblobts.core.errors import RepositoryError


def rewrite_index(
    index_path: str,
    written: Mapping[str, os.stat_result],
    files: Mapping[str, str],
    removed: list[str],
    lock: BinaryIO,
) -> None:
    """Add ``written`` (path to the stat of the file checked out; ``files`` gives its blob
    id) and remove ``removed`` by decoding the index at ``index_path`` and writing it whole
    into ``lock``."""
    entries, version, extensions = read_index(index_path)
    for path in removed:
        entries.pop(path.encode(), None)
    for path, stat_result in written.items():
        entries[path.encode()] = index_entry_from_stat(
            stat_result, files[path].encode(), mode=FILE_MODE
        )
    # The cached trees no longer describe the index: drop them, git rebuilds them.
    extensions = [e for e in extensions if not isinstance(e, TreeExtension)]
    writer = IndexChecksumWriter(lock)
    write_index_dict(writer, entries, version=version, extensions=extensions)
    writer.write_checksum()


def read_index(
    index_path: str,
) -> tuple[dict[bytes, IndexEntry | ConflictedIndexEntry], int | None, list[IndexExtension]]:
    """The index at ``index_path``: entries, version, extensions (none if it does not
    exist); a split index is refused."""
    if not os.path.exists(index_path):
        return {}, None, []
    with open(index_path, "rb") as f:
        reader = IndexChecksumReader(f)
        entries, version, extensions = read_index_dict_with_version(reader)
        reader.check_checksum(allow_empty=True)
    if any(getattr(e, "signature", b"") == b"link" for e in extensions):
        raise RepositoryError(
            f"{index_path}: a split index is not supported by the dulwich backend"
        )
    return entries, version, extensions
