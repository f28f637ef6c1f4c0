"""Stores written by gitblobts 0.0.7 (format 1): read through the seed's API exactly as 0.0.7
returned them, added to in their own format, and migrated losslessly to the current format.

The stores here are made by an independent writer (:mod:`seedformat`); the tests with the
real gitblobts 0.0.7 are in ``store/test_v1_seed_package.py``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import gitblobts
from gitblobts import (
    ConfigError,
    ConflictError,
    CorruptBlobError,
    PushFailedWarning,
    RepositoryError,
    Store,
    TimeError,
)
from gitblobts.cli.main import main
from gitblobts.core.config import CONFIG_PATH, StoreConfig
from gitblobts.core.naming import parse
from tests.helpers import seedformat
from tests.helpers.git import assert_fsck_clean, git
from tests.helpers.seedformat import COMPRESSIONS, SeedBlob, expected, seconds_to_ns

DASH_NS = -30_064_771_072
"""1969-12-31T23:59:29.935228928Z: its two's complement leads with 0xF9, so names begin
with '-'."""
ITEMS: list[tuple[int, bytes]] = [
    (seconds_to_ns(1700000000.123456), b"a float time"),
    (1_500_000_000, b"tie a"),
    (1_500_000_000, b"tie b"),
    (1_500_000_000, b"tie c"),
    (seconds_to_ns(-100.25), b"before 1970"),
    (DASH_NS, b"a name beginning with a dash"),
    (seconds_to_ns(-1e9), b"1938"),
    (0, b"the epoch"),
    (seconds_to_ns(1.5), b""),
    (123 * 10**9, bytes(range(256)) * 50),
]
KEY = gitblobts.generate_key()

MakeSeedStore = Callable[..., tuple[Path, list[SeedBlob]]]


@pytest.fixture
def seed_store(new_repo: Callable[[str], Path]) -> MakeSeedStore:
    """``seed_store(items, compression, key, kind)``: a format-1 store of ``(timestamp_ns,
    blob)`` items on ``main`` of a new repository (``kind``: ``"non-bare"`` or ``"bare"``);
    returns its path and what was written."""

    def make(
        items: Iterable[tuple[int, bytes]],
        compression: str | None = None,
        key: bytes | None = None,
        kind: str = "non-bare",
    ) -> tuple[Path, list[SeedBlob]]:
        work = new_repo("empty")
        written = seedformat.write(work, items, compression, key)
        if kind == "non-bare":
            return work, written
        bare = new_repo("bare")
        git(work, "push", "--quiet", str(bare), "HEAD:refs/heads/main")
        return bare, written

    return make


def seen(blobs: Iterable[gitblobts.Blob]) -> list[tuple[str, int, float, bytes]]:
    return [(b.path, b.timestamp_ns, b.timestamp, b.blob) for b in blobs]


def as_returned(blobs: Iterable[SeedBlob]) -> list[tuple[str, int, float, bytes]]:
    return [(b.name, b.timestamp_ns, b.timestamp, b.blob) for b in blobs]


def times_and_blobs(blobs: Iterable[gitblobts.Blob | SeedBlob]) -> list[tuple[int, bytes]]:
    return [(b.timestamp_ns, b.blob) for b in blobs]


def commit_count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


# Reading


@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize("keyed", [False, True], ids=["no-key", "key"])
def test_a_seed_store_reads_back_as_0_0_7_returned_it(
    seed_store: MakeSeedStore, compression: str | None, keyed: bool
) -> None:
    key = KEY if keyed else None
    path, written = seed_store(ITEMS, compression, key)

    store = Store(path, compression=compression, key=key)

    assert seen(store.getblobs()) == as_returned(expected(written))
    assert seen(store.getblobs(math.inf, -math.inf)) == as_returned(expected(written)[::-1])


def test_a_bare_seed_store_reads_back_as_0_0_7_returned_it(seed_store: MakeSeedStore) -> None:
    path, written = seed_store(ITEMS, "gzip", KEY, kind="bare")
    assert seen(Store(path, compression="gzip", key=KEY).getblobs()) == as_returned(
        expected(written)
    )


def test_times_before_1970_read_back_and_names_may_begin_with_a_dash(
    seed_store: MakeSeedStore,
) -> None:
    path, written = seed_store([(DASH_NS, b"dash"), (seconds_to_ns(-100.25), b"x")])
    assert written[0].name.startswith("-")

    blobs = list(Store(path).getblobs())

    assert times_and_blobs(blobs) == [(-100_250_000_000, b"x"), (DASH_NS, b"dash")]
    assert blobs[1].timestamp == DASH_NS / 1e9 < 0


def test_blobs_of_equal_time_come_in_file_name_order_reversed_when_descending(
    seed_store: MakeSeedStore,
) -> None:
    path, written = seed_store([(1_500_000_000, b"%d" % i) for i in range(16)])
    names = sorted(b.name for b in written)
    store = Store(path)

    assert [b.path for b in store.getblobs()] == names
    assert [b.path for b in store.getblobs(2, 1)] == names[::-1]


def test_blob_timestamp_is_nanoseconds_over_1e9_as_0_0_7_gave_it(
    seed_store: MakeSeedStore,
) -> None:
    ns = 1_924_948_642_789_419_743  # where ns / 1e9 is not the correctly rounded ns / 10**9
    assert ns / 1e9 != ns / 10**9
    path, _ = seed_store([(ns, b"x")])

    (blob,) = Store(path).getblobs()

    assert blob.timestamp_ns == ns
    assert blob.timestamp == ns / 1e9


def test_float_seconds_become_nanoseconds_as_0_0_7_rounded_them(
    seed_store: MakeSeedStore,
) -> None:
    seconds = 1700000000.123456789
    assert seconds_to_ns(seconds) != round(Fraction(seconds) * 10**9)  # they differ here
    path, _ = seed_store([(seconds_to_ns(seconds), b"written by 0.0.7")])
    store = Store(path)

    ref = store.addblob(b"added now", timestamp=seconds)

    assert ref.timestamp_ns == seconds_to_ns(seconds)
    found = store.getblobs(start_time=seconds, end_time=seconds)
    assert sorted(b.blob for b in found) == [b"added now", b"written by 0.0.7"]


def seed_bound(value: object, open_end: float) -> float:
    """A range end as 0.0.7 took it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return open_end
    if isinstance(value, float) and math.isinf(value):
        return value
    assert isinstance(value, (int, float))
    return seconds_to_ns(value) if isinstance(value, float) else value * 10**9


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (None, None),
        (1.5, 1.5),
        (-100.25, 1.5),
        (1.5, -100.25),
        (math.inf, -math.inf),
        (0, 0),
        (-1e9, 0.0),
        (1700000000.123456, 1e15),
        (1e15, 1700000000.123456),
        (math.nan, 1.5),
        (math.inf, math.inf),
        (-math.inf, -math.inf),
        (-2e11, None),
        (123, 1700000000.123455),
    ],
)
def test_ranges_return_what_0_0_7_returned(
    seed_store: MakeSeedStore, start: float | None, end: float | None
) -> None:
    path, written = seed_store(ITEMS)
    store = Store(path)

    result = store.getblobs(start_time=start, end_time=end)

    want = expected(written, seed_bound(start, -math.inf), seed_bound(end, math.inf))
    assert seen(result) == as_returned(want)


def test_a_blob_outside_the_years_0001_9999_reads_back_but_does_not_migrate(
    seed_store: MakeSeedStore,
) -> None:
    far = 10**12 * 10**9  # milliseconds taken for seconds: the year 33658
    path, written = seed_store([(far, b"far"), (1, b"near")])
    store = Store(path)
    files = seedformat.stored_files(path)

    assert [b.blob for b in store.getblobs()] == [b"near", b"far"]
    assert "timestamp_ns=1000000000000000000000" in repr(list(store.getblobs())[1])
    assert [b.blob for b in store.getblobs(1e11, 1e13)] == [b"far"]
    assert [b.blob for b in store.getblobs(1e11, None)] == [b"far"]
    assert [b.blob for b in store.getblobs(None, -1e13)] == []
    with pytest.raises(TimeError, match=re.escape(written[0].name)):
        store.migrate()
    assert seedformat.stored_files(path) == files


# Wrong options


def test_a_wrong_compression_is_an_error_naming_the_file(seed_store: MakeSeedStore) -> None:
    path, written = seed_store([(1, b"x" * 100)], "gzip")

    with pytest.raises(CorruptBlobError) as caught:
        list(Store(path, compression="bz2").getblobs())

    assert caught.value.path == written[0].name
    assert "compression=" in str(caught.value)


def test_a_wrong_key_is_an_error_naming_the_file(seed_store: MakeSeedStore) -> None:
    path, written = seed_store([(1, b"x")], "lzma", KEY)

    with pytest.raises(CorruptBlobError) as caught:
        list(Store(path, compression="lzma", key=gitblobts.generate_key()).getblobs())

    assert caught.value.path == written[0].name
    assert "key" in caught.value.reason


def test_a_key_for_an_unencrypted_store_is_an_error_naming_the_file(
    seed_store: MakeSeedStore,
) -> None:
    path, written = seed_store([(1, b"x")], "gzip")

    with pytest.raises(CorruptBlobError, match=re.escape(written[0].name)):
        list(Store(path, compression="gzip", key=KEY).getblobs())


def test_no_key_for_an_encrypted_store_is_an_error_naming_the_file(
    seed_store: MakeSeedStore,
) -> None:
    path, written = seed_store([(1, b"x")], "bz2", KEY)

    with pytest.raises(CorruptBlobError, match=re.escape(written[0].name)):
        list(Store(path, compression="bz2").getblobs())


def test_without_compression_or_key_the_stored_bytes_come_back_as_0_0_7_gave_them(
    seed_store: MakeSeedStore,
) -> None:
    path, written = seed_store([(1, b"x")], None, KEY)
    stored = seedformat.stored_files(path)[written[0].name]

    assert [b.blob for b in Store(path).getblobs()] == [stored]


# Opening


def test_a_store_with_format_1_names_and_no_configuration_opens_in_format_1(
    seed_store: MakeSeedStore,
) -> None:
    path, _ = seed_store(ITEMS[:1], "gzip", KEY)

    store = Store(path, compression="gzip", key=KEY)

    assert store.config == StoreConfig(layout="v1", codec="gzip", cipher="fernet", version=1)
    assert Store(path).config == StoreConfig(layout="v1", codec="none", cipher=None, version=1)


@pytest.mark.parametrize("kind", ["empty", "non-bare", "bare", "bare-with-history"])
def test_a_branch_without_configuration_or_format_1_names_gets_the_default_layout(
    new_repo: Callable[[str], Path], kind: str
) -> None:
    store = Store(new_repo(kind))

    assert store.config.layout == "20-second"
    assert store.config.version == 3


def test_a_layout_option_on_a_format_1_store_is_refused_naming_migrate(
    seed_store: MakeSeedStore,
) -> None:
    path, _ = seed_store(ITEMS[:1])

    with pytest.raises(ConfigError, match=r"migrate\(layout='hourly'\)"):
        Store(path, layout="hourly")
    assert Store(path, layout="v1").config.layout == "v1"


def test_a_format_1_store_encrypts_with_fernet_only(seed_store: MakeSeedStore) -> None:
    path, _ = seed_store(ITEMS[:1], None, KEY)

    with pytest.raises(ConfigError, match="fernet"):
        Store(path, key=KEY, cipher="aes256gcm")
    assert Store(path, key=KEY, cipher="fernet").config.cipher == "fernet"


# Adding


def test_a_new_store_of_layout_v1_refuses_a_codec_0_0_7_cannot_read(
    new_repo: Callable[[str], Path],
) -> None:
    repo = new_repo("non-bare")
    head = git(repo, "rev-parse", "HEAD")

    with pytest.raises(ConfigError, match="'gzip', 'bz2', 'lzma', not 'zstd'"):
        Store(repo, layout="v1", compression="zstd").addblob(b"x")

    assert git(repo, "rev-parse", "HEAD") == head
    assert Store(repo).config.version == 3


def test_adding_to_a_format_1_store_with_a_codec_0_0_7_cannot_read_is_refused(
    seed_store: MakeSeedStore,
) -> None:
    path, written = seed_store(ITEMS[:2], "gzip")
    head = git(path, "rev-parse", "HEAD")

    with pytest.raises(ConfigError, match="not 'zstd'"):
        Store(path, compression="zstd").addblob(b"x")

    assert git(path, "rev-parse", "HEAD") == head
    store = Store(path, compression="gzip")
    store.addblob(b"gzipped", 2_000_000_000.0)
    assert [b.blob for b in store.getblobs()] == [b.blob for b in expected(written)] + [b"gzipped"]


def test_a_format_1_store_written_without_a_key_takes_blobs_with_one_as_0_0_7_did(
    seed_store: MakeSeedStore,
) -> None:
    path, written = seed_store(ITEMS[:1])

    Store(path, key=KEY).addblob(b"encrypted", 2_000_000_000.0)

    assert [b.blob for b in Store(path, key=KEY).getblobs(2_000_000_000.0)] == [b"encrypted"]
    assert times_and_blobs(Store(path).getblobs(end_time=1_999_999_999.0)) == times_and_blobs(
        expected(written)
    )


@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize("keyed", [False, True], ids=["no-key", "key"])
def test_adding_to_a_format_1_store_writes_what_0_0_7_reads(
    seed_store: MakeSeedStore, compression: str | None, keyed: bool
) -> None:
    key = KEY if keyed else None
    path, written = seed_store(ITEMS[:3], compression, key)
    store = Store(path, compression=compression, key=key)

    refs = [store.addblob(b"one", timestamp=-1.25), *store.addblobs([b"two", b"3"], [7, 7.5])]

    files = seedformat.stored_files(path)
    assert set(files) == {b.name for b in written} | {r.path for r in refs}  # no config
    everything = seedformat.read(path, compression, key)  # decodes every file independently
    assert sorted(times_and_blobs(everything)) == sorted(
        [
            *times_and_blobs(written),
            (-1_250_000_000, b"one"),
            (7_000_000_000, b"two"),
            (7_500_000_000, b"3"),
        ]
    )
    assert seen(store.getblobs()) == as_returned(everything)
    assert git(path, "status", "--porcelain", "--untracked-files=all") == ""


# Migrating


@pytest.mark.parametrize("kind", ["non-bare", "bare"])
@pytest.mark.parametrize(
    ("compression", "keyed"),
    [(None, False), ("gzip", True), ("bz2", False), ("lzma", True), (None, True)],
)
def test_migrate_keeps_every_blob_its_time_and_its_order(
    seed_store: MakeSeedStore, kind: str, compression: str | None, keyed: bool
) -> None:
    key = KEY if keyed else None
    path, written = seed_store(ITEMS, compression, key, kind=kind)
    store = Store(path, compression=compression, key=key)
    commits = commit_count(path)

    report = store.migrate()

    assert report.migrated == len(ITEMS)
    assert report.commit == git(path, "rev-parse", "HEAD").strip()
    assert commit_count(path) == commits + 1
    reopened = Store(path, key=key)
    ascending = times_and_blobs(expected(written))
    assert times_and_blobs(reopened.getblobs()) == ascending
    assert times_and_blobs(reopened.getblobs(math.inf, -math.inf)) == ascending[::-1]
    assert times_and_blobs(store.getblobs()) == ascending
    files = seedformat.stored_files(path)
    assert not {b.name for b in written} & set(files)
    assert len(files) == len(ITEMS) + 1
    assert all(parse(p.rpartition("/")[2]) for p in files if p != CONFIG_PATH)
    config = json.loads(files[CONFIG_PATH])
    assert (config["layout"], config["codec"], config["version"]) == ("20-second", "zstd", 3)
    assert config["cipher"] == ("aes256gcm" if keyed else None)
    changes = git(path, "show", "--name-status", "--format=", "HEAD").splitlines()
    assert sorted(line[0] for line in changes) == ["A"] * (len(ITEMS) + 1) + ["D"] * len(ITEMS)
    if kind == "non-bare":
        assert git(path, "status", "--porcelain", "--untracked-files=all") == ""
        checked_out = [p for p in path.rglob("*") if p.is_file() and ".git" not in p.parts]
        assert sorted(p.relative_to(path).as_posix() for p in checked_out) == sorted(files)


def test_migrate_writes_the_layout_codec_and_cipher_asked_for(seed_store: MakeSeedStore) -> None:
    path, written = seed_store(ITEMS, "gzip", KEY)

    Store(path, compression="gzip", key=KEY).migrate(
        layout="flat", compression="bz2", cipher="fernet"
    )

    files = seedformat.stored_files(path)
    blob_files = [p for p in files if p != CONFIG_PATH]
    assert all("/" not in p and p.endswith(".v2.bz2.fernet") for p in blob_files)
    assert json.loads(files[CONFIG_PATH])["layout"] == "flat"
    assert times_and_blobs(Store(path, key=KEY).getblobs()) == times_and_blobs(expected(written))


def test_migrate_can_encrypt_an_unencrypted_store_with_a_new_key(
    seed_store: MakeSeedStore,
) -> None:
    path, written = seed_store(ITEMS, "lzma")
    key = gitblobts.generate_key()

    store = Store(path, compression="lzma")
    store.migrate(key=key)

    assert all(p.endswith(".zst.aes256gcm") for p in seedformat.stored_files(path) if "/" in p)
    assert times_and_blobs(Store(path, key=key).getblobs()) == times_and_blobs(expected(written))
    assert times_and_blobs(store.getblobs()) == times_and_blobs(expected(written))


def test_migrate_can_drop_encryption(seed_store: MakeSeedStore) -> None:
    path, written = seed_store(ITEMS, None, KEY)

    Store(path, key=KEY).migrate(compression="none", cipher="none")

    assert times_and_blobs(Store(path).getblobs()) == times_and_blobs(expected(written))


@pytest.mark.parametrize(
    ("compression", "key", "opened_with_key"),
    [("gzip", None, False), ("lzma", KEY, True), (None, KEY, False)],
    ids=["gzip-not-given", "xz-not-given", "key-not-given"],
)
def test_migrate_refuses_blobs_that_look_compressed_or_encrypted_unless_told_they_are_not(
    seed_store: MakeSeedStore, compression: str | None, key: bytes | None, opened_with_key: bool
) -> None:
    path, written = seed_store(ITEMS, compression, key)
    head = git(path, "rev-parse", "HEAD").strip()
    opened_key = key if opened_with_key else None

    with pytest.raises(CorruptBlobError, match="compression='none'") as caught:
        Store(path, key=opened_key).migrate()

    assert caught.value.path in {b.name for b in written}
    assert git(path, "rev-parse", "HEAD").strip() == head
    Store(path, compression="none", key=opened_key).migrate()  # the bytes are the blobs
    as_stored = [
        seedformat.decode(data, None, opened_key)
        for data in seedformat.stored_files(path, head).values()
    ]
    assert sorted(b.blob for b in Store(path, key=opened_key).getblobs()) == sorted(as_stored)


def test_migrating_a_migrated_store_does_nothing(seed_store: MakeSeedStore) -> None:
    path, _ = seed_store(ITEMS)
    Store(path).migrate()
    head = git(path, "rev-parse", "HEAD")

    report = Store(path).migrate()

    assert (report.migrated, report.commit) == (0, None)
    assert git(path, "rev-parse", "HEAD") == head


def test_migrate_interrupted_before_the_branch_moves_leaves_the_store_and_runs_again(
    seed_store: MakeSeedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, written = seed_store(ITEMS, "gzip", KEY)
    before = seedformat.stored_files(path)
    head = git(path, "rev-parse", "HEAD")
    store = Store(path, compression="gzip", key=KEY)

    def killed(*args: object) -> bool:
        raise OSError("killed")

    monkeypatch.setattr(store._backend, "compare_and_swap", killed)
    with pytest.raises(RepositoryError, match="killed"):
        store.migrate()
    assert git(path, "rev-parse", "HEAD") == head
    assert seedformat.stored_files(path) == before

    report = Store(path, compression="gzip", key=KEY).migrate()

    assert report.migrated == len(ITEMS)
    assert len(seedformat.stored_files(path)) == len(ITEMS) + 1
    assert times_and_blobs(Store(path, key=KEY).getblobs()) == times_and_blobs(expected(written))
    assert git(path, "status", "--porcelain", "--untracked-files=all") == ""


def test_every_run_gives_a_migrated_blob_the_same_path(seed_store: MakeSeedStore) -> None:
    path, _ = seed_store(ITEMS, "bz2")
    clone = path.parent / "clone"
    git(path.parent, "clone", "--quiet", str(path), str(clone))

    Store(path, compression="bz2").migrate(compression="gzip")
    Store(clone, compression="bz2").migrate(compression="gzip")

    assert seedformat.stored_files(path) == seedformat.stored_files(clone)
    assert_fsck_clean(clone)


def test_a_blob_added_while_migrating_is_migrated_too(
    seed_store: MakeSeedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, written = seed_store(ITEMS, "gzip", KEY)
    store = Store(path, compression="gzip", key=KEY)
    other = Store(path, compression="gzip", key=KEY)
    write_commit = store._backend.write_commit
    added: list[gitblobts.BlobRef] = []

    def add_first(*args: Any, **kwargs: Any) -> str:
        commit = write_commit(*args, **kwargs)
        if not added:  # before the migration's commit moves the branch
            added.append(other.addblob(b"meanwhile", timestamp=42))
        return commit

    monkeypatch.setattr(store._backend, "write_commit", add_first)
    report = store.migrate()

    assert report.migrated == len(ITEMS) + 1
    assert times_and_blobs(Store(path, key=KEY).getblobs()) == sorted(
        [*times_and_blobs(expected(written)), (42 * 10**9, b"meanwhile")], key=lambda t: t[0]
    )
    assert git(path, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_format_1_writer_opened_before_a_migration_is_refused_once_then_follows_it(
    seed_store: MakeSeedStore,
) -> None:
    path, _ = seed_store(ITEMS)
    stale = Store(path)
    Store(path).migrate()

    with pytest.raises(ConflictError, match="migrated"):
        stale.addblob(b"late", timestamp=5)
    stale.addblob(b"late", timestamp=5)

    assert stale.config.layout == "20-second"
    assert [b.blob for b in Store(path).getblobs(5, 5)] == [b"late"]
    assert not any(seedformat.SUFFIX in p for p in seedformat.stored_files(path))


def test_a_format_1_reader_opened_before_a_migration_reads_the_migrated_store(
    seed_store: MakeSeedStore,
) -> None:
    path, written = seed_store(ITEMS, "lzma", KEY)
    reader = Store(path, compression="lzma", key=KEY)
    Store(path, compression="lzma", key=KEY).migrate()

    assert times_and_blobs(reader.getblobs()) == times_and_blobs(expected(written))


def test_migrating_with_a_remote_takes_in_format_1_blobs_pushed_before_and_after(
    new_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    origin = new_repo("bare")
    first = new_repo("empty")
    written = seedformat.write(first, ITEMS, "gzip", KEY)
    git(first, "remote", "add", "origin", str(origin))
    git(first, "push", "--quiet", "--set-upstream", "origin", "main")
    second = tmp_path / "second"
    git(tmp_path, "clone", "--quiet", str(origin), str(second))
    late = Store(second, compression="gzip", key=KEY)
    late.addblob(b"added in the second clone", timestamp=77, push=False)

    Store(first, compression="gzip", key=KEY).migrate()
    with pytest.raises(ConflictError, match=r"migrate\(\)"):
        late.push()
    report = late.migrate()

    assert report.migrated == 1
    want = sorted(
        [*times_and_blobs(expected(written)), (77 * 10**9, b"added in the second clone")],
        key=lambda t: t[0],
    )
    for repo in (origin, second):
        assert times_and_blobs(Store(repo, key=KEY).getblobs()) == want
        files = seedformat.stored_files(repo)
        assert len(files) == len(want) + 1
        assert not any(p.endswith(seedformat.SUFFIX) for p in files)
    assert git(second, "status", "--porcelain", "--untracked-files=all") == ""
    assert_fsck_clean(second)


def test_the_migration_commit_replays_on_a_remote_that_moved(
    new_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    origin = new_repo("bare")
    work = new_repo("empty")
    written = seedformat.write(work, ITEMS, None, KEY)
    git(work, "push", "--quiet", str(origin), "main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", str(origin), str(other))
    git(work, "remote", "add", "origin", str(origin))
    store = Store(work, key=KEY, push=False)
    store.migrate()
    Store(other, key=KEY).migrate()  # the same blobs, migrated and pushed elsewhere first

    store.push()

    assert times_and_blobs(Store(origin, key=KEY).getblobs()) == times_and_blobs(expected(written))
    assert len(seedformat.stored_files(origin)) == len(ITEMS) + 1
    assert git(work, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_new_store_does_not_hide_blobs_0_0_7_wrote_to_its_branch_meanwhile(
    new_repo: Callable[[str], Path],
) -> None:
    repo = new_repo("empty")
    store = Store(repo)
    written = seedformat.write(repo, ITEMS[:3])

    with pytest.raises(ConflictError, match=r"0\.0\.7"):
        store.addblob(b"x")

    reopened = Store(repo)
    assert reopened.config.layout == "v1"
    assert times_and_blobs(reopened.getblobs()) == times_and_blobs(expected(written))


def test_a_new_store_is_not_pushed_over_a_remote_store_of_0_0_7_but_migrate_joins_them(
    new_repo: Callable[[str], Path],
) -> None:
    origin = new_repo("bare")
    old = new_repo("empty")
    written = seedformat.write(old, ITEMS, "gzip", KEY)
    git(old, "push", "--quiet", str(origin), "main")
    fresh = new_repo("empty")
    git(fresh, "remote", "add", "origin", str(origin))
    store = Store(fresh, key=KEY)

    with pytest.warns(PushFailedWarning, match=r"migrate\(\)"):  # committed, not pushed
        store.addblob(b"new", timestamp=9)
    report = Store(fresh, compression="gzip", key=KEY).migrate()

    assert report.migrated == len(ITEMS)
    want = sorted([*times_and_blobs(expected(written)), (9 * 10**9, b"new")], key=lambda t: t[0])
    for repo in (origin, fresh):
        assert times_and_blobs(Store(repo, key=KEY).getblobs()) == want
        assert len(seedformat.stored_files(repo)) == len(want) + 1
    assert git(fresh, "status", "--porcelain", "--untracked-files=all") == ""


def test_migrate_needs_blobs_of_format_1(new_repo: Callable[[str], Path]) -> None:
    repo = new_repo("non-bare")
    store = Store(repo)
    store.addblob(b"x")

    assert store.migrate().migrated == 0


# The command


def test_the_migrate_command_takes_the_key_from_the_environment(
    seed_store: MakeSeedStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path, written = seed_store(ITEMS, "gzip", KEY)
    monkeypatch.setenv("GITBLOBTS_KEY", KEY.decode())
    command = ["-C", str(path), "migrate", "--from-compression", "gzip"]

    status = main([*command, "--layout", "flat", "--compression", "lzma"])

    assert status == 0
    assert f"migrated {len(ITEMS)} blobs of gitblobts 0.0.7" in capsys.readouterr().err
    store = Store(path, key=KEY)
    assert (store.config.layout, store.config.codec) == ("flat", "lzma")
    assert times_and_blobs(store.getblobs()) == times_and_blobs(expected(written))
    assert main(command) == 0
    assert "no blobs of gitblobts 0.0.7 to migrate" in capsys.readouterr().err


def test_the_migrate_command_names_the_file_when_the_compression_is_wrong(
    seed_store: MakeSeedStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, written = seed_store(ITEMS, "bz2", KEY)
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY)
    head = git(path, "rev-parse", "HEAD")

    status = main(["-C", str(path), "migrate", "--key-file", str(key_file)])

    assert status == 1
    error = capsys.readouterr().err
    assert "compression=" in error
    assert any(b.name in error for b in written)
    assert git(path, "rev-parse", "HEAD") == head


def test_verify_checks_the_files_of_a_format_1_store(seed_store: MakeSeedStore) -> None:
    path, written = seed_store(ITEMS[:3], "gzip", KEY)

    assert Store(path, compression="gzip", key=KEY).verify().checked == len(written)
    report = Store(path, compression="bz2", key=KEY).verify()
    assert {problem.path for problem in report.problems} == {blob.name for blob in written}


def test_verify_after_a_migration_reports_no_blob_of_format_1_as_lost(
    seed_store: MakeSeedStore,
) -> None:
    path, _ = seed_store(ITEMS)
    Store(path).migrate()

    assert Store(path).verify().ok
