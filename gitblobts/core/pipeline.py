"""The pipeline: encode → compress → encrypt → place → commit, and its reverse on read.

Every stage is a hook (:mod:`gitblobts.core.hookspecs`) whose result core's implementation
produces (:mod:`gitblobts.core.stages`); plugins observe, annotate or refuse. :class:`Pipeline`
runs the stages for one store: when no plugin takes part in a stage it calls core's
implementation directly, which keeps the per-blob cost of hooks at zero; when one does, it
accepts from the hook call only the object core produced. After a commit lands it tells the
plugins implementing ``gitblobts_committed``.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable, Iterable
from typing import Any

from pluggy import HookCaller, HookImpl

from gitblobts.core.cipher import Cipher, DecryptionFailed
from gitblobts.core.codec import Codec, DecodedTooLarge
from gitblobts.core.contexts import BlobContext, CommitContext, Committed
from gitblobts.core.errors import (
    BlobTooLargeError,
    CorruptBlobError,
    GitBlobTSError,
    PluginError,
)
from gitblobts.core.plugins import Plugins
from gitblobts.core.stages import CORE_STAGES, CoreStages

__all__ = [
    "CORE_STAGES",
    "STREAM_THRESHOLD",
    "BlobContext",
    "CommitContext",
    "Committed",
    "CoreStages",
    "Pipeline",
]

log = logging.getLogger("gitblobts")

STREAM_THRESHOLD = 8 << 20
"""Blobs at least this large are compressed and encrypted piece by piece."""

WITHDRAWN_HOOKS = {
    "gitblobts_commit": "a plugin can no longer take a commit over; implement "
    "gitblobts_committed to be told of each commit once it has landed",
}
"""Hooks a plugin could implement before, and what to do instead."""

_UNSET = object()
_WRITE_STAGES = frozenset({"encode", "compress", "encrypt", "place"})


class Pipeline:
    """Runs the stages of one store."""

    def __init__(self, plugins: Plugins, store_path: str = "", branch: str = "") -> None:
        """``store_path`` and ``branch``: the store's, as ``gitblobts_committed`` is told.
        Raises :class:`PluginError` naming a plugin that implements a withdrawn hook."""
        hook = plugins.hook
        _refuse_withdrawn(hook)
        self._store_path = store_path
        self._branch = branch

        def is_core(name: str) -> bool:
            return all(impl.plugin is CORE_STAGES for impl in getattr(hook, name).get_hookimpls())

        def stage(name: str) -> Callable[..., Any]:
            caller: HookCaller = getattr(hook, name)
            if is_core(name):
                return getattr(CORE_STAGES, name)  # type: ignore[no-any-return]
            return _checked(caller)

        self._encode = stage("gitblobts_encode")
        self._compress = stage("gitblobts_compress")
        self._encrypt = stage("gitblobts_encrypt")
        self._place = stage("gitblobts_place")
        self._decrypt = stage("gitblobts_decrypt")
        self._decompress = stage("gitblobts_decompress")
        self._decode = stage("gitblobts_decode")
        # Core's decrypt without a cipher, and core's decode, hand the data back as it is;
        # core's decompress is the codec's decode.
        self._core_decrypt = is_core("gitblobts_decrypt")
        self._core_decompress = is_core("gitblobts_decompress")
        self._core_seal = is_core("gitblobts_compress") and is_core("gitblobts_encrypt")
        self._core_decode = is_core("gitblobts_decode")
        self._core_data_writes = self._core_seal and is_core("gitblobts_encode")
        self._core_writes = self._core_data_writes and is_core("gitblobts_place")
        self._told = _listeners(hook.gitblobts_committed)

    def write(self, blob: BlobContext, data: bytes) -> bytes | bytearray:
        """Run encode, compress, encrypt and place; set ``blob.path``; return the file's
        bytes."""
        stored: bytes | bytearray
        if self._core_writes and len(data) < STREAM_THRESHOLD:
            # No plugin takes part: core's stages, called as they are (a batch writes
            # thousands of small blobs, and each call through a stage costs).
            compressed = blob.codec.encode(data)
            if type(compressed) is not bytes:
                compressed = _stage_result("compress", compressed)
            stored = compressed
            if blob.cipher is not None:
                stored = _stored_result(blob.cipher.encrypt(compressed, blob.cipher_context))
            blob.path = CORE_STAGES.gitblobts_place(blob)
            return stored
        data = _stage_result("encode", self._encode(blob=blob, data=data))
        if self._core_seal and blob.cipher is not None and len(data) >= STREAM_THRESHOLD:
            # A large blob through core's own stages: compressed and encrypted piece by
            # piece, so that memory holds the blob and its stored file, not a third copy.
            context = blob.cipher_context
            stored = blob.cipher.encrypt_pieces(blob.codec.encode_pieces(data), context)
        else:
            data = _stage_result("compress", self._compress(blob=blob, data=data))
            stored = _stored_result(self._encrypt(blob=blob, data=data))
        blob.path = self._place(blob=blob)
        return stored

    @property
    def streams_writes(self) -> bool:
        """Whether every data stage of a write (encode, compress, encrypt) is core's, so
        that a blob can stream through its codec's encoder and cipher's encryptor; a
        plugin's data stage observes whole bytes, so then a blob is read whole."""
        return self._core_data_writes

    def place(self, blob: BlobContext) -> str:
        """Run the place stage alone, for a blob that streams; set and return ``blob.path``."""
        blob.path = self._place(blob=blob)
        return blob.path

    def commit(self, commit: CommitContext) -> str:
        """Commit ``commit.files`` by core's compare-and-swap; once the commit has landed,
        tell the plugins implementing ``gitblobts_committed``. Return the commit id."""
        commit_id = commit.commit_files(commit)
        if self._told:
            self._tell(
                Committed(
                    self._store_path, self._branch, commit_id, tuple(commit.files), commit.message
                )
            )
        return commit_id

    def _tell(self, committed: Committed) -> None:
        """Call each plugin's ``gitblobts_committed``; log what one raises: the commit
        stands whatever a plugin does with the news of it."""
        arguments = {"commit": committed}
        for impl in self._told:
            try:  # as pluggy calls it: the arguments it names, in its order
                impl.function(*(arguments[name] for name in impl.argnames))
            except Exception:
                log.warning(
                    "%s: plugin %r failed in gitblobts_committed, told of commit %s on %s "
                    "(which stands)",
                    self._store_path,
                    _plugin_name(impl),
                    committed.commit_id,
                    self._branch,
                    exc_info=True,
                )

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
            raise read_too_large(path, error) from None
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


def read_too_large(path: str, error: DecodedTooLarge) -> BlobTooLargeError:
    """The refusal of a read of the file at ``path`` whose blob decodes past ``max_blob_size``."""
    return BlobTooLargeError(
        path,
        f"{error}, the most a read accepts; to read it, raise the limit "
        "(max_blob_size= in bytes, or $GITBLOBTS_MAX_BLOB_SIZE)",
    )


def _refuse_withdrawn(hook: Any) -> None:
    """Raise :class:`PluginError` if a plugin implements a hook gitblobts no longer has."""
    for name, instead in WITHDRAWN_HOOKS.items():
        implementers = _plugin_names(getattr(hook, name).get_hookimpls())
        if implementers:
            raise PluginError(
                f"{_plugins_phrase(implementers)} {name}, which gitblobts no longer has: "
                f"{instead}; update or uninstall the plugin"
            )


def _listeners(caller: HookCaller) -> list[HookImpl]:
    """The implementations of ``gitblobts_committed``, which are told in turn, each on its
    own; a wrapper is refused (there is no result to wrap)."""
    impls = caller.get_hookimpls()
    wrappers = _plugin_names(impl for impl in impls if impl.wrapper or impl.hookwrapper)
    if wrappers:
        raise PluginError(
            f"{_plugins_phrase(wrappers)} gitblobts_committed as a wrapper; it is a "
            "notification: implement it plainly (@gitblobts.hookimpl)"
        )
    return impls


def _checked(caller: HookCaller) -> Callable[..., Any]:
    """The hook ``caller`` of a stage some plugin takes part in, accepting only the result
    core's implementation produced (the same object, not merely equal bytes)."""
    stage = caller.name.removeprefix("gitblobts_")

    writes = stage in _WRITE_STAGES

    def implementers() -> str:
        names = _plugin_names(i for i in caller.get_hookimpls() if i.plugin is not CORE_STAGES)
        return f"{_plugins_phrase(names)} {caller.name}"

    def call(blob: BlobContext, **data: object) -> Any:
        blob._produced = _UNSET  # asks core's implementation to note its result
        try:
            result = caller(blob=blob, **data)
            produced = blob._produced
        except GitBlobTSError:
            raise
        except Exception as error:
            if not writes:  # the read path tells damaged data from a plugin's fault
                raise
            raise PluginError(
                f"the {stage} stage refused a blob ({implementers()}): {error!r}; nothing is added"
            ) from error
        finally:
            blob._produced = None
        if result is not produced:
            outcome = "nothing is added" if writes else f"{blob.path} is not read"
            raise PluginError(
                f"the {stage} stage's result was changed by a plugin ({implementers()}), so "
                f"{outcome}. A stage hook may observe (return None, or wrap and return the "
                "result it is given) or refuse (raise); bytes change only through registered "
                "codecs and ciphers, places through layouts"
            )
        return result

    return call


def _plugin_names(impls: Iterable[HookImpl]) -> list[str]:
    """The plugins of ``impls`` by name; one registered without a name (pluggy then names
    it by its id), by its module or class."""
    return sorted({_plugin_name(impl) for impl in impls})


def _plugin_name(impl: HookImpl) -> str:
    if impl.plugin_name != str(id(impl.plugin)):
        return impl.plugin_name
    plugin = impl.plugin
    if isinstance(plugin, types.ModuleType):
        return plugin.__name__
    cls = plugin if isinstance(plugin, type) else type(plugin)
    return f"{cls.__module__}.{cls.__qualname__}"


def _plugins_phrase(names: list[str]) -> str:
    """``plugin 'x' implements`` or ``plugins 'x', 'y' implement``."""
    if len(names) == 1:
        return f"plugin {names[0]!r} implements"
    return f"plugins {', '.join(map(repr, names))} implement"


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
