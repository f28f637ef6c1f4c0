"""The hooks a gitblobts plugin can implement.

A plugin is a module or object, listed under the ``gitblobts`` entry-point group, with
functions marked ``@gitblobts.hookimpl`` whose names are hooks below. Registration hooks hand
core a ``register`` callback; a plugin calls it once per class it provides::

    @gitblobts.hookimpl
    def gitblobts_register_codecs(register):
        register(MyCodec)

Stage hooks let a plugin observe or take part in the pipeline. Each is called once per blob
with a :class:`~gitblobts.core.pipeline.BlobContext`; the first implementation to return a
value wins, and core's own implementation runs last. A plugin takes a stage over by
returning a value, or wraps it with ``@gitblobts.hookimpl(wrapper=True)`` to see (and alter)
the result. Writing runs encode, compress, encrypt, place; commit runs once per batch.
Reading runs decrypt, decompress, decode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from gitblobts.core.backend import Backend
    from gitblobts.core.cipher import Cipher
    from gitblobts.core.codec import Codec
    from gitblobts.core.layout import Layout
    from gitblobts.core.pipeline import BlobContext, CommitContext
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
    """Turn the caller's blob into the bytes to store (core: unchanged)."""


@hookspec(firstresult=True)
def gitblobts_compress(blob: BlobContext, data: bytes) -> bytes | None:
    """Compress encoded bytes (core: with ``blob.codec``)."""


@hookspec(firstresult=True)
def gitblobts_encrypt(blob: BlobContext, data: bytes) -> bytes | None:
    """Encrypt compressed bytes (core: with ``blob.cipher``, if any)."""


@hookspec(firstresult=True)
def gitblobts_place(blob: BlobContext) -> str | None:
    """Return the repository path of the blob's file (core: from the store's layout)."""


@hookspec(firstresult=True)
def gitblobts_commit(commit: CommitContext) -> str | None:
    """Commit a batch of placed files to the store's branch and return the commit id (core:
    compare-and-swap of the branch, with retries)."""


@hookspec(firstresult=True)
def gitblobts_decrypt(blob: BlobContext, data: bytes) -> bytes | None:
    """Decrypt a stored file's bytes (core: with ``blob.cipher``, if any)."""


@hookspec(firstresult=True)
def gitblobts_decompress(blob: BlobContext, data: bytes) -> bytes | None:
    """Decompress decrypted bytes (core: with ``blob.codec``)."""


@hookspec(firstresult=True)
def gitblobts_decode(blob: BlobContext, data: bytes) -> bytes | None:
    """Turn decompressed bytes back into the caller's blob (core: unchanged)."""
