"""Key folders' fan-out: a key's folder goes into the shard ``keys/<id[0:2]>``, or one level
deeper (``keys/<id[0:2]>/<id[2:4]>``…) when the shard it would go in is full; folders never
move; a key made at two levels by two writers is read, listed and verified as one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

import gitblobts
from gitblobts import EVERY_KEY, Store
from gitblobts.core import keynames
from gitblobts.core.keynames import key_id, name_secret, shard
from gitblobts.core.keys import decode_key
from tests.helpers.git import git
from tests.helpers.gitservers import GitServer, make_bare_repo
from tests.helpers.pathsafety import assert_paths_safe

KEY = gitblobts.generate_key()
S = 1
"""One second: int times are seconds."""


@pytest.fixture(params=["plain", "encrypted"])
def cipher(request: pytest.FixtureRequest) -> bytes | None:
    """Each store kind: without a cipher, then encrypted."""
    return KEY if request.param == "encrypted" else None


def ident(key: str, cipher: bytes | None) -> str:
    """The id of ``key`` in a store with ``cipher``'s key (or none)."""
    return key_id(key, None if cipher is None else name_secret(decode_key(cipher)))


def crowded(cipher: bytes | None) -> tuple[str, str, str]:
    """Three keys in one shard, the last two also in one sub-shard (``a``, ``b``, ``c``:
    ``a.id[:2] == b.id[:2] == c.id[:2]``, ``b.id[:4] == c.id[:4] != a.id[:4]``)."""
    by_four: dict[str, list[str]] = defaultdict(list)
    by_two: dict[str, set[str]] = defaultdict(set)
    number = 0
    while True:
        key = f"k{number}"
        number += 1
        four = ident(key, cipher)[:4]
        by_four[four].append(key)
        by_two[four[:2]].add(four)
        if len(by_four[four]) == 2 and len(by_two[four[:2]]) > 1:
            other = next(f for f in sorted(by_two[four[:2]]) if f != four)
            b, c = by_four[four]
            return by_four[other][0], b, c


def folders(store: Store) -> set[str]:
    """Every key folder of the store's branch (each holds a name record)."""
    found = (path.rpartition("/") for path in tree(store))
    return {folder for folder, _, file in found if file.startswith("key-")}


def tree(store: Store) -> list[str]:
    """Every file path of the store's branch, as ``git ls-tree -r`` lists them."""
    listed = git(store.path, "ls-tree", "-r", "-z", "--name-only", store.branch)
    return [path for path in listed.split("\0") if path]


def key_folder(store: Store, key: str, cipher: bytes | None) -> list[str]:
    """The folders of ``key`` in the store's tree (by the id ending their names), sorted."""
    ending = ident(key, cipher)
    return sorted(folder for folder in folders(store) if folder.endswith(ending))


def test_a_full_shard_sends_new_keys_one_level_down_then_two(
    new_repo: Callable[[str], Path],
    repo_kind: str,
    cipher: bytes | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keynames, "FANOUT_LIMIT", 1)
    store = Store(new_repo(repo_kind), key=cipher, push=False)
    a, b, c = crowded(cipher)
    for number, key in enumerate((a, b, c, a, b, c), start=1):
        store.addblob(key.encode() + b"#%d" % number, number * S, key=key)
    ids = {key: ident(key, cipher) for key in (a, b, c)}
    assert [len(key_folder(store, key, cipher)) for key in (a, b, c)] == [1, 1, 1]
    assert key_folder(store, a, cipher)[0].startswith(shard(ids[a], 1) + "/")
    assert key_folder(store, b, cipher)[0].startswith(shard(ids[b], 2) + "/")
    assert key_folder(store, c, cipher)[0].startswith(shard(ids[c], 3) + "/")
    assert sum(1 for path in tree(store) if path.rpartition("/")[2].startswith("key-")) == 3
    assert [v.blob for v in store.getblobs(key=a)] == [a.encode() + b"#1", a.encode() + b"#4"]
    assert [v.blob for v in store.getblobs(key=b)] == [b.encode() + b"#2", b.encode() + b"#5"]
    assert [v.blob for v in store.getblobs(key=c)] == [c.encode() + b"#3", c.encode() + b"#6"]
    assert store.getblob(c).blob == c.encode() + b"#6"
    assert store.getblob(b, at=4 * S).blob == b.encode() + b"#2"
    assert [v.timestamp_ns // 10**9 for v in store.getblobs(key=EVERY_KEY)] == [1, 2, 3, 4, 5, 6]
    assert list(store.keys()) == sorted([a, b, c])
    assert list(store.keys(prefix=c)) == [c]
    assert_paths_safe(tree(store))
    assert store.verify().ok


def test_a_key_made_at_two_levels_is_one_key(
    repo: Path, cipher: bytes | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(repo, key=cipher, push=False)
    store.addblob(b"one", 1 * S, key="k")
    moved = store.addblob(b"two", 2 * S, key="k")
    (level1,) = key_folder(store, "k", cipher)
    record = next(p for p in tree(store) if p.startswith(level1 + "/key-"))
    # A second writer that saw the shard full made the key's folder one level down:
    level2 = f"{shard(ident('k', cipher), 2)}/{level1.rpartition('/')[2]}"
    target = moved.path.replace(level1, level2, 1)
    (repo / target).parent.mkdir(parents=True)
    git(repo, "mv", moved.path, target)
    (repo / level2 / record.rpartition("/")[2]).write_bytes((repo / record).read_bytes())
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "the key at two levels")
    assert key_folder(store, "k", cipher) == sorted([level1, level2])
    assert [v.blob for v in store.getblobs(key="k")] == [b"one", b"two"]
    assert [v.blob for v in store.getblobs(3 * S, 0, key="k")] == [b"two", b"one"]
    assert store.getblob("k").blob == b"two"
    assert store.getblob("k").path == target
    assert [v.blob for v in store.getblobs(key=EVERY_KEY)] == [b"one", b"two"]
    assert list(store.keys()) == ["k"]
    assert store.verify().ok
    third = store.addblob(b"three", 3 * S, key="k")  # to the shallowest folder, no new record
    assert third.path.startswith(level1 + "/")
    assert sum(1 for path in tree(store) if "/key-" in path) == 2
    monkeypatch.setattr(keynames, "FANOUT_LIMIT", 0)  # whatever the shards hold now
    assert store.addblob(b"four", 4 * S, key="k").path.startswith(level1 + "/")
    assert [v.blob for v in store.getblobs(key="k")] == [b"one", b"two", b"three", b"four"]


def test_two_writers_making_one_key_at_two_levels_keep_every_version(
    git_daemon: GitServer,
    tmp_path: Path,
    cipher: bytes | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = make_bare_repo(git_daemon.root, "blobs.git")
    clones = []
    for name in ("one", "two"):
        git(tmp_path, "clone", "--quiet", git_daemon.url("blobs.git"), name)
        clones.append(tmp_path / name)
    neighbour, shared, _ = crowded(cipher)
    first = Store(clones[0], key=cipher)
    first.init()
    first.addblob(b"neighbour", 1 * S, key=neighbour)
    second = Store(clones[1], key=cipher)
    second.pull()
    first.addblob(b"first", 2 * S, key=shared)  # sees one entry in the shard: level 1
    monkeypatch.setattr(keynames, "FANOUT_LIMIT", 1)
    second.addblob(b"second", 3 * S, key=shared)  # sees it full: level 2, then rebases
    reader = Store(served, key=cipher)
    levels = sorted(path.count("/") for path in key_folder(reader, shared, cipher))
    assert levels == [2, 3]
    assert [b.blob for b in reader.getblobs(key=shared)] == [b"first", b"second"]
    assert reader.getblob(shared).blob == b"second"
    assert list(reader.keys()) == sorted([neighbour, shared])
    assert [b.blob for b in reader.getblobs(key=EVERY_KEY)] == [b"neighbour", b"first", b"second"]
    assert reader.verify().ok


def test_verify_reports_what_is_neither_a_shard_nor_a_key_folder_at_any_level(
    repo: Path,
) -> None:
    store = Store(repo, push=False)
    ref = store.addblob(b"x", S, key="k")
    folder = ref.path.rpartition("/")[0].split("/")
    level1, name = "/".join(folder[:2]), folder[2]
    other = "aa" if not level1.endswith("/aa") else "bb"
    strays = [
        f"{level1}/{ident('k', None)[2:4]}/notes.txt",  # a file in a sub-shard
        f"{level1}/{other}/{name}/key-{'a' * 26}",  # the key's folder in another sub-shard
        f"{level1}/x1/file",  # no shard: 1 is no base32 digit
        "keys/A1/file",
    ]
    for path in strays:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("stray")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "strays")
    problems = {problem.path: problem.reason for problem in store.verify().problems}
    expected = {
        f"{level1}/{ident('k', None)[2:4]}/notes.txt": "neither",
        f"{level1}/{other}/{name}": "another id's shard",
        f"{level1}/x1": "neither",
        "keys/A1": "not a shard",
    }
    assert problems.keys() == expected.keys()
    assert all(expected[path] in reason for path, reason in problems.items())
    assert list(store.keys()) == ["k"]
    assert store.getblob("k").blob == b"x"
