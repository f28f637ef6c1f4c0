"""Verification: check every file of a store's branch and report what is wrong with each.

The walk covers the whole tree of the branch's commit, not only the folders queries read, so
blob files that queries would never see are found too. A file is a problem when

- its name is a blob file name, and its object cannot be read, or it does not decode as a
  read would decode it (decrypt, decompress), or it is not where the store's layout puts
  it (queries miss it): the store's check says so by raising;
- it sits in a folder that holds blobs (one that queries read, the root excepted), and it
  is not a regular file with a blob file name, nor one of :data:`NOT_BLOBS`;
- it is ``.gitblobts.json`` and does not hold a valid configuration.

Other files are not part of the store and are left alone: a store may share its repository
with other content (a README at the root, other folders). Checking goes on after a problem,
so one run lists them all. The check raises :class:`~gitblobts.KeyRequiredError` to stop:
without the key, every encrypted file would be reported, and the report would say nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from gitblobts.core import naming
from gitblobts.core.backend import Backend, TreeEntry
from gitblobts.core.config import CONFIG_PATH, StoreConfig
from gitblobts.core.errors import CorruptBlobError, GitBlobTSError, KeyRequiredError
from gitblobts.core.naming import BlobName

NOT_BLOBS = frozenset({".gitkeep"})
"""Names of files that are not blobs, and not problems, in folders that hold blobs."""

BlobCheck = Callable[[BlobName, str, bytes], None]
"""Checks one stored blob file, ``(name, path, stored bytes)``; raises if it is bad."""


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong with one file of the branch."""

    path: str
    """The file's path in the repository."""
    reason: str
    """What is wrong, in a phrase."""

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of :meth:`gitblobts.Store.verify`."""

    checked: int
    """How many files were checked."""
    problems: tuple[Problem, ...]
    """Every problem found, in path order."""

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems


def verify_tree(
    backend: Backend,
    commit: str | None,
    blob_folders: Collection[str],
    check_blob: BlobCheck,
    progress: Callable[[int, int], None] | None = None,
    parse: Callable[[str], BlobName | None] = naming.parse,
) -> VerifyReport:
    """Check the files of ``commit``'s tree (none for ``None``): blob files (names ``parse``
    recognises) with ``check_blob``, and every file in ``blob_folders`` (the folders queries
    read); call ``progress(checked, total)`` as it goes."""
    problems: list[Problem] = []
    work: list[tuple[str, list[tuple[str, TreeEntry, BlobName | None]]]] = []
    total = 0
    files = _files(backend, commit, "", problems) if commit is not None else iter(())
    for folder, entries in itertools.groupby(files, key=lambda item: item[0]):
        batch: list[tuple[str, TreeEntry, BlobName | None]] = []
        for _, entry in entries:
            path = f"{folder}/{entry.name}" if folder else entry.name
            name = parse(entry.name) if entry.is_file else None
            if name is not None or (not folder and entry.name == CONFIG_PATH and entry.is_file):
                batch.append((path, entry, name))
            elif folder in blob_folders and folder and entry.name not in NOT_BLOBS:
                reason = "not a blob file name" if entry.is_file else "not a regular file"
                problems.append(Problem(path, reason))
                total += 1
        work.append((folder, batch))
        total += len(batch)

    checked = total - sum(len(batch) for _, batch in work)
    if progress is not None:
        progress(checked, total)
    for _, batch in work:  # a folder's objects are read in one batch
        for (path, _, name), data in zip(batch, _read(backend, batch, problems), strict=True):
            if data is not None:
                problem = _check(name, path, data, check_blob)
                if problem is not None:
                    problems.append(problem)
            checked += 1
            if progress is not None:
                progress(checked, total)
    problems.sort(key=lambda problem: problem.path)
    return VerifyReport(total, tuple(problems))


def _files(
    backend: Backend, commit: str, folder: str, problems: list[Problem]
) -> Iterator[tuple[str, TreeEntry]]:
    """Every entry but folders under ``folder``, as ``(folder, entry)``, folder by folder."""
    try:
        entries = sorted(backend.list_folder(commit, folder), key=lambda entry: entry.name)
    except Exception as error:
        problems.append(Problem(folder, f"cannot read the folder: {_describe(error)}"))
        return
    subfolders = []
    for entry in entries:
        if entry.is_folder:
            subfolders.append(f"{folder}/{entry.name}" if folder else entry.name)
        else:
            yield folder, entry
    for subfolder in subfolders:
        yield from _files(backend, commit, subfolder, problems)


def _read(
    backend: Backend,
    batch: list[tuple[str, TreeEntry, BlobName | None]],
    problems: list[Problem],
) -> Iterator[bytes | None]:
    """The contents of ``batch``'s objects, lazily; ``None``, and a problem, for each one
    that cannot be read."""
    done = 0
    try:
        for data in backend.read_blobs([entry.oid for _, entry, _ in batch]):
            yield data
            done += 1
        return
    except Exception:  # noqa: S110 - find out which objects, one at a time
        pass
    for path, entry, _ in batch[done:]:
        try:
            (data,) = backend.read_blobs([entry.oid])
        except Exception as error:
            problems.append(Problem(path, f"cannot read object {entry.oid}: {_describe(error)}"))
            yield None
        else:
            yield data


def _check(name: BlobName | None, path: str, data: bytes, check_blob: BlobCheck) -> Problem | None:
    """The problem with one readable file, if any: a blob file, or the configuration."""
    try:
        if name is None:
            StoreConfig.from_bytes(data)
        else:
            check_blob(name, path, data)
    except KeyRequiredError:
        raise
    except CorruptBlobError as error:
        return Problem(path, error.reason)
    except Exception as error:
        return Problem(path, _describe(error))
    return None


def _describe(error: Exception) -> str:
    return str(error) if isinstance(error, GitBlobTSError) else repr(error)
