"""The ``dulwich`` backend: git plumbing in pure Python, the default.

Batches of blobs go into one pack; a single small add writes loose objects, as git does.
Trees are rebuilt only along the changed paths. The branch moves by dulwich's locked
compare-and-swap. In a non-bare repository whose checked-out branch gained files, the files
are written to the working tree and added to the index under git's ``index.lock``.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import BinaryIO

from dulwich.client import GitClient, get_transport_and_path
from dulwich.errors import GitProtocolError, NotGitRepository
from dulwich.file import FileLocked
from dulwich.graph import find_merge_base
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
from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tree
from dulwich.pack import UnpackedObject
from dulwich.refs import Ref
from dulwich.repo import Repo

from gitblobts.core.backend import FILE_MODE, Backend, Identity, TreeEntry
from gitblobts.core.errors import PushRejectedError, RemoteError, RepositoryError
from gitblobts.core.hookspecs import hookimpl
from gitblobts.core.redaction import redact

_FOLDER_MODE = stat.S_IFDIR
_PACK_BYTES = 64 << 20
"""Blob contents buffered before a pack is written."""
_LOOSE_LIMIT = 16
"""Batches of at most this many objects are written loose rather than packed."""
_TREE_CACHE = 4096
_INDEX_LOCK_TIMEOUT = 10.0
DEFAULT_IDENTITY = Identity("gitblobts", "gitblobts@localhost")


class DulwichBackend(Backend):
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
        self._store = self._repo.object_store
        self._trees: OrderedDict[bytes, Tree] = OrderedDict()

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

    def _tree(self, oid: bytes) -> Tree:
        tree = self._trees.get(oid)
        if tree is None:
            obj = self._store[ObjectID(oid)]
            if not isinstance(obj, Tree):
                raise RepositoryError(f"object {oid.decode()} is not a tree")
            tree = obj
            self._trees[oid] = tree
            if len(self._trees) > _TREE_CACHE:
                self._trees.popitem(last=False)
        else:
            self._trees.move_to_end(oid)
        return tree

    def _commit_tree(self, commit: str) -> bytes:
        obj = self._store[ObjectID(commit.encode())]
        if not isinstance(obj, Commit):
            raise RepositoryError(f"object {commit} is not a commit")
        tree: bytes = obj.tree
        return tree

    def list_folder(self, commit: str, folder: str) -> list[TreeEntry]:
        tree = self._tree(self._commit_tree(commit))
        for part in folder.split("/") if folder else ():
            try:
                mode, oid = tree[part.encode()]
            except KeyError:
                return []
            if mode != _FOLDER_MODE:
                return []
            tree = self._tree(oid)
        return [
            TreeEntry(name.decode("utf-8", "surrogateescape"), oid.decode("ascii"), mode)
            for name, mode, oid in tree.iteritems()
        ]

    def read_blobs(self, oids: Iterable[str]) -> Iterator[bytes]:
        for oid in oids:
            try:
                obj = self._store[ObjectID(oid.encode())]
            except KeyError:
                raise RepositoryError(f"blob {oid} is missing from the repository") from None
            if not isinstance(obj, Blob):
                raise RepositoryError(f"object {oid} is not a blob")
            yield obj.as_raw_string()

    # Writing

    def write_blobs(self, contents: Iterable[bytes]) -> list[str]:
        oids: list[str] = []
        pending: list[ShaFile] = []
        pending_bytes = 0
        for content in contents:
            blob = Blob.from_string(content)
            oids.append(blob.id.decode("ascii"))
            pending.append(blob)
            pending_bytes += len(content)
            if pending_bytes >= _PACK_BYTES:
                self._add(pending)
                pending, pending_bytes = [], 0
        self._add(pending)
        return oids

    def _add(self, objects: list[ShaFile]) -> None:
        if len(objects) <= _LOOSE_LIMIT:
            for obj in objects:
                self._store.add_object(obj)
        else:
            self._store.add_objects([(obj, None) for obj in objects])

    def write_commit(
        self,
        parent: str | None,
        files: Mapping[str, str],
        message: str,
        author: Identity | None = None,
    ) -> str:
        new_objects: list[ShaFile] = []
        changes = [
            (path.encode().split(b"/"), ObjectID(oid.encode())) for path, oid in files.items()
        ]
        base = self._commit_tree(parent) if parent is not None else None
        root = self._apply(base, changes, b"", new_objects)
        commit = Commit()
        commit.tree = root
        commit.parents = [ObjectID(parent.encode())] if parent is not None else []
        who = str(author or self._identity()).encode("utf-8")
        now = int(time.time())
        offset = _local_utc_offset(now)
        commit.author = commit.committer = who
        commit.author_time = commit.commit_time = now
        commit.author_timezone = commit.commit_timezone = offset
        commit.encoding = b"UTF-8"
        commit.message = message.encode("utf-8")
        new_objects.append(commit)
        self._add(new_objects)
        return str(commit.id.decode("ascii"))

    def _apply(
        self,
        tree_id: bytes | None,
        changes: list[tuple[list[bytes], ObjectID]],
        prefix: bytes,
        new_objects: list[ShaFile],
    ) -> bytes:
        tree = Tree()
        if tree_id is not None:
            for name, mode, oid in self._tree(tree_id).iteritems():
                tree.add(name, mode, oid)
        nested: defaultdict[bytes, list[tuple[list[bytes], ObjectID]]] = defaultdict(list)
        for parts, oid in changes:
            if len(parts) > 1:
                nested[parts[0]].append((parts[1:], oid))
                continue
            name = parts[0]
            if name in tree and tree[name] != (FILE_MODE, oid):
                raise RepositoryError(
                    f"{(prefix + name).decode()}: a different file already exists there; "
                    "blobs are never overwritten"
                )
            tree.add(name, FILE_MODE, oid)
        for name, subchanges in nested.items():
            existing: bytes | None = None
            if name in tree:
                mode, existing = tree[name]
                if mode != _FOLDER_MODE:
                    raise RepositoryError(
                        f"{(prefix + name).decode()}: a file stands where a folder is needed"
                    )
            sub_id = self._apply(existing, subchanges, prefix + name + b"/", new_objects)
            tree.add(name, _FOLDER_MODE, ObjectID(sub_id))
        new_objects.append(tree)
        self._trees[tree.id] = tree
        return bytes(tree.id)

    def _identity(self) -> Identity:
        name = os.environ.get("GIT_AUTHOR_NAME")
        email = os.environ.get("GIT_AUTHOR_EMAIL")
        if name is None or email is None:
            config = self._repo.get_config_stack()
            with contextlib.suppress(KeyError):
                name = name or config.get((b"user",), b"name").decode("utf-8", "replace")
            with contextlib.suppress(KeyError):
                email = email or config.get((b"user",), b"email").decode("utf-8", "replace")
        return Identity(name or DEFAULT_IDENTITY.name, email or DEFAULT_IDENTITY.email)

    def compare_and_swap(self, ref: str, old: str | None, new: str) -> bool:
        message = b"gitblobts: commit"
        name = Ref(ref.encode())
        try:
            if old is None:
                added = self._repo.refs.add_if_new(name, ObjectID(new.encode()), message=message)
                return bool(added)
            return bool(
                self._repo.refs.set_if_equals(
                    name, ObjectID(old.encode()), ObjectID(new.encode()), message=message
                )
            )
        except FileLocked:
            return False

    # Working tree

    def check_out(self, files: Mapping[str, str]) -> None:
        if self.is_bare or not files:
            return
        root = self._repo.path
        index_path = self._repo.index_path()
        with _locked(index_path + ".lock") as lock:
            entries, version, extensions = self._read_index(index_path)
            for path, oid in files.items():
                target = os.path.join(root, *path.split("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                (content,) = self.read_blobs([oid])
                with open(target, "wb") as f:
                    f.write(content)
                entries[path.encode()] = index_entry_from_stat(
                    os.lstat(target), oid.encode(), mode=FILE_MODE
                )
            # The cached trees no longer describe the index: drop them, git rebuilds them.
            extensions = [e for e in extensions if not isinstance(e, TreeExtension)]
            writer = IndexChecksumWriter(lock)
            write_index_dict(writer, entries, version=version, extensions=extensions)
            writer.write_checksum()
            lock.flush()
            os.fsync(lock.fileno())
        os.replace(index_path + ".lock", index_path)

    @staticmethod
    def _read_index(
        index_path: str,
    ) -> tuple[dict[bytes, IndexEntry | ConflictedIndexEntry], int | None, list[IndexExtension]]:
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

    # Remotes

    def remotes(self) -> list[str]:
        config = self._repo.get_config()
        return [
            section[1].decode("utf-8", "surrogateescape")
            for section in config.sections()
            if len(section) == 2 and section[0] == b"remote"
        ]

    def upstream(self, branch: str) -> tuple[str, str] | None:
        section = (b"branch", _short(branch).encode())
        config = self._repo.get_config()
        try:
            remote = config.get(section, b"remote").decode()
            merge = config.get(section, b"merge").decode()
        except KeyError:
            return None
        return remote, merge

    def set_upstream(self, branch: str, remote: str, remote_ref: str) -> None:
        config = self._repo.get_config()
        section = (b"branch", _short(branch).encode())
        config.set(section, b"remote", remote.encode())
        config.set(section, b"merge", remote_ref.encode())
        config.write_to_path()

    def _url(self, remote: str) -> str:
        try:
            url: bytes = self._repo.get_config().get((b"remote", remote.encode()), b"url")
        except KeyError:
            raise RemoteError(f"{self._path}: no remote named {remote!r}") from None
        return url.decode("utf-8", "surrogateescape")

    def _client(self, url: str) -> tuple[GitClient, str]:
        """A transport for ``url``; ssh runs ``GIT_SSH_COMMAND`` (or ``GIT_SSH``) as git does."""
        ssh_command = os.environ.get("GIT_SSH_COMMAND") or os.environ.get("GIT_SSH")
        config = self._repo.get_config_stack()
        return get_transport_and_path(url, config=config, ssh_command=ssh_command or None)

    def fetch(self, remote: str, remote_ref: str) -> str | None:
        url = self._url(remote)
        client, path = self._client(url)

        def wants(refs: Mapping[Ref, ObjectID], depth: int | None = None) -> list[ObjectID]:
            oid = refs.get(Ref(remote_ref.encode()))
            return [oid] if oid is not None and oid not in self._store else []

        try:
            result = client.fetch(path, self._repo, determine_wants=wants)
        except (OSError, GitProtocolError) as error:
            raise RemoteError(
                f"cannot fetch from {remote} ({redact(url)}): {redact(str(error))}"
            ) from None
        oid = (result.refs or {}).get(Ref(remote_ref.encode()))
        if oid is None:
            return None
        self._set_tracking(remote, remote_ref, oid)
        return str(oid.decode("ascii"))

    def push(self, remote: str, commit: str, remote_ref: str, expected: str | None) -> bool:
        url = self._url(remote)
        client, path = self._client(url)
        ref = Ref(remote_ref.encode())
        moved = False

        def update_refs(refs: dict[Ref, ObjectID]) -> dict[Ref, ObjectID]:
            nonlocal moved
            current = refs.get(ref)
            if (current.decode("ascii") if current is not None else None) != expected:
                moved = True
                return {}
            return {ref: ObjectID(commit.encode())}

        def pack_data(
            have: AbstractSet[ObjectID],
            want: AbstractSet[ObjectID],
            *,
            ofs_delta: bool = False,
            progress: Callable[[bytes], None] | None = None,
        ) -> tuple[int, Iterator[UnpackedObject]]:
            return self._repo.generate_pack_data(set(have), set(want), ofs_delta=ofs_delta)

        try:
            result = client.send_pack(path.encode(), update_refs, generate_pack_data=pack_data)
        except (OSError, GitProtocolError) as error:
            message = redact(str(error))
            if "declined" in message or "rejected" in message or "denied" in message:
                raise PushRejectedError(
                    f"{remote} ({redact(url)}) refused the push: {message}"
                ) from None
            raise RemoteError(f"cannot push to {remote} ({redact(url)}): {message}") from None
        if moved:
            return False
        status = (result.ref_status or {}).get(ref)
        if status is not None:
            if any(word in status for word in ("non-fast-forward", "fetch first", "stale")):
                return False
            raise PushRejectedError(f"{remote} ({redact(url)}) refused the push: {redact(status)}")
        self._set_tracking(remote, remote_ref, ObjectID(commit.encode()))
        return True

    def _set_tracking(self, remote: str, remote_ref: str, oid: ObjectID) -> None:
        self._repo.refs[Ref(_tracking_ref(remote, remote_ref).encode())] = oid

    def tracking(self, remote: str, remote_ref: str) -> str | None:
        return self.resolve(_tracking_ref(remote, remote_ref))

    # History

    def merge_base(self, a: str, b: str) -> str | None:
        bases = find_merge_base(self._repo, [ObjectID(a.encode()), ObjectID(b.encode())])
        return bases[0].decode("ascii") if bases else None

    def first_parent_chain(self, tip: str, stop: str | None) -> list[str]:
        chain: list[str] = []
        commit: str | None = tip
        while commit is not None and commit != stop:
            chain.append(commit)
            commit, _ = self.commit_info(commit)
        chain.reverse()
        return chain

    def commit_info(self, commit: str) -> tuple[str | None, str]:
        obj = self._store[ObjectID(commit.encode())]
        if not isinstance(obj, Commit):
            raise RepositoryError(f"object {commit} is not a commit")
        parent = obj.parents[0].decode("ascii") if obj.parents else None
        return parent, obj.message.decode("utf-8", "replace")

    def added_files(self, base: str | None, tip: str) -> dict[str, str]:
        added: dict[str, str] = {}
        base_tree = self._commit_tree(base) if base is not None else None
        self._diff(base_tree, self._commit_tree(tip), "", added)
        return added

    def _diff(self, base: bytes | None, tip: bytes, prefix: str, added: dict[str, str]) -> None:
        if base == tip:
            return
        before = {} if base is None else {n: (m, o) for n, m, o in self._tree(base).iteritems()}
        for name, mode, oid in self._tree(tip).iteritems():
            old = before.get(name)
            if old == (mode, oid):
                continue
            path = prefix + name.decode("utf-8", "surrogateescape")
            if mode == _FOLDER_MODE:
                old_tree = old[1] if old is not None and old[0] == _FOLDER_MODE else None
                self._diff(old_tree, oid, path + "/", added)
            else:
                added[path] = oid.decode("ascii")

    def close(self) -> None:
        self._trees.clear()
        self._repo.close()


@contextlib.contextmanager
def _locked(lock_path: str) -> Iterator[BinaryIO]:
    """Create ``lock_path`` exclusively, as git does, waiting a while for another holder."""
    deadline = time.monotonic() + _INDEX_LOCK_TIMEOUT
    delay = 0.001
    while True:
        try:
            fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise RepositoryError(
                    f"{lock_path} exists: another git process is using the index; if none is, "
                    "remove the file"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
    lock = os.fdopen(fd, "wb")
    try:
        yield lock
    except BaseException:
        lock.close()
        os.unlink(lock_path)
        raise
    lock.close()


def _short(branch: str) -> str:
    return branch.removeprefix("refs/heads/")


def _tracking_ref(remote: str, remote_ref: str) -> str:
    return f"refs/remotes/{remote}/{_short(remote_ref)}"


def _local_utc_offset(when: int) -> int:
    """The local time zone's offset from UTC at ``when``, in seconds."""
    local = time.localtime(when)
    return local.tm_gmtoff or 0


@hookimpl
def gitblobts_register_backends(register: Callable[[type[Backend]], None]) -> None:
    """Provide the ``dulwich`` backend."""
    register(DulwichBackend)
