"""Verifying keys: what :meth:`~gitblobts.Store.verify` checks under ``keys/`` besides the
versions themselves (which it reads as it reads every blob, binding their key's id).

- every entry of ``keys/`` is a shard (a folder named by two base32 characters), and every
  entry of a shard is a sub-shard (the same) or a key's folder, named as
  :func:`~gitblobts.core.keynames.key_name` names it, in one of its id's shards (at any
  level: :func:`~gitblobts.core.keynames.shard`);
- a key folder's label spells its key, whose id is the folder's (stores without
  encryption);
- every name record decodes (decrypts) to a key whose id is the folder's;
- a key folder holds name records, versions (files or parted blobs' folders, in the
  layout's folders: a misplaced one is reported when it is read) and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from gitblobts.core.backend import Backend
from gitblobts.core.errors import GitBlobTSError
from gitblobts.core.keynames import (
    ID_LENGTH,
    KEYS_FOLDER,
    is_shard_name,
    key_id,
    parse_folder,
    parse_record,
)
from gitblobts.core.naming import BlobName
from gitblobts.core.parts import is_part_path
from gitblobts.core.verify import Problem

ReadName = Callable[[str, str], str]
"""Reads a name record: ``(record path, key id)`` to the key's name; raises if it cannot."""


def key_problems(
    backend: Backend,
    commit: str,
    secret: bytes | None,
    parse: Callable[[str], BlobName | None],
    read_name: ReadName,
) -> tuple[int, list[Problem]]:
    """How many name records were checked, and every problem under ``keys/`` of ``commit``."""
    problems: list[Problem] = []
    records = 0
    for path, ident in _key_folders(backend, commit, problems):
        parsed = parse_folder(path.rpartition("/")[2])
        assert parsed is not None  # _key_folders yields only key folders
        if parsed.key is not None and key_id(parsed.key, secret) != ident:
            problems.append(Problem(path, "a key folder whose label is not its id's key"))
        found = 0
        for relative, is_file in _walk(backend, commit, path):
            full = f"{path}/{relative}"
            if "/" not in relative and is_file and parse_record(relative) is not None:
                found += 1
                records += 1
                try:
                    name = read_name(full, ident)
                except GitBlobTSError as error:
                    problems.append(Problem(full, f"a name record that cannot be read: {error}"))
                    continue
                if key_id(name, secret) != ident:
                    problems.append(Problem(full, "a name record of another key"))
            elif not _in_version(relative, parse):
                problems.append(Problem(full, "neither a version nor a name record"))
        if not found:
            problems.append(Problem(path, "a key folder without a name record"))
    return records, problems


def _key_folders(
    backend: Backend, commit: str, problems: list[Problem]
) -> Iterator[tuple[str, str]]:
    """``(path, id)`` of each key folder; a problem for anything else under ``keys/``."""
    for first in backend.list_folder(commit, KEYS_FOLDER):
        shard = f"{KEYS_FOLDER}/{first.name}"
        if not first.is_folder or not is_shard_name(first.name):
            problems.append(Problem(shard, "not a shard of key folders"))
            continue
        yield from _shard_folders(backend, commit, shard, first.name, problems)


def _shard_folders(
    backend: Backend, commit: str, shard: str, prefix: str, problems: list[Problem]
) -> Iterator[tuple[str, str]]:
    """:func:`_key_folders` in ``shard``, whose key ids start with ``prefix``."""
    for entry in backend.list_folder(commit, shard):
        path = f"{shard}/{entry.name}"
        if entry.is_folder and is_shard_name(entry.name) and len(prefix) < ID_LENGTH:
            yield from _shard_folders(backend, commit, path, prefix + entry.name, problems)
            continue
        parsed = parse_folder(entry.name) if entry.is_folder else None
        if parsed is None:
            problems.append(Problem(path, "neither a key folder nor a shard of key folders"))
        elif not parsed.id.startswith(prefix):
            problems.append(Problem(path, "a key folder in another id's shard"))
        else:
            yield path, parsed.id


def _walk(
    backend: Backend, commit: str, folder: str, prefix: str = ""
) -> Iterator[tuple[str, bool]]:
    """``(path relative to folder, is a regular file)`` of every entry that is not a
    folder, below ``folder``; a parted blob's folder counts as one file."""
    for entry in backend.list_folder(commit, folder):
        relative = f"{prefix}{entry.name}"
        if entry.is_folder:
            yield from _walk(backend, commit, f"{folder}/{entry.name}", relative + "/")
        else:
            yield relative, entry.is_file


def _in_version(relative: str, parse: Callable[[str], BlobName | None]) -> bool:
    """Whether the entry at ``relative`` in a key folder is (part of) a version, which the
    walk of every blob checks (its place too)."""
    if is_part_path(relative):
        relative = relative.rpartition("/")[0]
    return parse(relative.rpartition("/")[2]) is not None
