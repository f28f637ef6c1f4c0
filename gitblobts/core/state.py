"""What the parts of a store share: the repository and its backend, the branch, the locks,
the plugins and pipeline, the options, and the current :class:`~gitblobts.core.settings.Settings`;
and the steps every part takes on the branch (reading its configuration, moving it by
compare-and-swap with the working tree in step, following a migration).

The parts (:mod:`~gitblobts.core.reading`, :mod:`~gitblobts.core.adding`,
:mod:`~gitblobts.core.remotes`, :mod:`~gitblobts.core.migrating`,
:mod:`~gitblobts.core.inspection`) each hold this one object, never the store.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping

from gitblobts.core import addresses, interrupts, keys, parts, refname
from gitblobts.core.backend import Backend
from gitblobts.core.config import CONFIG_PATH, StoreConfig
from gitblobts.core.errors import (
    ArgumentError,
    ArgumentTypeError,
    GitBlobTSError,
    RepositoryError,
)
from gitblobts.core.formats import registry
from gitblobts.core.locking import LockedBackend
from gitblobts.core.pipeline import Pipeline
from gitblobts.core.plugins import Plugins, default_plugins
from gitblobts.core.pushlimit import DEFAULT_MAX_PUSH_BYTES, read_max_push_bytes
from gitblobts.core.redaction import redact, scrub_chain
from gitblobts.core.settings import (
    Settings,
    choose,
    choose_layout,
    read_config,
    read_max_blob_size,
)

log = logging.getLogger("gitblobts")


class StoreState:
    """The state of one open store, shared by its parts."""

    max_push_bytes: int = DEFAULT_MAX_PUSH_BYTES
    """Most stored bytes per commit of an add and per push (see
    :mod:`gitblobts.core.pushlimit`); the store sets it as opened."""

    def __init__(
        self,
        path: str,
        branch: str,
        backend: LockedBackend,
        lock: threading.RLock,
        plugins: Plugins,
        settings: Settings,
        *,
        max_blob_size: int,
        compression_option: str | None,
        remote_name: str | None,
        push_after_add: bool,
        strict: bool,
        part_size: int | None = None,
    ) -> None:
        self.path = path
        self.branch = branch
        self.backend = backend
        self.lock = lock
        """Held by every backend call but write_blobs (see :mod:`gitblobts.core.locking`),
        and around each commit attempt, so that threads can share the store."""
        self.remote_lock = threading.RLock()
        """Held while pushing or pulling (taken before ``lock``, never after)."""
        self.plugins = plugins
        self.pipeline = Pipeline(plugins, path, branch)
        self.settings = settings
        """The store's choices: replaced whole, under ``lock``, never changed; each
        operation takes it once (see :mod:`gitblobts.core.settings`)."""
        self.max_blob_size = max_blob_size
        self.compression_option = compression_option
        """``compression=`` as the store was opened with it: how the files of a format that
        records no configuration were compressed, which only the options can say."""
        self.migrating = False
        self.remote_name = remote_name
        self.push_after_add = push_after_add
        self.strict = strict
        self.part_size = part_size
        """``part_size=`` (or ``$GITBLOBTS_PART_SIZE``) as the store was opened with it."""

    def read_config(self, commit: str | None) -> StoreConfig | None:
        return read_config(self.backend, self.path, commit)

    def learn_config(self, config: StoreConfig | None) -> None:
        """Take ``config``, which another writer recorded after this store was opened
        without one; from now on, adds it does not allow are refused."""
        with self.lock:
            self.settings = self.settings.learning(config)

    def move_branch(
        self,
        old: str | None,
        new: str,
        files: Mapping[str, str],
        removed: list[str] | None = None,
        landed: list[str] | None = None,
    ) -> bool:
        """Move the branch from ``old`` to ``new`` (which adds ``files`` and removes
        ``removed``) by compare-and-swap, and if it is checked out here, the index and
        working tree with it, as one step: the index lock is held across both (a writer
        killed in between leaves it behind, and whoever finds it mends the index: see
        :meth:`Backend.holding_index`), and Ctrl-C waits until both are done. Return whether
        the branch moved; ``landed`` gains ``new`` once it did."""
        checked_out = self.is_checked_out()
        holding = (
            self.backend.holding_index(self.is_store_file)
            if checked_out
            else contextlib.nullcontext()
        )
        with holding, interrupts.held_back():
            if not self.backend.compare_and_swap(self.branch, old, new):
                return False
            if landed is not None:
                landed.append(new)
            if checked_out:
                self._check_out_committed(files, removed or [], new)
        return True

    def is_store_file(self, path: str) -> bool:
        """Whether ``path`` is one of the store's files (a blob, of either format, or the
        configuration), which the index is mended for after a writer died."""
        return path == CONFIG_PATH or self.is_blob_path(path)

    @staticmethod
    def is_blob_path(path: str) -> bool:
        """Whether ``path``'s file name is a blob file name, of any format, or ``path`` is
        a part (or ``SHA256SUMS``) of a parted blob's folder, or a content file or part."""
        if addresses.content_id_of(path) is not None:
            return True
        if parts.is_part_path(path):
            return registry.is_blob_path(path.rpartition("/")[0])
        return registry.is_blob_path(path)

    def _check_out_committed(
        self, files: Mapping[str, str], removed: list[str], commit: str
    ) -> None:
        """Bring the working tree and index in step with ``commit``, which is already on the
        branch: a failure here must not read as if the blobs were not added."""
        try:
            self.backend.check_out(files, removed)
        except Exception as error:
            raise RepositoryError(
                f"{self.path}: the blobs were committed ({commit}) but the working tree and "
                f"index could not follow: {error}; do not add them again: 'git reset' brings "
                "the index in step"
            ) from error

    def is_checked_out(self) -> bool:
        return not self.backend.is_bare and self.backend.head_branch() == self.branch

    def removed_files(self, old: str | None, new: str) -> list[str]:
        """Paths of the files ``old``'s tree has and ``new``'s lacks (only a migration
        removes files)."""
        return [] if old is None else list(self.backend.added_files(new, old))

    def follow_migration(self, head: str | None) -> None:
        """If this store was opened in a format that records no configuration and the branch
        has been migrated since (by another writer), work in the migrated store's
        configuration."""
        settings = self.settings
        if not settings.names.records_config and not self.migrating:
            config = self.read_config(head)
            if config is not None:
                self.adopt(config, settings.raw_key)

    def adopt(self, config: StoreConfig, raw_key: bytes | None) -> None:
        """Work in ``config``, recorded on the branch since this store was opened, with
        ``raw_key``."""
        with self.lock:  # not while another thread commits what the old settings wrote
            layout = self.plugins.layouts.get(config.layout)()
            self.settings = choose(self.plugins, self.path, config, layout, None, None, raw_key)

    def repository_errors(self, action: str) -> contextlib.AbstractContextManager[None]:
        """Wrap what the backend raises, other than our own errors, in RepositoryError."""
        return repository_errors(self.path, action)


@contextlib.contextmanager
def repository_errors(path: str, action: str) -> Iterator[None]:
    """Wrap what the backend of the repository at ``path`` raises, other than our own
    errors, in RepositoryError."""
    try:
        yield
    except GitBlobTSError as error:
        scrub_chain(error)  # a URL in what it was raised from keeps its credentials
        raise
    except Exception as error:
        said = redact(repr(error))
        wrapped = RepositoryError(f"{path}: cannot {action} the repository: {said}")
        wrapped.__cause__ = error
        scrub_chain(wrapped)
        raise wrapped from wrapped.__cause__


def resolve_branch(backend: Backend, path: str, branch: str | None) -> str:
    """The full name of the store's branch: ``branch``, else the checked-out one."""
    if branch is None:
        head = backend.head_branch()
        if head is None:
            raise RepositoryError(f"{path}: HEAD is detached; pass branch= to say where blobs go")
        return head
    if isinstance(branch, str):
        problem = refname.branch_problem(branch)
    else:
        problem = f"it is {type(branch).__name__}, not text"
    if problem is not None:
        raise ArgumentError(
            f"{path}: branch {branch!r} is not a valid branch name: {problem}, "
            "which git refuses (see git check-ref-format); choose another name"
        )
    return refname.full_branch_ref(branch)


def open_state(
    path: str | os.PathLike[str],
    *,
    plugins: Plugins | None,
    backend: str,
    key: bytes | str | None,
    branch: str | None,
    layout: str | None,
    compression: str | None,
    cipher: str | None,
    durable: bool,
    max_blob_size: int | None,
    max_push_bytes: object,
    remote_name: str | None,
    push_after_add: bool,
    strict: bool,
    part_size: int | None,
) -> StoreState:
    """Open the store in the repository at ``path`` from :class:`~gitblobts.Store`'s options
    (checked here: a wrong type is :class:`~gitblobts.ArgumentTypeError`) with the named
    ``backend``: resolve its branch, read its configuration, choose its settings from the
    options, and mend the index if a writer died while moving the branch. ``plugins``:
    default, the installed set; ``max_blob_size``, ``max_push_bytes`` and ``part_size``: as
    given, defaults from the environment (:func:`~gitblobts.core.settings.read_max_blob_size`,
    :func:`~gitblobts.core.pushlimit.read_max_push_bytes`,
    :func:`~gitblobts.core.parts.read_part_size`)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentTypeError(f"path is {type(path).__name__}, not a str or path-like")
    check_names(
        compression=compression,
        cipher=cipher,
        layout=layout,
        branch=branch,
        backend=backend,
        remote=remote_name,
    )
    if plugins is not None and not isinstance(plugins, Plugins):
        raise ArgumentTypeError(f"plugins is {type(plugins).__name__}, not a Plugins")
    if max_blob_size is not None and type(max_blob_size) is not int:  # nor bool, nor float
        raise ArgumentTypeError(
            f"max_blob_size is {type(max_blob_size).__name__}, not an int (bytes) or None"
        )
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise RepositoryError(f"{path}: no such directory")
    plugins = plugins if plugins is not None else default_plugins()
    limit = read_max_blob_size(max_blob_size)
    raw_key = keys.decode_key(key) if key is not None else None
    backend_class = plugins.backends.get(backend)
    push_limit = read_max_push_bytes(max_push_bytes)
    part_size = parts.read_part_size(part_size)
    lock = threading.RLock()
    with repository_errors(path, "open"):
        opened = LockedBackend(backend_class(path), lock, path)
    try:
        with repository_errors(path, "open"):
            opened.set_durable(durable)
            full_branch = resolve_branch(opened, path, branch)
            head = opened.resolve(full_branch)
            config = read_config(opened, path, head)
            chosen = choose_layout(plugins, opened, path, config, layout, head)
        settings = choose(plugins, path, config, chosen, compression, cipher, raw_key)
        state = StoreState(
            path,
            full_branch,
            opened,
            lock,
            plugins,
            settings,
            max_blob_size=limit,
            compression_option=compression,
            remote_name=remote_name,
            push_after_add=push_after_add,
            strict=strict,
            part_size=part_size,
        )
        state.max_push_bytes = push_limit
        with repository_errors(path, "open"):
            # A writer killed between moving the branch and the index left its lock: mend.
            opened.repair_index(state.is_store_file)
    except BaseException:
        opened.close()
        raise
    return state


def check_names(**options: object) -> None:
    """Raise :class:`ArgumentTypeError` for an option that is neither a name nor ``None``."""
    for option, value in options.items():
        if value is not None and not isinstance(value, str):
            raise ArgumentTypeError(f"{option} is {type(value).__name__}, not a str or None")
