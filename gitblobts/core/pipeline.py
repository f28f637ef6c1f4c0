"""The pipeline: encode → compress → encrypt → place → commit, and its reverse on read.

Every stage is a hook (:mod:`gitblobts.core.hookspecs`). :class:`CoreStages` holds core's own
implementations, registered last-called so that plugins can take a stage over or wrap it.
:class:`Pipeline` runs the stages for one store; when no plugin takes part in a stage it
calls core's implementation directly, which keeps the per-blob cost of hooks at zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitblobts.core.cipher import Cipher, DecryptionFailed
from gitblobts.core.codec import Codec, DecodedTooLarge
from gitblobts.core.errors import (
    BlobTooLargeError,
    CorruptBlobError,
    GitBlobTSError,
    PluginError,
)
from gitblobts.core.hookspecs import hookimpl
from gitblobts.core.layout import Layout
from gitblobts.core.naming import BlobName

if TYPE_CHECKING:
    from gitblobts.core.plugins import Plugins


@dataclass(slots=True)
class BlobContext:
    """What the stages know about one blob."""

    name: BlobName
    codec: Codec
    cipher: Cipher | None
    layout: Layout
    path: str = ""
    max_size: int = 0
    """Largest decompressed size accepted on read."""

    @property
    def timestamp_ns(self) -> int:
        """The blob's time, in epoch nanoseconds."""
        return self.name.timestamp_ns


@dataclass(slots=True)
class CommitContext:
    """What the commit stage knows about one batch: the files (path to blob id) to add to the
    store's branch, and the message."""

    files: dict[str, str]
    message: str
    commit_files: Callable[[CommitContext], str]
    """Core's way of committing: compare-and-swap of the branch, with retries."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Room for plugins to pass information between their hooks."""


class CoreStages:
    """Core's implementation of every stage, called after any plugin's."""

    @hookimpl(trylast=True)
    def gitblobts_encode(self, blob: BlobContext, data: bytes) -> bytes:
        return data

    @hookimpl(trylast=True)
    def gitblobts_compress(self, blob: BlobContext, data: bytes) -> bytes:
        return blob.codec.encode(data)

    @hookimpl(trylast=True)
    def gitblobts_encrypt(self, blob: BlobContext, data: bytes) -> bytes:
        if blob.cipher is None:
            return data
        return blob.cipher.encrypt(data, blob.name.identity.encode("ascii"))

    @hookimpl(trylast=True)
    def gitblobts_place(self, blob: BlobContext) -> str:
        return blob.layout.path(blob.timestamp_ns, str(blob.name))

    @hookimpl(trylast=True)
    def gitblobts_commit(self, commit: CommitContext) -> str:
        return commit.commit_files(commit)

    @hookimpl(trylast=True)
    def gitblobts_decrypt(self, blob: BlobContext, data: bytes) -> bytes:
        if blob.cipher is None:
            return data
        return blob.cipher.decrypt(data, blob.name.identity.encode("ascii"))

    @hookimpl(trylast=True)
    def gitblobts_decompress(self, blob: BlobContext, data: bytes) -> bytes:
        return blob.codec.decode(data, max_size=blob.max_size)

    @hookimpl(trylast=True)
    def gitblobts_decode(self, blob: BlobContext, data: bytes) -> bytes:
        return data


CORE_STAGES = CoreStages()
"""The instance every plugin manager registers."""


class Pipeline:
    """Runs the stages of one store."""

    def __init__(self, plugins: Plugins) -> None:
        hook = plugins.hook

        def stage(name: str) -> Callable[..., Any]:
            caller = getattr(hook, name)
            if all(impl.plugin is CORE_STAGES for impl in caller.get_hookimpls()):
                return getattr(CORE_STAGES, name)  # type: ignore[no-any-return]
            return caller  # type: ignore[no-any-return]

        self._encode = stage("gitblobts_encode")
        self._compress = stage("gitblobts_compress")
        self._encrypt = stage("gitblobts_encrypt")
        self._place = stage("gitblobts_place")
        self._commit = stage("gitblobts_commit")
        self._decrypt = stage("gitblobts_decrypt")
        self._decompress = stage("gitblobts_decompress")
        self._decode = stage("gitblobts_decode")

    def write(self, blob: BlobContext, data: bytes) -> bytes:
        """Run encode, compress, encrypt and place; set ``blob.path``; return the file's
        bytes."""
        data = _stage_result("encode", self._encode(blob=blob, data=data))
        data = _stage_result("compress", self._compress(blob=blob, data=data))
        data = _stage_result("encrypt", self._encrypt(blob=blob, data=data))
        path = self._place(blob=blob)
        if not isinstance(path, str) or not path:
            raise PluginError(f"the place stage returned {path!r}, not a repository path")
        blob.path = path
        return data

    def commit(self, commit: CommitContext) -> str:
        """Run the commit stage; return the new commit id."""
        commit_id = self._commit(commit=commit)
        if not isinstance(commit_id, str):
            raise PluginError(f"the commit stage returned {commit_id!r}, not a commit id")
        return commit_id

    def read(self, blob: BlobContext, data: bytes) -> bytes:
        """Run decrypt, decompress and decode on a stored file's bytes. Failures become
        :class:`CorruptBlobError` naming ``blob.path``."""
        try:
            data = _stage_result("decrypt", self._decrypt(blob=blob, data=data))
        except DecryptionFailed as error:
            raise CorruptBlobError(
                blob.path,
                f"cannot decrypt with {blob.cipher!r}: wrong key, or tampered or "
                f"truncated file ({error})",
            ) from None
        try:
            data = _stage_result("decompress", self._decompress(blob=blob, data=data))
        except DecodedTooLarge as error:
            raise BlobTooLargeError(blob.path, str(error)) from None
        except GitBlobTSError:
            raise
        except Exception as error:
            raise CorruptBlobError(
                blob.path, f"cannot decompress with codec {blob.codec.name!r}: {error!r}"
            ) from None
        return _stage_result("decode", self._decode(blob=blob, data=data))


def _stage_result(stage: str, value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise PluginError(f"the {stage} stage returned {type(value).__name__}, not bytes")
