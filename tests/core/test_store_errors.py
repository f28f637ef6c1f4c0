"""Bad input gets a clear gitblobts error naming the culprit, and nothing stored is lost."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest

import gitblobts
from gitblobts import (
    ArgumentError,
    ArgumentTypeError,
    BlobTypeError,
    CorruptBlobError,
    GitBlobTSError,
    InvalidKeyError,
    KeyRequiredError,
    Nanoseconds,
    RepositoryError,
    Store,
    TimeError,
    UnknownPluginError,
)
from tests.helpers.git import git

KEY = gitblobts.generate_key()


def blobs_in(repo: Path) -> list[bytes]:
    return [b.blob for b in Store(repo, key=KEY).getblobs()]


@pytest.mark.parametrize("blob", ["text", 42, None, object()])
def test_a_blob_that_is_not_bytes_like_is_refused(repo: Path, blob: object) -> None:
    store = Store(repo)
    store.addblob(b"kept")

    with pytest.raises(BlobTypeError, match=type(blob).__name__):
        store.addblob(blob)  # type: ignore[arg-type]
    assert blobs_in(repo) == [b"kept"]


def test_an_iterable_of_pieces_that_are_not_bytes_is_refused(repo: Path) -> None:
    store = Store(repo)
    store.addblob(b"kept")

    with pytest.raises(BlobTypeError, match="str"):
        store.addblob([b"bytes", "text"])  # type: ignore[list-item]
    assert blobs_in(repo) == [b"kept"]


@pytest.mark.parametrize("blob", [bytearray(b"ba"), memoryview(b"mv"), b""])
def test_bytes_like_blobs_are_accepted(repo: Path, blob: bytes) -> None:
    Store(repo).addblob(blob)
    assert blobs_in(repo) == [bytes(blob)]


def test_a_bad_blob_in_a_batch_commits_nothing(repo: Path) -> None:
    store = Store(repo)
    head = git(repo, "rev-parse", "HEAD")

    with pytest.raises(BlobTypeError, match="blob 2 is str"):
        store.addblobs(iter([b"a", b"b", "c"]))  # type: ignore[list-item]
    assert git(repo, "rev-parse", "HEAD") == head
    assert blobs_in(repo) == []


@pytest.mark.parametrize(
    ("blobs", "timestamps"),
    [
        ([b"a", b"b"], [1]),
        ([b"a"], [1, 2]),
        (iter([b"a", b"b"]), iter([1])),
        (iter([b"a"]), iter([1, 2])),
    ],
)
def test_unequal_numbers_of_blobs_and_timestamps_are_refused(
    repo: Path, blobs: list[bytes], timestamps: list[int]
) -> None:
    with pytest.raises(ArgumentError, match=r"more blobs|more timestamps|\d+ timestamps"):
        Store(repo).addblobs(blobs, timestamps)
    assert blobs_in(repo) == []


WRONG_TYPES: dict[str, tuple[str, Callable[[Path], object]]] = {
    "Store(None)": ("path is NoneType", lambda repo: Store(None)),  # type: ignore[arg-type]
    "Store(5)": ("path is int", lambda repo: Store(5)),  # type: ignore[arg-type]
    "max_blob_size='x'": (
        "max_blob_size is str",
        lambda repo: Store(repo, max_blob_size="x"),  # type: ignore[arg-type]
    ),
    "max_blob_size=1.5": (
        "max_blob_size is float",
        lambda repo: Store(repo, max_blob_size=1.5),  # type: ignore[arg-type]
    ),
    "branch=5": ("branch is int", lambda repo: Store(repo, branch=5)),  # type: ignore[arg-type]
    "cipher=b'x'": (
        "cipher is bytes",
        lambda repo: Store(repo, key=KEY, cipher=b"x"),  # type: ignore[arg-type]
    ),
    "remote=5": ("remote is int", lambda repo: Store(repo, remote=5)),  # type: ignore[arg-type]
    "plugins='x'": (
        "plugins is str",
        lambda repo: Store(repo, plugins="x"),  # type: ignore[arg-type]
    ),
    "addblobs(5)": ("blobs is int", lambda repo: Store(repo).addblobs(5)),  # type: ignore[arg-type]
    "addblobs(None)": (
        "blobs is NoneType",
        lambda repo: Store(repo).addblobs(None),  # type: ignore[arg-type]
    ),
    "addblobs(b'one')": ("blobs is one bytes", lambda repo: Store(repo).addblobs(b"one")),
    "addblobs(blobs, 5)": (
        "timestamps is int",
        lambda repo: Store(repo).addblobs([b"x"], 5),  # type: ignore[arg-type]
    ),
    "addblobs(blobs, 'now')": (
        "timestamps is one str",
        lambda repo: Store(repo).addblobs([b"x"], "now"),
    ),
    "verify(progress=5)": (
        "progress is int",
        lambda repo: Store(repo).verify(progress=5),  # type: ignore[arg-type]
    ),
    "migrate(layout=5)": (
        "layout is int",
        lambda repo: Store(repo).migrate(layout=5),  # type: ignore[arg-type]
    ),
}


@pytest.mark.parametrize("call", list(WRONG_TYPES))
def test_an_argument_of_a_wrong_type_is_a_gitblobts_error_that_is_also_a_type_error(
    repo: Path, call: str
) -> None:
    said, make = WRONG_TYPES[call]
    head = git(repo, "rev-parse", "HEAD")

    with pytest.raises(ArgumentTypeError, match=re.escape(said)) as raised:
        make(repo)

    assert isinstance(raised.value, GitBlobTSError)
    assert isinstance(raised.value, TypeError)
    assert git(repo, "rev-parse", "HEAD") == head


def test_a_blob_of_a_wrong_type_is_reported_before_a_missing_key(repo: Path) -> None:
    Store(repo, key=KEY).init()

    with pytest.raises(BlobTypeError, match="blob 0 is str"):
        Store(repo).addblob("text")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="2 blobs but 1 timestamps"):
        Store(repo).addblobs([b"a", b"b"], [1])
    with pytest.raises(KeyRequiredError):
        Store(repo).addblob(b"bytes")


@pytest.mark.parametrize("timestamp", [math.nan, math.inf, -math.inf, "not a time", True, 10**20])
def test_a_bad_timestamp_is_quoted_in_the_error(repo: Path, timestamp: object) -> None:
    with pytest.raises(TimeError, match=re.escape(repr(timestamp))):
        Store(repo).addblob(b"x", timestamp)


def test_a_bad_time_string_in_a_query_is_reported_when_called(repo: Path) -> None:
    with pytest.raises(TimeError, match="'next blue moon'"):
        Store(repo).getblobs("next blue moon")


def test_an_unknown_codec_lists_the_installed_ones(repo: Path) -> None:
    with pytest.raises(UnknownPluginError) as raised:
        Store(repo, compression="brotli")
    message = str(raised.value)
    assert "'brotli'" in message
    for name in ("none", "gzip", "bz2", "lzma", "zstd"):
        assert repr(name) in message


@pytest.mark.parametrize(
    ("option", "value", "kind"),
    [("cipher", "rot13", "cipher"), ("layout", "weekly", "layout"), ("backend", "svn", "backend")],
)
def test_unknown_plugin_names_are_reported_by_kind(
    repo: Path, option: str, value: str, kind: str
) -> None:
    key = {"key": KEY} if option == "cipher" else {}
    with pytest.raises(UnknownPluginError, match=f"no {kind} named '{value}'"):
        Store(repo, **{option: value}, **key)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [b"short", "not base64 at all!", b"A" * 44, 12345])
def test_a_malformed_key_is_refused_without_echoing_it(repo: Path, key: object) -> None:
    with pytest.raises(InvalidKeyError) as raised:
        Store(repo, key=key)  # type: ignore[arg-type]
    assert str(key) not in str(raised.value) or str(key) in ("12345",)


def test_a_path_that_is_not_a_repository_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError, match="not a git repository"):
        Store(tmp_path)
    with pytest.raises(RepositoryError, match="no such directory"):
        Store(tmp_path / "missing")


def test_a_detached_head_needs_an_explicit_branch(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    with pytest.raises(RepositoryError, match="detached"):
        Store(repo)
    Store(repo, branch="blobs").addblob(b"x")
    assert "refs/heads/blobs" in git(repo, "for-each-ref", "--format=%(refname)")


def test_a_tampered_file_is_reported_by_path_and_others_still_read(repo: Path) -> None:
    store = Store(repo, key=KEY, layout="flat")
    good = store.addblob(b"good", Nanoseconds(1))
    bad = store.addblob(b"bad", Nanoseconds(2))
    stored = (repo / bad.path).read_bytes()
    (repo / bad.path).write_bytes(stored[:-1] + bytes([stored[-1] ^ 1]))
    git(repo, "commit", "-qam", "tamper")

    blobs = Store(repo, key=KEY).getblobs()
    assert next(blobs).path == good.path
    with pytest.raises(CorruptBlobError, match=bad.path):
        next(blobs)


def test_every_error_derives_from_the_base_class() -> None:
    for name in gitblobts.__all__:
        value = getattr(gitblobts, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, GitBlobTSError)
