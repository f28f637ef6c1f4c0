"""What the store hands back: :class:`BlobRef` for an added blob, :class:`Blob` for a read one,
:class:`BlobInfo` for a listed one."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import warnings
from dataclasses import dataclass, field

from gitblobts.core import timestamps


@dataclass(frozen=True, slots=True)
class BlobRef:
    """Where and when a blob is stored."""

    timestamp_ns: int
    """Exact UTC time in nanoseconds since the Unix epoch."""
    path: str
    """The file's path in the repository."""
    key: str | None = field(default=None, kw_only=True)
    """The key whose version this is; ``None`` for a keyless or content-addressed blob."""
    address: str | None = field(default=None, kw_only=True)
    """The content address (``sha256-…``) of a content-addressed blob, else ``None``; its
    :attr:`timestamp_ns` is 0."""

    @property
    def timestamp(self) -> float:
        """UTC time in seconds since the Unix epoch (as ``time.time()``)."""
        return timestamps.to_seconds(self.timestamp_ns)

    @property
    def datetime(self) -> dt.datetime:
        """The time as an aware UTC datetime (microsecond precision)."""
        return timestamps.to_datetime(self.timestamp_ns)

    @property
    def iso(self) -> str:
        """The time as RFC 3339 UTC text with nanoseconds."""
        return timestamps.format_iso(self.timestamp_ns)


@dataclass(frozen=True, slots=True)
class Blob(BlobRef):
    """A blob read from the store: its bytes, time and path."""

    blob: bytes
    """The blob's bytes, as they were added."""

    def __repr__(self) -> str:
        if self.address is not None:
            return f"Blob(address={self.address!r}, size={len(self.blob)}, path={self.path!r})"
        key = "" if self.key is None else f", key={self.key!r}"
        return f"Blob(timestamp={self.iso!r}, size={len(self.blob)}, path={self.path!r}{key})"

    def open(self) -> io.BufferedIOBase:
        """The blob's bytes as a binary file object, for reading."""
        return io.BytesIO(self.blob)


def new_blob(timestamp_ns: int, path: str, blob: bytes) -> Blob:
    """``Blob(timestamp_ns, path, blob)`` at half the cost, for reads of many blobs: a frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__`` by name; this
    sets the slots directly."""
    new = _new(Blob)
    _set_timestamp_ns(new, timestamp_ns)
    _set_path(new, path)
    _set_blob(new, blob)
    _set_key(new, None)
    _set_address(new, None)
    return new


def with_key(blob: Blob, key: str) -> Blob:
    """``blob``, read from a key's folder, marked as that key's version."""
    _set_key(blob, key)
    return blob


_new = object.__new__
_set_timestamp_ns = vars(BlobRef)["timestamp_ns"].__set__
_set_path = vars(BlobRef)["path"].__set__
_set_blob = vars(Blob)["blob"].__set__
_set_key = vars(BlobRef)["key"].__set__
_set_address = vars(BlobRef)["address"].__set__


@dataclass(frozen=True, slots=True)
class BlobInfo(BlobRef):
    """A stored blob listed without reading it back: its time, path and stored size."""

    stored_size: int
    """Size in bytes of the stored file (compressed and encrypted), as git holds it."""


_MOVED = {"V1Blob": "gitblobts.core.formats.v1.names"}
"""Names that moved to a name format's package, and where (found by name, not imported:
this module is below every format)."""


def __getattr__(name: str) -> object:
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(f"{__name__}.{name} moved to {home}", DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(home), name)
