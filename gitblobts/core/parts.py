"""Blobs in parts: a stored form larger than the store's part size, kept as a folder.

A parted blob is a folder at the path where the layout puts the blob's file, with the same
name, holding ``part-000000``, ``part-000001``, ...: the stored form (after codec, then
cipher) cut into consecutive byte ranges, each ``part_size`` bytes but the last (1 to
``part_size``), and ``SHA256SUMS``, one line per part in order in ``sha256sum``'s format.
Without a cipher, ``sha256sum -c SHA256SUMS && cat part-* | zstd -d`` restores the blob with
standard tools (see ``docs/format.rst``). A stored form that fits in one part stays one file.

Reading checks the folder's structure before anything (exactly ``SHA256SUMS`` and the parts it
lists, numbered from 0), then each part's SHA-256 before releasing its bytes: a missing,
extra, reordered, truncated or damaged part is :class:`CorruptBlobError` naming the blob and
the part, never data. With a cipher ``SHA256SUMS`` proves nothing against someone who can
rewrite the repository; the cipher's stream, which binds its segments' positions and its end,
does.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gitblobts.core.backend import Backend
from gitblobts.core.errors import ArgumentError, ArgumentTypeError, CorruptBlobError

DEFAULT_PART_SIZE = 16 << 20
"""16 MiB: far below every host's warning (GitHub's is 50 MB), and an add streams holding
about two parts (the one a backend is writing and the next), a read one."""
MIN_PART_SIZE = 1 << 10
PART_SIZE_ENV = "GITBLOBTS_PART_SIZE"
"""Environment variable giving ``part_size`` in bytes when ``part_size=`` is not given."""
SUMS = "SHA256SUMS"
_EAGER = 1 << 20
_PART = re.compile(r"part-([0-9]{6,})")
_SUMS_LINE = re.compile(rb"([0-9a-f]{64})  (part-[0-9]{6,})\n")


def part_name(index: int) -> str:
    """The name of part ``index``: ``part-000000``; six digits, more beyond 999,999 parts,
    so that ``part-*`` lists the parts in order."""
    return f"part-{index:06d}"


def check_part_size(value: object, option: str = "part_size") -> int:
    """``value`` as a part size, or :class:`ArgumentTypeError`/:class:`ArgumentError`
    naming ``option``."""
    if type(value) is not int:  # nor bool, nor float
        raise ArgumentTypeError(f"{option} is {type(value).__name__}, not an int (bytes)")
    if value < MIN_PART_SIZE:
        raise ArgumentError(f"{option} must be at least {MIN_PART_SIZE} bytes, not {value}")
    return value


def read_part_size(given: int | None) -> int | None:
    """``part_size``: as given, else from ``$GITBLOBTS_PART_SIZE``, else ``None`` (the
    store's recorded part size, else the default)."""
    if given is not None:
        return check_part_size(given)
    text = os.environ.get(PART_SIZE_ENV, "").strip()
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        raise ArgumentError(f"${PART_SIZE_ENV} is {text!r}, not a number of bytes") from None
    return check_part_size(number, f"${PART_SIZE_ENV}")


def sums_file(digests: list[str]) -> bytes:
    """``SHA256SUMS`` for parts of hexadecimal SHA-256 ``digests``, in order."""
    return b"".join(
        f"{digest}  {part_name(i)}\n".encode("ascii") for i, digest in enumerate(digests)
    )


class PartCutter:
    """Cuts a stored form, given in pieces, into parts: :meth:`feed` yields the parts that
    are complete (each ``part_size`` bytes, cut only once more follows, so that a stored form
    of exactly ``part_size`` bytes stays one file); :meth:`finish` returns the rest.

    Memory holds the part being filled and the one last handed over, no more: a part is
    handed over, not copied, and its buffer, once past 1 MiB, is allocated whole rather
    than grown (growing copies)."""

    def __init__(self, part_size: int) -> None:
        self.part_size = part_size
        self.digests: list[str] = []
        """The SHA-256 of each part cut so far."""
        self._buffer = bytearray()
        self._filled = 0

    def feed(self, data: bytes | bytearray) -> Iterator[bytearray]:
        with memoryview(data) as view:
            while view:
                if self._filled == self.part_size:  # a full part, and more follows
                    part, self._buffer, self._filled = self._buffer, bytearray(), 0
                    self.digests.append(hashlib.sha256(part).hexdigest())
                    yield part
                take = min(len(view), self.part_size - self._filled)
                self._put(view[:take])
                view = view[take:]

    def _put(self, data: memoryview) -> None:
        end = self._filled + len(data)
        if end > len(self._buffer):
            size = max(end, 2 * len(self._buffer)) if end <= _EAGER else self.part_size
            size = min(size, self.part_size)
            grown = bytearray(size)
            grown[: self._filled] = memoryview(self._buffer)[: self._filled]
            self._buffer = grown
        self._buffer[self._filled : end] = data
        self._filled = end

    def finish(self) -> bytearray:
        """The last part, or the whole stored form if no part was cut (then it is a file)."""
        last, self._buffer = self._buffer, bytearray()
        del last[self._filled :]
        self._filled = 0
        if self.digests:
            self.digests.append(hashlib.sha256(last).hexdigest())
        return last

    @property
    def parted(self) -> bool:
        return bool(self.digests)


def cut(stored: bytes | bytearray, part_size: int) -> tuple[list[bytearray], bytes]:
    """A whole stored form's parts and ``SHA256SUMS``."""
    cutter = PartCutter(part_size)
    parts = list(cutter.feed(stored))
    parts.append(cutter.finish())
    return parts, sums_file(cutter.digests)


@dataclass(frozen=True, slots=True)
class PartList:
    """A parted blob's parts, checked against its folder: object ids and SHA-256, in order."""

    path: str
    oids: tuple[str, ...]
    digests: tuple[str, ...]


def check_folder(path: str, entries: list[tuple[str, str, bool]], sums: bytes) -> PartList:
    """The parts of the parted blob at ``path`` whose folder holds ``entries`` (name, object
    id, is a regular file) and whose ``SHA256SUMS`` is ``sums``; :class:`CorruptBlobError`
    for a malformed ``SHA256SUMS``, or a part missing or not listed, before any part is read."""
    listed: list[tuple[str, str]] = []
    position = 0
    for match in _SUMS_LINE.finditer(sums):
        if match.start() != position:
            break
        position = match.end()
        listed.append((match.group(2).decode("ascii"), match.group(1).decode("ascii")))
    if position != len(sums) or not listed:
        raise CorruptBlobError(path, f"{SUMS} is not a list of parts in sha256sum's format")
    files = {name: oid for name, oid, is_file in entries if is_file}
    for index, (name, _) in enumerate(listed):
        if name != part_name(index):
            raise CorruptBlobError(path, f"{SUMS} lists {name} where {part_name(index)} belongs")
        if name not in files:
            raise CorruptBlobError(path, f"{name} is missing")
    expected = {name for name, _ in listed} | {SUMS}
    for name, _, is_file in sorted(entries):
        if name not in expected or not is_file:
            what = "is not listed in SHA256SUMS" if _PART.fullmatch(name) else "does not belong"
            raise CorruptBlobError(path, f"{name} {what}")
    return PartList(
        path,
        tuple(files[name] for name, _ in listed),
        tuple(digest for _, digest in listed),
    )


def list_parts(backend: Backend, commit: str, path: str) -> PartList:
    """The checked part list of the parted blob at ``path`` in ``commit``."""
    entries = [(e.name, e.oid, e.is_file) for e in backend.list_folder(commit, path)]
    sums_oid = next((oid for name, oid, is_file in entries if name == SUMS and is_file), None)
    if sums_oid is None:
        raise CorruptBlobError(path, f"{SUMS} is missing")
    (sums,) = backend.read_blobs([sums_oid])
    return check_folder(path, entries, sums)


def checked_parts(read: Callable[[list[str]], Iterator[bytes]], parts: PartList) -> Iterator[bytes]:
    """Each part's bytes, read one at a time by ``read([oid])``, released only once its
    SHA-256 matches ``SHA256SUMS``."""
    for index, (oid, digest) in enumerate(zip(parts.oids, parts.digests, strict=True)):
        (data,) = read([oid])
        if hashlib.sha256(data).hexdigest() != digest:
            raise CorruptBlobError(
                parts.path, f"{part_name(index)} does not match {SUMS}: damaged or reordered"
            )
        yield data
        del data  # let it go before the next part is read


def is_part_path(path: str) -> bool:
    """Whether ``path``'s last name is a part's or ``SHA256SUMS``."""
    name = path.rpartition("/")[2]
    return name == SUMS or _PART.fullmatch(name) is not None
