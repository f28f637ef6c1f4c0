"""Decompression bombs: a small file that would expand to a gibibyte is refused as too large
(:class:`~gitblobts.BlobTooLargeError`, from the codec's ``DecodedTooLarge``) after
producing about ``max_size`` bytes, with memory that follows the limit, not the bomb.

Memory is measured two ways: the Python allocator's peak (``tracemalloc``, which also sees
what zlib, bzip2 and liblzma allocate), and the rise of the process's peak resident memory
(Linux's ``VmHWM``, which also sees libzstd's own allocations).
"""

from __future__ import annotations

import ctypes
import functools
import gc
import re
import shutil
import subprocess
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitblobts import ArgumentError, BlobTooLargeError, Nanoseconds, Store, generate_key
from gitblobts.core import keys, naming
from gitblobts.core.codec import DecodedTooLarge
from gitblobts.core.plugins import load_plugins
from gitblobts.core.store import MAX_BLOB_SIZE_ENV
from tests.helpers import bombs
from tests.helpers.hostile import plant, time_limit

PLUGINS = load_plugins(only=())
MiB = bombs.MiB
GiB = 1 << 30
LIMIT = MiB
"""The size limit every bomb is decoded under."""
TRACED_CEILING = 16 * MiB
"""Most the Python allocator may hold at once: the limit, an input chunk, and the decoder's
state (an xz decoder reserves its 8 MiB dictionary)."""
RESIDENT_CEILING = 8 * MiB
"""Most resident memory may rise while a bomb is refused."""
TOOLS = {"gzip": ["gzip", "-dc"], "bz2": ["bzip2", "-dc"], "lzma": ["xz", "-dc"]}
TOOLS["zstd"] = ["zstd", "-dcq"]
BUILDERS: dict[str, Callable[[int], bytes]] = {
    "gzip": bombs.gzip_bomb,
    "bz2": bombs.bz2_bomb,
    "lzma": bombs.xz_bomb,
    "zstd": bombs.zstd_bomb,
}
BOMBS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "gzip-one-member": ("gzip", lambda: bombs.gzip_bomb(GiB)),
    "gzip-64-members": ("gzip", lambda: bombs.gzip_bomb(16 * MiB) * 64),
    "bz2-one-stream": ("bz2", lambda: bombs.bz2_bomb(GiB)),
    "bz2-64-streams": ("bz2", lambda: bombs.bz2_bomb(16 * MiB) * 64),
    "xz-one-stream": ("lzma", lambda: bombs.xz_bomb(GiB)),
    "xz-64-streams": ("lzma", lambda: bombs.xz_bomb(16 * MiB) * 64),
    "zstd-declared-size": ("zstd", lambda: bombs.zstd_bomb(GiB, content_size=GiB)),
    "zstd-no-declared-size": ("zstd", lambda: bombs.zstd_bomb(GiB)),
    "zstd-single-segment": (
        "zstd",
        lambda: bombs.zstd_bomb(GiB, content_size=GiB, single_segment=True),
    ),
    "zstd-64-frames": ("zstd", lambda: bombs.zstd_bomb(16 * MiB, content_size=16 * MiB) * 64),
    "zstd-64-frames-no-size": ("zstd", lambda: bombs.zstd_bomb(16 * MiB) * 64),
    "zstd-1024-frames-of-the-limit": (
        "zstd",
        lambda: bombs.zstd_bomb(MiB, content_size=MiB) * 1024,
    ),
}


@functools.cache
def bomb(case: str) -> bytes:
    return BOMBS[case][1]()


@dataclass(frozen=True)
class Peak:
    traced: int
    """Peak of the Python allocator's memory, in bytes."""
    resident: int | None
    """Rise of peak resident memory, in bytes (``None`` where it cannot be measured)."""


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise LookupError(field)


def _resident_rise(call: Callable[[], None]) -> int | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        with open("/proc/self/clear_refs", "w") as clear:
            gc.collect()
            libc.malloc_trim(0)  # freed memory would be reused unseen
            clear.write("5")  # the peak resident memory is now the current
    except OSError:
        return None
    before = _status("VmRSS")
    call()
    return _status("VmHWM") - before


def peak(call: Callable[[], None]) -> Peak:
    """The memory ``call()`` takes, run once for each measure."""
    resident = _resident_rise(call)
    tracemalloc.start()
    try:
        call()
        _, traced = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Peak(traced, resident)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_each_bomb_is_a_file_its_codec_and_tool_read_as_exactly_its_zero_bytes(
    name: str,
) -> None:
    small = BUILDERS[name](8 * MiB)
    codec = PLUGINS.codecs.get(name)()
    assert codec.decode(small, max_size=8 * MiB) == bytes(8 * MiB)
    assert codec.decode(small * 2, max_size=16 * MiB) == bytes(16 * MiB)
    if shutil.which(TOOLS[name][0]) is not None:
        result = subprocess.run(TOOLS[name], input=small * 2, capture_output=True, check=True)
        assert result.stdout == bytes(16 * MiB)


@pytest.mark.parametrize("case", list(BOMBS))
def test_a_gibibyte_bomb_is_refused_as_too_large_in_memory_that_follows_the_limit(
    case: str,
) -> None:
    name, _ = BOMBS[case]
    codec = PLUGINS.codecs.get(name)()
    stored = bomb(case)
    assert len(stored) * 1000 < GiB  # a thousandth of what it expands to, or less

    def refuse() -> None:
        with time_limit(10), pytest.raises(DecodedTooLarge, match="more than 1048576 bytes"):
            codec.decode(stored, max_size=LIMIT)

    used = peak(refuse)
    assert used.traced < TRACED_CEILING
    assert used.resident is None or used.resident < RESIDENT_CEILING


def test_a_zstd_frame_declaring_more_than_max_size_is_too_large_before_it_is_read() -> None:
    # A single-segment frame's window is its declared size: it was refused as invalid
    # ("requires too much memory"), not as too large. Declaring is enough now.
    declared = bombs.zstd_bomb(GiB, content_size=GiB, single_segment=True)
    cut_short = bombs.zstd_bomb(2 * MiB, content_size=2 * MiB)[:64]
    for frame in (declared, cut_short):
        with pytest.raises(DecodedTooLarge):
            PLUGINS.codecs.get("zstd")().decode(frame, max_size=LIMIT)


def test_a_zstd_frame_understating_its_size_is_refused_in_memory_that_follows_the_limit() -> None:
    lying = bombs.zstd_bomb(GiB, content_size=100)

    def refuse() -> None:
        with pytest.raises(ValueError, match="zstd"):
            PLUGINS.codecs.get("zstd")().decode(lying, max_size=LIMIT)

    used = peak(refuse)
    assert used.traced < TRACED_CEILING
    assert used.resident is None or used.resident < RESIDENT_CEILING


# Through a store: BlobTooLargeError, naming the file

KEY = generate_key()
STORE_BOMBS = {
    "gz": "gzip-one-member",
    "bz2": "bz2-one-stream",
    "xz": "xz-one-stream",
    "zst": "zstd-no-declared-size",
}


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A bare repository holding a flat store encrypted with :data:`KEY`, and one blob."""
    path = tmp_path / "store.git"
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    Store(path, key=KEY, layout="flat").addblob(b"small", Nanoseconds(1))
    return path


@pytest.mark.parametrize("extension", list(STORE_BOMBS))
@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "aes256gcm"])
def test_a_bomb_in_a_store_is_refused_as_too_large_naming_its_file(
    store_path: Path, extension: str, encrypted: bool
) -> None:
    name = naming.new_name(Nanoseconds(2), (extension, "aes256gcm") if encrypted else (extension,))
    stored = bomb(STORE_BOMBS[extension])
    if encrypted:
        cipher = PLUGINS.ciphers.get("aes256gcm")(keys.decode_key(KEY))
        stored = cipher.encrypt(stored, name.identity.encode("ascii"))
    head = (
        subprocess.run(
            ["git", "-C", str(store_path), "rev-parse", "refs/heads/main"],
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    plant(store_path, {str(name): stored}, head, "refs/heads/main")
    store = Store(store_path, key=KEY, max_blob_size=LIMIT)

    blobs = store.getblobs()
    assert next(blobs).blob == b"small"
    with time_limit(10), pytest.raises(BlobTooLargeError) as refused:
        next(blobs)
    assert refused.value.path == str(name)
    problems = store.verify().problems
    assert [problem.path for problem in problems] == [str(name)]
    assert "more than 1048576 bytes" in problems[0].reason


# The default limit


def plant_bomb(store_path: Path, stored: bytes) -> str:
    """Commit ``stored`` as the file of an unencrypted zstd blob of time 2 ns; its path."""
    name = naming.new_name(Nanoseconds(2), ("zst",))
    head = subprocess.run(
        ["git", "-C", str(store_path), "rev-parse", "refs/heads/main"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout.strip()
    plant(store_path, {str(name): stored}, head, "refs/heads/main")
    return str(name)


def test_the_default_limit_is_one_gibibyte_and_a_bomb_past_it_says_how_to_raise_it(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MAX_BLOB_SIZE_ENV, raising=False)
    over = GiB + 128 * 1024  # a 16 KiB file
    path = plant_bomb(store_path, bombs.zstd_bomb(over, content_size=over))

    with time_limit(10), pytest.raises(BlobTooLargeError) as refused:
        list(Store(store_path, key=KEY).getblobs())

    assert refused.value.path == path
    assert f"more than {GiB} bytes" in refused.value.reason
    assert "max_blob_size=" in refused.value.reason
    assert f"${MAX_BLOB_SIZE_ENV}" in refused.value.reason


def test_the_environment_sets_the_limit_when_max_blob_size_is_not_given(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = plant_bomb(store_path, bombs.zstd_bomb(2 * MiB, content_size=2 * MiB))
    monkeypatch.setenv(MAX_BLOB_SIZE_ENV, str(MiB))

    with pytest.raises(BlobTooLargeError, match=re.escape(path)):
        list(Store(store_path, key=KEY).getblobs())
    assert len(list(Store(store_path, key=KEY, max_blob_size=2 * MiB).getblobs())) == 2
    monkeypatch.setenv(MAX_BLOB_SIZE_ENV, str(2 * MiB))
    assert len(list(Store(store_path, key=KEY).getblobs())) == 2


def test_a_limit_in_the_environment_that_is_not_a_number_is_refused_naming_it(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_BLOB_SIZE_ENV, "1G")

    with pytest.raises(ArgumentError, match=f"\\${MAX_BLOB_SIZE_ENV} is '1G'"):
        Store(store_path, key=KEY)
