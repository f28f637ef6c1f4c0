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


STREAM_THRESHOLD = 8 << 20
"""Blobs at least this large are compressed and encrypted piece by piece."""


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

        def is_core(name: str) -> bool:
            return all(impl.plugin is CORE_STAGES for impl in getattr(hook, name).get_hookimpls())

        def stage(name: str) -> Callable[..., Any]:
            return getattr(CORE_STAGES if is_core(name) else hook, name)  # type: ignore[no-any-return]

        self._encode = stage("gitblobts_encode")
        self._compress = stage("gitblobts_compress")
        self._encrypt = stage("gitblobts_encrypt")
        self._place = stage("gitblobts_place")
        self._commit = stage("gitblobts_commit")
        self._decrypt = stage("gitblobts_decrypt")
        self._decompress = stage("gitblobts_decompress")
        self._decode = stage("gitblobts_decode")
        # Core's decrypt without a cipher, and core's decode, hand the data back as it is;
        # core's decompress is the codec's decode.
        self._core_decrypt = is_core("gitblobts_decrypt")
        self._core_decompress = is_core("gitblobts_decompress")
        self._core_seal = is_core("gitblobts_compress") and is_core("gitblobts_encrypt")
        self._core_decode = is_core("gitblobts_decode")

    def write(self, blob: BlobContext, data: bytes) -> bytes | bytearray:
        """Run encode, compress, encrypt and place; set ``blob.path``; return the file's
        bytes."""
        data = _stage_result("encode", self._encode(blob=blob, data=data))
        stored: bytes | bytearray
        if self._core_seal and blob.cipher is not None and len(data) >= STREAM_THRESHOLD:
            # A large blob through core's own stages: compressed and encrypted piece by
            # piece, so that memory holds the blob and its stored file, not a third copy.
            context = blob.name.identity.encode("ascii")
            stored = blob.cipher.encrypt_pieces(blob.codec.encode_pieces(data), context)
        else:
            data = _stage_result("compress", self._compress(blob=blob, data=data))
            stored = _stored_result(self._encrypt(blob=blob, data=data))
        path = self._place(blob=blob)
        if not isinstance(path, str) or not path:
            raise PluginError(f"the place stage returned {path!r}, not a repository path")
        blob.path = path
        return stored

    def commit(self, commit: CommitContext) -> str:
        """Run the commit stage; return the new commit id."""
        commit_id = self._commit(commit=commit)
        if not isinstance(commit_id, str):
            raise PluginError(f"the commit stage returned {commit_id!r}, not a commit id")
        return commit_id

    def read(self, blob: BlobContext, data: bytes) -> bytes:
        """Run decrypt, decompress and decode on a stored file's bytes. A cipher's or
        codec's contract error becomes :class:`CorruptBlobError` naming ``blob.path``; any
        other exception of theirs, a :class:`PluginError` naming them."""
        if blob.cipher is not None or not self._core_decrypt:
            try:
                data = self._decrypt(blob=blob, data=data)
            except DecryptionFailed as error:
                raise CorruptBlobError(
                    blob.path,
                    f"cannot decrypt with {_name(blob.cipher)}: wrong key, or tampered or "
                    f"truncated file ({error})",
                ) from None
            except GitBlobTSError:
                raise
            except Exception as error:
                hooked = not self._core_decrypt
                raise _plugin_failed(blob.path, "decrypt", blob.cipher, hooked, error) from error
        if type(data) is not bytes:
            data = _stage_result("decrypt", data)
        data = self.decompress(blob.codec, blob.path, data, blob.max_size, blob)
        if self._core_decode:
            return data
        return _stage_result("decode", self._decode(blob=blob, data=data))

    @property
    def reads_plain(self) -> bool:
        """Whether every read stage is core's, so that a file without a cipher reads as
        :meth:`decompress` alone, with no :class:`BlobContext` to make."""
        return self._core_decrypt and self._core_decompress and self._core_decode

    def decompress(
        self,
        codec: Codec,
        path: str,
        data: bytes,
        max_size: int,
        blob: BlobContext | None = None,
    ) -> bytes:
        """The decompress stage: a plugin's hook if there is one and ``blob`` is given, else
        ``codec``'s decode. Its ``ValueError`` becomes :class:`CorruptBlobError` or
        :class:`BlobTooLargeError` naming ``path``; any other exception, a
        :class:`PluginError` naming the codec, chained to it."""
        try:
            if blob is not None and not self._core_decompress:
                return _stage_result("decompress", self._decompress(blob=blob, data=data))
            decoded = codec.decode(data, max_size=max_size)
        except DecodedTooLarge as error:
            raise BlobTooLargeError(
                path,
                f"{error}, the most a read accepts; to read it, raise the limit "
                "(max_blob_size= in bytes, or $GITBLOBTS_MAX_BLOB_SIZE)",
            ) from None
        except GitBlobTSError:
            raise
        except ValueError as error:  # the codec's contract: the data is not valid
            raise CorruptBlobError(
                path, f"cannot decompress with codec {codec.name!r}: {error!r}"
            ) from None
        except Exception as error:
            hooked = blob is not None and not self._core_decompress
            raise _plugin_failed(path, "decompress", codec, hooked, error) from error
        return decoded if type(decoded) is bytes else _stage_result("decompress", decoded)


def _stored_result(value: object) -> bytes | bytearray:
    """What the encrypt stage returned, as the stored file's bytes (a bytearray, as a large
    encrypted file comes, is kept rather than copied)."""
    if isinstance(value, (bytes, bytearray)):
        return value
    return _stage_result("encrypt", value)


def _stage_result(stage: str, value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise PluginError(f"the {stage} stage returned {type(value).__name__}, not bytes")


def _plugin_failed(
    path: str, stage: str, plugin: Cipher | Codec | None, hooked: bool, error: Exception
) -> PluginError:
    """A codec or cipher (or a plugin's hook on its stage, if ``hooked``) that raised
    outside its contract (a codec's ``ValueError``, a cipher's :class:`DecryptionFailed`):
    a bug in a plugin, not damage to ``path``. The error names the class, and so the plugin
    that provides it."""
    culprit = "nothing"
    if plugin is not None:
        kind = "cipher" if isinstance(plugin, Cipher) else "codec"
        cls = type(plugin)
        culprit = f"{kind} {plugin.name!r} ({cls.__module__}.{cls.__qualname__})"
    if hooked:
        culprit = f"a plugin's {stage} stage hook (or {culprit} under it)"
    return PluginError(
        f"{path}: {culprit} failed with {error!r}, which its contract does not allow: a bug "
        "in the plugin, not damage to the file; report it to the plugin's authors"
    )


def _name(plugin: Cipher | Codec | None) -> str:
    """A cipher or codec as a user knows it: by its name, quoted (``'aes256gcm'``)."""
    return repr(plugin.name) if plugin is not None else "the decrypt stage"
