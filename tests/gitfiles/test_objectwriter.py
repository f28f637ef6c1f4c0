"""Objects written straight into the object directory are objects git reads: loose ones and
packs (version 2) with their index (version 2), checked by git's own commands."""

from __future__ import annotations

import array
import hashlib
import io
import os
import re
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from dulwich.objects import ObjectID
from dulwich.repo import Repo

from gitblobts import Store
from gitblobts.gitfiles import objects
from gitblobts.gitfiles.objects import (
    BLOB,
    COMMIT,
    TREE,
    PackWriter,
    object_id,
    shrinks,
    write_loose,
)
from tests.helpers.git import assert_fsck_clean, git, git_bytes

TEXT = b"a line of text that repeats, as logs and documents do\n"


def objects_dir(repo: Path) -> str:
    """The object directory of a bare repository."""
    return str(repo / "objects")


def tree_of(files: dict[bytes, str]) -> bytes:
    """A tree object's bytes: blob entries in name order."""
    return b"".join(
        b"100644 %s\0%s" % (name, bytes.fromhex(oid)) for name, oid in sorted(files.items())
    )


def commit_of(tree: str, message: bytes = b"Objects written directly\n") -> bytes:
    who = b"Test Author <author@example.com> 1700000000 +0000"
    return b"tree %s\nauthor %s\ncommitter %s\n\n%s" % (tree.encode(), who, who, message)


def cat_file(repo: Path, *args: str) -> str:
    return git(repo, "cat-file", *args).strip()


def pack_files(repo: Path) -> list[str]:
    return sorted(os.listdir(repo / "objects" / "pack"))


def write_pack(repo: Path, objects: list[tuple[bytes, bytes]]) -> tuple[str, list[str]]:
    """Write ``objects`` into one pack; return its name and the objects' ids."""
    with PackWriter(objects_dir(repo)) as pack:
        oids = [pack.add(kind, data) for kind, data in objects]
        name = pack.finish()
    assert name is not None
    return name, oids


def read_all(repo: Path, oids: list[str]) -> list[bytes]:
    """Each object's contents, as ``git cat-file --batch`` reads them."""
    request = "".join(f"{oid}\n" for oid in oids).encode()
    result = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "--batch"],
        input=request,
        capture_output=True,
        check=True,
    )
    out, position, contents = result.stdout, 0, []
    for oid in oids:
        line_end = out.index(b"\n", position)
        found, _kind, size = out[position:line_end].split(b" ")
        assert found.decode() == oid
        start = line_end + 1
        contents.append(out[start : start + int(size)])
        position = start + int(size) + 1
    return contents


@pytest.fixture
def bare(new_repo: Callable[[str], Path]) -> Path:
    return new_repo("bare")


@pytest.fixture
def many_objects() -> list[tuple[bytes, bytes]]:
    """Several hundred blobs of every size and kind, a tree of them and a commit of the tree."""
    blobs = [b"%d: " % i + TEXT * (1 + i % 7) + os.urandom(i % 50) for i in range(300)]
    blobs += [b"", os.urandom(200_000), TEXT * 20_000]
    files = {b"%04d" % i: object_id(BLOB, blob) for i, blob in enumerate(blobs)}
    tree = tree_of(files)
    return [
        *((BLOB, blob) for blob in blobs),
        (TREE, tree),
        (COMMIT, commit_of(object_id(TREE, tree))),
    ]


# Object ids and loose objects


@pytest.mark.parametrize(
    ("kind", "data"), [(BLOB, b""), (BLOB, b"hello\n"), (BLOB, bytes(range(256)) * 10)]
)
def test_object_id_is_the_id_git_hash_object_gives(
    tmp_path: Path, kind: bytes, data: bytes
) -> None:
    assert object_id(kind, data) == git(tmp_path, "hash-object", "--stdin", input=data).strip()


def test_object_id_of_a_commit_is_the_id_git_gives(tmp_path: Path) -> None:
    commit = commit_of("4b825dc642cb6eb9a060e54bf8d69288fbee4904")
    git_id = git(tmp_path, "hash-object", "-t", "commit", "--stdin", input=commit).strip()
    assert object_id(COMMIT, commit) == git_id


def test_object_id_accepts_bytearray_and_memoryview() -> None:
    assert (
        object_id(BLOB, bytearray(b"x"))
        == object_id(BLOB, memoryview(b"x"))
        == object_id(BLOB, b"x")
    )


def test_a_loose_blob_is_read_by_git(bare: Path) -> None:
    oid = write_loose(objects_dir(bare), BLOB, b"hello, git\n")

    assert cat_file(bare, "-t", oid) == "blob"
    assert cat_file(bare, "-s", oid) == "11"
    assert git_bytes(bare, "cat-file", "-p", oid) == b"hello, git\n"


def test_a_loose_tree_and_commit_are_read_by_git_and_fsck_is_clean(bare: Path) -> None:
    objects = objects_dir(bare)
    blob = write_loose(objects, BLOB, b"contents\n")
    tree = write_loose(objects, TREE, tree_of({b"file.txt": blob}))
    commit = write_loose(objects, COMMIT, commit_of(tree))
    git(bare, "update-ref", "refs/heads/main", commit)

    assert cat_file(bare, "-t", tree) == "tree"
    assert cat_file(bare, "-p", tree) == f"100644 blob {blob}\tfile.txt"
    assert cat_file(bare, "-t", commit) == "commit"
    assert git(bare, "log", "--format=%T %s", "main").strip() == f"{tree} Objects written directly"
    assert_fsck_clean(bare)


def test_a_loose_object_gets_git_permissions_and_no_temporary_file_remains(bare: Path) -> None:
    oid = write_loose(objects_dir(bare), BLOB, b"x")

    folder = bare / "objects" / oid[:2]
    assert os.listdir(folder) == [oid[2:]]
    assert (folder / oid[2:]).stat().st_mode & 0o777 == 0o444


def test_an_existing_loose_object_is_not_rewritten(bare: Path) -> None:
    oid = write_loose(objects_dir(bare), BLOB, b"once")
    path = bare / "objects" / oid[:2] / oid[2:]
    before = path.stat()

    assert write_loose(objects_dir(bare), BLOB, b"once", durable=True) == oid

    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.parametrize("kind_of_data", ["compressible", "incompressible"])
def test_a_loose_object_larger_than_a_deflate_chunk_reads_back(
    bare: Path, kind_of_data: str
) -> None:
    size = 3 * objects._CHUNK + 12345
    data = (
        (TEXT * (size // len(TEXT) + 1))[:size]
        if kind_of_data == "compressible"
        else os.urandom(size)
    )

    oid = write_loose(objects_dir(bare), BLOB, data, durable=True)

    assert oid == object_id(BLOB, data)
    assert git_bytes(bare, "cat-file", "blob", oid) == data


def test_a_compressible_loose_object_is_deflated_and_an_incompressible_one_is_stored(
    bare: Path,
) -> None:
    text, noise = TEXT * 2000, os.urandom(100_000)
    text_id = write_loose(objects_dir(bare), BLOB, text)
    noise_id = write_loose(objects_dir(bare), BLOB, noise)

    def stored_size(oid: str) -> int:
        return (bare / "objects" / oid[:2] / oid[2:]).stat().st_size

    assert stored_size(text_id) < len(text) // 20
    assert len(noise) < stored_size(noise_id) < len(noise) + 1000


def test_shrinks_tells_compressible_samples_from_incompressible_ones() -> None:
    assert shrinks(TEXT * 100)
    assert not shrinks(os.urandom(10_000))
    assert not shrinks(b"")


# Packs


def test_a_pack_of_several_hundred_objects_passes_git_verify_pack(
    bare: Path, many_objects: list[tuple[bytes, bytes]]
) -> None:
    name, oids = write_pack(bare, many_objects)

    pack_base = bare / "objects" / "pack" / name
    listing = git(bare, "verify-pack", "-v", f"{pack_base}.idx")
    listed = {line.split()[0] for line in listing.splitlines() if re.match("[0-9a-f]{40} ", line)}
    assert listed == set(oids)
    assert f"non delta: {len(oids)} objects" in listing


def test_every_object_of_a_pack_is_read_by_git_cat_file(
    bare: Path, many_objects: list[tuple[bytes, bytes]]
) -> None:
    _, oids = write_pack(bare, many_objects)
    git(bare, "update-ref", "refs/heads/main", oids[-1])

    assert read_all(bare, oids) == [data for _, data in many_objects]
    assert cat_file(bare, "-t", oids[-2]) == "tree"
    assert cat_file(bare, "-t", oids[-1]) == "commit"
    assert_fsck_clean(bare)


def test_the_pack_index_is_byte_identical_to_the_one_git_index_pack_writes(
    bare: Path, tmp_path: Path, many_objects: list[tuple[bytes, bytes]]
) -> None:
    name, _ = write_pack(bare, many_objects)
    pack_base = bare / "objects" / "pack" / name
    other = tmp_path / "other.idx"

    git(bare, "index-pack", "-o", str(other), f"{pack_base}.pack")

    assert Path(f"{pack_base}.idx").read_bytes() == other.read_bytes()


def test_the_pack_is_named_for_its_checksum_and_both_files_are_read_only(bare: Path) -> None:
    name, _ = write_pack(bare, [(BLOB, b"one"), (BLOB, b"two")])

    pack = bare / "objects" / "pack" / f"{name}.pack"
    data = pack.read_bytes()
    assert name == "pack-" + hashlib.sha1(data[:-20]).hexdigest() == "pack-" + data[-20:].hex()
    assert pack_files(bare) == [f"{name}.idx", f"{name}.pack"]
    assert {(pack.parent / f).stat().st_mode & 0o777 for f in pack_files(bare)} == {0o444}


def test_an_object_added_twice_is_written_once(bare: Path) -> None:
    with PackWriter(objects_dir(bare)) as pack:
        first = pack.add(BLOB, b"same")
        second = pack.add(BLOB, b"same")
        pack.add(BLOB, b"other")
        assert len(pack) == 2
        name = pack.finish()

    assert first == second
    listing = git(bare, "verify-pack", "-v", str(bare / "objects" / "pack" / f"{name}.idx"))
    assert "non delta: 2 objects" in listing


def test_an_empty_pack_writer_leaves_no_files(bare: Path) -> None:
    with PackWriter(objects_dir(bare)) as pack:
        assert pack.finish() is None

    assert pack_files(bare) == []


def test_an_aborted_pack_leaves_no_files(bare: Path) -> None:
    pack = PackWriter(objects_dir(bare))
    pack.add(BLOB, b"abandoned")

    pack.abort()

    assert pack_files(bare) == []


def test_an_exception_in_the_with_block_removes_the_unfinished_pack(bare: Path) -> None:
    def interrupted_write() -> None:
        with PackWriter(objects_dir(bare)) as pack:
            pack.add(BLOB, os.urandom(1000))
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        interrupted_write()

    assert pack_files(bare) == []


def test_a_pack_of_compressible_blobs_is_much_smaller_than_its_contents(bare: Path) -> None:
    blobs = [b"%d " % i + TEXT * 500 for i in range(100)]

    name, _ = write_pack(bare, [(BLOB, blob) for blob in blobs])

    size = (bare / "objects" / "pack" / f"{name}.pack").stat().st_size
    assert size < sum(map(len, blobs)) // 20


def test_a_pack_whose_first_blob_is_incompressible_stores_its_blobs_at_level_0(
    bare: Path,
) -> None:
    """The first blob is the sample: contents like it (compressed or encrypted files) are
    stored, not deflated, so even a compressible blob after it takes its full size."""
    noise, text = os.urandom(100_000), TEXT * 2000

    name, oids = write_pack(bare, [(BLOB, noise), (BLOB, text)])

    size = (bare / "objects" / "pack" / f"{name}.pack").stat().st_size
    assert size > len(noise) + len(text)
    assert read_all(bare, oids) == [noise, text]


def test_a_tree_is_deflated_even_after_an_incompressible_blob(bare: Path) -> None:
    noise = os.urandom(10_000)
    files = {b"%04d" % i: object_id(BLOB, b"%d" % i) for i in range(2000)}
    tree = tree_of(files)

    name, oids = write_pack(bare, [(BLOB, noise), (TREE, tree)])

    size = (bare / "objects" / "pack" / f"{name}.pack").stat().st_size
    assert size < len(noise) + len(tree) * 0.8
    assert read_all(bare, oids) == [noise, tree]


def test_an_explicit_level_applies_to_every_blob(bare: Path) -> None:
    text = TEXT * 2000
    with PackWriter(objects_dir(bare), level=0, durable=True) as pack:
        oid = pack.add(BLOB, text)
        name = pack.finish()

    assert (bare / "objects" / "pack" / f"{name}.pack").stat().st_size > len(text)
    assert read_all(bare, [oid]) == [text]


def test_a_blob_larger_than_a_deflate_chunk_in_a_pack_reads_back(bare: Path) -> None:
    data = os.urandom(objects._CHUNK) + TEXT * 50_000

    name, oids = write_pack(bare, [(BLOB, TEXT), (BLOB, data)])

    git(bare, "verify-pack", str(bare / "objects" / "pack" / f"{name}.idx"))
    assert read_all(bare, oids) == [TEXT, data]


def index_bytes(
    ids: list[bytes], crcs: array.array[int], offsets: array.array[int], checksum: bytes
) -> bytes:
    """The pack index the pack writer writes for these objects."""
    out = io.BytesIO()
    objects._write_index(out, bytearray(b"".join(ids)), crcs, offsets, checksum)
    return out.getvalue()


def test_offsets_from_2_gib_go_to_the_table_of_large_offsets() -> None:
    ids = [bytes([first]) + bytes(19) for first in (0x30, 0x10, 0xF0, 0x20)]
    crcs = array.array("I", [1, 2, 3, 4])
    offsets = array.array("Q", [12, 2**31, 2**31 - 1, 5 * 2**32 + 7])
    checksum = bytes(range(20))

    index = index_bytes(ids, crcs, offsets, checksum)

    assert index[:8] == b"\377tOc" + struct.pack(">I", 2)
    fanout = struct.unpack_from(">256I", index, 8)
    assert (fanout[0x0F], fanout[0x10], fanout[0x20], fanout[0x30], fanout[0xFF]) == (0, 1, 2, 3, 4)
    position = 8 + 1024
    assert [index[position + 20 * i] for i in range(4)] == [0x10, 0x20, 0x30, 0xF0]
    position += 80
    assert struct.unpack_from(">4I", index, position) == (2, 4, 1, 3)
    position += 16
    small = struct.unpack_from(">4I", index, position)
    assert small == (0x80000000, 0x80000001, 12, 2**31 - 1)
    position += 16
    assert struct.unpack_from(">2Q", index, position) == (2**31, 5 * 2**32 + 7)
    position += 16
    assert index[position : position + 20] == checksum
    assert index[position + 20 :] == hashlib.sha1(index[: position + 20]).digest()


def test_git_show_index_reads_the_large_offsets(tmp_path: Path) -> None:
    ids = [hashlib.sha1(b"%d" % i).digest() for i in range(3)]
    offsets = array.array("Q", [12, 3 * 2**31, 2**40])
    index = index_bytes(ids, array.array("I", [7, 8, 9]), offsets, bytes(20))

    result = subprocess.run(
        ["git", "show-index"], input=index, capture_output=True, check=True, cwd=tmp_path
    )

    shown = {line.split()[1]: int(line.split()[0]) for line in result.stdout.decode().splitlines()}
    assert shown == {oid.hex(): offset for oid, offset in zip(ids, offsets, strict=True)}


def test_a_dulwich_repo_opened_before_the_pack_was_written_reads_its_objects(
    bare: Path,
) -> None:
    write_pack(bare, [(BLOB, b"an earlier pack")])
    repo = Repo(str(bare))
    try:
        store = repo.object_store
        assert store.get_raw(ObjectID(object_id(BLOB, b"an earlier pack").encode()))
        blob = write_loose(objects_dir(bare), BLOB, b"later, loose")
        tree = tree_of({b"later.txt": blob})
        commit = commit_of(object_id(TREE, tree))
        _, oids = write_pack(bare, [(BLOB, b"later, packed"), (TREE, tree), (COMMIT, commit)])

        assert store.get_raw(ObjectID(oids[0].encode())) == (3, b"later, packed")
        assert store.get_raw(ObjectID(oids[1].encode())) == (2, tree)
        assert store.get_raw(ObjectID(oids[2].encode())) == (1, commit)
        assert store.get_raw(ObjectID(blob.encode())) == (3, b"later, loose")
    finally:
        repo.close()


def test_a_large_batch_through_the_dulwich_backend_lands_in_one_verified_pack(
    new_repo: Callable[[str], Path],
) -> None:
    path = new_repo("bare")
    store = Store(path, backend="dulwich", compression="none")

    refs = store.addblobs([b"blob %d" % i for i in range(40)])

    (idx,) = [f for f in pack_files(path) if f.endswith(".idx")]
    git(path, "verify-pack", str(path / "objects" / "pack" / idx))
    assert sorted(blob.blob for blob in store.getblobs()) == sorted(
        b"blob %d" % i for i in range(40)
    )
    assert len(refs) == 40
