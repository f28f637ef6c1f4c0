"""Keys: named streams of versions. A version is added under its key's folder, read back
latest, at a time or by range in either order, merged over every key, listed by prefix;
keyless blobs are unaffected; awkward keys check out everywhere; an encrypted store's tree
names no key; two writers adding to one key through a server both keep their versions."""

from __future__ import annotations

import asyncio
import json
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

import gitblobts
from gitblobts import (
    EVERY_KEY,
    ArgumentError,
    ArgumentTypeError,
    AsyncStore,
    BlobNotFoundError,
    ConfigError,
    KeyRequiredError,
    Store,
)
from gitblobts.core.keynames import label
from tests.core.test_keynames import AWKWARD
from tests.helpers import seedformat
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


@pytest.fixture
def store(new_repo: Callable[[str], Path], repo_kind: str, cipher: bytes | None) -> Store:
    """A store of each repository kind, with and without a cipher."""
    return Store(new_repo(repo_kind), key=cipher, push=False)


def tree(store: Store) -> list[str]:
    """Every file path of the store's branch, as ``git ls-tree -r`` lists them."""
    listed = git(store.path, "ls-tree", "-r", "-z", "--name-only", store.branch)
    return [path for path in listed.split("\0") if path]


def test_a_keys_versions_come_back_by_time_in_either_order(store: Store) -> None:
    store.addblob(b"two", 2 * S, key="sensor/7")
    store.addblobs([b"one", b"three"], [1 * S, 3 * S], key="sensor/7")
    ascending = list(store.getblobs(key="sensor/7"))
    assert [b.blob for b in ascending] == [b"one", b"two", b"three"]
    assert {b.key for b in ascending} == {"sensor/7"}
    assert [b.blob for b in store.getblobs(3 * S, 2 * S, key="sensor/7")] == [b"three", b"two"]
    assert [b.blob for b in store.getblobs(2 * S, 9 * S, key="sensor/7")] == [b"two", b"three"]


def test_an_add_to_a_key_returns_where_the_version_is(store: Store) -> None:
    ref = store.addblob(b"x", 5 * S, key="sensor/7")
    assert ref.key == "sensor/7"
    assert ref.path.startswith("keys/")
    assert ref.path in tree(store)
    assert store.getblob("sensor/7").path == ref.path


def test_getblob_returns_the_latest_version_or_the_latest_at_a_time(store: Store) -> None:
    for second in (1, 2, 3):
        store.addblob(b"v%d" % second, second * S, key="k")
    assert store.getblob("k").blob == b"v3"
    assert store.getblob("k").key == "k"
    assert store.getblob("k", at=2.5).blob == b"v2"
    assert store.getblob("k", at="1970-01-01T00:00:01Z").blob == b"v1"
    with pytest.raises(BlobNotFoundError, match="'k' has no version at or before"):
        store.getblob("k", at=0.5)


def test_a_key_without_versions_is_not_found(store: Store) -> None:
    store.addblob(b"x", S, key="k")
    with pytest.raises(BlobNotFoundError, match="'other' has no version") as raised:
        store.getblob("other")
    assert isinstance(raised.value, KeyError)
    assert list(store.getblobs(key="other")) == []


def test_versions_of_one_time_come_in_path_order_and_the_last_is_latest(store: Store) -> None:
    refs = store.addblobs([b"a", b"b", b"c"], [S, S, S], key="k")
    paths = sorted(ref.path for ref in refs)
    assert [b.path for b in store.getblobs(key="k")] == paths
    assert [b.path for b in store.getblobs(9 * S, 0, key="k")] == paths[::-1]
    assert store.getblob("k").path == paths[-1]


def test_every_key_merges_the_versions_of_all_keys_in_time_order(store: Store) -> None:
    store.addblobs([b"a1", b"a3"], [1 * S, 3 * S], key="a")
    store.addblobs([b"b2", b"b4"], [2 * S, 4 * S], key="b")
    store.addblob(b"keyless", 2 * S)
    merged = list(store.getblobs(key=EVERY_KEY))
    assert [(b.key, b.blob) for b in merged] == [
        ("a", b"a1"),
        ("b", b"b2"),
        ("a", b"a3"),
        ("b", b"b4"),
    ]
    descending = list(store.getblobs(4 * S, 2 * S, key=EVERY_KEY))
    assert [b.blob for b in descending] == [b"b4", b"a3", b"b2"]


def test_keys_are_listed_sorted_and_by_prefix(store: Store) -> None:
    for key in ("sensor/10", "sensor/7", "camera", "Sensor", "sensors"):
        store.addblob(b"x", S, key=key)
    assert list(store.keys()) == ["Sensor", "camera", "sensor/10", "sensor/7", "sensors"]
    assert list(store.keys("sensor/")) == ["sensor/10", "sensor/7"]
    assert list(store.keys("nothing")) == []


def test_keyless_blobs_are_unaffected_by_keyed_ones(store: Store) -> None:
    store.addblob(b"keyless", 2 * S)
    store.addblobs([b"k1", b"k2"], [1 * S, 2 * S], key="k")
    assert [b.blob for b in store.getblobs()] == [b"keyless"]
    assert [b.key for b in store.getblobs()] == [None]
    assert store.count() == 1
    assert [info.path for info in store.listblobs()] == [store.getblobs().__next__().path]


def test_a_reopened_store_finds_its_keys(
    new_repo: Callable[[str], Path], repo_kind: str, cipher: bytes | None
) -> None:
    path = new_repo(repo_kind)
    Store(path, key=cipher, push=False).addblob(b"x", S, key="k" * 200)
    reopened = Store(path, key=cipher)
    assert list(reopened.keys()) == ["k" * 200]
    assert reopened.getblob("k" * 200).blob == b"x"


def test_awkward_keys_round_trip_and_their_paths_check_out_everywhere(
    store: Store, cipher: bytes | None
) -> None:
    for position, key in enumerate(AWKWARD):
        store.addblob(b"%d" % position, S, key=key)
    assert list(store.keys()) == sorted(AWKWARD)
    for position, key in enumerate(AWKWARD):
        assert store.getblob(key).blob == b"%d" % position
    assert_paths_safe(tree(store))
    assert store.verify().ok


def test_awkward_keys_are_files_in_a_working_tree(repo: Path, cipher: bytes | None) -> None:
    store = Store(repo, key=cipher, push=False)
    refs = [store.addblob(b"x", S, key=key) for key in AWKWARD]
    assert git(repo, "status", "--porcelain") == ""
    for ref in refs:
        assert (repo / ref.path).is_file()
    assert [store.getblob(key).path for key in AWKWARD] == [ref.path for ref in refs]


def test_keys_spelled_in_nfc_and_nfd_are_two_keys(store: Store) -> None:
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    store.addblob(b"nfc", S, key=nfc)
    store.addblob(b"nfd", S, key=nfd)
    assert store.getblob(nfc).blob == b"nfc"
    assert store.getblob(nfd).blob == b"nfd"
    assert sorted(store.keys()) == sorted([nfc, nfd])


def test_an_encrypted_store_names_no_key_in_its_tree(new_repo: Callable[[str], Path]) -> None:
    store = Store(new_repo("bare"), key=KEY, push=False)
    keys = ["sensor/7", "Secret Name", "é" * 50]
    for key in keys:
        store.addblob(b"x", S, key=key)
    listing = "\n".join(tree(store))
    for key in keys:
        assert key not in listing
        assert label(key)[0] not in listing
        assert label(key)[0][:20] not in listing
    assert sorted(store.keys()) == sorted(keys)


def test_an_encrypted_stores_keys_need_the_key(new_repo: Callable[[str], Path]) -> None:
    path = new_repo("bare")
    Store(path, key=KEY, push=False).addblob(b"x", S, key="k")
    with pytest.raises(KeyRequiredError):
        list(Store(path).keys())
    with pytest.raises(KeyRequiredError):
        Store(path).getblob("k")


def test_the_first_keyed_add_makes_the_store_version_4(store: Store) -> None:
    store.addblob(b"keyless", S)
    assert json.loads(git(store.path, "show", f"{store.branch}:.gitblobts.json"))["version"] == 3
    store.addblob(b"keyed", S, key="k")
    assert json.loads(git(store.path, "show", f"{store.branch}:.gitblobts.json"))["version"] == 4
    assert store.config.version == 4


def test_a_new_stores_first_add_to_a_key_records_version_4(
    new_repo: Callable[[str], Path],
) -> None:
    store = Store(new_repo("bare"), push=False)
    store.addblob(b"keyed", S, key="k")
    assert json.loads(git(store.path, "show", f"{store.branch}:.gitblobts.json"))["version"] == 4


def test_a_store_of_gitblobts_0_0_7_refuses_keys(new_repo: Callable[[str], Path]) -> None:
    work = new_repo("empty")
    seedformat.write(work, [(S, b"old")])
    with pytest.raises(ConfigError, match="migrate"):
        Store(work, push=False).addblob(b"x", key="k")


@pytest.mark.parametrize(
    ("key", "error"),
    [(b"k", ArgumentTypeError), ("", ArgumentError), ("sha256-" + "0" * 64, ArgumentError)],
)
def test_a_bad_key_is_refused_before_anything_is_added(
    store: Store, key: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        store.addblob(b"x", key=key)  # type: ignore[arg-type]
    with pytest.raises(error):
        store.addblobs([b"x"], key=key)  # type: ignore[arg-type]
    assert not store.configured


def test_a_content_address_is_not_found_among_keys(store: Store) -> None:
    with pytest.raises(BlobNotFoundError, match="sha256-"):
        store.getblob("sha256-" + "0" * 64)


def test_a_large_version_is_kept_in_parts(new_repo: Callable[[str], Path]) -> None:
    store = Store(new_repo("bare"), key=KEY, part_size=64 * 1024, compression="none")
    data = bytes(range(256)) * 1024
    ref = store.addblob(data, S, key="big", push=False)
    assert any(path.startswith(ref.path + "/part-") for path in tree(store))
    assert store.getblob("big").blob == data
    assert store.verify().ok


def test_verify_reports_what_does_not_belong_under_keys(repo: Path) -> None:
    store = Store(repo, push=False)
    ref = store.addblob(b"x", S, key="k")
    folder = "/".join(ref.path.split("/")[:3])
    (repo / folder / "stray.txt").write_text("stray")
    (repo / "keys" / "zz").mkdir()
    (repo / "keys" / "zz" / "file").write_text("stray")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "strays")
    problems = {problem.path: problem.reason for problem in store.verify().problems}
    assert problems == {
        f"{folder}/stray.txt": "neither a version nor a name record",
        "keys/zz/file": "neither a key folder nor a shard of key folders",
    }


def test_verify_reports_a_version_moved_to_another_keys_folder(
    new_repo: Callable[[str], Path],
) -> None:
    path = new_repo("non-bare")
    store = Store(path, key=KEY, push=False)
    moved = store.addblob(b"x", S, key="a")
    other = store.addblob(b"y", S, key="b")
    target = "/".join(other.path.split("/")[:3]) + "/" + moved.path.split("/", 3)[3]
    (path / target).parent.mkdir(parents=True, exist_ok=True)
    (path / moved.path).rename(path / target)
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "move")
    problems = [problem.path for problem in store.verify().problems]
    assert problems == [target]


def test_two_writers_adding_to_one_key_through_a_server_keep_every_version(
    git_daemon: GitServer, tmp_path: Path, cipher: bytes | None
) -> None:
    served = make_bare_repo(git_daemon.root, "blobs.git")
    clones = []
    for name in ("one", "two"):
        git(tmp_path, "clone", "--quiet", git_daemon.url("blobs.git"), name)
        clones.append(tmp_path / name)
    first = Store(clones[0], key=cipher)
    first.init()
    second = Store(clones[1], key=cipher)
    second.pull()
    first.addblob(b"first", 1 * S, key="shared")
    second.addblob(b"second", 2 * S, key="shared")
    first.addblob(b"third", 3 * S, key="shared")
    reader = Store(served, key=cipher)
    assert [b.blob for b in reader.getblobs(key="shared")] == [b"first", b"second", b"third"]
    assert list(reader.keys()) == ["shared"]
    assert reader.verify().ok


def test_an_async_store_adds_to_and_reads_keys(repo: Path) -> None:
    async def main() -> tuple[list[bytes], bytes, list[str]]:
        async with AsyncStore(repo, push=False) as store:
            await store.addblob(b"one", S, key="k")
            await store.addblobs([b"two"], [2 * S], key="k")
            got = [blob.blob async for blob in store.getblobs(key="k")]
            latest = await store.getblob("k")
            return got, latest.blob, await store.keys()

    assert asyncio.run(main()) == ([b"one", b"two"], b"two", ["k"])


@pytest.mark.parametrize("layout", ["flat", "hourly", "20-second"])
def test_every_layout_places_versions_under_the_keys_folder(
    new_repo: Callable[[str], Path], layout: str
) -> None:
    store = Store(new_repo("bare"), layout=layout, push=False)
    store.addblob(b"keyless", 1 * S)
    refs = store.addblobs([b"v1", b"v2"], [1 * S, 7200 * S], key="k")
    folder = "/".join(refs[0].path.split("/")[:3])
    assert all(ref.path.startswith(folder + "/") for ref in refs)
    assert [b.blob for b in store.getblobs(key="k")] == [b"v1", b"v2"]
    assert store.getblob("k", at=3600 * S).blob == b"v1"
    assert [b.blob for b in store.getblobs()] == [b"keyless"]
    assert store.verify().ok


def test_keys_refuses_a_prefix_that_is_not_text(store: Store) -> None:
    with pytest.raises(ArgumentTypeError, match="prefix 7 is int"):
        list(store.keys(7))  # type: ignore[arg-type]
