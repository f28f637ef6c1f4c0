"""Publishing a store and taking in others': push, pull and the rebase both do, by
compare-and-swap on the branch and on the remote."""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from collections.abc import Callable

from gitblobts.core import addresses, retry
from gitblobts.core.config import CONFIG_PATH, StoreConfig
from gitblobts.core.errors import (
    ConflictError,
    GitBlobTSError,
    PushFailedWarning,
    RemoteError,
)
from gitblobts.core.formats.registry import unrecorded
from gitblobts.core.pushlimit import size_remedy
from gitblobts.core.settings import caller_stacklevel
from gitblobts.core.state import StoreState
from gitblobts.core.sync import PullResult, PushResult

log = logging.getLogger("gitblobts")


class Remotes:
    """A store's remote: pushing, pulling, rebasing local commits on the remote's."""

    def __init__(self, state: StoreState) -> None:
        self._state = state
        self._push_failures: set[type[GitBlobTSError]] = set()
        """The kinds of push failure warned of already (see :meth:`publish`)."""
        self.on_publish: Callable[[], None] | None = None
        """Called by :meth:`publish` instead of pushing: a background store's worker."""

    def target(self) -> tuple[str, str] | None:
        """The ``(remote, remote_ref)`` the branch is published to, if it has a remote."""
        upstream = self._state.backend.upstream(self._state.branch)
        if self._state.remote_name is not None:
            if upstream is not None and upstream[0] == self._state.remote_name:
                return upstream
            return self._state.remote_name, self._state.branch
        if upstream is not None:
            return upstream
        return ("origin", self._state.branch) if "origin" in self._state.backend.remotes() else None

    def publish(self) -> None:
        """Push after an add whose commit landed: whatever makes the push fail, the add must
        not read as if nothing was added (a caller would add the blobs twice). The failure
        is logged and warned of (:class:`~gitblobts.PushFailedWarning`), and the commits
        stay for a later push; a strict store raises a RemoteError that says so."""
        if self.on_publish is not None:
            self.on_publish()
            return
        try:
            with self._state.repository_errors("push from"), self._state.remote_lock:
                if self._state.backend.closed:  # by another thread, since the commit
                    raise RemoteError(f"{self._state.path}: the store was closed before pushing")
                target = self.target()
                if target is not None:
                    self._push_to(*target)  # several pushes if over max_push_bytes
        except GitBlobTSError as error:
            said = (
                f"{self._state.path}: committed to {self._state.branch} but not pushed: "
                f"{error}; the commit stays here, and push() delivers it later: do not add the "
                "blobs again"
            )
            if self._state.strict:
                kind = type(error) if isinstance(error, RemoteError) else RemoteError
                raise kind(said) from error
            log.warning("%s", said)
            self._warn_once(error, said)

    def _warn_once(self, error: GitBlobTSError, said: str) -> None:
        """Warn of a failed push, once per store and kind of failure."""
        with self._state.lock:
            if type(error) in self._push_failures:
                return
            self._push_failures.add(type(error))
        warnings.warn(said, PushFailedWarning, stacklevel=caller_stacklevel())

    def push(self) -> PushResult:
        """Carries out :meth:`gitblobts.Store.push`."""
        with self._state.repository_errors("push from"):
            remote, remote_ref = self._require_target()
            pushed, pushes, commit = self._push_to(remote, remote_ref)
            return PushResult(pushed, remote, remote_ref, commit, pushes)

    def _push_to(self, remote: str, remote_ref: str) -> tuple[int, int, str | None]:
        """Push to ``remote_ref`` of ``remote`` as :meth:`gitblobts.Store.push` says: how many
        commits went, in how many pushes, and the remote's tip."""
        with self._state.remote_lock:
            pushed = pushes = 0

            def attempt() -> retry.Outcome[str | None]:
                nonlocal pushed, pushes
                local = self._state.backend.resolve(self._state.branch)
                if local is None:
                    return None
                theirs = self._state.backend.fetch(remote, remote_ref)
                if theirs == local:
                    return local
                if theirs is not None and self._state.backend.merge_base(theirs, local) != theirs:
                    rebased = self._rebase_current(theirs)
                    if rebased is None or rebased == theirs:
                        return retry.AGAIN  # the branch moved under us, or nothing is ours
                    local = rebased
                chain = self._state.backend.first_parent_chain(local, theirs)
                done = 0
                for end in self._push_steps(theirs, chain):
                    if not self._push_step(remote, remote_ref, theirs, chain[done:end]):
                        return retry.AGAIN
                    pushed, pushes = pushed + end - done, pushes + 1
                    done, theirs = end, chain[end - 1]
                return local

            local = retry.retry(
                attempt,
                retry.REMOTE,
                lambda: RemoteError(
                    f"{self._state.path}: {remote} kept moving; gave up pushing after "
                    f"{retry.REMOTE.attempts} attempts; the commits stay here, push again later"
                ),
            )
            if local is not None and self._state.backend.upstream(self._state.branch) is None:
                self._state.backend.set_upstream(self._state.branch, remote, remote_ref)
            return pushed, pushes, local

    def _push_steps(self, theirs: str | None, chain: list[str]) -> list[int]:
        """Where to cut ``chain`` (the commits to push, oldest first, on top of ``theirs``)
        into pushes whose new blob files are each within ``max_push_bytes``: the end of
        each push's commits, in order. One push unless together they exceed the limit; a
        commit over it goes alone. Measures nothing for one commit, once for several
        within the limit, then each commit."""
        limit = self._state.max_push_bytes
        if len(chain) <= 1 or self._new_bytes(theirs, chain[-1]) <= limit:
            return [len(chain)]
        ends: list[int] = []
        size = 0
        for end, (parent, commit) in enumerate(zip([theirs, *chain[:-1]], chain, strict=True)):
            added = self._new_bytes(parent, commit)
            if size and size + added > limit:
                ends.append(end)
                size = 0
            size += added
        ends.append(len(chain))
        return ends

    def _push_step(
        self, remote: str, remote_ref: str, theirs: str | None, commits: list[str]
    ) -> bool:
        """Push ``commits`` (the last of them) onto ``theirs``; ``False`` if the remote
        moved on. A refusal for the push's size also says what it carried and which setting
        to change."""
        tip = commits[-1]
        try:
            return self._state.backend.push(remote, tip, remote_ref, expected=theirs)
        except RemoteError as error:
            remedy = size_remedy(str(error), self._state.max_push_bytes)
            if remedy is None:
                raise
            size, limit = self._new_bytes(theirs, tip), self._state.max_push_bytes
            carried = (
                f"commit {tip} alone carried {size} bytes of blob files"
                if len(commits) == 1
                else f"its {len(commits)} commits carried {size} bytes of blob files"
            )
            if size > limit:  # one commit made with a larger limit, or by another tool
                carried += f", more than max_push_bytes={limit}, and a commit goes whole"
            raise type(error)(f"{error}; {carried}; {remedy}") from None

    def _new_bytes(self, base: str | None, tip: str) -> int:
        """Stored bytes of the blob files ``tip``'s tree has that ``base``'s lacks: what a
        push of ``tip`` onto ``base`` carries of them."""
        oids = set(self._state.backend.added_files(base, tip).values())
        return sum(self._state.backend.blob_sizes(sorted(oids)))

    def pull(self) -> PullResult:
        """Carries out :meth:`gitblobts.Store.pull`."""
        with self._state.repository_errors("pull into"), self._state.remote_lock:
            target = self.target()
            if target is None:
                return PullResult(0, self._state.backend.resolve(self._state.branch), None, None)

            def attempt() -> retry.Outcome[PullResult]:
                local = self._state.backend.resolve(self._state.branch)
                theirs = self._state.backend.fetch(*target)
                if theirs is None or theirs == local:
                    return PullResult(0, local, *target)
                base = None if local is None else self._state.backend.merge_base(theirs, local)
                if base == theirs:
                    return PullResult(0, local, *target)  # we are ahead: nothing to take
                tip = self._rebase_current(theirs)
                if tip is None:
                    return retry.AGAIN  # the branch moved meanwhile
                return PullResult(self._blob_files_added(base, theirs), tip, *target)

            return retry.retry(
                attempt,
                retry.COMMIT,
                lambda: ConflictError(
                    f"{self._state.path}: {self._state.branch} kept moving while pulling"
                ),
            )

    def _blob_files_added(self, base: str | None, tip: str) -> int:
        """How many blob files ``tip``'s tree has that ``base``'s lacks."""
        parse = self._state.settings.parse
        added = self._state.backend.added_files(base, tip)
        return sum(1 for path in added if parse(path.rpartition("/")[2]) is not None)

    def unpushed(self) -> int:
        """Carries out :attr:`gitblobts.Store.unpushed`."""
        with self._state.repository_errors("inspect"):
            local = self._state.backend.resolve(self._state.branch)
            target = self.target()
            if local is None or target is None:
                return 0
            theirs = self._state.backend.tracking(*target)
            base = self._state.backend.merge_base(local, theirs) if theirs is not None else None
            return len(self._state.backend.first_parent_chain(local, base))

    def unpushed_age(self) -> float | None:
        """Carries out :attr:`gitblobts.Store.unpushed_age`."""
        with self._state.repository_errors("inspect"):
            local = self._state.backend.resolve(self._state.branch)
            target = self.target()
            if local is None or target is None:
                return None
            theirs = self._state.backend.tracking(*target)
            base = self._state.backend.merge_base(local, theirs) if theirs is not None else None
            chain = self._state.backend.first_parent_chain(local, base)
            if not chain:
                return None
            return max(0.0, time.time() - self._state.backend.commit_time(chain[0]))

    def _require_target(self) -> tuple[str, str]:
        target = self.target()
        if target is None:
            raise RemoteError(
                f"{self._state.path}: the branch has no remote to push to; add one (git remote add "
                "origin URL) or pass remote="
            )
        return target

    def _rebase_current(self, theirs: str) -> str | None:
        """:meth:`_rebase` of the branch as it is now, under the lock: only another writer,
        never one of the store's own threads, can move it meanwhile."""
        with self._state.lock:
            return self._rebase(theirs, self._state.backend.resolve(self._state.branch))

    def _rebase(self, theirs: str, local: str | None) -> str | None:
        """Move the branch from ``local`` to ``theirs`` plus our commits replayed on top, by
        compare-and-swap; return the new tip, or ``None`` if the branch moved meanwhile."""
        settings = self._state.settings
        new = theirs
        if local is not None:
            base = self._state.backend.merge_base(theirs, local)
            their_config = self._state.read_config(theirs)
            chain = self._state.backend.first_parent_chain(local, base)
            if (
                chain
                and their_config is not None
                and not settings.names.records_config
                and not self._state.migrating
            ):
                raise ConflictError(
                    f"{self._state.path}: the remote's store was migrated from "
                    f"{settings.names.title}, so the {len(chain)} local commit(s) of its "
                    "blobs cannot go on top of it; call migrate() to rewrite them"
                )
            if chain and their_config is not None:
                self._check_same_store(self._state.read_config(local), their_config, len(chain))
            for commit in chain:
                parent, message = self._state.backend.commit_info(commit)
                files = self._state.backend.added_files(parent, commit)
                # A rewritten configuration (an upgrade) is a change, not a removal.
                removed = [
                    path
                    for path in self._state.removed_files(parent, commit)
                    if path != CONFIG_PATH
                ]
                upgrade: list[str] = []
                if their_config is not None:
                    # The store has its configuration already; an upgrade is kept, on theirs.
                    upgrade = self._replay_upgrade(new, files)
                # Contents the new base holds already (another writer put them) stay once.
                addresses.drop_present(self._state.backend, new, files)
                if removed:  # a migration, which the other side may have made too
                    files, removed = self._still_to_migrate(new, files, removed)
                found = (
                    unrecorded(self._state.backend, theirs)
                    if CONFIG_PATH in files and not self._state.migrating
                    else None
                )
                if found is not None:
                    raise ConflictError(
                        f"{self._state.path}: the remote holds a store of {found.title}, "
                        "so the local commits of a new store cannot go on top of it; "
                        "open the store with the compression= and key= of the old store and call "
                        "migrate() to bring both together"
                    )
                if files.keys() - upgrade or removed:  # else emptied (or never had any)
                    remove = removed + upgrade
                    new = self._state.backend.write_commit(new, files, message, remove=remove)
        added: dict[str, str] = {}
        gone: list[str] = []
        if self._state.is_checked_out():
            added = self._state.backend.added_files(local, new)
            gone = [path for path in self._state.removed_files(local, new) if path not in added]
        if not self._state.move_branch(local, new, added, gone):
            return None
        if not settings.names.records_config:
            self._state.follow_migration(new)
        else:
            self._state.learn_config(self._state.read_config(new))
        return new

    def _replay_upgrade(self, base: str, files: dict[str, str]) -> list[str]:
        """Replace in ``files`` (of a replayed commit) the configuration by ``base``'s
        raised to the replayed one's version if that is higher (the commit's files need
        it, see :func:`gitblobts.core.adding.required_version`), else drop it; return the
        paths the commit replaces (the configuration, or none)."""
        oid = files.pop(CONFIG_PATH, None)
        theirs = self._state.read_config(base) if oid is not None else None
        if oid is None or theirs is None:
            return []
        (data,) = self._state.backend.read_blobs([oid])
        ours = StoreConfig.from_bytes(data)
        if ours.version <= theirs.version:
            return []
        part_size = theirs.part_size or ours.part_size
        upgraded = dataclasses.replace(theirs, version=ours.version, part_size=part_size)
        (files[CONFIG_PATH],) = self._state.backend.write_blobs([upgraded.to_bytes()])
        return [CONFIG_PATH]

    def _check_same_store(
        self, ours: StoreConfig | None, theirs: StoreConfig, commits: int
    ) -> None:
        """Raise ConflictError if our commits, made in a store configured as ``ours``, cannot
        go on top of the remote's store, configured as ``theirs`` (each created on its side):
        their blobs would be misplaced, or mix keys."""
        if ours is None or ours == theirs:
            return
        if ours.layout != theirs.layout:
            difference = f"layout {theirs.layout!r}, not {ours.layout!r}"
        elif (ours.cipher is None) != (theirs.cipher is None):
            difference = "encryption" if theirs.cipher is not None else "no encryption"
        elif ours.cipher is not None and ours.key_check != theirs.key_check:
            difference = "another key"
        else:
            return
        raise ConflictError(
            f"{self._state.path}: the remote's store was created with {difference}, so the "
            f"{commits} local commit(s) of this store cannot go on top of it; they stay "
            "here: add their blobs to a clone of the remote's store instead"
        )

    def _still_to_migrate(
        self, commit: str, files: dict[str, str], removed: list[str]
    ) -> tuple[dict[str, str], list[str]]:
        """What replaying a migration on ``commit`` still has to do: add the files it lacks
        (a migrated blob's path is the same in every run), remove the files it has."""
        present = self._present(commit, [*files, *removed])
        return (
            {path: oid for path, oid in files.items() if path not in present},
            [path for path in removed if path in present],
        )

    def _present(self, commit: str, paths: list[str]) -> set[str]:
        """Which of ``paths`` are files in ``commit``'s tree."""
        by_folder: dict[str, set[str]] = {}
        for path in paths:
            folder, _, name = path.rpartition("/")
            by_folder.setdefault(folder, set()).add(name)
        return {
            f"{folder}/{entry.name}" if folder else entry.name
            for folder, names in by_folder.items()
            for entry in self._state.backend.list_folder(commit, folder)
            if entry.is_file and entry.name in names
        }
