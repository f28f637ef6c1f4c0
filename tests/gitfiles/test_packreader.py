"""The pack reader: whole objects straight out of the packs git (or anyone) wrote, and
``None`` for everything it leaves to dulwich, which then reads it."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
from dulwich.object_store import DiskObjectStore
from dulwich.objects import ShaFile
from dulwich.repo import Repo

from gitblobts import Nanoseconds, Store
from gitblobts.gitfiles import packs
from gitblobts.gitfiles.packs import BLOB, COMMIT, TREE, PackReader
from gitblobts.plugins.backends.dulwich import DulwichBackend
from tests.helpers.git import git

KINDS = {"commit": COMMIT, "tree": TREE, "blob": BLOB}
PACKED = ("-c", "fastimport.unpackLimit=0")
"""fast-import writes a pack however few the objects (else under 100 go loose); with
``--depth=0`` it stores every object whole."""


def bare(tmp_path: Path, name: str = "repo.git") -> Path:
    path = tmp_path / name
    git(tmp_path, "init", "--quiet", "--bare", str(path))
    return path


def import_blobs(repo: Path, contents: list[bytes]) -> list[str]:
    """Write ``contents`` as blobs with ``git fast-import`` (one new pack); return their ids."""
    stream = b"".join(
        b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data)
        for mark, data in enumerate(contents, 1)
    )
    marks = repo / "marks"
    git(
        repo,
        *PACKED,
        "fast-import",
        "--quiet",
        "--depth=0",
        f"--export-marks={marks}",
        input=stream,
    )
    ids = dict(line.split() for line in marks.read_text().splitlines())
    marks.unlink()
    return [ids[f":{mark}"] for mark in range(1, len(contents) + 1)]


def commit_blobs(repo: Path, contents: list[bytes], branch: str = "main") -> list[str]:
    """Commit ``contents`` as files ``f0``, ``f1``, ... in one fast-import; return blob ids."""
    ids = import_blobs(repo, contents)
    lines = [
        f"commit refs/heads/{branch}",
        "committer A <a@example.com> 1700000000 +0000",
        "data 2",
        "c",
    ]
    lines += [f"M 100644 {oid} f{n}" for n, oid in enumerate(ids)]
    git(repo, *PACKED, "fast-import", "--quiet", input=("\n".join(lines) + "\n").encode())
    return ids


def all_objects(repo: Path) -> list[tuple[str, str]]:
    """``(id, type)`` of every object in the repository."""
    listing = git(
        repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)"
    )
    return [(oid, kind) for oid, kind in (line.split() for line in listing.splitlines())]


def delta_ids(repo: Path) -> set[str]:
    """Ids of the objects stored as deltas in the repository's packs."""
    found = set()
    for idx in (repo / "objects" / "pack").glob("*.idx"):
        for line in git(repo, "verify-pack", "-v", str(idx)).splitlines():
            fields = line.split()
            if len(fields) == 7 and fields[1] in KINDS:  # id type size size offset depth base
                found.add(fields[0])
    return found


SIZES = [0, 1, 15, 16, 127, 128, 2047, 2048, 4096, 65535, 65536, 300_000]


@pytest.fixture
def sample() -> list[bytes]:
    rng = random.Random(7)
    blobs = [rng.randbytes(size) for size in SIZES]
    blobs += [b"x" * size for size in SIZES]  # compressible
    return blobs


def test_reads_the_blobs_git_fast_import_wrote(tmp_path: Path, sample: list[bytes]) -> None:
    repo = bare(tmp_path)
    ids = import_blobs(repo, sample)
    reader = PackReader(str(repo / "objects"))
    assert [reader.read(oid, BLOB) for oid in ids] == sample


@pytest.fixture(params=["dictionary", "bisection"])
def lookup(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Look ids up in per-byte dictionaries (packs of up to about 250,000 objects), or by
    bisecting the index (larger packs)."""
    if request.param == "bisection":
        monkeypatch.setattr(packs, "_BUCKET_LIMIT", 0)


def test_a_search_of_the_index_finds_every_object_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Buckets of about 80 ids: the search looks in a window of about 50 around where an
    # id should be, so some ids are found in the window and some by bisecting.
    monkeypatch.setattr(packs, "_BUCKET_LIMIT", 0)
    repo = bare(tmp_path)
    contents = [b"blob %d" % number for number in range(20_000)]
    ids = import_blobs(repo, contents)
    reader = PackReader(str(repo / "objects"))
    assert [reader.read(oid, BLOB) for oid in ids] == contents
    near = {f"{oid[:-2]}{(int(oid[-2:], 16) ^ 1):02x}" for oid in ids[:2000]} - set(ids)
    far = {os.urandom(20).hex() for _ in range(2000)}
    assert all(reader.read(oid, BLOB) is None for oid in near | far)


@pytest.mark.usefixtures("lookup")
def test_agrees_with_dulwich_on_every_object_of_a_repository(
    tmp_path: Path, sample: list[bytes]
) -> None:
    repo = bare(tmp_path)
    commit_blobs(repo, sample)
    commit_blobs(repo, [b"second " * 100, b"third"], branch="other")
    git(repo, "repack", "-a", "-d", "-q")
    reader = PackReader(str(repo / "objects"))
    store = Repo(str(repo)).object_store
    objects = all_objects(repo)
    deltas = delta_ids(repo)
    assert {kind for _, kind in objects} == {"commit", "tree", "blob"}
    for oid, kind in objects:
        read = reader.read(oid, KINDS[kind])
        if oid in deltas:
            assert read is None
        else:
            assert read == store[oid.encode()].as_raw_string(), oid
        other = TREE if kind == "blob" else BLOB
        assert reader.read(oid, other) is None  # not of that kind


def test_objects_stored_as_deltas_are_left_to_dulwich(tmp_path: Path) -> None:
    repo = bare(tmp_path)
    rng = random.Random(1)
    base = rng.randbytes(20_000)
    versions = [base[:n] + b"edit %d" % n + base[n:] for n in range(0, 20_000, 1000)]
    ids = commit_blobs(repo, versions)
    git(repo, "gc", "--aggressive", "--quiet")
    deltas = delta_ids(repo) & set(ids)
    assert deltas, "git gc --aggressive made no deltas"
    reader = PackReader(str(repo / "objects"))
    assert all(reader.read(oid, BLOB) is None for oid in deltas)
    backend = DulwichBackend(str(repo))
    assert list(backend.read_blobs(ids)) == versions
    backend.close()


@pytest.mark.usefixtures("lookup")
def test_offsets_in_the_index_table_of_8_byte_offsets_are_read(
    tmp_path: Path, sample: list[bytes]
) -> None:
    repo = bare(tmp_path)
    ids = import_blobs(repo, sample)
    (pack,) = (repo / "objects" / "pack").glob("*.pack")
    index = pack.with_suffix(".idx")
    before = index.stat().st_size
    index.chmod(0o644)
    index.unlink()
    # Objects after offset 0x40 go to the table of 8-byte offsets, as past 2 GiB.
    git(repo, "index-pack", "--index-version=2,0x40", "-o", str(index), str(pack))
    assert index.stat().st_size > before  # the large offset table is there
    reader = PackReader(str(repo / "objects"))
    assert [reader.read(oid, BLOB) for oid in ids] == sample


def test_an_index_of_version_1_is_left_to_dulwich(tmp_path: Path, sample: list[bytes]) -> None:
    repo = bare(tmp_path)
    ids = import_blobs(repo, sample)
    (pack,) = (repo / "objects" / "pack").glob("*.pack")
    index = pack.with_suffix(".idx")
    index.chmod(0o644)
    index.unlink()
    git(repo, "index-pack", "--index-version=1", "-o", str(index), str(pack))
    reader = PackReader(str(repo / "objects"))
    assert all(reader.read(oid, BLOB) is None for oid in ids)
    backend = DulwichBackend(str(repo))
    assert list(backend.read_blobs(ids)) == sample
    backend.close()


def test_an_index_that_is_not_its_packs_is_not_used(tmp_path: Path) -> None:
    repo = bare(tmp_path)
    (first,) = import_blobs(repo, [b"first"])
    (second,) = import_blobs(repo, [b"second"])
    packs = sorted((repo / "objects" / "pack").glob("*.pack"))
    one, other = (pack.with_suffix(".idx") for pack in packs)
    one.chmod(0o644)
    shutil.copyfile(other, one)  # the index of another pack, under this pack's name
    reader = PackReader(str(repo / "objects"))
    found = [reader.read(oid, BLOB) for oid in (first, second)]
    assert found.count(None) == 1
    assert set(found) - {None} <= {b"first", b"second"}


@pytest.mark.usefixtures("lookup")
def test_loose_missing_and_malformed_ids_read_as_none(tmp_path: Path) -> None:
    repo = bare(tmp_path)
    loose = git(repo, "hash-object", "-w", "--stdin", input=b"loose").strip()
    (packed,) = import_blobs(repo, [b"packed"])
    reader = PackReader(str(repo / "objects"))
    assert reader.read(packed, BLOB) == b"packed"
    assert reader.read(loose, BLOB) is None
    for oid in ["0" * 40, packed[:-1], packed + "0", "z" * 40, " " * 40, packed.upper()[:39]]:
        assert reader.read(oid, BLOB) is None


def test_a_pack_added_while_open_is_found(tmp_path: Path) -> None:
    repo = bare(tmp_path)
    (old,) = import_blobs(repo, [b"old"])
    reader = PackReader(str(repo / "objects"))
    assert reader.read(old, BLOB) == b"old"
    (new,) = import_blobs(repo, [b"new"])
    assert reader.read(new, BLOB) == b"new"
    assert reader.read(old, BLOB) == b"old"


@pytest.mark.parametrize("command", [["repack", "-a", "-d", "-q"], ["gc", "--quiet"]])
def test_packs_replaced_while_a_store_is_open_read_correctly(
    tmp_path: Path, command: list[str]
) -> None:
    repo = bare(tmp_path)
    now = 1_700_000_000 * 10**9
    blobs = [os.urandom(100) for _ in range(40)]
    times = [Nanoseconds(now + n * 10**9) for n in range(40)]
    with Store(repo, push=False, backend="dulwich") as writer:
        writer.addblobs(blobs[:20], times[:20])
    with Store(repo, push=False, backend="dulwich") as store:
        assert [b.blob for b in store.getblobs()] == blobs[:20]  # every pack mapped
        with Store(repo, push=False, backend="dulwich") as other:
            other.addblobs(blobs[20:], times[20:])
        old_packs = set((repo / "objects" / "pack").glob("*.pack"))
        git(repo, *command)
        assert not old_packs & set((repo / "objects" / "pack").glob("*.pack"))
        assert [b.blob for b in store.getblobs()] == blobs
        with Store(repo, push=False, backend="dulwich") as other:
            other.addblobs([b"after"], [Nanoseconds(now + 100 * 10**9)])
        assert [b.blob for b in store.getblobs()] == [*blobs, b"after"]


def test_a_pack_deleted_under_an_open_reader_still_reads_or_falls_back(tmp_path: Path) -> None:
    repo = bare(tmp_path)
    ids = import_blobs(repo, [b"one", b"two"])
    reader = PackReader(str(repo / "objects"))
    assert reader.read(ids[0], BLOB) == b"one"
    for path in (repo / "objects" / "pack").iterdir():
        path.chmod(0o644)
        path.unlink()
    assert reader.read(ids[1], BLOB) == b"two"  # the mapping outlives the file
    assert reader.read("1" * 40, BLOB) is None  # a miss looks again: the pack is gone
    assert reader.read(ids[0], BLOB) is None


def test_a_closed_reader_reads_nothing(tmp_path: Path) -> None:
    repo = bare(tmp_path)
    (oid,) = import_blobs(repo, [b"blob"])
    reader = PackReader(str(repo / "objects"))
    assert reader.read(oid, BLOB) == b"blob"
    reader.close()
    reader.close()
    assert reader.read(oid, BLOB) is None


def test_a_truncated_object_is_left_to_dulwich(tmp_path: Path) -> None:
    repo = bare(tmp_path)
    (oid,) = import_blobs(repo, [os.urandom(5000)])
    (pack,) = (repo / "objects" / "pack").glob("*.pack")
    data = bytearray(pack.read_bytes())
    data[12 + 3 : 12 + 200] = bytes(197)  # the object's deflate stream, after its header
    pack.chmod(0o644)
    pack.write_bytes(bytes(data))
    assert PackReader(str(repo / "objects")).read(oid, BLOB) is None


def test_the_inflate_bound_covers_zlib_at_every_level() -> None:
    import zlib

    rng = random.Random(3)
    for size in [0, 1, 100, 16_383, 16_384, 70_000, 1 << 20]:
        data = rng.randbytes(size)
        for level in range(10):
            assert len(zlib.compress(data, level)) <= packs._inflate_bound(size)


def test_the_dulwich_backend_reads_packed_blobs_through_the_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = bare(tmp_path)
    blobs = [os.urandom(100) for _ in range(30)]
    now = 1_700_000_000 * 10**9
    with Store(repo, push=False, backend="dulwich") as store:
        store.addblobs(blobs, [Nanoseconds(now + n) for n in range(30)])
    original = DiskObjectStore.__getitem__

    def no_blobs(self: DiskObjectStore, oid: bytes) -> ShaFile:
        found = original(self, oid)  # the configuration, the trees, the commit: loose
        stored_blob = found.type_name == b"blob" and not found.as_raw_string().startswith(b"{")
        assert not stored_blob, "a blob read through dulwich's object store"
        return found

    monkeypatch.setattr(DiskObjectStore, "__getitem__", no_blobs)
    with Store(repo, push=False, backend="dulwich") as store:
        assert [b.blob for b in store.getblobs()] == blobs


def test_at_most_so_many_packs_are_mapped_and_the_rest_left_to_dulwich(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packs, "_MAX_PACKS", 2)
    repo = bare(tmp_path)
    contents = [b"pack %d" % n for n in range(5)]
    ids = [import_blobs(repo, [content])[0] for content in contents]
    reader = PackReader(str(repo / "objects"))
    found = [reader.read(oid, BLOB) for oid in ids]
    assert sum(data is not None for data in found) == 2
    assert all(data in (None, content) for data, content in zip(found, contents, strict=True))
    backend = DulwichBackend(str(repo))
    assert list(backend.read_blobs(ids)) == contents
    backend.close()


def test_threads_sharing_a_reader_get_right_bytes_or_none_while_packs_change(
    tmp_path: Path,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    repo = bare(tmp_path)
    contents = [os.urandom(200) for _ in range(50)]
    ids = import_blobs(repo, contents[:25]) + import_blobs(repo, contents[25:])
    reader = PackReader(str(repo / "objects"))
    wrong: list[str] = []

    def read_all(_: int) -> None:
        for oid, content in zip(ids, contents, strict=True):
            if reader.read(oid, BLOB) not in (content, None):
                wrong.append(oid)

    with ThreadPoolExecutor(4) as pool:
        reading = [pool.submit(read_all, n) for n in range(40)]
        git(repo, "repack", "-a", "-d", "-q")
        import_blobs(repo, [b"more"])
        git(repo, "repack", "-a", "-d", "-q")
        for future in reading:
            future.result()
    assert not wrong
    assert [reader.read(oid, BLOB) for oid in ids] == contents


LARGE_SIZES = [1 << 20, 3 * (1 << 20) + 5]


@pytest.mark.parametrize("size", LARGE_SIZES)
@pytest.mark.parametrize("kind", ["random", "compressible"])
def test_large_objects_are_read_whole_a_piece_at_a_time(
    tmp_path: Path, size: int, kind: str
) -> None:
    data = (
        os.urandom(size) if kind == "random" else b"gitblobts " * (size // 10) + b"x" * (size % 10)
    )
    repo = bare(tmp_path)
    (oid,) = import_blobs(repo, [data])
    assert PackReader(str(repo / "objects")).read(oid, BLOB) == data


def test_a_large_object_cut_short_is_left_to_dulwich(tmp_path: Path) -> None:
    repo = bare(tmp_path)
    (oid,) = import_blobs(repo, [os.urandom(3 << 20)])
    (pack,) = (repo / "objects" / "pack").glob("*.pack")
    data = pack.read_bytes()
    pack.chmod(0o644)
    pack.write_bytes(data[: len(data) // 2])
    assert PackReader(str(repo / "objects")).read(oid, BLOB) is None


def test_a_large_damaged_object_is_left_to_dulwich(tmp_path: Path) -> None:
    repo = bare(tmp_path)
    (oid,) = import_blobs(repo, [b"gitblobts " * (300_000)])
    (pack,) = (repo / "objects" / "pack").glob("*.pack")
    data = bytearray(pack.read_bytes())
    data[12 + 10 : 12 + 2000] = os.urandom(1990)
    pack.chmod(0o644)
    pack.write_bytes(bytes(data))
    assert PackReader(str(repo / "objects")).read(oid, BLOB) is None


@pytest.mark.usefixtures("lookup")
def test_read_each_reads_what_read_reads_object_by_object(
    tmp_path: Path, sample: list[bytes]
) -> None:
    repo = bare(tmp_path)
    commit_blobs(repo, sample)
    commit_blobs(repo, [b"second " * 100, random.Random(3).randbytes((1 << 20) + 5)], "other")
    loose = git(repo, "hash-object", "-w", "--stdin", input=b"loose").strip()
    packed = [oid for oid, _ in all_objects(repo) if oid != loose]
    oids = [*packed, loose, "0" * 40, "z" * 40, packed[0][:-1], *reversed(packed)]
    reader = PackReader(str(repo / "objects"))
    for kind in (COMMIT, TREE, BLOB):
        expected = [reader.read(oid, kind) for oid in oids]
        assert list(packs.read_each(reader, iter(oids), kind)) == expected
    assert any(len(data or b"") > 1 << 20 for data in packs.read_each(reader, oids, BLOB))
