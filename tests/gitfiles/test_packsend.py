"""Packs that go to another repository (gitfiles/packsend.py) and packs received from one
(gitfiles/packreceive.py): git accepts what is sent, whether the sender holds its objects
packed, loose or as deltas; what is received is indexed as git indexes it."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from dulwich.objects import ObjectID
from dulwich.repo import Repo

from gitblobts import Store
from gitblobts.gitfiles import packsend
from gitblobts.gitfiles.packreceive import PackReceiver
from gitblobts.gitfiles.packs import PackReader
from tests.helpers.git import assert_fsck_clean, git
from tests.helpers.gitservers import GitDaemon, make_bare_repo


def bare(path: Path) -> Path:
    git(path.parent, "init", "--quiet", "--bare", "-b", "main", str(path))
    return path


def all_objects(repo: Path) -> list[str]:
    """Every object the branch reaches, commits first (as a push of it sends them)."""
    listed = git(repo, "rev-list", "--objects", "main").split()
    return [word for word in listed if len(word) == 40]


def stream_pack(repo: Path, oids: list[str]) -> bytes:
    """The pack packsend makes of ``oids`` from ``repo``'s object directory."""
    objects_dir = str(repo / "objects")
    reader = PackReader(objects_dir)
    with Repo(str(repo)) as dulwich_repo:
        store = dulwich_repo.object_store

        def read_whole(oid: str) -> tuple[int, bytes]:
            kind, data = store.get_raw(ObjectID(oid.encode()))
            return kind, data

        outgoing = packsend.Outgoing(objects_dir, reader, read_whole)
        pack = b"".join(packsend.stream(outgoing.entries(oids), len(oids)))
    reader.close()
    return pack


def accepted(pack: bytes, tmp_path: Path, tip: str) -> Path:
    """A new repository holding ``pack`` as git's index-pack --strict checked it, with its
    branch at ``tip``, fsck-clean."""
    receiver = bare(tmp_path / "receiver.git")
    git(receiver, "index-pack", "--strict", "--stdin", input=pack)
    git(receiver, "update-ref", "refs/heads/main", tip)
    assert_fsck_clean(receiver)
    return receiver


def store_with_blobs(path: Path, count: int) -> list[bytes]:
    contents = [os.urandom(200) + b"%d" % i for i in range(count)]
    with Store(path, backend="dulwich", push=False) as store:
        store.addblobs(contents)
    return contents


def test_a_pack_of_objects_stored_in_a_pack_is_accepted_by_git(tmp_path: Path) -> None:
    repo = bare(tmp_path / "sender.git")
    store_with_blobs(repo, 300)
    oids = all_objects(repo)
    receiver = accepted(stream_pack(repo, oids), tmp_path, oids[0])
    assert sorted(all_objects(receiver)) == sorted(oids)


def test_a_pack_of_loose_objects_is_accepted_by_git(tmp_path: Path) -> None:
    repo = bare(tmp_path / "sender.git")
    store_with_blobs(repo, 3)  # a few: written loose
    assert not list((repo / "objects" / "pack").glob("*.pack"))
    oids = all_objects(repo)
    receiver = accepted(stream_pack(repo, oids), tmp_path, oids[0])
    assert sorted(all_objects(receiver)) == sorted(oids)


def test_a_pack_of_objects_the_sender_holds_as_deltas_is_accepted_by_git(tmp_path: Path) -> None:
    repo = bare(tmp_path / "sender.git")
    base = os.urandom(4000)
    with Store(repo, backend="dulwich", push=False) as store:
        for i in range(20):  # near-identical blobs and trees, in many commits: git deltifies
            store.addblob(base + b"%d" % i)
    git(repo, "gc", "--quiet", "--aggressive")
    verified = git(repo, "verify-pack", "-v", *map(str, (repo / "objects/pack").glob("*.idx")))
    assert "chain length" in verified  # there are deltas
    oids = all_objects(repo)
    receiver = accepted(stream_pack(repo, oids), tmp_path, oids[0])
    assert sorted(all_objects(receiver)) == sorted(oids)


def test_a_stored_entry_that_does_not_hold_its_object_is_refused_by_checked() -> None:
    entry = packsend.Entry(bytes(20), packsend.BLOB, packsend.deflated(packsend.BLOB, b"data"))
    with pytest.raises(ValueError, match="damaged"):
        packsend.checked(entry)


def test_checked_accepts_an_entry_that_holds_its_object() -> None:
    data = b"contents"
    oid = hashlib.sha1(b"blob %d\0" % len(data) + data).digest()
    entry = packsend.Entry(oid, packsend.BLOB, packsend.deflated(packsend.BLOB, data))
    assert packsend.checked(entry) is entry


def git_pack(repo: Path) -> bytes:
    """The pack git's pack-objects makes of every object of ``repo``'s branch (deltas and
    all, as an upload-pack sends them)."""
    command = ["git", "-C", str(repo), "pack-objects", "--stdout", "--revs", "--delta-base-offset"]
    return subprocess.run(command, input=b"main\n", capture_output=True, check=True).stdout


def received(pack: bytes, tmp_path: Path) -> tuple[Path, str]:
    """A new repository holding ``pack`` as PackReceiver indexed it, and the pack's name."""
    receiver = bare(tmp_path / "receiver.git")
    with PackReceiver(str(receiver / "objects")) as receiving:
        for start in range(0, len(pack), 1000):
            receiving.write(pack[start : start + 1000])
        name = receiving.finish()
    assert name is not None
    return receiver, name


@pytest.mark.parametrize("aggressive", [False, True], ids=["whole", "deltas"])
def test_a_received_pack_is_indexed_exactly_as_git_indexes_it(
    tmp_path: Path, aggressive: bool
) -> None:
    repo = bare(tmp_path / "sender.git")
    base = os.urandom(4000)
    with Store(repo, backend="dulwich", push=False) as store:
        for i in range(20):
            store.addblob(base + b"%d" % i)
    if aggressive:
        git(repo, "gc", "--quiet", "--aggressive")
    pack = git_pack(repo)
    receiver, name = received(pack, tmp_path)
    ours = (receiver / "objects" / "pack" / f"{name}.idx").read_bytes()
    theirs_path = tmp_path / "theirs.pack"
    theirs_path.write_bytes(pack)
    git(tmp_path, "index-pack", str(theirs_path))
    assert ours == (tmp_path / "theirs.idx").read_bytes()
    git(receiver, "update-ref", "refs/heads/main", git(repo, "rev-parse", "main").strip())
    assert_fsck_clean(receiver)


def test_a_damaged_received_pack_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    repo = bare(tmp_path / "sender.git")
    store_with_blobs(repo, 30)
    pack = bytearray(git_pack(repo))
    pack[len(pack) // 2] ^= 0xFF
    receiver = bare(tmp_path / "receiver.git")
    with PackReceiver(str(receiver / "objects")) as receiving:
        receiving.write(bytes(pack))
        with pytest.raises(ValueError, match="checksum"):
            receiving.finish()
    assert list((receiver / "objects" / "pack").iterdir()) == []


def test_a_damaged_entry_under_a_matching_checksum_is_refused(tmp_path: Path) -> None:
    repo = bare(tmp_path / "sender.git")
    store_with_blobs(repo, 30)
    pack = bytearray(git_pack(repo)[:-20])
    pack[len(pack) // 2] ^= 0xFF
    pack += hashlib.sha1(pack).digest()
    receiver = bare(tmp_path / "receiver.git")
    with PackReceiver(str(receiver / "objects")) as receiving:
        receiving.write(bytes(pack))
        with pytest.raises(ValueError, match=r"damaged|size|delta"):
            receiving.finish()
    assert list((receiver / "objects" / "pack").iterdir()) == []


def test_a_pack_cut_short_is_refused(tmp_path: Path) -> None:
    repo = bare(tmp_path / "sender.git")
    store_with_blobs(repo, 30)
    receiver = bare(tmp_path / "receiver.git")
    with PackReceiver(str(receiver / "objects")) as receiving:
        receiving.write(git_pack(repo)[:-100])
        with pytest.raises(ValueError, match="checksum"):
            receiving.finish()
    assert list((receiver / "objects" / "pack").iterdir()) == []


def test_nothing_received_keeps_nothing(tmp_path: Path) -> None:
    receiver = bare(tmp_path / "receiver.git")
    with PackReceiver(str(receiver / "objects")) as receiving:
        assert receiving.finish() is None
    assert list((receiver / "objects" / "pack").iterdir()) == []


@pytest.mark.parametrize("state", ["packed", "loose", "deltas"])
def test_a_push_over_git_daemon_is_fsck_clean_on_the_remote(tmp_path: Path, state: str) -> None:
    root = tmp_path / "served"
    root.mkdir()
    remote = make_bare_repo(root, "remote.git")
    repo = bare(tmp_path / "local.git")
    base = os.urandom(4000)
    with Store(repo, backend="dulwich", push=False) as store:
        if state == "loose":
            store.addblob(base)
        else:
            store.addblobs(base + b"%d" % i for i in range(200))
            store.addblob(base + b"last")  # a second commit, on top of the first
    if state == "deltas":
        git(repo, "gc", "--quiet", "--aggressive")
    with GitDaemon(root) as daemon:
        git(repo, "remote", "add", "origin", daemon.url("remote.git"))
        with Store(repo, backend="dulwich", push=False) as store:
            assert store.push().pushed >= 1
    assert git(remote, "rev-parse", "main") == git(repo, "rev-parse", "main")
    assert_fsck_clean(remote)


def test_a_push_by_path_writes_one_checked_pack_that_git_accepts(tmp_path: Path) -> None:
    remote = bare(tmp_path / "remote.git")
    repo = bare(tmp_path / "local.git")
    store_with_blobs(repo, 300)
    git(repo, "remote", "add", "origin", str(remote))
    with Store(repo, backend="dulwich", push=False) as store:
        store.push()
    assert git(remote, "rev-parse", "main") == git(repo, "rev-parse", "main")
    (idx,) = (remote / "objects" / "pack").glob("*.idx")
    git(remote, "verify-pack", str(idx))
    assert_fsck_clean(remote)
