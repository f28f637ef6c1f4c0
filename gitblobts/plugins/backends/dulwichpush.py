"""Pushes of the ``dulwich`` backend (:class:`DulwichPushes` is one of its bases): over a
transport through dulwich's client, and to a repository by path under gitblobts' locks.

What a push sends is found from what the store knows, not by a walk of everything the
remote has: the commits between the remote's tip and ours, and for each the trees and
blobs that differ from its parent's (:meth:`DulwichPushes._outgoing`). Those objects go as
their stored bytes (:mod:`gitblobts.gitfiles.packsend`), copied from our packs. Commits that
are not one line of single-parent commits on the remote's tip (a merge, another tool's
history) are left to dulwich's general pack generation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, TypeVar

from dulwich.client import GitClient, LocalGitClient
from dulwich.errors import NotGitRepository, SendPackError
from dulwich.file import FileLocked
from dulwich.objects import Commit, ObjectID, ShaFile
from dulwich.pack import UnpackedObject
from dulwich.refs import Ref
from dulwich.repo import Repo

from gitblobts.core.backend import Identity
from gitblobts.core.errors import PushRejectedError, RemoteError
from gitblobts.core.redaction import redact
from gitblobts.gitfiles import packs, packsend, refs, trees
from gitblobts.gitfiles.objects import PackWriter
from gitblobts.plugins.backends.base import TreeReadingBackend
from gitblobts.plugins.backends.dulwichexchange import (
    TRANSPORT_ERRORS,
    check_current_branch,
    exchanging,
    refused_push,
)

_Kind = TypeVar("_Kind", bound=ShaFile)
_MOVED_ON = ("non-fast-forward", "fetch first", "stale", "unable to set")
"""Push statuses meaning the remote moved on (the last: a local remote's, as dulwich set it)."""
_MOVED_MEANWHILE = b"cannot lock ref"
"""What git's remote says when another push moved (or was moving) its branch: moved on too."""
_ZERO_ID = ObjectID(b"0" * 40)
_GITLINK = 0o160000
"""A submodule's entry: a commit of another repository, not an object of this one."""


class DulwichPushes(TreeReadingBackend):
    """The push verb of the ``dulwich`` backend."""

    _repo: Repo
    _path: str
    _packs: packs.PackReader
    _durable: bool

    if TYPE_CHECKING:

        def _object(self, oid: str, kind: type[_Kind]) -> _Kind: ...
        def _identity(self) -> Identity: ...
        def _url(self, remote: str) -> str: ...
        def _client(self, url: str) -> tuple[GitClient, str]: ...
        def _set_tracking(self, remote: str, remote_ref: str, oid: ObjectID) -> None: ...

    def push(self, remote: str, commit: str, remote_ref: str, expected: str | None) -> bool:
        url = self._url(remote)
        client, path = self._client(url)
        ref = Ref(remote_ref.encode())
        moved = False
        said: list[bytes] = []  # what the remote said while receiving the push

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
            return self._pack_data(set(have), set(want), expected, commit)

        if isinstance(client, LocalGitClient):
            check_current_branch(path, remote_ref, f"{remote} ({redact(url)})")
            if not self._push_to_path(path, commit, remote_ref, expected):
                return False
            self._set_tracking(remote, remote_ref, ObjectID(commit.encode()))
            return True
        try:
            result = client.send_pack(
                path.encode(), update_refs, generate_pack_data=pack_data, progress=said.append
            )
        except FileLocked:
            return False  # a local remote's branch, being moved by another writer right now
        except SendPackError as error:  # the remote refused the pack (receive.maxInputSize)
            reason = error.args[0] if error.args else b""
            raise refused_push(f"{remote} ({redact(url)})", reason, said) from None
        except TRANSPORT_ERRORS as error:
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
            if any(word in status for word in _MOVED_ON) or _MOVED_MEANWHILE in b"".join(said):
                return False
            raise refused_push(f"{remote} ({redact(url)})", status, said)
        self._set_tracking(remote, remote_ref, ObjectID(commit.encode()))
        return True

    def _pack_data(
        self, have: set[ObjectID], want: set[ObjectID], theirs: str | None, commit: str
    ) -> tuple[int, Iterator[UnpackedObject]]:
        """The objects a push of ``commit`` onto ``theirs`` sends, for dulwich's client: as
        stored, joined into pieces of :data:`packsend.BATCH` bytes (each record but the
        last of a piece carries no bytes; the client writes a record's bytes as they are)."""
        oids = self._outgoing(theirs, commit)
        if oids is None:
            return self._repo.generate_pack_data(have, want, ofs_delta=True)
        outgoing = self._sender()
        records = (
            _record(entry, piece) for entry, piece in packsend.batches(outgoing.entries(oids))
        )
        return len(oids), records

    def _sender(self) -> packsend.Outgoing:
        store = self._repo.object_store

        def read_whole(oid: str) -> tuple[int, bytes]:
            kind, data = store.get_raw(ObjectID(oid.encode()))
            return kind, data

        return packsend.Outgoing(os.fspath(store.path), self._packs, read_whole)

    def _outgoing(self, theirs: str | None, commit: str) -> list[str] | None:
        """The ids of the objects ``commit`` reaches and ``theirs`` (``None``: nothing)
        does not, commits first; ``None`` unless the commits from ``theirs`` to ``commit``
        are one line, each with one parent (the first may have none if ``theirs`` is
        ``None``), and their trees of the forms git writes."""
        line: list[tuple[str, str, str | None]] = []  # commit, its tree, its parent's
        current = commit
        while current != theirs:
            obj = self._object(current, Commit)
            if len(obj.parents) > 1 or (not obj.parents and theirs is not None):
                return None
            parent = obj.parents[0].decode("ascii") if obj.parents else None
            line.append((current, obj.tree.decode("ascii"), parent))
            if parent is None:
                break
            current = parent
        oids = [oid for oid, _, _ in line]
        seen: set[str] = set()
        try:
            for _, tree, parent in reversed(line):
                base = self._root(parent) if parent is not None else None
                self._new_objects(base, tree, seen, oids)
        except _Unusual:
            return None
        return oids

    def _new_objects(self, old: str | None, new: str, seen: set[str], oids: list[str]) -> None:
        """Add to ``oids`` tree ``new`` and what it holds that tree ``old`` does not hold at
        the same path, reading only the folders that differ; each object once."""
        if old == new or new in seen:
            return
        seen.add(new)
        oids.append(new)
        if old is None:
            self._all_objects(new, seen, oids)
            return
        before = self._tree(old) if old is not None else {}
        for name, entry in self._tree(new).items():
            previous = before.get(name)
            if previous == entry or entry.mode == _GITLINK:
                continue
            if entry.is_folder:
                old_tree = previous.oid if previous is not None and previous.is_folder else None
                self._new_objects(old_tree, entry.oid, seen, oids)
            elif entry.oid not in seen:
                seen.add(entry.oid)
                oids.append(entry.oid)

    def _all_objects(self, tree: str, seen: set[str], oids: list[str]) -> None:
        """Add to ``oids`` what tree ``tree`` (already added) holds, each object once, from
        the trees' bytes (no entry objects, nothing cached); :class:`_Unusual` if a tree
        has an entry of a form git does not write."""
        pending = [tree]
        while pending:
            entries = trees.split(self._read_tree(pending.pop()))
            if entries is None:
                raise _Unusual
            files, others = entries
            for _, blob in files:
                if blob not in seen:
                    seen.add(blob)
                    oids.append(blob)
            for _, other, mode in others:
                if mode == _GITLINK or other in seen:
                    continue
                seen.add(other)
                oids.append(other)
                if mode == trees.FOLDER_MODE:
                    pending.append(other)

    def _push_to_path(self, path: str, commit: str, remote_ref: str, expected: str | None) -> bool:
        """Push to the repository at ``path`` as dulwich's local transport would, but under
        gitblobts' locks, whose holders' deaths are told apart: the objects under the
        remote's exchange lock, the ref by compare-and-swap. ``False`` if it moved on."""
        try:
            target = Repo(path)
        except (NotGitRepository, OSError) as error:
            raise RemoteError(f"cannot push to {redact(path)}: {redact(str(error))}") from None
        with target, exchanging(target.commondir()):
            common = target.commondir()
            if refs.read_ref(common, remote_ref) != expected:
                return False
            oids = self._outgoing(expected, commit)
            if oids is not None:
                self._copy_objects(os.fspath(target.object_store.path), oids)
            else:
                have = {oid for oid in target.get_refs().values() if oid != _ZERO_ID}
                want = {ObjectID(commit.encode())}
                count, objects = self._repo.generate_pack_data(have, want, ofs_delta=True)
                if count:
                    target.object_store.add_pack_data(count, objects)
            try:
                setting = target.get_config().get((b"core",), b"logallrefupdates").decode()
            except KeyError:
                setting = None
            log = refs.keeps_log(common, remote_ref, setting, target.bare)
            return refs.compare_and_swap(
                common,
                remote_ref,
                expected,
                commit,
                log_as=(self._identity(), "gitblobts: push") if log else None,
                durable=self._durable,
            )

    def _copy_objects(self, objects_dir: str, oids: list[str]) -> None:
        """Write objects ``oids`` into a pack (and its index) in ``objects_dir``, each
        checked against its id on the way (:func:`packsend.checked`)."""
        outgoing = self._sender()
        try:
            with PackWriter(objects_dir, durable=self._durable) as pack:
                for entry in outgoing.entries(oids):
                    packsend.checked(entry)
                    pack.add_stored(entry.oid, entry.stored)
                pack.finish()
        except ValueError as error:
            raise RemoteError(f"{self._path}: cannot push: {error}") from None


class _Unusual(Exception):
    """A tree with an entry of a form git does not write: dulwich's generation sends it."""


def _record(entry: packsend.Entry, piece: bytes) -> UnpackedObject:
    """A record for dulwich's pack writer, which writes its ``comp_chunks`` as they are."""
    record = UnpackedObject(entry.kind, sha=entry.oid)
    record.comp_chunks = [piece] if piece else []
    return record
