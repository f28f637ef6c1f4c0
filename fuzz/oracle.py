"""What every harness shares: turning fuzzer input into hostile input, and the oracle.

The oracle is the one the property tests use (``tests/hostile/test_hostile_input.py``): a decoder
returns a valid value or raises its own documented error. Anything else escapes the
harness, and atheris reports it as a crash with the input that caused it; libFuzzer's
``-timeout`` and ``-rss_limit_mb`` catch hangs and memory blow-ups.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

import atheris

T = TypeVar("T")


def instrumenting(*modules: str) -> AbstractContextManager[None]:
    """``atheris.instrument_imports()`` of only these modules of gitblobts: atheris takes
    whole top-level packages, so the others are excluded, which halves the start."""
    spec = importlib.util.find_spec("gitblobts")
    assert spec is not None
    assert spec.submodule_search_locations is not None
    root = Path(spec.submodule_search_locations[0])
    every = {
        ".".join(("gitblobts", *path.relative_to(root).with_suffix("").parts)).removesuffix(
            ".__init__"
        )
        for path in root.rglob("*.py")
    }
    excluded = sorted(every - set(modules))
    return atheris.instrument_imports(include=["gitblobts"], exclude=excluded)  # type: ignore[no-any-return]


def hostile(data: bytes, valid: Sequence[bytes]) -> bytes:
    """The input a decoder gets from fuzzer input ``data``: after a first byte saying how,
    either the rest of ``data`` itself, or one of the ``valid`` encodings edited by the
    rest, four bytes an edit (kind, position, value), so that mutations of the fuzzer
    become mutations of a valid encoding."""
    if not data:
        return b""
    how, rest = data[0], data[1:]
    if how % 2 == 0 or not valid:
        return rest
    edited = bytearray(valid[(how >> 1) % len(valid)])
    for start in range(0, len(rest) - 3, 4):
        kind, value = rest[start], rest[start + 3]
        at = int.from_bytes(rest[start + 1 : start + 3], "little") % (len(edited) + 1)
        if kind % 5 == 0 and edited:
            edited[at % len(edited)] ^= value or 1
        elif kind % 5 == 1:
            edited.insert(at, value)
        elif kind % 5 == 2:
            del edited[at : at + value % 8 + 1]
        elif kind % 5 == 3:
            del edited[at:]
        else:
            edited[at:at] = edited[at : at + value]
    return bytes(edited)


def returns_or_raises(call: Callable[[], T], *errors: type[Exception]) -> T | Exception:
    """What ``call()`` returns, or the error it raises if it is one of ``errors``; any other
    exception propagates, which is a finding."""
    try:
        return call()
    except errors as error:
        return error
