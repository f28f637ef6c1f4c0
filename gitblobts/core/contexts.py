"""What the hooks receive: the context of one blob in a stage, and the notice of a commit.

Plain values, importing neither the hooks nor the pipeline that runs them, so that both (and
a plugin's type hints) can import them.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitblobts.core.cipher import Cipher
    from gitblobts.core.codec import Codec
    from gitblobts.core.layout import Layout
    from gitblobts.core.naming import BlobName


@dataclass(slots=True)
class BlobContext:
    """What the stages know about one blob. A plugin reads it; it changes nothing stored by
    changing it. ``extra`` is its own: free-form notes between its hooks, never stored."""

    name: BlobName
    codec: Codec
    cipher: Cipher | None
    layout: Layout
    path: str = ""
    max_size: int = 0
    """Largest decompressed size accepted on read."""
    root: str = ""
    """The folder the layout places the blob under: ``""`` (the root), or a key's folder."""
    key_id: str | None = None
    """The id of the key the blob is a version of (:mod:`gitblobts.core.keynames`), if any."""
    _extra: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)
    _produced: object = field(default=None, init=False, repr=False, compare=False)
    """While the pipeline checks a stage a plugin takes part in: what core's implementation
    returned (see :mod:`gitblobts.core.stages`); None otherwise."""

    @property
    def timestamp_ns(self) -> int:
        """The blob's time, in epoch nanoseconds."""
        return self.name.timestamp_ns

    @property
    def cipher_context(self) -> bytes:
        """What the cipher binds: the blob's identity, and the key's id for a key's version
        (so that a version moved to another key's folder fails to decrypt)."""
        identity = self.name.identity
        if self.key_id is None:
            return identity.encode("ascii")
        return f"key:{self.key_id}/{identity}".encode("ascii")

    @property
    def extra(self) -> dict[str, Any]:
        """Notes plugins keep about this blob from one stage to the next; never stored."""
        if self._extra is None:
            self._extra = {}
        return self._extra


@dataclass(frozen=True, slots=True)
class Committed:
    """A commit the store made that has landed on its branch: what
    ``gitblobts_committed`` receives."""

    store_path: str
    """The store's repository, as the store was opened with it."""
    branch: str
    """The full name of the branch the commit landed on (``refs/heads/main``), as
    :attr:`Store.branch <gitblobts.Store.branch>` says."""
    commit_id: str
    """The new commit, which the branch pointed at once it landed (hexadecimal)."""
    paths: tuple[str, ...]
    """The repository paths of the blobs it added (none for the commit of ``init``)."""
    message: str
    """The commit message."""


@dataclass(slots=True)
class CommitContext:
    """One batch to commit, as the store hands it to :meth:`Pipeline.commit
    <gitblobts.core.pipeline.Pipeline.commit>`: the files (path to blob id) to add to the
    branch, and the message. No hook receives it since ``gitblobts_commit`` was withdrawn;
    plugins are told of commits by ``gitblobts_committed`` (:class:`Committed`)."""

    files: MutableMapping[str, str]
    message: str
    commit_files: Callable[[CommitContext], str]
    """Core's way of committing: compare-and-swap of the branch, with retries."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Kept for plugins written for ``gitblobts_commit``; unused."""
