"""Migration: rewriting the format-1 files of a gitblobts 0.0.7 store in the current format.

:class:`Rewriter` does the work for :meth:`gitblobts.Store.migrate`, which commits it. For
each format-1 file at the root of a commit it reads the blob (with the codec and cipher the
store was opened with, as 0.0.7 wrote it), writes it again with the target layout, codec and
cipher under a format-2 name of the same nanosecond, reads the written object back, and
checks that it decodes to the same bytes at the same time. The commit that adds the new
files removes the old ones.

The random part of a migrated name is not random: it is derived from the format-1 file name
(:func:`migrated_name`), which is unique per blob, so as to keep the order of blobs of equal
time. So every run, in every clone, gives a blob the same path: a run interrupted at any
point and run again, or two clones migrating the same blobs and pushing, never make a second
copy.
"""

from __future__ import annotations

import hashlib
import math
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field

import gitblobts.core.formats.v1.names as naming_v1
from gitblobts.core import foreign, naming
from gitblobts.core.backend import Backend
from gitblobts.core.cipher import Cipher
from gitblobts.core.codec import Codec
from gitblobts.core.errors import BlobTooLargeError, ConfigError, CorruptBlobError, TimeError
from gitblobts.core.layout import Layout
from gitblobts.core.naming import BlobName
from gitblobts.core.pipeline import BlobContext, Pipeline
from gitblobts.core.timestamps import MAX_NS, MIN_NS

_STEM_RANK = {
    char: rank
    for rank, char in enumerate(sorted(string.ascii_letters + string.digits + "-_="), start=1)
}
"""Characters of format-1 stems, ranked as strings compare them (0: past the end)."""
_NONCE_ALPHABET = "".join(sorted(string.ascii_lowercase + "234567"))
"""The characters of format-2 random parts, as strings compare them."""
_NONCE_LENGTH = 26
_ORDER_DIGITS = 21
"""Stem characters a migrated name keeps the order of: 21 * log2(66) bits fit in 26 * 5,
and are over 120 random bits, so two blobs of one time never share them."""


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What :meth:`gitblobts.Store.migrate` did."""

    migrated: int
    """How many format-1 files it rewrote and removed."""
    commit: str | None
    """The last commit it made, ``None`` if there was nothing to migrate."""


@dataclass(frozen=True, slots=True)
class Encoding:
    """How blob files are (or are to be) encoded: codec and cipher."""

    codec: Codec
    cipher: Cipher | None

    @property
    def suffixes(self) -> tuple[str, ...]:
        """The format-2 file-name suffixes of this encoding."""
        cipher = self.cipher.name if self.cipher is not None else ""
        return tuple(s for s in (self.codec.extension, cipher) if s)


@dataclass(slots=True)
class Plan:
    """One migration commit: files to add (path to blob id) and format-1 files to remove."""

    files: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)


def migrated_name(old: BlobName, suffixes: tuple[str, ...]) -> BlobName:
    """The format-2 name of the format-1 file ``old``: the same time, and in place of the
    random part, 26 characters derived from the random part of the format-1 name in an
    order-preserving way. Blobs of one time then come back in the order 0.0.7 returned
    them (by file name), and every run gives a blob the same name."""
    stem = old.nonce.rpartition(".")[0]
    # Characters of the stem that spell only the time are the same for all blobs of that
    # time: skip them. At times 0 and -1 the stems vary in length: keep them all.
    time_bytes = len(stem) // 4 * 3 - stem.count("=") - naming_v1.RANDOM_BITS // 8
    skip = 0 if old.timestamp_ns in (0, -1) else max(time_bytes, 0) * 8 // 6
    value = 0
    for position in range(skip, skip + _ORDER_DIGITS):
        rank = _STEM_RANK[stem[position]] if position < len(stem) else 0
        value = value * (len(_STEM_RANK) + 1) + rank
    digits = []
    for _ in range(_NONCE_LENGTH):
        value, digit = divmod(value, len(_NONCE_ALPHABET))
        digits.append(_NONCE_ALPHABET[digit])
    nonce = "".join(reversed(digits))
    return BlobName(old.timestamp_ns, nonce, naming.FORMAT_VERSION, suffixes)


def format_1_files(backend: Backend, commit: str | None) -> dict[str, str]:
    """The format-1 files at the root of ``commit``'s tree: file name to blob id."""
    if commit is None:
        return {}
    return {
        entry.name: entry.oid
        for entry in backend.list_folder(commit, "")
        if entry.is_file and naming_v1.parse(entry.name) is not None
    }


class Rewriter:
    """Rewrites format-1 files from ``source`` encoding into ``target`` encoding and
    ``layout``, and remembers what it wrote, so that planning again on a branch that moved
    rewrites only the files it has not seen."""

    def __init__(
        self,
        backend: Backend,
        pipeline: Pipeline,
        source: Encoding,
        target: Encoding,
        layout: Layout,
        max_size: int,
        source_hint: str,
        check_source: bool = False,
    ) -> None:
        self._backend = backend
        self._pipeline = pipeline
        self._source = source
        self._target = target
        self.layout = layout
        self._max_size = max_size
        self._source_hint = source_hint
        self._check_source = check_source
        self._done: dict[tuple[str, str], _Rewritten] = {}
        """(format-1 file name, its blob id) to what it was rewritten as."""

    def plan(self, head: str | None) -> Plan:
        """Rewrite the format-1 files of ``head`` not rewritten yet, check them, and return
        the commit that replaces every format-1 file of ``head``."""
        old_files = sorted(format_1_files(self._backend, head).items())
        if head is not None:  # what is named so but is no file stays, unread and unfollowed
            foreign.warn_of_skipped(self._backend, head, "", naming_v1.parse, -math.inf, math.inf)
        self._rewrite([item for item in old_files if item not in self._done])
        rewritten = [self._done[item] for item in old_files]
        seen: dict[str, str] = {}
        for (filename, _), new in zip(old_files, rewritten, strict=True):
            other = seen.setdefault(new.path, filename)
            if other != filename:
                raise CorruptBlobError(
                    filename,
                    f"its migrated name would be that of {other}: the two share their time "
                    "and the first 126 bits of their random part, which 0.0.7 never wrote",
                )
        existing = self._existing(head, [r.name for r in rewritten])
        plan = Plan()
        for (filename, _), new in zip(old_files, rewritten, strict=True):
            found = existing.get((new.name.timestamp_ns, new.name.nonce))
            if found is None:
                plan.files[new.path] = new.oid
            elif found != (new.path, new.oid):
                self._check_existing(filename, new, *found)
            plan.removed.append(filename)
        return plan

    def _rewrite(self, todo: list[tuple[str, str]]) -> None:
        """Rewrite the format-1 files ``todo`` (name, blob id), then read each new object
        back and check it."""
        pending: list[tuple[tuple[str, str], BlobContext, bytes]] = []

        def stored_files() -> Iterator[bytes | bytearray]:
            contents = self._backend.read_blobs([oid for _, oid in todo])
            for (filename, oid), data in zip(todo, contents, strict=True):
                old = self._parse_old(filename)
                blob = self._read_old(old, filename, data)
                context = BlobContext(
                    migrated_name(old, self._target.suffixes),
                    self._target.codec,
                    self._target.cipher,
                    self.layout,
                    max_size=self._max_size,
                )
                stored = self._pipeline.write(context, blob)
                pending.append(((filename, oid), context, hashlib.sha256(blob).digest()))
                yield stored

        new_oids = self._backend.write_blobs(stored_files())
        written = self._backend.read_blobs(new_oids)
        for (item, context, digest), new_oid, data in zip(pending, new_oids, written, strict=True):
            self._verify(item[0], context, digest, data)
            self._done[item] = _Rewritten(context.name, context.path, new_oid, digest)

    def _parse_old(self, filename: str) -> BlobName:
        name = naming_v1.parse(filename)
        if name is None:
            raise CorruptBlobError(filename, "not a format-1 file name")
        if not MIN_NS <= name.timestamp_ns <= MAX_NS:
            raise TimeError(
                f"{filename}: its time, {name.timestamp_ns} ns from 1970, is outside the "
                "years 0001-9999 that format 2 can name, so it cannot be migrated"
            )
        return name

    def _read_old(self, name: BlobName, filename: str, data: bytes) -> bytes:
        context = BlobContext(
            name, self._source.codec, self._source.cipher, self.layout, filename, self._max_size
        )
        try:
            blob = self._pipeline.read(context, data)
        except BlobTooLargeError:
            raise
        except CorruptBlobError as error:
            raise CorruptBlobError(filename, f"{error.reason}; {self._source_hint}") from None
        looks = _encoded_as(blob) if self._check_source else None
        if looks is not None:
            raise CorruptBlobError(
                filename,
                f"it reads as {looks}, so the store was likely written with other options; "
                f"{self._source_hint}. If these bytes are the blob, pass compression='none' "
                "to say so",
            )
        return blob

    def _verify(self, filename: str, context: BlobContext, digest: bytes, data: bytes) -> None:
        """Check a rewritten file as a reader will find it: its name parses to the same time
        and identity, and its stored bytes decode to the same blob."""
        if naming.parse(context.path.rpartition("/")[2]) != context.name:
            raise CorruptBlobError(
                context.path, f"the name given to {filename} does not parse back to its time"
            )
        try:
            blob = self._pipeline.read(context, data)
        except CorruptBlobError as error:
            raise CorruptBlobError(
                context.path, f"the new copy of {filename} does not read back: {error.reason}"
            ) from None
        if hashlib.sha256(blob).digest() != digest:
            raise CorruptBlobError(
                context.path, f"the new copy of {filename} reads back other bytes"
            )

    def _existing(
        self, head: str | None, names: list[BlobName]
    ) -> dict[tuple[int, str], tuple[str, str]]:
        """The files of ``head`` with the time and identity of one of ``names`` (from an
        earlier migration), as ``(time, nonce)`` to ``(path, blob id)``."""
        found: dict[tuple[int, str], tuple[str, str]] = {}
        if head is None:
            return found
        wanted: dict[str, set[tuple[int, str]]] = {}
        for name in names:
            folder = self.layout.folder(name.timestamp_ns)
            wanted.setdefault(folder, set()).add((name.timestamp_ns, name.nonce))
        for folder, keys in wanted.items():
            for entry in self._backend.list_folder(head, folder):
                parsed = naming.parse(entry.name) if entry.is_file else None
                if parsed is not None and (parsed.timestamp_ns, parsed.nonce) in keys:
                    path = f"{folder}/{entry.name}" if folder else entry.name
                    found[parsed.timestamp_ns, parsed.nonce] = (path, entry.oid)
        return found

    def _check_existing(self, filename: str, new: _Rewritten, path: str, oid: str) -> None:
        """``path`` holds ``filename`` migrated already (by an earlier run, or another
        clone): it must read as the same blob."""
        name = naming.parse(path.rpartition("/")[2])
        if name is None or name.suffixes != self._target.suffixes:
            raise ConfigError(
                f"{path}: {filename} was migrated already, with other settings (file suffixes "
                f"{name.suffixes if name else ()!r}); migrate with the compression and cipher "
                "it used"
            )
        (data,) = self._backend.read_blobs([oid])
        context = BlobContext(
            name, self._target.codec, self._target.cipher, self.layout, path, self._max_size
        )
        self._verify(filename, context, new.digest, data)


_MAGIC = (
    (b"\x1f\x8b\x08", "gzip data (compression='gzip')"),
    (b"BZh", "bzip2 data (compression='bz2')"),
    (b"\xfd7zXZ\x00", "xz data (compression='lzma')"),
)


def _encoded_as(blob: bytes) -> str | None:
    """What ``blob`` looks like, if it looks like what 0.0.7 wrote with a codec or a key:
    a compressed stream, or a Fernet token."""
    for magic, what in _MAGIC:
        if blob.startswith(magic) and (magic != b"BZh" or blob[4:10] == b"1AY&SY"):
            return what
    if blob.startswith(b"gAAAAA") and _FERNET_TOKEN.fullmatch(blob):
        raw = len(blob) * 3 // 4 - blob.count(b"=")
        if raw >= 73 and (raw - 57) % 16 == 0:  # version, time, IV, blocks, HMAC
            return "a Fernet token (a key)"
    return None


_FERNET_TOKEN = re.compile(rb"[A-Za-z0-9_-]+={0,2}")


@dataclass(frozen=True, slots=True)
class _Rewritten:
    """A format-1 file, rewritten."""

    name: BlobName
    path: str
    oid: str
    digest: bytes
    """SHA-256 of the blob."""
