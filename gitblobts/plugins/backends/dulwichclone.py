"""Clones through dulwich, for the ``dulwich`` backend (:class:`DulwichClones` is one of its
bases): whole clones, and bare partial clones.

dulwich asks a server for commits and trees only (``filter_spec``, protocol version 2) but
neither marks the clone as git does nor fetches an object it lacks when asked for one. So
a partial clone is marked here as git marks its own, for git to read it too: the remote
``origin`` a promisor remote (``remote.origin.promisor``, ``partialclonefilter``), each
pack fetched from it a promisor pack (a ``.promisor`` file beside it); and a read asks for
the objects it lacks (:meth:`DulwichClones.missing`, from the object directory alone) and
fetches them in one request (:meth:`DulwichClones.fetch_objects`), naming their ids as
wants. A working tree would need every blob checked out (dulwich has no sparse checkout):
a partial clone with one is refused, naming the ``git`` backend.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence

from dulwich import porcelain
from dulwich.client import GitClient
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.object_store import ObjectStoreGraphWalker
from dulwich.objects import ObjectID, ShaFile, Tree
from dulwich.refs import Ref
from dulwich.repo import Repo

from gitblobts.core.errors import PluginError, RemoteError, RepositoryError
from gitblobts.core.redaction import redact
from gitblobts.plugins.backends.dulwichexchange import exchanging
from gitblobts.plugins.backends.promisor import FILTER, NO_PROMISOR, PromisorReads

_TRUE = (b"", b"true", b"yes", b"on", b"1")
_ERRORS = (OSError, GitProtocolError, HangupException, NotGitRepository)
_SPOOL = 16 << 20
"""Fetched packs up to this size are held in memory before they are indexed."""


class DulwichClones(PromisorReads):
    """The clone verb of the ``dulwich`` backend, and its partial clones' reads."""

    _repo: Repo
    _path: str

    @classmethod
    def clone(cls, url: str, path: str, *, bare: bool, partial: bool) -> bool:
        if partial and not bare:
            raise PluginError(
                "the 'dulwich' backend makes partial clones bare only (a working tree would "
                "need every blob); clone with bare=True (gitblobts clone --bare), with "
                "backend='git' (GITBLOBTS_BACKEND=git), or a whole clone (partial=False, "
                "gitblobts clone --full)"
            )
        ssh_command = os.environ.get("GIT_SSH_COMMAND") or os.environ.get("GIT_SSH")
        try:
            repo = porcelain.clone(
                url,
                path,
                bare=bare,
                checkout=not bare,
                errstream=io.BytesIO(),
                filter_spec=FILTER if partial else None,
                ssh_command=ssh_command or None,
            )
        except _ERRORS as error:
            raise RemoteError(f"cannot clone {redact(url)}: {redact(str(error))}") from None
        with repo:
            if not partial or _holds_a_blob(repo):
                return False
            config = repo.get_config()
            config.set((b"remote", b"origin"), b"promisor", b"true")
            config.set((b"remote", b"origin"), b"partialclonefilter", FILTER.encode())
            config.write_to_path()
            _mark_promisor_packs(repo, _packs(repo))
        return True

    def _objects_dir(self) -> str:
        return os.fspath(self._repo.object_store.path)

    def _fetch_missing(self, remote: str, oids: Sequence[str]) -> None:
        url = self._url(remote)
        client, path = self._client(url)
        wants = [ObjectID(oid.encode("ascii")) for oid in oids]

        def determine_wants(
            refs: Mapping[Ref, ObjectID], depth: int | None = None
        ) -> list[ObjectID]:
            return wants

        # No haves: the objects are reachable from the clone's own commits, and a server
        # that walks with reachability bitmaps would leave out everything those reach,
        # the very blobs wanted (git's promisor fetch negotiates nothing either).
        no_haves = ObjectStoreGraphWalker([], lambda oid: [])
        store = self._repo.object_store
        try:
            with (
                exchanging(self._repo.commondir()),
                tempfile.SpooledTemporaryFile(_SPOOL, dir=os.fspath(store.path)) as pack,
            ):
                before = _packs(self._repo)
                client.fetch_pack(
                    path, determine_wants, no_haves, pack.write, filter_spec=FILTER.encode()
                )
                if pack.tell():
                    pack.seek(0)
                    store.add_thin_pack(pack.read, None)
                _mark_promisor_packs(self._repo, _packs(self._repo) - before)
        except _ERRORS as error:
            raise RemoteError(
                f"cannot fetch {len(oids)} missing objects from {remote} ({redact(url)}): "
                f"{redact(str(error))} (the server must allow uploadpack.allowFilter)"
            ) from None

    @contextlib.contextmanager
    def _promised(self, remote: str) -> Iterator[bytes | None]:
        """Around a fetch from ``remote``: the filter to send, if it is the promisor remote
        (a pull into a partial clone stays partial), and then the packs it brought marked
        as promisor packs; ``None`` otherwise."""
        if remote != self._promisor_remote():
            yield None
            return
        before = _packs(self._repo)
        yield FILTER.encode()
        _mark_promisor_packs(self._repo, _packs(self._repo) - before)

    def _fetched_object(self, oid: str, kind: str) -> ShaFile:
        """Object ``oid``, which the object store lacks, once fetched from the promisor
        remote, as git fetches an object a command asks for: a read of one blob that core
        did not fetch beforehand (the store's configuration, say). ``RepositoryError`` if
        the repository has no promisor remote, or it fetched no such object."""
        if self._promisor_remote() is None or not self.missing([oid]):
            raise RepositoryError(f"{kind} {oid} is missing from the repository")
        self.fetch_objects([oid])
        try:
            return self._repo.object_store[ObjectID(oid.encode("ascii"))]
        except KeyError:
            raise RepositoryError(
                f"{kind} {oid} is missing from the repository and from its promisor remote"
            ) from None

    def _promisor_remote(self) -> str | None:
        """The first remote with ``remote.<name>.promisor`` true, or the one
        ``extensions.partialClone`` names."""
        if self._promisor is None:
            config = self._repo.get_config()
            self._promisor = NO_PROMISOR
            try:
                self._promisor = config.get((b"extensions",), b"partialclone").decode()
            except KeyError:
                for section in config.sections():
                    if len(section) == 2 and section[0] == b"remote":
                        try:
                            value = config.get(section, b"promisor")
                        except KeyError:
                            continue
                        if value.lower() in _TRUE:
                            self._promisor = section[1].decode("utf-8", "surrogateescape")
                            break
        return None if self._promisor == NO_PROMISOR else self._promisor

    def _url(self, remote: str) -> str:
        raise NotImplementedError  # the backend's

    def _client(self, url: str) -> tuple[GitClient, str]:
        raise NotImplementedError  # the backend's


def _packs(repo: Repo) -> set[str]:
    """The names of the repository's packs (``pack-<id>``)."""
    folder = os.path.join(os.fspath(repo.object_store.path), "pack")
    try:
        return {name[:-5] for name in os.listdir(folder) if name.endswith(".pack")}
    except OSError:
        return set()


def _mark_promisor_packs(repo: Repo, names: Iterable[str]) -> None:
    """Mark the packs ``names`` as fetched from the promisor remote, as git does: an empty
    ``.promisor`` file beside each."""
    folder = os.path.join(os.fspath(repo.object_store.path), "pack")
    for name in names:
        with open(os.path.join(folder, name + ".promisor"), "wb"):
            pass


def _holds_a_blob(repo: Repo) -> bool:
    """Whether a clone made with a filter holds a blob of its ``HEAD``'s tree: a server
    that ignores the filter sends them all, one that honours it none."""
    try:
        head = repo.refs[Ref(b"HEAD")]
    except KeyError:
        return False
    pending = [repo[head].tree]  # type: ignore[attr-defined]
    while pending:
        tree = repo[pending.pop()]
        assert isinstance(tree, Tree)
        for entry in tree.iteritems():
            if entry.mode == 0o040000:
                pending.append(entry.sha)
            elif entry.mode in (0o100644, 0o100755):
                return entry.sha in repo.object_store
    return False
