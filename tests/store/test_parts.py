"""Blobs in parts, through the store: a blob whose stored form is over the part size is
written as a folder of parts and SHA256SUMS, streamed in from bytes, a file object or a
generator, and read back whole (``.blob``) or streamed (``open()``); damage to its parts is
reported naming it, never returned as data; old stores keep working and gain version 3 with
their first parted blob."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import gitblobts
from gitblobts import (
    BlobTooLargeError,
    CorruptBlobError,
    Nanoseconds,
    Store,
)
from gitblobts.core.contexts import BlobContext
from gitblobts.plugins.codecs import NoneCodec
from tests.helpers.git import assert_fsck_clean, git, git_bytes
from tests.helpers.gitservers import HostLimits, HttpGitServer, make_bare_repo, make_host_limited
from tests.helpers.plumbing import commit_entries, hash_object

PART = 64 * 1024
KEY = gitblobts.generate_key()
DATA = os.urandom(5 * PART + 17)
"""A blob 5× the part size, and some: six parts unencrypted."""


def open_store(path: Path, keyed: bool, **options: object) -> Store:
    if keyed:
        return Store(path, part_size=PART, key=KEY, **options)  # type: ignore[arg-type]
    return Store(path, part_size=PART, compression="none", **options)  # type: ignore[arg-type]


def pieces(data: bytes, size: int = 10_000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


SOURCES: dict[str, Callable[[bytes], object]] = {
    "bytes": lambda data: data,
    "file object": io.BytesIO,
    "generator": pieces,
}


def tree(repo: Path, path: str) -> dict[str, tuple[str, int]]:
    """The entries of folder ``path`` at HEAD: name to (object id, size)."""
    listing = git(repo, "ls-tree", "-l", f"HEAD:{path}")
    entries = {}
    for line in listing.splitlines():
        meta, _, name = line.partition("\t")
        _, _, oid, size = meta.split()
        entries[name] = (oid, int(size))
    return entries


def largest_object(repo: Path) -> int:
    listing = git(repo, "cat-file", "--batch-check", "--batch-all-objects")
    return max(int(line.split()[2]) for line in listing.splitlines())


def read_in_small_reads(blob: gitblobts.Blob, size: int = 1000) -> bytes:
    read = bytearray()
    with blob.open() as f:
        while chunk := f.read(size):
            read += chunk
    return bytes(read)


# Writing and reading back


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "encrypted"])
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_blob_over_the_part_size_is_stored_in_parts_and_reads_back(
    new_repo: Callable[[str], Path], source: str, keyed: bool
) -> None:
    repo = new_repo("bare")
    store = open_store(repo, keyed)

    ref = store.addblob(SOURCES[source](DATA), Nanoseconds(1))  # type: ignore[arg-type]

    entries = tree(repo, ref.path)
    parts = sorted(name for name in entries if name.startswith("part-"))
    assert parts == [f"part-{i:06d}" for i in range(len(parts))]
    assert len(parts) >= 6
    assert all(entries[name][1] == PART for name in parts[:-1])
    assert 1 <= entries[parts[-1]][1] <= PART
    assert set(entries) == {*parts, "SHA256SUMS"}
    assert largest_object(repo) <= PART
    assert_fsck_clean(repo)
    (blob,) = Store(repo, key=KEY if keyed else None).getblobs()
    assert (blob.path, blob.timestamp_ns) == (ref.path, 1)
    assert read_in_small_reads(blob) == DATA
    assert blob.blob == DATA


def test_without_a_cipher_the_parts_restore_the_blob_with_standard_tools(
    new_repo: Callable[[str], Path],
) -> None:
    repo = new_repo("bare")
    ref = open_store(repo, keyed=False).addblob(DATA)

    entries = tree(repo, ref.path)
    sums = git(repo, "cat-file", "blob", entries["SHA256SUMS"][0])
    joined = b"".join(
        git_bytes(repo, "cat-file", "blob", entries[name][0])
        for name in sorted(entries)
        if name.startswith("part-")
    )
    assert joined == DATA  # compression "none": the stored form is the blob
    names = sorted(name for name in entries if name != "SHA256SUMS")
    for line, name in zip(sums.splitlines(), names, strict=True):
        content = git_bytes(repo, "cat-file", "blob", entries[name][0])
        assert line == f"{hashlib.sha256(content).hexdigest()}  {name}"


@pytest.mark.parametrize("source", ["bytes", "file object"])
@pytest.mark.parametrize(("size", "files"), [(PART, 1), (PART + 1, 3)])
def test_a_stored_form_of_exactly_the_part_size_is_one_file_one_byte_more_two_parts(
    new_repo: Callable[[str], Path], source: str, size: int, files: int
) -> None:
    repo = new_repo("bare")
    data = os.urandom(size)

    ref = open_store(repo, keyed=False).addblob(SOURCES[source](data))  # type: ignore[arg-type]

    if files == 1:
        assert git(repo, "cat-file", "-s", f"HEAD:{ref.path}").strip() == str(PART)
    else:
        assert {name: size for name, (_, size) in tree(repo, ref.path).items()} == {
            "part-000000": PART,
            "part-000001": 1,
            "SHA256SUMS": 2 * (64 + 2 + 11 + 1),
        }
    assert [blob.blob for blob in Store(repo).getblobs()] == [data]


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "encrypted"])
def test_a_small_blob_streamed_in_is_one_file(new_repo: Callable[[str], Path], keyed: bool) -> None:
    repo = new_repo("bare")
    ref = open_store(repo, keyed).addblob(pieces(b"small" * 100, 7))

    assert git(repo, "cat-file", "-t", f"HEAD:{ref.path}").strip() == "blob"
    assert [b.blob for b in Store(repo, key=KEY if keyed else None).getblobs()] == [b"small" * 100]


def test_addblobs_streams_file_objects_among_bytes_in_one_commit(
    new_repo: Callable[[str], Path],
) -> None:
    repo = new_repo("bare")
    store = open_store(repo, keyed=False)

    store.addblobs([io.BytesIO(DATA), b"small", io.BytesIO(b"also small")], [1, 2, 3])

    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
    assert [blob.blob for blob in store.getblobs()] == [DATA, b"small", b"also small"]


def test_listing_gives_a_parted_blobs_stored_size_and_counting_sees_one_blob(
    new_repo: Callable[[str], Path],
) -> None:
    repo = new_repo("bare")
    store = open_store(repo, keyed=False)
    store.addblobs([DATA, b"small"], [1, 2])

    assert [info.stored_size for info in store.listblobs()] == [len(DATA), 5]
    assert store.count() == 2
    assert store.verify().ok


def test_a_streamed_blob_over_max_blob_size_is_refused_and_nothing_is_committed(
    new_repo: Callable[[str], Path],
) -> None:
    repo = new_repo("bare")
    store = open_store(repo, keyed=False, max_blob_size=3 * PART)
    store.addblob(b"first")
    head = git(repo, "rev-parse", "HEAD")

    with pytest.raises(BlobTooLargeError, match=f"more than {3 * PART} bytes"):
        store.addblob(io.BytesIO(DATA))

    assert git(repo, "rev-parse", "HEAD") == head


def test_the_part_size_is_recorded_and_used_when_the_store_is_reopened(
    new_repo: Callable[[str], Path],
) -> None:
    repo = new_repo("bare")
    open_store(repo, keyed=False).addblob(b"first")

    config = json.loads(git(repo, "show", "HEAD:.gitblobts.json"))
    assert (config["version"], config["part_size"]) == (3, PART)
    ref = Store(repo).addblob(DATA)
    assert "SHA256SUMS" in tree(repo, ref.path)


class _PassThrough:
    """An encoder that streams (the built-in codecs' own come with their streaming)."""

    def update(self, data: bytes) -> bytes:
        return data

    def finish(self) -> bytes:
        return b""


def test_adding_from_a_generator_holds_about_one_part(
    new_repo: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(NoneCodec, "encoder", lambda self: _PassThrough())
    repo = new_repo("bare")
    part_size = (16 << 20) + 4096  # over the 16 MiB a backend may hold before it streams
    store = Store(repo, part_size=part_size, compression="none")
    piece = b"x" * (1 << 20)

    def blob() -> Iterator[bytes]:
        for _ in range(4 * part_size // len(piece)):
            yield piece

    tracemalloc.start()
    try:
        store.addblob(blob())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 3 * part_size
    (info,) = store.listblobs()
    assert info.stored_size == 4 * part_size // len(piece) * len(piece)


# Damage, by forged commits


def forge(repo: Path, path: str, damage: str, rewrite_sums: bool) -> None:
    """Commit ``damage`` to the parted blob ``path``, and with ``rewrite_sums`` a
    SHA256SUMS that matches the damaged parts."""
    entries = tree(repo, path)
    parts = [entries[name][0] for name in sorted(entries) if name.startswith("part-")]
    content = [git_bytes(repo, "cat-file", "blob", oid) for oid in parts]
    if damage == "missing":
        del content[1 if not rewrite_sums else -1]
    elif damage == "extra":
        content.append(content[0])
    elif damage == "swapped":
        content[1], content[2] = content[2], content[1]
    elif damage == "truncated":
        content[3] = content[3][: len(content[3]) // 2]
    elif damage == "flipped":
        content[2] = content[2][:100] + bytes([content[2][100] ^ 1]) + content[2][101:]
    changes: dict[str | bytes, tuple[int, str] | None] = {
        f"{path}/{name}": None for name in entries if name.startswith("part-")
    }
    if damage == "missing" and not rewrite_sums:  # a hole in the numbering
        names = [f"part-{i:06d}" for i in range(len(content) + 1) if i != 1]
    else:
        names = [f"part-{i:06d}" for i in range(len(content))]
    for name, data in zip(names, content, strict=True):
        changes[f"{path}/{name}"] = (0o100644, hash_object(repo, data))
    if rewrite_sums:
        sums = "".join(
            f"{hashlib.sha256(data).hexdigest()}  part-{i:06d}\n" for i, data in enumerate(content)
        )
        changes[f"{path}/SHA256SUMS"] = (0o100644, hash_object(repo, sums.encode()))
    commit_entries(repo, changes)


DAMAGE = ["missing", "extra", "swapped", "truncated", "flipped"]
MESSAGES = {
    "missing": "part-000001 is missing",
    "extra": "part-000006 is not listed in SHA256SUMS",
    "swapped": "part-000001 does not match SHA256SUMS: damaged or reordered",
    "truncated": "part-000003 does not match SHA256SUMS",
    "flipped": "part-000002 does not match SHA256SUMS",
}
CASES = [(damage, False, False) for damage in DAMAGE]
CASES += [(damage, True, False) for damage in DAMAGE]
CASES += [(damage, True, True) for damage in DAMAGE]


@pytest.mark.parametrize(
    ("damage", "keyed", "rewrite_sums"),
    CASES,
    ids=[
        f"{d}-{'encrypted' if k else 'plain'}{'-sums-rewritten' if r else ''}" for d, k, r in CASES
    ],
)
def test_damaged_parts_are_reported_naming_the_blob_never_returned(
    new_repo: Callable[[str], Path], damage: str, keyed: bool, rewrite_sums: bool
) -> None:
    repo = new_repo("bare")
    store = open_store(repo, keyed)
    refs = store.addblobs([DATA, b"small", DATA[::-1]], [1, 2, 3])
    forge(repo, refs[0].path, damage, rewrite_sums)
    store = Store(repo, key=KEY if keyed else None)

    blobs = list(store.getblobs())  # a parted blob is not read until asked

    message = "cannot decrypt" if rewrite_sums else MESSAGES[damage]
    with pytest.raises(CorruptBlobError, match=message) as raised:
        _ = blobs[0].blob
    assert raised.value.path == refs[0].path
    with pytest.raises(CorruptBlobError, match=message), blobs[0].open() as f:
        f.read()
    assert [blob.blob for blob in blobs[1:]] == [b"small", DATA[::-1]]
    report = store.verify()
    assert [problem.path for problem in report.problems] == [refs[0].path]
    assert store.count() == 3  # the damaged blob is still one blob, to be reported


def test_a_folder_named_like_a_blob_without_sha256sums_is_a_damaged_parted_blob(
    new_repo: Callable[[str], Path],
) -> None:
    repo = new_repo("bare")
    store = open_store(repo, keyed=False)
    ref = store.addblob(b"x", 1)
    folder, _, random = ref.path.partition("Z_")
    path = f"{folder}Z_{'b' if random[0] == 'a' else 'a'}{random[1:]}"
    commit_entries(repo, {f"{path}/inside": (0o100644, hash_object(repo, b"not a part"))})

    blobs = {blob.path: blob for blob in Store(repo).getblobs()}

    with pytest.raises(CorruptBlobError, match="SHA256SUMS is missing"):
        _ = blobs[path].blob
    assert blobs[ref.path].blob == b"x"


# Old stores


def as_version_2(repo: Path) -> None:
    """Rewrite the store's configuration as gitblobts wrote it before parts."""
    config = json.loads(git(repo, "show", "HEAD:.gitblobts.json"))
    config["version"] = 2
    del config["part_size"]
    commit_entries(
        repo, {".gitblobts.json": (0o100644, hash_object(repo, json.dumps(config).encode()))}
    )


def test_a_version_2_store_becomes_version_3_with_its_first_parted_blob_in_that_commit(
    new_repo: Callable[[str], Path],
) -> None:
    repo = new_repo("bare")
    Store(repo, compression="none").addblob(b"before", 1)
    as_version_2(repo)
    store = open_store(repo, keyed=False)

    store.addblob(b"small", 2)
    assert json.loads(git(repo, "show", "HEAD:.gitblobts.json"))["version"] == 2
    store.addblob(io.BytesIO(DATA), 3)

    config = json.loads(git(repo, "show", "HEAD:.gitblobts.json"))
    assert (config["version"], config["part_size"]) == (3, PART)
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert ".gitblobts.json" in changed
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "4"  # add, rewrite to v2, add, add
    assert [blob.blob for blob in Store(repo).getblobs()] == [b"before", b"small", DATA]
    assert Store(repo).verify().ok


def test_a_version_2_store_with_a_non_bare_checkout_gains_parts_and_stays_clean(
    new_repo: Callable[[str], Path],
) -> None:
    repo = new_repo("non-bare")
    store = open_store(repo, keyed=False)

    ref = store.addblob(DATA)

    assert git(repo, "status", "--porcelain") == ""
    assert (repo / ref.path / "part-000000").read_bytes() == DATA[:PART]


# Against a host's object limit


@pytest.fixture
def object_limited(git_server_root: Path, http_git_server: HttpGitServer) -> str:
    """The URL of a served repository that refuses objects over PART bytes (pushes may be
    larger: splitting pushes is another matter)."""
    repo = make_bare_repo(git_server_root, "parts.git")
    make_host_limited(
        repo, HostLimits(max_push_bytes=16 << 20, max_object_bytes=PART, max_folder_entries=50)
    )
    return http_git_server.url("parts.git")


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "encrypted"])
def test_a_blob_5_times_the_hosts_object_limit_pushes_and_reads_back_from_a_clone(
    object_limited: str, tmp_path: Path, keyed: bool
) -> None:
    git(tmp_path, "clone", "--quiet", object_limited, str(tmp_path / "one"))
    store = open_store(tmp_path / "one", keyed, strict=True)

    store.addblob(io.BytesIO(DATA))

    git(tmp_path, "clone", "--quiet", object_limited, str(tmp_path / "two"))
    assert largest_object(tmp_path / "two") <= PART
    (blob,) = Store(tmp_path / "two", key=KEY if keyed else None, push=False).getblobs()
    assert read_in_small_reads(blob, 4096) == DATA


def test_a_store_opened_before_another_writer_added_the_first_parted_blob_reads_it(
    new_repo: Callable[[str], Path],
) -> None:
    repo = new_repo("bare")
    Store(repo, compression="none").addblob(b"before", 1)
    as_version_2(repo)
    earlier = Store(repo, part_size=PART)  # version 2 when opened

    open_store(repo, keyed=False).addblob(DATA, 2)

    assert [blob.blob for blob in earlier.getblobs()] == [b"before", DATA]
    earlier.addblob(io.BytesIO(DATA), 3)  # the store is version 3 already: no rewrite
    assert json.loads(git(repo, "show", "HEAD:.gitblobts.json"))["version"] == 3
    assert "gitblobts.json" not in git(repo, "show", "--name-only", "--format=", "HEAD")


# Interrupted


ADD_UNTIL_KILLED = """
import sys, time
from gitblobts import Store

def blob():
    for number in range(20):
        yield bytes([number]) * 65536
        if number == 8:  # parts on their way to the objects; the branch has not moved
            print("written", flush=True)
            time.sleep(60)

Store(sys.argv[1], part_size=65536, compression="none").addblob(blob())
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")
def test_a_writer_killed_during_a_parted_add_leaves_the_store_as_it_was(
    new_repo: Callable[[str], Path],
) -> None:
    repo = new_repo("non-bare")
    open_store(repo, keyed=False).addblob(b"before", 1)
    head = git(repo, "rev-parse", "HEAD")

    with subprocess.Popen(
        [sys.executable, "-c", ADD_UNTIL_KILLED, str(repo)], stdout=subprocess.PIPE
    ) as writer:
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"written\n"
        writer.send_signal(signal.SIGKILL)
        writer.wait()

    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""
    store = Store(repo)
    assert [blob.blob for blob in store.getblobs()] == [b"before"]
    assert store.verify().ok
    store.addblob(pieces(DATA), 2)
    assert [blob.blob for blob in Store(repo).getblobs()] == [b"before", DATA]


# Plugins


def test_a_plugin_on_a_data_stage_sees_a_streamed_blob_whole_then_it_is_cut_into_parts(
    new_repo: Callable[[str], Path],
) -> None:
    seen: list[int] = []

    class Observer:
        @gitblobts.hookimpl
        def gitblobts_compress(self, blob: BlobContext, data: bytes) -> None:
            seen.append(len(data))

    repo = new_repo("bare")
    plugins = gitblobts.load_plugins(only=(), extra=[Observer()])
    store = Store(repo, part_size=PART, compression="none", plugins=plugins)

    ref = store.addblob(pieces(DATA))

    assert seen == [len(DATA)]
    assert "SHA256SUMS" in tree(repo, ref.path)
    assert [blob.blob for blob in store.getblobs()] == [DATA]
