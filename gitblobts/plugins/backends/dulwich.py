"""The ``dulwich`` backend: git plumbing in pure Python, the default.

Batches of blobs go into one pack; a single small add writes loose objects, as git does.
Trees are rebuilt only along the changed paths (:func:`gitblobts.gitfiles.trees.edit`). The
branch moves by compare-and-swap under git's own ref lock
(:func:`gitblobts.gitfiles.refs.compare_and_swap`), not by dulwich. In a non-bare repository
whose checked-out branch gained files, the files are written to the working tree and added
to the index under git's ``index.lock``, taken as :mod:`gitblobts.gitfiles.locks` says.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, BinaryIO, TypeVar

from dulwich.client import (
    FetchPackResult,
    GitClient,
    LocalGitClient,
    get_transport_and_path,
)
from dulwich.config import ConfigFile
from dulwich.errors import NotGitRepository
from dulwich.graph import find_merge_base
from dulwich.index import IndexEntry
from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tree
from dulwich.refs import Ref
from dulwich.repo import Repo

from gitblobts.core.backend import FILE_MODE, Backend, Identity, TreeEntry
from gitblobts.core.errors import RemoteError, RepositoryError
from gitblobts.core.hookspecs import hookimpl
from gitblobts.core.redaction import redact
from gitblobts.gitfiles import checkouts, locks, objects, packs, refs, trees, worktree
from gitblobts.gitfiles.index import IndexWriter, NewEntry, Unreadable, Unsupported
from gitblobts.gitfiles.objectids import ObjectIds
from gitblobts.gitfiles.objects import (
    BLOB,
    COMMIT,
    TREE,
    loose_size,
)
from gitblobts.gitfiles.objectsink import ObjectSink
from gitblobts.gitfiles.packreceive import PackReceiver
from gitblobts.plugins.backends.base import DEFAULT_IDENTITY, TREE_CACHE
from gitblobts.plugins.backends.dulwichclone import DulwichClones
from gitblobts.plugins.backends.dulwichexchange import LOCK_TIMEOUT, TRANSPORT_ERRORS, exchanging
from gitblobts.plugins.backends.dulwichindex import read_index, rewrite_index
from gitblobts.plugins.backends.dulwichpush import DulwichPushes
from gitblobts.plugins.backends.packing import Packing

if TYPE_CHECKING:
    from dulwich.client import DetermineWantsFunc

_Kind = TypeVar("_Kind", bound=ShaFile)
"""A kind of git object, as dulwich reads it."""


class DulwichBackend(DulwichClones, DulwichPushes):
    """Git plumbing through dulwich."""

    name = "dulwich"

    def __init__(self, path: str) -> None:
        try:
            self._repo = Repo(path)
        except NotGitRepository:
            raise RepositoryError(
                f"{path}: not a git repository; create one with 'git init' first"
            ) from None
        except OSError as error:
            raise RepositoryError(f"{path}: cannot open the repository: {error}") from None
        self._path = path
        self._durable = False
        self._store = self._repo.object_store
        self._start_reading()
        self._roots: dict[str, str] = {}
        """Commit id to root tree id, for reads."""
        self._packs = packs.PackReader(os.fspath(self._store.path))
        self._packing = Packing(self._repo.commondir())
        self._settings: tuple[int | None, dict[str, str]] | None = None
        self._index: IndexWriter | None = None
        self._working_trees = checkouts.WorkingTrees(
            self._repo.controldir(), own_work_tree=not self._repo.bare
        )

    @property
    def is_bare(self) -> bool:
        return bool(self._repo.bare)

    def head_branch(self) -> str | None:
        head = self._repo.refs.read_ref(Ref(b"HEAD"))
        if head is None or not head.startswith(b"ref: "):
            return None
        return head[5:].strip().decode("utf-8", "surrogateescape")

    def resolve(self, ref: str) -> str | None:
        try:
            oid: bytes = self._repo.refs[Ref(ref.encode())]
        except KeyError:
            return None
        return oid.decode("ascii")

    # Reading

    def _object(self, oid: str, kind: type[_Kind]) -> _Kind:
        """Object ``oid`` as dulwich reads it (a partial clone's fetched first, if it lacks
        it); the error says if it is missing, damaged or not a ``kind``."""
        try:
            obj = self._store[ObjectID(oid.encode())]
        except KeyError:
            obj = self._fetched_object(oid, kind.type_name.decode())
        except Exception as error:
            raise _damaged(oid, error) from None
        if not isinstance(obj, kind):
            raise RepositoryError(f"object {oid} is not a {kind.type_name.decode()}")
        return obj

    def _root(self, commit: str) -> str:
        tree_id = self._roots.get(commit)
        if tree_id is None:
            tree_id = self._roots[commit] = self._object(commit, Commit).tree.decode("ascii")
            if len(self._roots) > TREE_CACHE:
                del self._roots[next(iter(self._roots))]
        return tree_id

    def _packed_tree(self, oid: str) -> bytes | None:
        return self._packs.read(oid, packs.TREE)

    def _packed_trees(self, oids: Iterable[str]) -> Iterator[bytes | None]:
        return packs.read_each(self._packs, oids, packs.TREE)

    def _read_tree(self, oid: str) -> bytes:
        raw = self._packs.read(oid, packs.TREE)
        if raw is not None:
            return raw
        # Not stored whole in a pack: dulwich finds it, or says why not.
        try:
            kind, raw = self._store.get_raw(ObjectID(oid.encode()))
        except KeyError:
            raise RepositoryError(f"tree {oid} is missing from the repository") from None
        except Exception as error:
            raise _damaged(oid, error) from None
        if kind != Tree.type_num:
            raise RepositoryError(f"object {oid} is not a tree")
        return raw

    def read_blobs(self, oids: Iterable[str]) -> Iterator[bytes]:
        oids = list(oids)
        for oid, data in zip(oids, packs.read_each(self._packs, oids, packs.BLOB), strict=True):
            if data is None:  # not whole in a pack: loose, or dulwich finds it (or says why not)
                data = objects.read_loose(os.fspath(self._store.path), oid, BLOB)
            yield data if data is not None else self._object(oid, Blob).as_raw_string()

    def blob_sizes(self, oids: Iterable[str]) -> Iterator[int]:
        size_in_pack = self._packs.size
        objects_dir = os.fspath(self._store.path)
        for oid in oids:
            size = size_in_pack(oid, packs.BLOB)
            if size is None:
                size = loose_size(objects_dir, oid, BLOB)
            if size is None:  # elsewhere (an alternate), or damaged: dulwich reads it, or says
                size = len(self._object(oid, Blob).as_raw_string())
            yield size

    # Writing

    def write_blobs(self, contents: Iterable[bytes | bytearray]) -> ObjectIds:
        with self._sink() as sink:
            for content in contents:
                sink.add(BLOB, content)
            return sink.finish()

    def _sink(self, *, keep_ids: bool = True) -> ObjectSink:
        return ObjectSink(os.fspath(self._store.path), durable=self._durable, keep_ids=keep_ids)

    def _commit_changes(
        self, parent: str | None, changes: trees.Changes, message: str, author: Identity | None
    ) -> str:
        base = self._root(parent) if parent is not None else None
        with self._sink(keep_ids=False) as sink:

            def write_tree(entries: list[TreeEntry]) -> str:
                return sink.add(TREE, trees.serialize(entries, ordered=True))  # as edit writes them

            root = self._edit_tree(base, changes, write_tree)
            stamp = refs.signature(author or self._identity(), int(time.time())).encode()
            lines = [b"tree " + root.encode("ascii")]
            if parent is not None:
                lines.append(b"parent " + parent.encode("ascii"))
            lines += [b"author " + stamp, b"committer " + stamp, b"", message.encode("utf-8")]
            commit = sink.add(COMMIT, b"\n".join(lines))
            sink.finish()
        return commit

    def _identity(self) -> Identity:
        name = os.environ.get("GIT_AUTHOR_NAME")
        email = os.environ.get("GIT_AUTHOR_EMAIL")
        if name is None or email is None:
            config = self._config()
            name = name or config.get("user.name")
            email = email or config.get("user.email")
        return Identity(name or DEFAULT_IDENTITY.name, email or DEFAULT_IDENTITY.email)

    def _config(self) -> dict[str, str]:
        """The few settings the write path needs, read once per change of the repository's
        configuration file rather than once per commit."""
        path = os.path.join(self._repo.controldir(), "config")
        try:
            signature = os.stat(path).st_mtime_ns
        except OSError:
            signature = None
        if self._settings is None or self._settings[0] != signature:
            stack = self._repo.get_config_stack()
            values: dict[str, str] = {}
            for section, name, key in (
                (b"user", b"name", "user.name"),
                (b"user", b"email", "user.email"),
                (b"core", b"logallrefupdates", "core.logallrefupdates"),
            ):
                with contextlib.suppress(KeyError):
                    values[key] = stack.get((section,), name).decode("utf-8", "replace")
            self._settings = (signature, values)
        return self._settings[1]

    def set_durable(self, durable: bool) -> None:
        self._durable = durable

    def compare_and_swap(self, ref: str, old: str | None, new: str) -> bool:
        self._working_trees.refuse_if_checked_out_elsewhere(ref)
        common = self._repo.commondir()
        checked_out = not self.is_bare and self.head_branch() == ref
        if checked_out:
            self._check_index()  # before the branch moves: the index must follow it
        setting = self._config().get("core.logallrefupdates")
        log = refs.keeps_log(common, ref, setting, self.is_bare)
        log_head = checked_out and refs.keeps_log(
            self._repo.controldir(), "HEAD", setting, self.is_bare
        )
        moved = refs.compare_and_swap(
            common,
            ref,
            old,
            new,
            log_as=(self._identity(), "gitblobts: commit") if log else None,
            head_log=self._repo.controldir() if log_head else None,
            durable=self._durable,
        )
        if moved:
            self._packing.committed()
        return moved

    # Working tree

    def _index_path(self) -> str:
        return str(self._repo.index_path())

    def _resync(self, lock: locks.Lock, is_store_file: Callable[[str], bool]) -> int:
        """Bring the index and working tree in step with the checked-out branch for the
        paths ``is_store_file`` accepts, under ``lock``, which this commits; return how many
        paths changed."""
        head = self.head_branch()
        commit = self.resolve(head) if head is not None else None
        in_branch = self.added_files(None, commit) if commit is not None else {}
        entries, _, _ = read_index(self._repo.index_path())
        files: dict[str, str] = {}
        for path, oid in in_branch.items():
            entry = entries.get(path.encode())
            if is_store_file(path) and (
                not isinstance(entry, IndexEntry) or entry.sha != oid.encode()
            ):
                files[path] = oid
        removed = [
            path
            for path in (raw.decode("utf-8", "surrogateescape") for raw in entries)
            if path not in in_branch and is_store_file(path)
        ]
        self._write_index(files, removed, lock)
        return len(files) + len(removed)

    def _write_index(self, files: Mapping[str, str], removed: list[str], lock: locks.Lock) -> None:
        """Write ``files`` to the working tree and index, delete ``removed`` from both, and
        commit the index ``lock``."""
        for path in [*files, *removed]:
            worktree.check_path(path)  # all of them, before anything changes
        root = self._repo.path
        index_path = self._repo.index_path()
        for path in removed:
            worktree.remove_file(root, path)
        written = {path: self._check_out_file(root, path, oid) for path, oid in files.items()}
        if removed or not self._splice_index(index_path, written, files, lock.file):
            if self._index is not None:
                self._index.forget()
            rewrite_index(index_path, written, files, removed, lock.file)
        lock.commit(index_path, durable=self._durable)
        if self._index is not None:
            self._index.written()

    def _check_out_file(self, root: str, path: str, oid: str) -> os.stat_result:
        (content,) = self.read_blobs([oid])
        return worktree.write_file(root, path, content)

    def _index_writer(self) -> IndexWriter:
        if self._index is None:
            self._index = IndexWriter(self._repo.index_path())
        return self._index

    def _check_index(self) -> None:
        """Refuse, before anything is committed, an index this backend cannot update."""
        try:
            self._index_writer().check()
        except Unreadable as error:
            raise RepositoryError(
                f"{self._repo.index_path()}: {error} is not supported by the dulwich backend; "
                "use backend='git', or turn it off (git update-index --no-split-index, "
                "git sparse-checkout disable)"
            ) from None

    def _splice_index(
        self,
        index_path: str,
        written: Mapping[str, os.stat_result],
        files: Mapping[str, str],
        lock: BinaryIO,
    ) -> bool:
        """Add the files to the index by splicing its bytes; ``False`` if it cannot be."""
        new = [
            NewEntry(path.encode(), bytes.fromhex(files[path]), stat_result, FILE_MODE)
            for path, stat_result in written.items()
        ]
        try:
            self._index_writer().add(new, lock)
        except Unsupported:
            self._index_writer().forget()
            lock.seek(0)
            lock.truncate()
            return False
        return True

    # Remotes

    def remotes(self) -> list[str]:
        config = self._repo.get_config()
        return [
            section[1].decode("utf-8", "surrogateescape")
            for section in config.sections()
            if len(section) == 2 and section[0] == b"remote"
        ]

    def upstream(self, branch: str) -> tuple[str, str] | None:
        section = (b"branch", refs.short_branch(branch).encode())
        config = self._repo.get_config()
        try:
            remote = config.get(section, b"remote").decode()
            merge = config.get(section, b"merge").decode()
        except KeyError:
            return None
        return remote, merge

    def set_upstream(self, branch: str, remote: str, remote_ref: str) -> None:
        path = os.path.join(self._repo.controldir(), "config")
        with locks.take(path + ".lock", timeout=LOCK_TIMEOUT) as lock:
            config = ConfigFile.from_path(path)
            section = (b"branch", refs.short_branch(branch).encode())
            config.set(section, b"remote", remote.encode())
            config.set(section, b"merge", remote_ref.encode())
            config.write_to_file(lock.file)
            lock.commit(path, durable=self._durable)

    def _url(self, remote: str) -> str:
        try:
            url: bytes = self._repo.get_config().get((b"remote", remote.encode()), b"url")
        except KeyError:
            raise RemoteError(f"{self._path}: no remote named {redact(repr(remote))}") from None
        return url.decode("utf-8", "surrogateescape")

    def _client(self, url: str) -> tuple[GitClient, str]:
        """A transport for ``url``; ssh runs ``GIT_SSH_COMMAND`` (or ``GIT_SSH``) as git does.
        Fetches ask for whole packs, not thin ones: :class:`PackReceiver` indexes them."""
        ssh_command = os.environ.get("GIT_SSH_COMMAND") or os.environ.get("GIT_SSH")
        config = self._repo.get_config_stack()
        return get_transport_and_path(
            url, config=config, ssh_command=ssh_command or None, thin_packs=False
        )

    def fetch(self, remote: str, remote_ref: str) -> str | None:
        url = self._url(remote)
        client, path = self._client(url)

        advertised: list[ObjectID | None] = []

        def wants(refs: Mapping[Ref, ObjectID], depth: int | None = None) -> list[ObjectID]:
            oid = refs.get(Ref(remote_ref.encode()))
            advertised.append(oid)
            return [oid] if oid is not None and oid not in self._store else []

        try:
            with exchanging(self._repo.commondir()), self._promised(remote) as spec:
                if isinstance(client, LocalGitClient):
                    result = client.fetch(path, self._repo, determine_wants=wants, filter_spec=spec)
                else:
                    result = self._fetch_pack(client, path, wants, spec)
        except TRANSPORT_ERRORS as error:
            raise RemoteError(
                f"cannot fetch from {remote} ({redact(url)}): {redact(str(error))}"
            ) from None
        # What was fetched: a local remote's refs are read again afterwards, and may have
        # moved on meanwhile, to commits not fetched.
        oid = advertised[0] if advertised else (result.refs or {}).get(Ref(remote_ref.encode()))
        if oid is None:
            return None
        self._set_tracking(remote, remote_ref, oid)
        return str(oid.decode("ascii"))

    def _fetch_pack(
        self, client: GitClient, path: str, wants: DetermineWantsFunc, spec: bytes | None
    ) -> FetchPackResult:
        """Fetch from ``path`` through ``client`` the objects ``wants`` names, as one pack
        that :class:`PackReceiver` writes and indexes (dulwich would index it in Python
        objects, several times slower). ``RemoteError`` if the pack is not valid."""
        walker = self._repo.get_graph_walker()
        with PackReceiver(os.fspath(self._store.path), durable=self._durable) as received:
            result = client.fetch_pack(path, wants, walker, received.write, filter_spec=spec)
            try:
                received.finish()
            except ValueError as error:
                raise RemoteError(f"{self._path}: the pack fetched from {path}: {error}") from None
        return result

    def _set_tracking(self, remote: str, remote_ref: str, oid: ObjectID) -> None:
        """Point the remote-tracking ref at ``oid``, under gitblobts' lock (a dead writer's
        is cleared)."""
        path = os.path.join(
            self._repo.commondir(), *refs.tracking_ref(remote, remote_ref).split("/")
        )
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with locks.take(path + ".lock", timeout=LOCK_TIMEOUT) as lock:
            lock.file.write(oid + b"\n")
            lock.commit(path, durable=self._durable)

    def tracking(self, remote: str, remote_ref: str) -> str | None:
        return self.resolve(refs.tracking_ref(remote, remote_ref))

    # History

    def merge_base(self, a: str, b: str) -> str | None:
        bases = find_merge_base(self._repo, [ObjectID(a.encode()), ObjectID(b.encode())])
        return bases[0].decode("ascii") if bases else None

    def commit_time(self, commit: str) -> int:
        return int(self._object(commit, Commit).commit_time)

    def commit_info(self, commit: str) -> tuple[str | None, str]:
        obj = self._object(commit, Commit)
        parent = obj.parents[0].decode("ascii") if obj.parents else None
        return parent, obj.message.decode("utf-8", "replace")

    def added_files(self, base: str | None, tip: str) -> dict[str, str]:
        added: dict[str, str] = {}
        base_tree = self._object(base, Commit).tree.decode() if base is not None else None
        self._diff_trees(base_tree, self._object(tip, Commit).tree.decode(), "", added)
        return added

    def close(self) -> None:
        self._trees.clear()
        self._roots.clear()
        self._packs.close()
        self._close_presence()
        self._repo.close()


def _damaged(oid: str, error: Exception) -> RepositoryError:
    """The error of an object dulwich cannot read for what it holds."""
    return RepositoryError(f"object {oid} is damaged ({error!r}); git fsck says what else is")


@hookimpl
def gitblobts_register_backends(register: Callable[[type[Backend]], None]) -> None:
    """Provide the ``dulwich`` backend."""
    register(DulwichBackend)
