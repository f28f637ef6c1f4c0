"""Blob contents on their way through the command, never held whole: the input files of
``add`` as file objects the store reads, counted as it reads them, and blobs copied from
``blob.open()`` to their destination in chunks."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, BinaryIO, Protocol

from gitblobts.cli.errors import CommandError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

CHUNK = 1 << 20
"""Bytes read or written at a time: large enough to cost nothing per call, small enough to
hold nothing."""

STDIN = "-"


class Source(Protocol):
    """What blob contents are copied from: a binary file object (``blob.open()``)."""

    def read(self, size: int, /) -> bytes: ...


def input_size(path: str) -> int | None:
    """The size of the input ``path`` if it is known beforehand (a regular file), else
    ``None`` (standard input, a pipe, a device). Fails, naming ``path``, if it is missing or
    a folder: before anything is written."""
    if path == STDIN:
        return None
    try:
        status = os.stat(path)
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror}") from None
    if stat.S_ISDIR(status.st_mode):
        raise CommandError(f"{path}: is a folder; give the files in it")
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def input_name(path: str) -> str:
    """How an error names the input ``path``."""
    return "standard input" if path == STDIN else path


def opened_inputs(
    paths: Sequence[str],
    on_read: Callable[[int], None] = lambda count: None,
    on_done: Callable[[], None] = lambda: None,
) -> Generator[BinaryIO, None, None]:
    """Each input file (``-``: standard input) opened as it is asked for, one at a time,
    read through a :class:`CountingReader` that calls ``on_read(count)`` for the bytes read;
    each is closed when the next is asked for (then ``on_done()`` is called), and at the
    end. Close the iterator (``contextlib.closing``) to close the file still open when its
    reader stops early."""
    for path in paths:
        with (
            _open_input(path) as file,
            io.BufferedReader(CountingReader(file, input_name(path), on_read), CHUNK) as reader,
        ):
            yield reader
        on_done()


@contextlib.contextmanager
def _open_input(path: str) -> Iterator[BinaryIO]:
    if path == STDIN:
        yield sys.stdin.buffer  # never closed: it is not ours
        return
    try:
        file = open(path, "rb")  # noqa: SIM115  # closed below, when the next is asked for
    except OSError as error:
        raise CommandError(f"{path}: cannot read: {error.strerror}") from None
    with file:
        yield file


class CountingReader(io.RawIOBase):
    """Reads ``file``, calling ``on_read(count)`` with the bytes each read returned; a read
    that fails is a :class:`CommandError` naming the input (``name``). Closing it leaves
    ``file`` open: whoever opened it closes it."""

    def __init__(self, file: BinaryIO, name: str, on_read: Callable[[int], None]) -> None:
        super().__init__()
        self._file = file
        self._name = name
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        try:
            count = self._file.readinto(buffer)  # type: ignore[attr-defined]  # not in typing.BinaryIO
        except OSError as error:
            raise CommandError(f"{self._name}: cannot read: {error.strerror}") from None
        if count:
            self._on_read(count)
        return count or 0

    def readall(self) -> bytes:
        """The rest of the file, read in chunks: counted as it comes."""
        content = bytearray()
        while chunk := self.read(CHUNK):
            content += chunk
        return bytes(content)


def copy(
    source: Source, write: Callable[[bytes], object], on_copied: Callable[[int], None]
) -> None:
    """Copy ``source`` to its end through ``write``, :data:`CHUNK` bytes at a time, calling
    ``on_copied(count)`` after each chunk."""
    while chunk := source.read(CHUNK):
        write(chunk)
        on_copied(len(chunk))
