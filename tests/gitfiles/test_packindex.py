"""Finding ids in a pack's index: every id the index holds is found at its offset, and no
other, however many ids it holds and however they fall among its 256 first bytes.

Small buckets (the ids with one first byte) are read into a dictionary; large ones, as in a
pack of millions of objects, are searched in the index among the ids that share the id's
second byte too. The indexes here are written directly (a pack of 300,000 objects would take git a
while); :class:`~gitblobts.gitfiles.packs._Pack` reads only the pack's header and trailer
until an object is read.
"""

from __future__ import annotations

import hashlib
import random
import struct
from pathlib import Path

import pytest

from gitblobts.gitfiles import packs
from gitblobts.gitfiles.packs import BLOB, TREE, PackReader
from tests.gitfiles.test_packreader import bare, commit_blobs
from tests.helpers.git import git

LARGE_OFFSET = 0x80000000


def write_pack(base: Path, ids: list[bytes], offsets: dict[bytes, int]) -> None:
    """A version 2 index of ``ids`` at ``offsets`` (those past 2 GiB in the table of 8-byte
    offsets), and a pack file holding only the header and trailer that go with it."""
    ids = sorted(ids)
    fanout = [0] * 256
    for oid in ids:
        fanout[oid[0]] += 1
    running = 0
    for first in range(256):
        running += fanout[first]
        fanout[first] = running
    small: list[int] = []
    large: list[int] = []
    for oid in ids:
        offset = offsets[oid]
        if offset >= LARGE_OFFSET:
            small.append(LARGE_OFFSET | len(large))
            large.append(offset)
        else:
            small.append(offset)
    checksum = hashlib.sha1(base.name.encode()).digest()
    index = b"".join(
        [
            b"\xfftOc",
            struct.pack(">I", 2),
            struct.pack(">256I", *fanout),
            *ids,
            bytes(4 * len(ids)),  # CRC-32s: not read
            struct.pack(f">{len(small)}I", *small),
            struct.pack(f">{len(large)}Q", *large),
            checksum,
        ]
    )
    base.with_suffix(".idx").write_bytes(index + hashlib.sha1(index).digest())
    base.with_suffix(".pack").write_bytes(
        b"PACK" + struct.pack(">II", 2, len(ids)) + bytes(100) + checksum
    )


def mapped(tmp_path: Path, ids: list[bytes]) -> tuple[packs._Pack, dict[bytes, int]]:
    """The pack of ``ids``, each at an offset of its own, some of them past 2 GiB."""
    offsets = {oid: 12 + 10 * n for n, oid in enumerate(ids)}
    for oid in ids[::97]:
        offsets[oid] += 1 << 33
    base = tmp_path / "pack-test"
    write_pack(base, ids, offsets)
    return packs._Pack(str(base)), offsets


def absent_beside(ids: list[bytes]) -> set[bytes]:
    """Ids just before and just after each of ``ids`` (the last byte one less or more)."""
    near = set()
    for oid in ids:
        if oid[-1] > 0:
            near.add(oid[:-1] + bytes([oid[-1] - 1]))
        if oid[-1] < 255:
            near.add(oid[:-1] + bytes([oid[-1] + 1]))
    return near - set(ids)


def bucket_ends(ids: list[bytes]) -> list[bytes]:
    """The first and last id of each first byte's bucket."""
    ends: dict[int, list[bytes]] = {}
    for oid in sorted(ids):
        ends.setdefault(oid[0], []).append(oid)
    return [oid for bucket in ends.values() for oid in (bucket[0], bucket[-1])]


@pytest.fixture
def rng() -> random.Random:
    return random.Random(19)


def test_a_pack_of_300_000_objects_is_searched_in_its_index(
    tmp_path: Path, rng: random.Random
) -> None:
    ids = [rng.randbytes(20) for _ in range(300_000)]
    pack, offsets = mapped(tmp_path, ids)
    assert min(pack._fanout[n + 1] - pack._fanout[n] for n in range(256)) > packs._BUCKET_LIMIT
    probes = [*rng.sample(ids, 20_000), *bucket_ends(ids)]
    assert [pack.find(oid) for oid in probes] == [offsets[oid] for oid in probes]
    assert all(pack._buckets[n] is packs._IN_PLACE for n in range(256))  # no dictionary
    absent = absent_beside(probes[:5000]) | {rng.randbytes(20) for _ in range(5000)}
    absent -= set(ids)
    assert all(pack.find(oid) == -1 for oid in absent)


@pytest.fixture(params=["dictionary", "search"])
def lookup(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Small buckets in dictionaries, or every bucket searched in the index."""
    if request.param == "search":
        monkeypatch.setattr(packs, "_BUCKET_LIMIT", 0)
    return str(request.param)


def crowded(rng: random.Random) -> list[bytes]:
    """Ids that are not spread evenly: buckets crowded at their start, at their end, in
    their middle, a bucket of one id, a bucket of ids that share 18 bytes, and first bytes
    with no ids at all (0x00 to 0x0f, 0x80, 0xff)."""
    ids = {rng.randbytes(20) for _ in range(20_000)}
    ids = {oid for oid in ids if 0x10 <= oid[0] < 0xFF and oid[0] != 0x80}
    for first, second in ((0x20, 0x00), (0x21, 0xFF), (0x22, 0x80)):
        ids |= {bytes([first, second]) + rng.randbytes(18) for _ in range(3000)}
    ids = {oid for oid in ids if oid[0] != 0x30}
    ids.add(bytes([0x30]) + rng.randbytes(19))
    ids = {oid for oid in ids if oid[0] != 0x31}
    ids |= {bytes([0x31]) + bytes(17) + rng.randbytes(2) for _ in range(2000)}
    return sorted(ids)


@pytest.mark.usefixtures("lookup")
def test_ids_that_are_not_spread_evenly_are_found_and_nothing_else(
    tmp_path: Path, rng: random.Random
) -> None:
    ids = crowded(rng)
    pack, offsets = mapped(tmp_path, ids)
    assert [pack.find(oid) for oid in ids] == [offsets[oid] for oid in ids]
    empty = [bytes([first]) + rng.randbytes(19) for first in (*range(16), 0x80, 0xFF)]
    edges = [bytes([first]) + bytes(19) for first in range(256)]
    edges += [bytes([first]) + b"\xff" * 19 for first in range(256)]
    absent = (absent_beside(ids) | set(empty) | set(edges)) - set(ids)
    assert all(pack.find(oid) == -1 for oid in absent)


@pytest.mark.usefixtures("lookup")
def test_an_empty_index_finds_nothing(tmp_path: Path, rng: random.Random) -> None:
    pack, _ = mapped(tmp_path, [])
    assert all(pack.find(rng.randbytes(20)) == -1 for _ in range(100))


@pytest.mark.usefixtures("lookup")
def test_an_id_found_across_two_ids_of_the_index_is_not_one_of_them(tmp_path: Path) -> None:
    # Two ids whose bytes, read from the middle of one to the middle of the next, spell a
    # third that would sort between them.
    one = bytes([0x41]) + bytes(9) + bytes([0x41]) * 10
    two = bytes([0x41]) * 10 + bytes([0x42]) * 10
    straddling = bytes([0x41]) * 20
    assert one < straddling < two
    assert one[10:] + two[:10] == straddling
    pack, offsets = mapped(tmp_path, [one, two])
    assert pack.find(one) == offsets[one]
    assert pack.find(two) == offsets[two]
    assert pack.find(straddling) == -1


def test_blobs_and_trees_in_packs_of_their_own_are_read_after_a_repack(tmp_path: Path) -> None:
    # fast-import writes the blobs in one pack, the commit and its tree in another: reads
    # that alternate between the kinds find each in its pack, and in the single pack that
    # replaces both.
    repo = bare(tmp_path)
    contents = [b"blob %d" % n for n in range(50)]
    ids = commit_blobs(repo, contents)
    tree = git(repo, "rev-parse", "main^{tree}").strip()
    reader = PackReader(str(repo / "objects"))
    assert len(list((repo / "objects" / "pack").glob("*.idx"))) == 2
    for oid, content in zip(ids, contents, strict=True):
        assert reader.read(oid, BLOB) == content
        assert reader.read(tree, TREE) is not None
        assert reader.read(oid, TREE) is None
        assert reader.read(tree, BLOB) is None
    git(repo, "repack", "-a", "-d", "-q")
    assert reader.rescan()
    for oid, content in zip(ids, contents, strict=True):
        assert reader.read(oid, BLOB) == content
        assert reader.read(tree, TREE) is not None
