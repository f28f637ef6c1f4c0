"""``listblobs`` (and so ``gitblobts ls``) reads no blob contents: each stored size comes
from the object's header, as ``git cat-file -s`` gives it."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from gitblobts import RepositoryError, Store
from gitblobts.core.locking import LockedBackend
from tests.helpers.git import git


def test_stored_sizes_are_what_git_holds(repo: Path) -> None:
    store = Store(repo)
    store.addblobs([b"", b"one", os.urandom(70_000)], [1, 2, 3])

    infos = list(store.listblobs())

    assert [info.stored_size for info in infos] == [
        int(git(repo, "cat-file", "-s", f"HEAD:{info.path}")) for info in infos
    ]


def test_listing_does_not_read_contents(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(repo)
    store.addblobs([b"one", b"two"], [1, 2])
    sizes = [info.stored_size for info in store.listblobs()]
    locked = store._state.backend
    assert isinstance(locked, LockedBackend)
    reads: list[object] = []
    monkeypatch.setattr(locked.backend, "read_blobs", lambda oids: reads.append(oids))

    assert [info.stored_size for info in store.listblobs()] == sizes
    assert reads == []


def test_a_blob_with_corrupt_contents_but_a_sound_header_still_lists(tmp_path: Path) -> None:
    repo = tmp_path / "damaged"  # not the repo fixture: it checks that git fsck passes
    git(tmp_path, "init", "-q", str(repo))
    store = Store(repo)
    ref = store.addblob(os.urandom(100_000), 1)
    oid = git(repo, "rev-parse", f"HEAD:{ref.path}").strip()
    git_dir = Path(git(repo, "rev-parse", "--absolute-git-dir").strip())
    loose = git_dir / "objects" / oid[:2] / oid[2:]
    size = int(git(repo, "cat-file", "-s", oid))
    loose.chmod(0o644)
    damaged = bytearray(zlib.compress(b"blob %d\0" % size + bytes(size)))
    damaged[len(damaged) // 2 :] = bytes(len(damaged) - len(damaged) // 2)  # second half zeroed
    loose.write_bytes(damaged)
    reopened = Store(repo)

    assert [info.stored_size for info in reopened.listblobs()] == [size]
    with pytest.raises(RepositoryError):
        list(reopened.getblobs())
