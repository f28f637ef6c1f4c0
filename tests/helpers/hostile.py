"""Hostile input for the decoders' tests: valid encodings, mutated; files planted in a
repository behind gitblobts' back; and a time limit.

A mutation is what damage, tampering or a fuzzer does to a valid file name, configuration,
frame or token: bits flipped, bytes overwritten, inserted or deleted, the end cut off or
extended, a slice repeated, or the head of one valid encoding joined to the tail of another.
"""

from __future__ import annotations

import contextlib
import faulthandler
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from hypothesis import strategies as st

_EDIT = st.tuples(
    st.sampled_from(["flip", "set", "insert", "delete", "truncate", "extend", "repeat", "splice"]),
    st.integers(min_value=0, max_value=1 << 16),
    st.binary(min_size=1, max_size=8),
)


def _mutate(valid: Sequence[bytes], which: int, edits: list[tuple[str, int, bytes]]) -> bytes:
    data = bytearray(valid[which % len(valid)])
    for kind, number, payload in edits:
        at = number % (len(data) + 1)
        if kind == "flip" and data:
            data[at % len(data)] ^= payload[0] or 1
        elif kind == "set":
            data[at : at + len(payload)] = payload
        elif kind == "insert":
            data[at:at] = payload
        elif kind == "delete":
            del data[at : at + len(payload)]
        elif kind == "truncate":
            del data[at:]
        elif kind == "extend":
            data += payload * (number % 4 + 1)
        elif kind == "repeat":
            data[at:at] = data[at : at + len(payload) * 4]
        elif kind == "splice":
            other = valid[number % len(valid)]
            data[at:] = other[payload[0] % (len(other) + 1) :]
    return bytes(data)


def mutated(valid: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """One of the ``valid`` encodings with one to four edits."""
    return st.builds(
        _mutate,
        st.just(valid),
        st.integers(min_value=0, max_value=len(valid) - 1),
        st.lists(_EDIT, min_size=1, max_size=4),
    )


def mutated_text(valid: Sequence[str]) -> st.SearchStrategy[str]:
    """One of the ``valid`` texts, its UTF-8 mutated, read back as git names are read (bytes
    that are not UTF-8 become lone surrogates)."""
    encoded = [text.encode("utf-8") for text in valid]
    return mutated(encoded).map(lambda data: data.decode("utf-8", "surrogateescape"))


def hostile_bytes(valid: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, the ``valid`` encodings themselves, or mutations of them."""
    return st.binary(max_size=512) | st.sampled_from(list(valid)) | mutated(valid)


def hostile_text(valid: Sequence[str]) -> st.SearchStrategy[str]:
    """Arbitrary text, the ``valid`` texts themselves, or mutations of them."""
    return st.text(max_size=120) | st.sampled_from(list(valid)) | mutated_text(valid)


def _git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], input=input, capture_output=True, check=True
    )
    return result.stdout.strip()


def _tree(repo: Path, base: str | None, files: Mapping[bytes, bytes]) -> str:
    """A tree of ``base``'s entries (a tree id, or none) and ``files`` (path to content)."""
    entries: dict[bytes, bytes] = {}
    if base is not None:
        for line in _git(repo, "ls-tree", "-z", base).split(b"\0"):
            if line:
                entries[line.partition(b"\t")[2]] = line
    folders: dict[bytes, dict[bytes, bytes]] = {}
    for path, content in files.items():
        first, slash, rest = path.partition(b"/")
        if slash:
            folders.setdefault(first, {})[rest] = content
        else:
            oid = _git(repo, "hash-object", "-w", "--stdin", input=content)
            entries[first] = b"100644 blob " + oid + b"\t" + first
    for name, inner in folders.items():
        old = entries.get(name, b"")
        subtree = old.split()[2].decode() if old.startswith(b"040000 tree ") else None
        entries[name] = b"040000 tree %s\t%s" % (_tree(repo, subtree, inner).encode(), name)
    return _git(repo, "mktree", "-z", input=b"".join(e + b"\0" for e in entries.values())).decode()


def plant(repo: Path, files: Mapping[str, bytes], parent: str | None, ref: str) -> str:
    """Commit ``parent``'s files and ``files`` (paths to contents, with ``/`` between
    folders; names are written as git stores them, so that bytes that are not UTF-8 can be
    given as lone surrogates) as any git client could, and point ``ref`` at the commit."""
    names = {path.encode("utf-8", "surrogateescape"): data for path, data in files.items()}
    base = f"{parent}^{{tree}}" if parent is not None else None
    tree = _tree(repo, _git(repo, "rev-parse", base).decode() if base else None, names)
    commit = _git(repo, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", "planted")
    _git(repo, "update-ref", ref, commit.decode())
    return commit.decode()


class Hang(BaseException):
    """A call took longer than its time limit: on hostile input, a hang. Not an
    ``Exception``, so that no decoder's catch-all turns it into an error it may raise."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the block if it runs longer than ``seconds``: a timer signal
    interrupts Python code; a call stuck in C (such as ``10 ** 10 ** 9``) is not
    interruptible, so a watchdog ends the process, with every thread's traceback, after ten
    times as long. Where there is no timer signal, only the watchdog runs."""
    faulthandler.dump_traceback_later(seconds * 10, exit=True)
    if not hasattr(signal, "setitimer"):
        try:
            yield
        finally:
            faulthandler.cancel_dump_traceback_later()
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        faulthandler.cancel_dump_traceback_later()
