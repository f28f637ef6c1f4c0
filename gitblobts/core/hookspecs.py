"""The hooks a gitblobts plugin can implement.

A plugin is a module or object, listed under the ``gitblobts`` entry-point group, with
functions marked ``@gitblobts.hookimpl`` whose names are hooks below. Registration hooks hand
core a ``register`` callback; a plugin calls it once per class it provides::

    @gitblobts.hookimpl
    def gitblobts_register_codecs(register):
        register(MyCodec)

Stage hooks let a plugin observe, time, annotate or refuse each stage of the pipeline, never
change what it produces: everything that changes bytes or chooses a path is recorded in the
store (the codec and cipher in each file name, the layout in ``.gitblobts.json``), so bytes
change only through registered codecs and ciphers, and places through layouts. Each stage
hook is called once per blob with a :class:`~gitblobts.core.contexts.BlobContext`. Core's
own implementation produces the result; a plugin may implement the hook and return None (an
observer), or wrap it with ``@gitblobts.hookimpl(wrapper=True)`` and return the result it is
given, unchanged (the same object). A hook call that yields anything else is refused with
:class:`~gitblobts.PluginError` naming the plugins and the stage, before anything is
committed. A plugin refuses a blob by raising: the add fails with a ``PluginError`` chained
to its exception, and commits nothing. ``blob.extra`` holds a plugin's notes from stage to
stage; it is not stored. Writing runs encode, compress, encrypt, place; reading runs
decrypt, decompress, decode.

``gitblobts_committed`` tells plugins of each commit once it has landed on the branch
(metrics, mirroring, webhooks). ``gitblobts_commit``, which let a plugin take a commit over,
is withdrawn: a store refuses to open with a plugin implementing it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from gitblobts.core.backend import Backend
    from gitblobts.core.cipher import Cipher
    from gitblobts.core.codec import Codec
    from gitblobts.core.contexts import BlobContext, CommitContext, Committed
    from gitblobts.core.layout import Layout
    from gitblobts.core.timestamps import TimeParser

PROJECT = "gitblobts"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def gitblobts_register_codecs(register: Callable[[type[Codec]], None]) -> None:
    """Register codec classes (:mod:`gitblobts.core.codec`)."""


@hookspec
def gitblobts_register_ciphers(register: Callable[[type[Cipher]], None]) -> None:
    """Register cipher classes (:mod:`gitblobts.core.cipher`)."""


@hookspec
def gitblobts_register_layouts(register: Callable[[type[Layout]], None]) -> None:
    """Register layout classes (:mod:`gitblobts.core.layout`)."""


@hookspec
def gitblobts_register_backends(register: Callable[[type[Backend]], None]) -> None:
    """Register git backend classes (:mod:`gitblobts.core.backend`)."""


@hookspec
def gitblobts_register_time_parsers(register: Callable[[type[TimeParser]], None]) -> None:
    """Register time-string parser classes (:class:`gitblobts.core.timestamps.TimeParser`)."""


@hookspec(firstresult=True)
def gitblobts_encode(blob: BlobContext, data: bytes) -> bytes | None:
    """Observe the caller's blob on its way in (core: hands it on unchanged). Data stages
    see whole bytes: with a plugin on one, a blob added as a file object is read whole."""


@hookspec(firstresult=True)
def gitblobts_compress(blob: BlobContext, data: bytes) -> bytes | None:
    """Observe the compression of encoded bytes (core: with ``blob.codec``)."""


@hookspec(firstresult=True)
def gitblobts_encrypt(blob: BlobContext, data: bytes) -> bytes | None:
    """Observe the encryption of compressed bytes (core: with ``blob.cipher``, if any, bound
    to ``blob.cipher_context``)."""


@hookspec(firstresult=True)
def gitblobts_place(blob: BlobContext) -> str | None:
    """Observe the placing of the blob's file (core: its path from the store's layout)."""


@hookspec(
    firstresult=True,
    warn_on_impl=FutureWarning(
        "gitblobts_commit is withdrawn: a plugin can no longer take a commit over, and a "
        "store refuses to open with a plugin implementing it; implement gitblobts_committed "
        "to be told of each commit"
    ),
)
def gitblobts_commit(commit: CommitContext) -> str | None:
    """Withdrawn: a store refuses to open with a plugin implementing it. Implement
    :func:`gitblobts_committed` instead."""


@hookspec(firstresult=True)
def gitblobts_decrypt(blob: BlobContext, data: bytes) -> bytes | None:
    """Observe the decryption of a stored file's bytes (core: with ``blob.cipher``, if any,
    bound to ``blob.cipher_context``)."""


@hookspec(firstresult=True)
def gitblobts_decompress(blob: BlobContext, data: bytes) -> bytes | None:
    """Observe the decompression of decrypted bytes (core: with ``blob.codec``)."""


@hookspec(firstresult=True)
def gitblobts_decode(blob: BlobContext, data: bytes) -> bytes | None:
    """Observe the blob on its way out (core: hands the decompressed bytes on unchanged)."""


@hookspec
def gitblobts_committed(commit: Committed) -> None:
    """Called once a commit the store made has landed on its branch: one per commit of an
    ``addblob`` or ``addblobs`` that added blobs (a batch over ``max_push_bytes`` makes
    several), and the commit of ``init``; not for migration, pull or rebase. Called after
    the branch moved, outside the store's lock, once per plugin; an exception is logged at
    WARNING (logger ``gitblobts``) naming the plugin, and the add still returns, since the
    commit stands. Implement it plainly, not as a wrapper."""
