"""What ``addblobs`` returns and commits for a batch: :class:`BlobRefs`, equal to the list
of references it stands for in every use, and one commit of every blob whatever order the
times come in (its trees written a folder at a time when the paths come in order)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from gitblobts import BlobRef, Nanoseconds, Store
from gitblobts.core.batchfiles import BatchFiles
from gitblobts.core.blobrefs import AddedBlobs, BlobRefs
from tests.helpers.git import git

MINUTE = 60 * 10**9
START = 1_800_000_000 * 10**9


def times(count: int, order: str) -> list[Nanoseconds]:
    """One time a minute, ascending, descending or shuffled."""
    ascending = [Nanoseconds(START + n * MINUTE) for n in range(count)]
    if order == "descending":
        return ascending[::-1]
    if order == "shuffled":
        random.Random(19).shuffle(ascending)
    return ascending


def added(paths: list[str], files: list[int] | None = None) -> AddedBlobs:
    blobs = AddedBlobs("k")
    for position, path in enumerate(paths):
        blobs.append(START + position, path, files[position] if files else 1)
    return blobs


def test_blob_refs_equal_the_list_of_refs_they_stand_for() -> None:
    refs = added(["a/1", "a/2", "b/3"]).refs()
    expected = [BlobRef(START + n, path, key="k") for n, path in enumerate(["a/1", "a/2", "b/3"])]
    assert refs == expected
    assert expected == refs
    assert list(refs) == expected
    assert list(reversed(refs)) == expected[::-1]
    assert (len(refs), refs[0], refs[-1]) == (3, expected[0], expected[-1])
    assert refs[1:] == expected[1:]
    assert isinstance(refs[1:], BlobRefs)
    assert refs[::-2] == expected[::-2]
    assert refs + expected[:1] == [*expected, expected[0]]
    assert expected[:1] + refs == [expected[0], *expected]
    assert refs.index(expected[2]) == 2
    assert expected[1] in refs
    assert refs != expected[:2]
    with pytest.raises(IndexError):
        refs[3]


def test_refs_keep_times_beyond_what_64_bits_of_nanoseconds_hold() -> None:
    year_1, year_9999 = -62_135_596_800 * 10**9, 253_402_300_799 * 10**9  # past 1677, 2262
    blobs = AddedBlobs()
    for at, path in [(START, "a/1"), (year_1, "b/2"), (year_9999, "c/3")]:
        blobs.append(at, path, 1)

    assert [ref.timestamp_ns for ref in blobs.refs()] == [START, year_1, year_9999]


def test_the_repr_of_many_refs_is_short() -> None:
    refs = added([f"a/{n:06d}" for n in range(100_000)]).refs()
    assert len(repr(refs)) < 300
    assert repr(refs).startswith("<BlobRefs of 100,000 blobs: BlobRef(")


def test_batch_files_are_each_blobs_files_with_their_ids() -> None:
    blobs = added(["a/1", "a/2", "b/3"], files=[1, 3, 1])
    oids = [f"{n:040x}" for n in range(5)]
    files = BatchFiles(blobs, oids, range(3))
    assert dict(files.items()) == {
        "a/1": oids[0],
        "a/2/part-000000": oids[1],
        "a/2/part-000001": oids[2],
        "a/2/SHA256SUMS": oids[3],
        "b/3": oids[4],
    }
    assert len(files) == 5


def test_batch_files_drop_and_gain_files_and_stay_grouped() -> None:
    blobs = added(["x/3", "x/2", "a/1"])
    oids = [f"{n:040x}" for n in range(3)]
    files = BatchFiles(blobs, oids, range(3))
    copy = files.copy()
    copy["x/config"] = "c" * 40
    copy[".config"] = "d" * 40
    del copy["x/2"]
    assert dict(copy) == {"x/3": oids[0], "a/1": oids[2], "x/config": "c" * 40, ".config": "d" * 40}
    assert len(copy) == 4
    assert len(files) == 3  # the copy's changes are its own
    grouped = [path for path, _ in copy.grouped_items()]
    assert sorted(grouped) == sorted(copy)
    assert is_grouped(grouped)


def is_grouped(paths: list[str]) -> bool:
    """Whether each folder's paths come one after another."""
    seen: dict[str, list[int]] = {}
    for position, path in enumerate(paths):
        parts = path.split("/")
        for depth in range(1, len(parts)):
            seen.setdefault("/".join(parts[:depth]), []).append(position)
    return all(places == list(range(places[0], places[-1] + 1)) for places in seen.values())


@pytest.mark.parametrize("order", ["ascending", "descending", "shuffled"])
def test_a_batch_in_any_order_is_one_commit_of_every_blob(tmp_path: Path, order: str) -> None:
    git(tmp_path, "init", "--quiet", "--bare", "store.git")
    payload = [os.urandom(64) for _ in range(300)]
    when = times(300, order)
    with Store(tmp_path / "store.git", push=False) as store:
        store.addblobs(payload[:10], when[:10])  # folders the batch meets again
        refs = store.addblobs(payload[10:], when[10:])
        assert isinstance(refs, BlobRefs)
        assert [ref.timestamp_ns for ref in refs] == when[10:]
        read = {blob.timestamp_ns: blob.blob for blob in store.getblobs()}
    assert read == dict(zip(when, payload, strict=True))
    assert git(tmp_path / "store.git", "rev-list", "--count", "main").strip() == "2"
    git(tmp_path / "store.git", "fsck", "--strict", "--no-dangling")


@pytest.mark.parametrize("order", ["ascending", "descending", "shuffled"])
def test_parted_blobs_of_a_batch_read_back_in_any_order(tmp_path: Path, order: str) -> None:
    git(tmp_path, "init", "--quiet", "--bare", "store.git")
    payload = [os.urandom(3000) for _ in range(20)]
    when = times(20, order)
    with Store(tmp_path / "store.git", push=False, part_size=1024, compression="none") as store:
        refs = store.addblobs(iter(payload), iter(when))
        read = {blob.timestamp_ns: blob.blob for blob in store.getblobs()}
    assert [read[ref.timestamp_ns] for ref in refs] == payload
    git(tmp_path / "store.git", "fsck", "--strict", "--no-dangling")
