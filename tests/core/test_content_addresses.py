"""Content addresses: ``putblob`` stores a blob under the SHA-256 of its bytes and returns
``sha256-<hex>``; ``getblob(address)`` returns it, its hash checked. Equal contents are
stored once (no object, no commit the second time), by one writer or two; an encrypted
store's tree shows no plain content hash; ``verify`` checks every content file."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import gitblobts
from gitblobts import (
    ArgumentError,
    BlobNotFoundError,
    ConfigError,
    CorruptBlobError,
    GitBlobTSError,
    KeyRequiredError,
    Store,
)
from gitblobts.core import addresses, keys
from gitblobts.core.config import StoreConfig
from tests.helpers.git import assert_fsck_clean, git
from tests.helpers.gitservers import GitDaemon, make_bare_repo
from tests.helpers.plumbing import commit_entries, hash_object, object_ids

KEY = gitblobts.generate_key()
PART = 1024
BIG = os.urandom(5 * PART + 17)
"""Contents whose stored form is about five parts (random bytes do not compress)."""


def address_of(data: bytes) -> str:
    return "sha256-" + hashlib.sha256(data).hexdigest()


@pytest.fixture(params=[False, True], ids=["plain", "encrypted"])
def keyed(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def open_store(path: Path, keyed: bool, **options: object) -> Store:
    key = KEY if keyed else None
    return Store(path, key=key, push=False, part_size=PART, **options)  # type: ignore[arg-type]


def tip(repo: Path) -> str | None:
    found = git(repo, "for-each-ref", "--format=%(objectname)", "refs/heads/main").strip()
    return found or None


def object_count(repo: Path) -> int:
    """Every object of the repository, loose or packed, by ``git count-objects``."""
    fields = dict(
        line.split(": ") for line in git(repo, "count-objects", "-v").splitlines() if line
    )
    return int(fields["count"]) + int(fields["in-pack"])


def content_paths(repo: Path, ref: str = "main") -> list[str]:
    names = git(repo, "ls-tree", "-r", "--name-only", ref).split()
    return sorted(name for name in names if name.startswith("content/"))


def content_files(repo: Path, ref: str = "main") -> list[str]:
    """The content files of ``ref``: files, and parted ones' folders, once each."""
    return sorted({"/".join(path.split("/")[:4]) for path in content_paths(repo, ref)})


def pieces(data: bytes, size: int = 700) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class Unseekable(io.RawIOBase):
    """A binary stream that cannot seek, as a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self._data.read(min(len(buffer), 300))
        buffer[: len(chunk)] = chunk
        return len(chunk)


# The address grammar and the names


def test_an_address_is_sha256_and_64_lowercase_hex_digits() -> None:
    digest = hashlib.sha256(b"hello").digest()

    assert addresses.format_address(digest) == address_of(b"hello")
    assert addresses.parse_address(address_of(b"hello")) == digest
    assert addresses.is_address(address_of(b"hello"))


@pytest.mark.parametrize(
    "text",
    [
        "sha256-" + "A" * 64,
        "sha256-" + "a" * 63,
        "sha256-" + "a" * 65,
        "SHA256-" + "a" * 64,
        "sha1-" + "a" * 40,
        "hmac256-" + "a" * 64,
        " sha256-" + "a" * 64,
        "sha256-" + "a" * 64 + "\n",
        "",
    ],
)
def test_anything_else_is_not_an_address(text: str) -> None:
    assert not addresses.is_address(text)
    with pytest.raises(ArgumentError, match="not a content address"):
        addresses.parse_address(text)


def test_a_plain_file_id_is_the_address_and_a_keyed_one_an_hmac_under_a_subkey() -> None:
    digest = hashlib.sha256(b"hello").digest()
    raw = keys.decode_key(KEY)
    subkey = HKDF(hashes.SHA256(), 32, salt=None, info=b"gitblobts content").derive(raw)

    assert addresses.file_id(digest, None) == address_of(b"hello")
    assert addresses.file_id(digest, addresses.secret(raw)) == (
        "hmac256-" + hmac.new(subkey, digest, hashlib.sha256).hexdigest()
    )


def test_a_content_file_is_named_by_its_file_id_in_two_levels_of_its_hex_digits() -> None:
    content_id = address_of(b"hello")  # sha256-2cf24dba...
    name = addresses.content_name(content_id, ("zst", "aes256gcm"))

    assert addresses.folder(content_id) == "content/2c/f2"
    assert str(name) == f"{content_id}.v2.zst.aes256gcm"
    assert name.identity == f"content:{content_id}"  # what ciphers bind
    assert addresses.CONTENT_PLACES.path(0, str(name)) == f"content/2c/f2/{name}"
    assert addresses.parse_name(str(name)) == name


@pytest.mark.parametrize(
    "name",
    [
        "sha256-" + "a" * 64,
        "sha256-" + "a" * 64 + ".zst",
        "sha256-" + "a" * 63 + ".v2",
        "md5-" + "a" * 32 + ".v2",
        "20261203T084020.000000000Z_" + "a" * 26 + ".v2",
    ],
)
def test_other_names_are_not_content_file_names(name: str) -> None:
    assert addresses.parse_name(name) is None


# Putting and getting


@pytest.mark.parametrize("source", ["bytes", "file object", "iterable"])
def test_a_put_blob_comes_back_by_its_address(
    new_repo: Path, repo_kind: str, keyed: bool, source: str
) -> None:
    repo = new_repo(repo_kind)  # type: ignore[operator]
    data = b"contents to find by their hash"
    given = {"bytes": data, "file object": io.BytesIO(data), "iterable": pieces(data, 5)}[source]
    store = open_store(repo, keyed)

    address = store.putblob(given)
    blob = open_store(repo, keyed).getblob(address)

    assert address == address_of(data)
    assert (blob.blob, blob.address, blob.timestamp_ns) == (data, address, 0)
    assert blob.path in content_paths(repo)


@pytest.mark.parametrize("source", ["bytes", "file object", "iterable", "unseekable stream"])
def test_a_large_blob_is_put_in_parts_and_comes_back_whole(
    new_repo: Path, keyed: bool, source: str
) -> None:
    repo = new_repo("bare")  # type: ignore[operator]
    given = {
        "bytes": BIG,
        "file object": io.BytesIO(BIG),
        "iterable": pieces(BIG),
        "unseekable stream": io.BufferedReader(Unseekable(BIG)),
    }[source]
    store = open_store(repo, keyed)

    address = store.putblob(given)
    blob = store.getblob(address)

    assert address == address_of(BIG)
    assert blob.blob == BIG
    assert blob.open().read() == BIG
    stored = content_paths(repo)
    assert f"{blob.path}/SHA256SUMS" in stored
    assert len(stored) >= 6  # parts and SHA256SUMS


def test_a_seekable_file_is_put_from_where_it_stands(repo: Path) -> None:
    source = io.BytesIO(b"skip this: keep this")
    source.seek(11)

    address = open_store(repo, False).putblob(source)

    assert address == address_of(b"keep this")
    assert open_store(repo, False).getblob(address).blob == b"keep this"


def test_the_same_contents_put_again_write_no_object_and_make_no_commit(
    new_repo: Path, repo_kind: str, keyed: bool
) -> None:
    repo = new_repo(repo_kind)  # type: ignore[operator]
    store = open_store(repo, keyed)
    first = store.putblob(b"once is enough")
    parted = store.putblob(BIG)
    before, objects = tip(repo), object_count(repo)

    again = [
        store.putblob(b"once is enough"),
        store.putblob(io.BytesIO(b"once is enough")),
        store.putblob(pieces(BIG)),
        open_store(repo, keyed).putblob(BIG),
    ]

    assert again == [first, first, parted, parted]
    assert (tip(repo), object_count(repo)) == (before, objects)
    assert len(content_files(repo)) == 2


def test_contents_put_with_another_codec_are_found_whatever_their_suffixes(repo: Path) -> None:
    address = Store(repo, compression="gzip", push=False).putblob(b"gzipped once")
    before = tip(repo)

    store = Store(repo, compression="zstd", push=False)

    assert store.putblob(b"gzipped once") == address
    assert tip(repo) == before
    assert store.getblob(address).path.endswith(".v2.gz")


def test_different_contents_have_different_addresses_and_files(repo: Path, keyed: bool) -> None:
    store = open_store(repo, keyed)

    found = {store.putblob(data) for data in (b"a", b"b", b"A", b"", BIG)}

    assert len(found) == 5
    assert len(content_files(repo)) == 5
    assert {store.getblob(address).blob for address in found} == {b"a", b"b", b"A", b"", BIG}


def test_content_blobs_stay_out_of_the_queries_of_keyless_blobs(repo: Path, keyed: bool) -> None:
    store = open_store(repo, keyed)
    store.putblob(b"by hash")
    ref = store.addblob(b"by time", 1_700_000_000)
    store.putblob(BIG)

    assert [blob.blob for blob in store.getblobs()] == [b"by time"]
    assert [blob.blob for blob in store.getblobs(2e9, 0)] == [b"by time"]  # descending
    assert [info.path for info in store.listblobs()] == [ref.path]
    assert store.count() == 1


def test_an_address_not_on_the_branch_is_not_found(repo: Path, keyed: bool) -> None:
    store = open_store(repo, keyed)
    store.putblob(b"something else")

    with pytest.raises(BlobNotFoundError, match=address_of(b"missing")) as raised:
        store.getblob(address_of(b"missing"))
    assert isinstance(raised.value, KeyError)
    assert isinstance(raised.value, GitBlobTSError)


def test_an_address_is_not_found_in_a_store_without_commits(new_repo: Path) -> None:
    with pytest.raises(BlobNotFoundError):
        Store(new_repo("empty"), push=False).getblob(address_of(b"x"))  # type: ignore[operator]


def test_an_address_names_one_blob_and_takes_no_time(repo: Path) -> None:
    address = Store(repo, push=False).putblob(b"x")

    with pytest.raises(ArgumentError, match="at= is for keys"):
        Store(repo, push=False).getblob(address, at=5)


def test_an_encrypted_store_needs_its_key_to_find_contents(repo: Path) -> None:
    address = open_store(repo, True).putblob(b"secret")

    with pytest.raises(KeyRequiredError, match=address):
        Store(repo, push=False).getblob(address)


def test_a_file_object_that_reads_text_is_refused(repo: Path) -> None:
    with pytest.raises(gitblobts.BlobTypeError, match="binary mode"):
        Store(repo, push=False).putblob(io.StringIO("text"))  # type: ignore[arg-type]
    assert content_paths(repo) == []


# Tampering


def swap_contents(repo: Path, victim: str, other: str) -> None:
    """Commit, with git's plumbing, the object of ``other``'s file at ``victim``'s path."""
    ids = object_ids(repo)
    commit_entries(repo, {victim: (0o100644, ids[other])})


@pytest.mark.parametrize("kind", ["non-bare", "bare"])
def test_a_tampered_content_file_is_damage_naming_its_address(
    new_repo: Path, kind: str, keyed: bool
) -> None:
    repo = new_repo(kind)  # type: ignore[operator]
    store = open_store(repo, keyed)
    victim = store.putblob(b"the original")
    other = store.putblob(b"a forgery")
    victim_path, other_path = store.getblob(victim).path, store.getblob(other).path
    swap_contents(repo, victim_path, other_path)

    with pytest.raises(CorruptBlobError, match=victim) as raised:
        open_store(repo, keyed).getblob(victim)
    assert raised.value.path == victim_path
    report = open_store(repo, keyed).verify()
    assert [problem.path for problem in report.problems] == [victim_path]


def test_a_file_renamed_to_another_content_file_id_is_damage(repo: Path) -> None:
    """Plain: the name says one hash, the bytes another; read and verify both say so."""
    store = Store(repo, push=False)
    address = store.putblob(b"honest")
    honest = store.getblob(address).path
    liar = address_of(b"liar")
    path = f"{addresses.folder(liar)}/{liar}.v2.zst"
    commit_entries(repo, {path: (0o100644, object_ids(repo)[honest])})

    with pytest.raises(CorruptBlobError, match=liar):
        Store(repo, push=False).getblob(liar)
    (problem,) = Store(repo, push=False).verify().problems
    assert problem.path == path
    assert "do not match" in problem.reason


# Verifying


def test_verify_checks_every_content_file(new_repo: Path, repo_kind: str, keyed: bool) -> None:
    repo = new_repo(repo_kind)  # type: ignore[operator]
    store = open_store(repo, keyed)
    for data in (b"one", b"two", BIG):
        store.putblob(data)
    store.addblob(b"keyless", 1_700_000_000)

    report = store.verify()

    assert report.ok, report.problems
    assert report.checked == 5  # the configuration, a keyless blob, three content files


def test_verify_reports_anything_else_under_content_as_foreign(repo: Path) -> None:
    store = Store(repo, push=False)
    address = store.putblob(b"real")
    junk = hash_object(repo, b"junk")
    real = store.getblob(address).path
    misplaced = f"content/00/00/{address}.v2.zst"
    commit_entries(
        repo,
        {
            "content/README": (0o100644, junk),
            "content/2c/notes.txt": (0o100644, junk),
            "content/zz/00/x": (0o100644, junk),
            f"{addresses.folder(address)}/{address}.zst": (0o100644, junk),
            misplaced: (0o100644, object_ids(repo)[real]),
            f"{real}.link": (0o120000, junk),
        },
    )

    problems = {problem.path: problem.reason for problem in store.verify().problems}

    assert set(problems) == {
        "content/README",
        "content/2c/notes.txt",
        "content/zz",
        f"{addresses.folder(address)}/{address}.zst",
        misplaced,
        f"{real}.link",
    }
    assert "misplaced" in problems[misplaced]


def test_an_encrypted_content_file_checked_without_its_key_is_a_problem(repo: Path) -> None:
    address = open_store(repo, True).putblob(b"hidden")
    path = open_store(repo, True).getblob(address).path

    with pytest.raises(KeyRequiredError):
        Store(repo, push=False).verify()
    assert open_store(repo, True).verify().ok
    assert path.startswith("content/")
    assert "hmac256-" in path


# Encrypted stores' trees


def test_an_encrypted_store_shows_no_plain_content_hash(repo: Path) -> None:
    store = open_store(repo, True)
    contents = [b"one", b"two", b"", BIG]
    for data in contents:
        store.putblob(data)

    listing = git(repo, "ls-tree", "-r", "--name-only", "main")
    log = git(repo, "log", "--format=%B", "main")

    for data in contents:
        digest = hashlib.sha256(data).hexdigest()
        assert digest not in listing
        assert digest not in log
    for path in content_files(repo):
        assert re.fullmatch(r"content/\w\w/\w\w/hmac256-[0-9a-f]{64}\.v2\.zst\.aes256gcm", path)


# The configuration


def test_a_new_store_whose_first_file_is_content_is_version_4(repo: Path) -> None:
    Store(repo, push=False).putblob(b"x")

    assert json.loads(git(repo, "show", "main:.gitblobts.json"))["version"] == 4


def test_a_version_3_store_becomes_version_4_with_its_first_content_file(repo: Path) -> None:
    config = StoreConfig("20-second", "zstd", version=3, part_size=PART)
    commit_entries(repo, {".gitblobts.json": (0o100644, hash_object(repo, config.to_bytes()))})
    store = Store(repo, push=False)
    store.addblob(b"keyless")
    assert json.loads(git(repo, "show", "main:.gitblobts.json"))["version"] == 3

    store.putblob(b"content")

    recorded = json.loads(git(repo, "show", "main:.gitblobts.json"))
    assert (recorded["version"], recorded["part_size"]) == (4, PART)
    assert git(repo, "log", "-1", "--format=%s", "main").strip() == "gitblobts: put 1 blob"


def test_a_store_of_gitblobts_0_0_7_refuses_content(repo: Path) -> None:
    with pytest.raises(ConfigError, match="migrate"):
        Store(repo, layout="v1", push=False).putblob(b"x")


# Two writers


def test_two_writers_putting_the_same_contents_store_them_once(
    git_daemon: GitDaemon, git_server_root: Path, tmp_path: Path, keyed: bool
) -> None:
    served = make_bare_repo(git_server_root, "blobs.git")
    url = git_daemon.url("blobs.git")
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "--quiet", url, str(seed))
    open_store(seed, keyed).init(push=True)
    first = tmp_path / "first"
    second = tmp_path / "second"
    git(tmp_path, "clone", "--quiet", url, str(first))
    git(tmp_path, "clone", "--quiet", "--bare", url, str(second))
    one, two = open_store(first, keyed), open_store(second, keyed)

    shared = [one.putblob(b"both put this"), one.putblob(BIG), one.putblob(b"first only")]
    assert two.putblob(b"both put this") == shared[0]
    assert two.putblob(pieces(BIG)) == shared[1]
    second_only = two.putblob(b"second only")
    one.push()
    two.push()

    assert len(content_files(served)) == 4
    for commit in git(served, "rev-list", "main").split():
        changed = git(served, "diff-tree", "-r", "--no-commit-id", "--diff-filter=DMT", commit)
        assert [line for line in changed.splitlines() if ".gitblobts.json" not in line] == []
    puts = git(served, "log", "--format=%s", "main").splitlines().count("gitblobts: put 1 blob")
    assert puts == 4  # the second writer's two commits of shared contents were skipped
    one.pull()
    for store in (one, two):
        for address, data in zip(
            [*shared, second_only],
            [b"both put this", BIG, b"first only", b"second only"],
            strict=True,
        ):
            assert store.getblob(address).blob == data
    assert open_store(first, keyed).verify().ok
    assert_fsck_clean(served)


def test_a_replayed_first_content_file_upgrades_the_remote_store_to_version_4(
    git_daemon: GitDaemon, git_server_root: Path, tmp_path: Path
) -> None:
    served = make_bare_repo(git_server_root, "blobs.git")
    url = git_daemon.url("blobs.git")
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "--quiet", url, str(seed))
    config = StoreConfig("20-second", "zstd", version=3, part_size=PART)
    git(seed, "commit", "--quiet", "--allow-empty", "-m", "a store of version 3")
    commit_entries(seed, {".gitblobts.json": (0o100644, hash_object(seed, config.to_bytes()))})
    git(seed, "push", "--quiet", "origin", "HEAD:main")
    first, second = tmp_path / "first", tmp_path / "second"
    git(tmp_path, "clone", "--quiet", url, str(first))
    git(tmp_path, "clone", "--quiet", url, str(second))
    address = Store(first, push=False).putblob(b"content")  # version 4 here
    Store(second).addblob(b"keyless")  # version 3 there, pushed first

    Store(first).push()

    recorded = json.loads(git(served, "show", "main:.gitblobts.json"))
    assert (recorded["version"], recorded["part_size"]) == (4, PART)
    assert Store(second).getblob(address, pull=True).blob == b"content"
    assert [blob.blob for blob in Store(second).getblobs()] == [b"keyless"]


def test_a_follower_sees_keyless_blobs_only(repo: Path) -> None:
    store = Store(repo, push=False)
    following = store.follow(interval=0.01, pull=False)
    store.putblob(b"by hash")
    store.addblob(b"by time")
    store.putblob(BIG)

    assert next(following).blob == b"by time"
    following.close()


def test_an_async_store_puts_contents(repo: Path) -> None:
    async def put() -> str:
        async with gitblobts.AsyncStore(repo, push=False) as store:
            return await store.putblob(b"from a coroutine")

    address = asyncio.run(put())

    assert Store(repo).getblob(address).blob == b"from a coroutine"


def test_verify_reports_a_content_file_a_commit_removed_as_lost(repo: Path) -> None:
    store = Store(repo, push=False, part_size=PART)
    small = store.getblob(store.putblob(b"small")).path
    parted = store.getblob(store.putblob(BIG)).path
    gone = [path for path in object_ids(repo) if path.startswith(parted)] + [small]
    commit_entries(repo, dict.fromkeys(gone))

    problems = {problem.path: problem.reason for problem in store.verify().problems}

    assert set(problems) == {small, parted}
    assert all(reason.startswith("lost: ") for reason in problems.values())


def test_threads_putting_the_same_contents_at_once_commit_them_once(repo: Path) -> None:
    store = Store(repo, push=False)
    before = len(git(repo, "rev-list", "HEAD").split())

    with ThreadPoolExecutor(8) as pool:
        found = set(pool.map(lambda _: store.putblob(b"raced"), range(16)))

    assert found == {address_of(b"raced")}
    assert len(content_files(repo)) == 1
    assert len(git(repo, "rev-list", "HEAD").split()) == before + 1
