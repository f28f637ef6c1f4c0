"""Verification: check every file of a store's branch and report what is wrong with each.

The walk covers the whole tree of the branch's commit, not only the folders queries read, so
blob files that queries would never see are found too. An entry is a problem when

- its name is a blob file name, it is a regular file, and its object cannot be read, or
  holds other bytes than its id says (a damaged or tampered object), or does not decode as
  a read would decode it (decrypt, decompress), or is not where the store's layout puts it
  (queries miss it): the store's check says so by raising;
- its name is a blob file name and it is a folder: a parted blob, checked streaming (its
  parts and ``SHA256SUMS``, each part's hash, decryption and decoding: see
  :mod:`gitblobts.core.parts`), one problem for whatever is wrong with it;
- its name is a blob file name and it is not a regular file (a symbolic link, a submodule, a
  folder in a store of a format without parts): queries skip it (see
  :mod:`gitblobts.core.foreign`);
- it sits in a folder that holds blobs (one that queries read, the root excepted), and it
  is not a regular file with a blob file name, nor one of :data:`NOT_BLOBS`, nor a folder
  the layout keeps blobs under;
- it is not a folder, and stands where the layout keeps a folder of blobs (a file ``2026``
  at the root of an ``hourly`` store), so that blobs of those times cannot be added;
- it is ``.gitblobts.json`` and is not a regular file holding a valid configuration;
- it is a blob file that a commit of the branch's first-parent history removed, and the
  branch lacks it (lost: see :func:`lost_blobs`);
- it is under ``content/`` (:mod:`gitblobts.core.addresses`), and is not a folder of two
  hex digits (``content/ab``, ``content/ab/cd``) nor a content file (or a parted one's
  folder) in the folder of its file id; a content file is read and decoded as a read would,
  and its contents hashed: a hash other than its file id says is a problem.

Other files are not part of the store and are left alone: a store may share its repository
with other content (a README at the root, other folders). Checking goes on after a problem,
so one run lists them all: a folder that cannot be read is one problem, and the rest of the
tree is still checked. An encrypted file the check has no key for is one problem too (a
file planted in a store without encryption); :meth:`gitblobts.Store.verify` asks for the
key of an encrypted store before it starts, rather than report every file.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gitblobts.core import addresses, foreign, naming
from gitblobts.core.backend import Backend, TreeEntry
from gitblobts.core.config import CONFIG_PATH, StoreConfig
from gitblobts.core.errors import (
    CorruptBlobError,
    GitBlobTSError,
    KeyRequiredError,
    PluginError,
    UnknownPluginError,
)
from gitblobts.core.layout import Layout
from gitblobts.core.naming import BlobName
from gitblobts.core.reading import FETCH_BATCH
from gitblobts.core.timestamps import MAX_NS, MIN_NS

NOT_BLOBS = frozenset({".gitkeep"})
"""Names of files that are not blobs, and not problems, in folders that hold blobs."""

BlobCheck = Callable[[BlobName, str, bytes], None]
"""Checks one stored blob file, ``(name, path, stored bytes)``; raises if it is bad."""
PartedCheck = Callable[[BlobName, str], None]
"""Checks one parted blob's folder, ``(name, path)``, streaming; raises if it is bad."""


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


_Work = list[tuple[str, TreeEntry, BlobName | None]]
"""Files of one folder to read and check: path, entry, parsed name (``None``: the
configuration)."""


def verify_tree(
    backend: Backend,
    commit: str | None,
    layout: Layout,
    check_blob: BlobCheck,
    progress: Callable[[int, int], None] | None = None,
    parse: Callable[[str], BlobName | None] = naming.parse,
    lost: Callable[[frozenset[str]], list[Problem]] | None = None,
    check_parted: PartedCheck | None = None,
    check_content: tuple[BlobCheck, PartedCheck] | None = None,
) -> VerifyReport:
    """Check the entries of ``commit``'s tree (none for ``None``): blob files (names
    ``parse`` recognises) with ``check_blob``, every entry of the folders ``layout`` reads,
    and what stands where ``layout`` keeps folders; call ``progress(checked, total)`` as it
    goes. ``lost``: given the names of every file of the tree, the blobs its history lost
    (see :func:`lost_blobs`). ``check_parted``: checks a folder named like a blob, a parted
    blob (see :mod:`gitblobts.core.parts`); without it such a folder is a problem.
    ``check_content``: checks a content file, and a parted one's folder; without it
    ``content/`` is left alone."""
    problems: list[Problem] = []
    parted: list[tuple[str, BlobName]] = []
    if commit is None:
        return VerifyReport(0, ())
    structure = _Structure(backend, commit, layout)
    problems += structure.problems
    work: list[_Work] = []
    total = len(problems)
    names: set[str] = set()
    for folder, entries in itertools.groupby(
        _entries(backend, commit, "", problems), key=lambda item: item[0]
    ):
        batch: _Work = []
        for _, entry in entries:
            path = f"{folder}/{entry.name}" if folder else entry.name
            if not entry.is_folder:
                names.add(entry.name)
            if check_content is not None and _is_content(folder, entry):
                verdict = _content_verdict(folder, entry)
                if isinstance(verdict, Problem):
                    problems.append(verdict)
                    total += 1
                elif verdict is not None and entry.is_file:
                    batch.append((path, entry, verdict))
                elif verdict is not None:
                    parted.append((path, verdict))
                    total += 1
                continue
            name = parse(entry.name)
            if name is not None and entry.is_file:
                batch.append((path, entry, name))
            elif name is not None and entry.is_folder and check_parted is not None:
                names.add(entry.name)
                parted.append((path, name))
                total += 1
            elif not folder and entry.name == CONFIG_PATH:
                if entry.is_file:
                    batch.append((path, entry, None))
                else:
                    problems.append(Problem(path, f"{entry.kind}, not a regular file"))
                    total += 1
            elif name is not None:
                problems.append(Problem(path, f"{foreign.not_a_file(entry)}: queries skip it"))
                total += 1
            elif folder in structure.blob_folders and folder and entry.name not in NOT_BLOBS:
                if entry.is_folder and path in structure.layout_folders:
                    continue
                reason = "not a blob file name" if entry.is_file else f"{entry.kind} among blobs"
                problems.append(Problem(path, reason))
                total += 1
        work.append(batch)
        total += len(batch)
    if lost is not None:
        problems += lost(frozenset(names))

    checked = total - sum(len(batch) for batch in work)
    if progress is not None:
        progress(checked, total)
    for batch in _fetched(backend, work):  # a folder's objects are read in one batch
        for (path, entry, name), data in zip(batch, _read(backend, batch, problems), strict=True):
            if data is not None:
                check = check_blob
                if isinstance(name, addresses.ContentName) and check_content is not None:
                    check = check_content[0]
                problem = _check(name, path, entry.oid, data, check)
                if problem is not None:
                    problems.append(problem)
            checked += 1
            if progress is not None:
                progress(checked, total)
    for path, name in parted:
        if isinstance(name, addresses.ContentName) and check_content is not None:
            problem = _check_parted(name, path, check_content[1])
        else:
            assert check_parted is not None  # parted blobs are only found with it
            problem = _check_parted(name, path, check_parted)
        if problem is not None:
            problems.append(problem)
        checked += 1
        if progress is not None:
            progress(checked, total)
    problems.sort(key=lambda problem: problem.path)
    return VerifyReport(total, tuple(problems))


def _is_content(folder: str, entry: TreeEntry) -> bool:
    """Whether ``entry`` of ``folder`` is ``content/`` or under it."""
    root = addresses.CONTENT_FOLDER
    return folder == root or folder.startswith(root + "/") or (not folder and entry.name == root)


def _content_verdict(folder: str, entry: TreeEntry) -> Problem | BlobName | None:
    """What ``entry`` of ``folder`` (``content/`` or under it) is: a content file's name
    (a file to check, or a folder of parts), nothing to check (a shard folder, or an entry
    inside a folder that is judged itself), or a problem."""
    path = f"{folder}/{entry.name}" if folder else entry.name
    names = path.split("/")
    depth = len(names) - 1
    if not all(_SHARD.fullmatch(name) for name in names[1 : min(depth, 3)]):
        return None  # inside an entry that is a problem itself
    if depth == 0 or (depth < 3 and _SHARD.fullmatch(entry.name)):
        if entry.is_folder:
            return None
        return Problem(path, f"{entry.kind} where content-addressed files keep a folder")
    if depth > 3:
        return None  # a part of a parted content file, or inside an entry that is judged
    name = addresses.parse_name(entry.name) if depth == 3 else None
    if name is None:
        return Problem(path, f"{entry.kind} under {addresses.CONTENT_FOLDER}/ that is not content")
    if addresses.folder(name.file_id) != folder:
        return Problem(path, f"misplaced: its file id belongs in {addresses.folder(name.file_id)}/")
    if not (entry.is_file or entry.is_folder):
        return Problem(path, f"{entry.kind} named like a content file, not a regular file")
    return name


_SHARD = re.compile("[0-9a-f]{2}")


class _Structure:
    """The folders ``layout`` reads in ``commit``, found as queries find them, and what
    stands where the layout keeps folders but is not one."""

    def __init__(self, backend: Backend, commit: str, layout: Layout) -> None:
        self._backend = backend
        self._commit = commit
        self._layout_name = layout.name
        self._not_folders: dict[str, TreeEntry] = {}
        """Entries listed so far that are not folders, by path."""
        self._reported: set[str] = set()
        self.problems: list[Problem] = []
        """Entries that are not folders where the layout keeps folders."""
        found = [
            folder
            for folder in layout.folders(self, MIN_NS, MAX_NS)
            if not self._in_the_way(folder)
        ]
        self.blob_folders = frozenset(found)
        """The folders queries read."""
        self.layout_folders = frozenset(
            "/".join(parts[:end])
            for parts in (folder.split("/") for folder in found if folder)
            for end in range(1, len(parts) + 1)
        )
        """The folders queries read and the folders above them."""

    def subfolders(self, folder: str) -> list[str]:
        """The names of every entry of ``folder``, folders or not, so that the layout goes
        where it would keep folders; an entry that is not a folder is reported there."""
        if self._in_the_way(folder):
            return []
        try:
            entries = self._backend.list_folder(self._commit, folder)
        except Exception:  # the walk of every entry reports the folder
            return []
        prefix = f"{folder}/" if folder else ""
        for entry in entries:
            if not entry.is_folder:
                self._not_folders[prefix + entry.name] = entry
        return [entry.name for entry in entries]

    def _in_the_way(self, folder: str) -> bool:
        """Whether ``folder`` is an entry that is not a folder (and report it once)."""
        entry = self._not_folders.get(folder)
        if entry is None:
            return False
        if folder not in self._reported:
            self._reported.add(folder)
            self.problems.append(
                Problem(
                    folder,
                    f"{entry.kind} where layout {self._layout_name!r} keeps a folder of "
                    "blobs: queries find no blobs in it, and blobs of its times cannot be "
                    "added until it is moved",
                )
            )
        return True


MIGRATION_MESSAGE = "gitblobts: migrate "
"""How the message of a commit of :meth:`gitblobts.Store.migrate` begins: the files it
removes were rewritten, not lost."""


def lost_blobs(
    backend: Backend,
    tip: str,
    names: frozenset[str],
    blob_of: Callable[[str], str | None],
    is_migrated: Callable[[str], bool],
) -> list[Problem]:
    """A problem for each blob (``blob_of`` a removed file's path: the blob's path, itself or
    the folder of a parted blob's part, or ``None``) that a commit of ``tip``'s first-parent
    history removed and whose name is none of ``names``, the names of the blobs of ``tip``'s
    tree (a blob's name is unique: one moved elsewhere is not lost): a user's
    ``git commit -a`` over an index that had not caught up with the store, say. The files
    a migration rewrote (``is_migrated``: of a format that records no configuration) are
    not lost. The walk stops at a
    commit or tree it cannot read: damage is reported where the tip's tree has it, and
    ``git fsck`` finds it in history."""
    removed_by: dict[str, tuple[str, str]] = {}
    """Path of each blob removed, to the newest commit that removed it and its subject."""
    try:
        for commit, message, paths in backend.removals(tip):
            migrated = message.startswith(MIGRATION_MESSAGE)
            for path in map(blob_of, paths):
                if path is not None and not (migrated and is_migrated(path)):
                    removed_by.setdefault(path, (commit, message.partition("\n")[0]))
    except Exception:  # noqa: S110 - see the docstring
        pass
    return [
        Problem(
            path,
            f"lost: commit {commit} ({subject!r}) removed it from the branch; restore it "
            f"with 'git checkout {commit}~1 -- {path}' and commit ('git revert {commit}' "
            "restores all that commit removed)",
        )
        for path, (commit, subject) in removed_by.items()
        if path.rpartition("/")[2] not in names
    ]


def _entries(
    backend: Backend, commit: str, folder: str, problems: list[Problem]
) -> Iterator[tuple[str, TreeEntry]]:
    """Every entry under ``folder`` (folders too), as ``(folder, entry)``, folder by
    folder."""
    try:
        entries = sorted(backend.list_folder(commit, folder), key=lambda entry: entry.name)
    except Exception as error:
        path = folder or "."
        problems.append(Problem(path, f"cannot read the folder: {_describe(error)}"))
        return
    subfolders = []
    for entry in entries:
        if entry.is_folder:
            subfolders.append(f"{folder}/{entry.name}" if folder else entry.name)
        yield folder, entry
    for subfolder in subfolders:
        yield from _entries(backend, commit, subfolder, problems)


def _fetched(backend: Backend, work: list[_Work]) -> Iterator[_Work]:
    """The folders' batches of ``work``, each once the objects of its files are in the
    repository: in a partial clone, those it lacks are fetched for up to
    :data:`~gitblobts.core.reading.FETCH_BATCH` files of several folders at once (as a
    query's, :meth:`~gitblobts.core.reading.Reading.fetched`), not one request per folder."""
    if not backend.may_lack_objects():
        yield from work
        return
    start = 0
    while start < len(work):
        end, files = start, 0
        while end < len(work) and files < FETCH_BATCH:
            files += len(work[end])
            end += 1
        missing = backend.missing(entry.oid for batch in work[start:end] for _, entry, _ in batch)
        if missing:
            backend.fetch_objects(missing)
        yield from work[start:end]
        start = end


def _read(backend: Backend, batch: _Work, problems: list[Problem]) -> Iterator[bytes | None]:
    """The contents of ``batch``'s objects, lazily; ``None``, and a problem, for each one
    that cannot be read. In a partial clone :func:`_fetched` fetched what they lack."""
    done = 0
    oids = [entry.oid for _, entry, _ in batch]
    try:
        for data in backend.read_blobs(oids):
            yield data
            done += 1
        return
    except Exception:  # noqa: S110 - find out which objects, one at a time
        pass
    for path, entry, _ in batch[done:]:
        try:
            (data,) = backend.read_blobs([entry.oid])
        except Exception as error:
            problems.append(Problem(path, f"cannot read its object: {_describe(error)}"))
            yield None
        else:
            yield data


def _check(
    name: BlobName | None, path: str, oid: str, data: bytes, check_blob: BlobCheck
) -> Problem | None:
    """The problem with one readable file, if any: a blob file, or the configuration."""
    if _blob_id(data, len(oid)) != oid:
        return Problem(
            path,
            f"object {oid} holds other bytes than its id says: the repository is damaged, "
            "or was tampered with",
        )
    try:
        if name is None:
            StoreConfig.from_bytes(data)
        else:
            check_blob(name, path, data)
    except KeyRequiredError:
        return Problem(path, "encrypted, and no key was given to check it with")
    except CorruptBlobError as error:
        return Problem(path, error.reason)
    except UnknownPluginError as error:  # the file needs a plugin not installed here
        return Problem(path, _describe(error))
    except PluginError:
        raise  # a plugin's bug: the store cannot be judged with it
    except Exception as error:
        return Problem(path, _describe(error))
    return None


def _check_parted(name: BlobName, path: str, check_parted: PartedCheck) -> Problem | None:
    """The problem with one parted blob, if any."""
    try:
        check_parted(name, path)
    except KeyRequiredError:
        return Problem(path, "encrypted, and no key was given to check it with")
    except CorruptBlobError as error:
        return Problem(path, error.reason)
    except PluginError:
        raise
    except Exception as error:
        return Problem(path, _describe(error))
    return None


def _blob_id(data: bytes, hex_digits: int = 40) -> str:
    """The id git gives a blob of ``data``: SHA-1, or SHA-256 for ids of 64 digits."""
    digest = hashlib.sha256() if hex_digits == 64 else hashlib.sha1()  # noqa: S324 - git's id
    digest.update(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


def _describe(error: Exception) -> str:
    """What went wrong, on one line."""
    text = str(error) if isinstance(error, GitBlobTSError) else repr(error)
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())
