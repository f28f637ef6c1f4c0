"""Standard output, and the files ``get --output`` writes.

Writes to standard output raise :class:`~gitblobts.cli.errors.StdoutClosed` when the reader
has gone, so the command can stop quietly, and :class:`~gitblobts.cli.errors.CommandError`
for any other failure.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager

from gitblobts.cli import streams
from gitblobts.cli.errors import CommandError, StdoutClosed
from gitblobts.core.formats import registry


def line(text: str) -> None:
    """Write a line of text to standard output (see :func:`printable`)."""
    _guarded(lambda: sys.stdout.write(printable(text) + "\n"))


def document(value: object) -> None:
    """Write ``value`` as JSON on one line of standard output (``--json``)."""
    line(json.dumps(value))


def status(message: str) -> None:
    """Say what the command did ("wrote 3 blobs to out") on standard error, on one line:
    standard output carries only data, for the next program in a pipe."""
    text = "; ".join(part.strip() for part in message.splitlines() if part.strip())
    sys.stderr.write(f"{printable(text)}\n")
    sys.stderr.flush()


def data(content: bytes) -> None:
    """Write raw bytes to standard output."""
    _guarded(lambda: sys.stdout.buffer.write(content))


def flush() -> None:
    """Flush standard output, so that a closed pipe is noticed while we can still say so."""
    _guarded(sys.stdout.flush)


def error(message: str) -> None:
    """Report a failure on standard error, on one line: ``gitblobts: message``."""
    text = "; ".join(part.strip() for part in message.splitlines() if part.strip())
    sys.stderr.write(f"gitblobts: {printable(text)}\n")
    sys.stderr.flush()


def printable(text: str) -> str:
    """``text`` with what a terminal would act on, or cannot show, escaped: control
    characters as ``\\x1b``, ``\\n``..., the bytes of a file name that are not UTF-8 as
    ``\\xff``. A hostile repository's file names cannot drive the terminal."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escaped(char) for char in text)


def _escaped(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by "surrogateescape"
        return f"\\x{code - 0xDC00:02x}"
    return char.encode("unicode_escape").decode("ascii")


def _guarded(write: Callable[[], object]) -> None:
    try:
        write()
    except BrokenPipeError:
        raise StdoutClosed from None
    except OSError as error:
        if error.errno == errno.EPIPE:
            raise StdoutClosed from None
        raise CommandError(f"cannot write to standard output: {error.strerror}") from None


def secret_file(path: str, content: bytes, *, replace: bool = False) -> None:
    """Write ``content`` to a new file at ``path`` that only its owner can read and write
    (mode 0600) from the moment it exists. An existing file is an error unless ``replace``;
    then the new file takes its place whole, by rename, never half-written."""
    target = path
    if replace:
        folder, name = os.path.split(path)
        target = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CommandError(
            f"{path}: exists already, and may hold the key of a store; choose another file, "
            "or pass --force to replace it"
        ) from None
    except OSError as error:
        raise CommandError(f"{path}: cannot create: {error.strerror}") from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), 0o600)  # whatever the umask
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(target, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(target)
        raise CommandError(f"{path}: cannot write: {error.strerror}") from None


def file_name(blob_path: str) -> str:
    """The name ``get --output`` gives a blob's file: the identity in its stored name, its
    time and random part (``20261124T061500.123456789Z_k5vq2xw7m3a4b6c7d2e3f4g5h6``), which
    is the same on every run and sorts by time; a gitblobts 0.0.7 blob keeps its name."""
    filename = blob_path.rpartition("/")[2]
    name = registry.parse(filename)
    return name.identity if name is not None else filename


class OutputFolder:
    """Writes files into a folder, each whole or not at all: a file is written under a
    temporary name, then renamed, so that a file with the final name is always complete,
    even after an interrupted run. A name that is taken is left as it is: the same blob
    always gets the same name, so a rerun writes only what is missing."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        """Where the files go."""
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as error:
            raise CommandError(f"{folder}: cannot create the folder: {error.strerror}") from None

    def has(self, name: str) -> bool:
        """Whether the file ``name`` is there already."""
        return os.path.lexists(os.path.join(self.folder, name))

    def write(
        self,
        name: str,
        content: bytes | Callable[[], AbstractContextManager[streams.Source]],
        on_written: Callable[[int], None] = lambda count: None,
    ) -> bool:
        """Write ``content`` to the file ``name``, unless it is there; whether it wrote.
        ``content``: the bytes, or a function opening a binary file object (``blob.open``),
        called only if the file is written, and copied in chunks, never held whole;
        ``on_written(count)`` hears of each chunk."""
        path = os.path.join(self.folder, name)
        if os.path.lexists(path):
            return False
        partial = os.path.join(self.folder, f".{name}.partial")
        try:
            with open(partial, "wb") as file:
                if isinstance(content, bytes):
                    file.write(content)
                    on_written(len(content))
                else:
                    with content() as source:
                        streams.copy(source, file.write, on_written)
            os.replace(partial, path)
        except BaseException as error:
            with contextlib.suppress(OSError):
                os.unlink(partial)  # whatever stopped the copy: a damaged blob, Ctrl-C...
            if isinstance(error, OSError):
                raise CommandError(f"{path}: cannot write: {error.strerror}") from None
            raise
        return True
