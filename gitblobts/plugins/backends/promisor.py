"""What both built-in backends' partial clones share: whether a read may lack objects, which
ones it lacks (found without fetching any), and the refusal to fetch without a promisor
remote. Each backend says how it finds its promisor remote and fetches from it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gitblobts.core.errors import RepositoryError
from gitblobts.gitfiles.presence import ObjectPresence

NO_PROMISOR = "\0"
"""What :attr:`PromisorReads._promisor` holds once a repository is known to have none."""

FILTER = "blob:none"
"""The filter of a partial clone: commits and trees, no blob contents."""


class PromisorReads:
    """The reading side of a partial clone, one of a backend's bases."""

    _path: str
    _promisor: str | None = None
    """The promisor remote's name, :data:`NO_PROMISOR` if none; read on first use."""
    _presence: ObjectPresence | None = None

    def _promisor_remote(self) -> str | None:
        raise NotImplementedError  # the backend's

    def _objects_dir(self) -> str:
        raise NotImplementedError  # the backend's

    def _fetch_missing(self, remote: str, oids: Sequence[str]) -> None:
        """Fetch the objects ``oids`` from the promisor remote ``remote``, in one request."""
        raise NotImplementedError  # the backend's

    def may_lack_objects(self) -> bool:
        return self._promisor_remote() is not None

    def missing(self, oids: Iterable[str]) -> list[str]:
        if self._promisor_remote() is None:
            return []
        if self._presence is None:
            self._presence = ObjectPresence(self._objects_dir())
        return self._presence.missing(oids)

    def fetch_objects(self, oids: Sequence[str]) -> None:
        remote = self._promisor_remote()
        if remote is None:
            raise RepositoryError(
                f"{self._path}: {len(oids)} objects are missing, and the repository has no "
                "promisor remote to fetch them from (git fsck tells more)"
            )
        self._fetch_missing(remote, oids)

    def _close_presence(self) -> None:
        if self._presence is not None:
            self._presence.close()
            self._presence = None
