"""The backend contract: git plumbing, and nothing more.

A backend is a class with a ``name`` (``backend='dulwich'``), constructed with the path of an
existing repository (its working tree or, for a bare repository, its git directory). It
writes objects, reads trees and blobs, and moves a ref only if the ref still points where
the caller thinks (compare-and-swap). The :class:`~gitblobts.Store` is the porcelain built on
these verbs: it never touches repository files itself.

Object ids are lowercase hexadecimal strings; refs are full names (``refs/heads/main``);
paths are ``/``-separated and relative to the repository root.

Threads: a backend need not be thread-safe. A store makes one call at a time (see
:mod:`gitblobts.core.locking`), but for :meth:`Backend.write_blobs`, which may run in several
threads at once and alongside any other call: it must only add objects.

Errors: a backend raises :class:`~gitblobts.core.errors.RepositoryError` (or a subclass) for
repository problems. Anything else it raises is wrapped by core.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from gitblobts.core.errors import PluginError

FILE_MODE = 0o100644
"""The mode of every file the store writes."""
FOLDER_MODE = 0o040000
"""The mode of a tree's entry that is a folder (a tree)."""


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One entry of a git tree."""

    name: str
    oid: str
    mode: int

    @property
    def is_folder(self) -> bool:
        """Whether the entry is a tree (a folder)."""
        return self.mode == FOLDER_MODE

    @property
    def is_file(self) -> bool:
        """Whether the entry is a regular, non-executable or executable file."""
        return self.mode in (0o100644, 0o100755)

    @property
    def kind(self) -> str:
        """What the entry is, in words: ``'a folder'``, ``'a symbolic link'``..."""
        return _KINDS.get(self.mode) or f"an entry of mode {self.mode:o}"


_KINDS = {
    0o040000: "a folder",
    0o100644: "a file",
    0o100755: "an executable file",
    0o120000: "a symbolic link",
    0o160000: "a submodule",
}


Listing = tuple[list[tuple[str, str]], list[TreeEntry]]
"""A folder as :meth:`Backend.list_folders` lists it: ``(name, object id)`` of its files,
and its other entries."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a commit is by: ``name <email>``."""

    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Backend(abc.ABC):
    """Git plumbing for one repository; see the module docstring for the contract."""

    name: ClassVar[str]

    @abc.abstractmethod
    def __init__(self, path: str) -> None:
        """Open the existing repository at ``path``; raise ``RepositoryError`` if there is
        none."""

    @property
    @abc.abstractmethod
    def is_bare(self) -> bool:
        """Whether the repository has no working tree."""

    @abc.abstractmethod
    def head_branch(self) -> str | None:
        """The branch ``HEAD`` points at (``refs/heads/...``, born or not), ``None`` if
        ``HEAD`` is detached."""

    @abc.abstractmethod
    def resolve(self, ref: str) -> str | None:
        """The commit id ``ref`` points at, ``None`` if the ref does not exist."""

    @abc.abstractmethod
    def list_folder(self, commit: str, folder: str) -> list[TreeEntry]:
        """The entries of ``folder`` in ``commit``'s tree; ``[]`` if there is no such folder."""

    def entry(self, commit: str, path: str) -> TreeEntry | None:
        """The entry at ``path`` (not ``""``) in ``commit``'s tree, ``None`` if there is
        none. Finding one name among many (a key's folder among its shard's) calls this, so
        a backend may override it to skip listing the whole folder."""
        folder, _, name = path.rpartition("/")
        return next((e for e in self.list_folder(commit, folder) if e.name == name), None)

    def list_files(self, commit: str, folder: str) -> list[tuple[str, str]]:
        """``(name, object id)`` of the files (:attr:`TreeEntry.is_file`) of ``folder`` in
        ``commit``'s tree, as :meth:`list_folder` lists them. Reads call this once per folder
        and then once per name, so a backend may override it to skip making entries."""
        entries = self.list_folder(commit, folder)
        return [(entry.name, entry.oid) for entry in entries if entry.is_file]

    def list_non_files(self, commit: str, folder: str) -> list[TreeEntry]:
        """The entries of ``folder`` in ``commit``'s tree that :meth:`list_files` leaves out
        (folders, symbolic links, submodules). Reads call this after :meth:`list_files` of
        the same folder, to warn of such entries named like blobs, so a backend may
        override it to reuse that listing."""
        return [entry for entry in self.list_folder(commit, folder) if not entry.is_file]

    def list_folders(self, commit: str, folders: Iterable[str]) -> Iterator[Listing]:
        """:meth:`list_files` and :meth:`list_non_files` of each of ``folders`` in
        ``commit``'s tree, in order, lazily. A read of many folders calls this, so a backend
        should override it to find each folder from its parent's tree and to read the
        folders' trees in bulk; the default lists each folder by itself."""
        for folder in folders:
            yield self.list_files(commit, folder), self.list_non_files(commit, folder)

    @abc.abstractmethod
    def read_blobs(self, oids: Iterable[str]) -> Iterator[bytes]:
        """The contents of the blobs ``oids``, in order, lazily."""

    def blob_sizes(self, oids: Iterable[str]) -> Iterator[int]:
        """The sizes in bytes of the blobs ``oids``, in order, lazily; a missing object
        raises as :meth:`read_blobs` does. Listing calls it, so a backend should override it
        to read each object's header (git keeps an object's size there), not its contents:
        the default, for backends written before it, takes the length of
        :meth:`read_blobs`."""
        for data in self.read_blobs(oids):
            yield len(data)

    def may_lack_objects(self) -> bool:
        """Whether the repository may lack objects that it refers to (a partial clone's,
        which its promisor remote holds): reads then ask :meth:`missing` first. The
        default, for a backend that never lacks an object, is ``False``."""
        return False

    def missing(self, oids: Iterable[str]) -> list[str]:
        """Those of the objects ``oids`` the repository lacks (a partial clone's, which its
        promisor remote holds), in order, found without fetching any. The default, for a
        backend that never lacks an object, is ``[]``."""
        return []

    def fetch_objects(self, oids: Sequence[str]) -> None:
        """Fetch the objects ``oids`` (which :meth:`missing` named) from the repository's
        promisor remote, all in one request. The default refuses: a backend that can say
        objects are missing must fetch them."""
        raise PluginError(f"the {self.name!r} backend cannot fetch missing objects")

    @classmethod
    def clone(cls, url: str, path: str, *, bare: bool, partial: bool) -> bool:
        """Clone the repository at ``url`` into the new folder ``path`` (its working tree,
        or with ``bare`` the git directory), with ``partial`` commits and trees only: blob
        contents stay on the remote, which becomes the promisor remote ``origin``, until
        :meth:`fetch_objects` fetches them. Return whether the clone is partial: ``False``
        if the server ignored the filter and sent everything. The default refuses."""
        raise PluginError(f"the {cls.name!r} backend cannot clone; use backend='git'")

    @classmethod
    def create_repository(cls, path: str, *, branch: str, origin: str | None) -> bool:
        """Make the new bare repository ``path``, its ``HEAD`` the branch ``branch`` (a full
        name), with the remote ``origin`` if given (a sharded store makes its shards so);
        return ``False``, changing nothing, if ``path`` is there already and not an empty
        folder. The default refuses."""
        raise PluginError(f"the {cls.name!r} backend cannot create repositories")

    @abc.abstractmethod
    def write_blobs(self, contents: Iterable[bytes | bytearray]) -> Sequence[str]:
        """Store blob objects, consuming ``contents`` as it goes (it may be a long
        generator), and return their ids in order (a list, or a compact sequence such as
        :class:`~gitblobts.gitfiles.objectids.ObjectIds`). Objects need not be reachable
        yet. May run in several threads at once, and alongside any other call."""

    @abc.abstractmethod
    def write_commit(
        self,
        parent: str | None,
        files: Mapping[str, str],
        message: str,
        author: Identity | None = None,
        *,
        remove: Iterable[str] = (),
    ) -> str:
        """Write a commit whose tree is ``parent``'s tree plus ``files`` (path to blob id)
        minus the files at the paths ``remove``, and return its id. Only the changed paths
        of the tree are rebuilt; folders left empty go. A different file at a path of
        ``files``, or no file at a path of ``remove``, raises ``RepositoryError``. No ref
        moves. (Only :meth:`gitblobts.Store.migrate` removes files.)"""

    def set_durable(self, durable: bool) -> None:
        """With ``durable``, from now on return from :meth:`write_blobs`,
        :meth:`write_commit`, :meth:`compare_and_swap` and :meth:`check_out` only once what
        they wrote (objects, the ref and its log, the index) is on disk, synced with its
        folder, so that a power cut cannot take it back. A backend that cannot promise it
        keeps the default, which refuses."""
        if durable:
            raise PluginError(f"the {self.name!r} backend cannot make writes durable")

    @abc.abstractmethod
    def compare_and_swap(self, ref: str, old: str | None, new: str) -> bool:
        """Point ``ref`` at ``new`` if it points at ``old`` (``None``: if it does not exist).
        Return whether it did; ``False`` also when another writer holds the ref's lock."""

    @abc.abstractmethod
    def check_out(self, files: Mapping[str, str], removed: Iterable[str] = ()) -> None:
        """After the checked-out branch gained ``files`` (path to blob id) and lost the files
        at the paths ``removed``, bring the working tree and index in step: write the files
        and add them to the index, delete the removed ones from both (and the folders they
        leave empty). Non-bare only."""

    @contextlib.contextmanager
    def holding_index(self, is_store_file: Callable[[str], bool]) -> Iterator[None]:
        """Hold the index lock (in a working tree) until the block ends: a
        :meth:`compare_and_swap` of the checked-out branch and the :meth:`check_out` that
        follows, both in the block, are then one step for every other writer of the index,
        and a writer killed between them leaves a dead lock behind, which proves that the
        index may lag behind the branch. Taking a lock whose gitblobts holder died first
        does what :meth:`repair_index` does. A backend without an index lock of its own
        holds nothing (the default): its :meth:`check_out` takes what it needs."""
        yield

    def repair_index(self, is_store_file: Callable[[str], bool]) -> int:
        """If a gitblobts writer died holding the index lock (see :meth:`holding_index`),
        clear the lock and bring the index and working tree in step with the checked-out
        branch for the paths ``is_store_file`` accepts, and no others: check out the files
        the index lacks or holds otherwise, drop those the branch lacks. Return how many
        paths changed. Costs one ``stat`` when there is no lock; a live holder's lock, or
        one of git's, is left alone. The default does nothing."""
        return 0

    # Remotes. Remote names are those of the repository's configuration (``origin``);
    # ``remote_ref`` is the full ref on the remote (``refs/heads/main``). Unreachable remotes
    # raise RemoteError; a refusal other than "the remote has moved on" raises
    # PushRejectedError.

    @abc.abstractmethod
    def remotes(self) -> list[str]:
        """Names of the configured remotes."""

    @abc.abstractmethod
    def upstream(self, branch: str) -> tuple[str, str] | None:
        """The ``(remote, remote_ref)`` that ``branch`` tracks, if configured."""

    @abc.abstractmethod
    def set_upstream(self, branch: str, remote: str, remote_ref: str) -> None:
        """Make ``branch`` track ``remote_ref`` of ``remote``."""

    @abc.abstractmethod
    def fetch(self, remote: str, remote_ref: str) -> str | None:
        """Fetch ``remote_ref`` from ``remote`` (objects and remote-tracking ref); return the
        commit it points at there, ``None`` if the remote has no such ref."""

    @abc.abstractmethod
    def push(self, remote: str, commit: str, remote_ref: str, expected: str | None) -> bool:
        """Point ``remote_ref`` of ``remote`` at ``commit`` if it still points at
        ``expected`` (``None``: absent). Return ``False`` if the remote has moved on."""

    @abc.abstractmethod
    def tracking(self, remote: str, remote_ref: str) -> str | None:
        """What ``remote_ref`` of ``remote`` pointed at when last fetched or pushed."""

    @abc.abstractmethod
    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of commits ``a`` and ``b``, if any."""

    @abc.abstractmethod
    def first_parent_chain(self, tip: str, stop: str | None) -> list[str]:
        """Commits from ``tip`` back along first parents until ``stop`` (excluded; ``None``:
        to the root), oldest first."""

    @abc.abstractmethod
    def commit_time(self, commit: str) -> int:
        """When ``commit`` was made: its committer time, in seconds since the epoch."""

    @abc.abstractmethod
    def commit_info(self, commit: str) -> tuple[str | None, str]:
        """A commit's first parent (``None`` for a root commit) and message."""

    @abc.abstractmethod
    def added_files(self, base: str | None, tip: str) -> dict[str, str]:
        """Files (path to blob id) in ``tip``'s tree that ``base``'s tree lacks."""

    def removals(self, tip: str) -> Iterator[tuple[str, str, list[str]]]:
        """Along ``tip``'s first parents, newest first, each commit that removes or changes
        files of its first parent's tree: the commit, its message, and those paths. The
        default diffs each commit's tree against its parent's along changed paths only."""
        commit: str | None = tip
        while commit is not None:
            parent, message = self.commit_info(commit)
            if parent is not None:
                gone = list(self.added_files(commit, parent))
                if gone:
                    yield commit, message, gone
            commit = parent

    def close(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Release processes, files and caches. The backend is unusable afterwards."""
