"""Hostile repository content through the public API: a store whose branch holds files
that anyone with push access could have written (fuzzed names and contents, a fuzzed
configuration, fuzzed format-1 files) reads, counts, lists, verifies and adds, or raises a
:class:`~gitblobts.GitBlobTSError`; never another exception, never a
:class:`~gitblobts.RepositoryError` (the repository itself is sound), never a hang.

The suite runs once per backend (``GITBLOBTS_BACKEND``), and so does this module.
"""

from __future__ import annotations

import datetime as dt
import functools
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitblobts import (
    ConfigError,
    GitBlobTSError,
    Nanoseconds,
    RepositoryError,
    Store,
    generate_key,
)
from gitblobts.core import keys, naming
from gitblobts.core.blob import Blob
from gitblobts.core.config import StoreConfig
from gitblobts.core.formats.v1 import names as naming_v1
from gitblobts.core.plugins import load_plugins
from gitblobts.core.timestamps import MAX_NS, MIN_NS
from tests.helpers import bombs
from tests.helpers.hostile import (
    hostile_bytes,
    hostile_text,
    mutated,
    mutated_text,
    plant,
    time_limit,
)

T = TypeVar("T")
PLUGINS = load_plugins(only=())
KEY = generate_key()
RAW_KEY = keys.decode_key(KEY)
MiB = 1 << 20
BRANCH = "refs/heads/main"
STORE_SETTINGS = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""Ten repositories' worth of hostile files a test: each example commits and reopens."""


def outcome(call: Callable[[], T]) -> T | GitBlobTSError:
    """What ``call()`` returns, or the gitblobts error it raises; a repository error, any
    other exception, or a call running for more than 20 seconds fails the test."""
    with time_limit(20):
        try:
            return call()
        except RepositoryError:
            raise
        except GitBlobTSError as error:
            return error


def use(store: Store) -> None:
    """Everything a reader does with a store, each call on its own."""
    blobs = outcome(lambda: list(store.getblobs()))
    for blob in blobs if isinstance(blobs, list) else []:
        outcome(functools.partial(when, blob))
    outcome(lambda: list(store.getblobs(Nanoseconds(MAX_NS), Nanoseconds(MIN_NS))))
    outcome(store.count)
    outcome(lambda: list(store.listblobs()))
    outcome(store.verify)


def when(blob: Blob) -> tuple[str, dt.datetime, float]:
    """Every form of a read blob's time."""
    return blob.iso, blob.datetime, blob.timestamp


def head(repo: Path) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", BRANCH], capture_output=True, check=True
    )
    return result.stdout.decode().strip()


def as_file_name(text: str) -> str:
    """``text`` as one name in a git tree: no ``/`` or NUL, and not ``.``, ``..`` or
    ``.git``, which git clients refuse whatever wrote them."""
    name = text.replace("/", "_").replace("\0", "_")
    return name if name not in ("", ".", "..") and name.lower() != ".git" else f"x{name}"


# Blob files

CODECS = {"none": "", "gzip": "gz", "bz2": "bz2", "lzma": "xz", "zstd": "zst"}
SMALL_BOMB = bombs.zstd_bomb(2 * MiB)


@st.composite
def blob_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A blob file as gitblobts writes it (any codec, any cipher or none), or its name or
    content mutated, or content that is garbage or a bomb."""
    codec = draw(st.sampled_from(list(CODECS)))
    cipher = draw(st.sampled_from([None, "aes256gcm", "fernet"]))
    suffixes = tuple(suffix for suffix in (CODECS[codec], cipher) if suffix)
    name = naming.new_name(draw(st.integers(MIN_NS, MAX_NS)), suffixes)
    stored = PLUGINS.codecs.get(codec)().encode(draw(st.binary(max_size=64)))
    if cipher is not None:
        stored = PLUGINS.ciphers.get(cipher)(RAW_KEY).encrypt(stored, name.identity.encode())
    filename = draw(st.just(str(name)) | mutated_text([str(name)]))
    content = draw(st.sampled_from([stored, SMALL_BOMB]) | mutated([stored]) | st.binary())
    return as_file_name(filename), content


def placed(layout: str, filename: str, folder: str) -> str:
    """Where the layout puts ``filename``, or in ``folder`` if it is not a blob name."""
    name = naming.parse(filename)
    if layout == "flat":
        return filename
    if name is not None:
        return PLUGINS.layouts.get(layout)().path(name.timestamp_ns, filename)
    return f"{folder}/{filename}"


def new_store(root: Path, layout: str) -> tuple[Path, str, str]:
    """A bare repository with an encrypted store of ``layout`` holding one blob: its path,
    its commit and its layout."""
    path = root / "store.git"
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    Store(path, key=KEY, layout=layout).addblob(b"good", Nanoseconds(10**18))
    return path, head(path), layout


@pytest.fixture(params=["flat", "hourly"])
def store_repo(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str, str]:
    """:func:`new_store` of each layout in turn."""
    return new_store(tmp_path, request.param)


@pytest.fixture
def flat_repo(tmp_path: Path) -> tuple[Path, str, str]:
    """:func:`new_store` of the flat layout."""
    return new_store(tmp_path, "flat")


FOLDERS = ["2023/11/14/22", "1970/01/01/00"]


@STORE_SETTINGS
@given(
    files=st.lists(blob_files(), min_size=1, max_size=3),
    folder=st.sampled_from(FOLDERS) | mutated_text(FOLDERS),
)
def test_a_store_holding_hostile_blob_files_reads_them_or_raises_gitblobts_errors(
    store_repo: tuple[Path, str, str], files: list[tuple[str, bytes]], folder: str
) -> None:
    path, base, layout = store_repo
    folder = "/".join(as_file_name(part) for part in folder.split("/"))
    plant(path, {placed(layout, name, folder): data for name, data in files}, base, BRANCH)

    store = outcome(lambda: Store(path, key=KEY, max_blob_size=MiB))

    assert isinstance(store, Store)
    use(store)
    store.close()


# The configuration


def _configs() -> list[bytes]:
    key_check = keys.key_check(RAW_KEY)
    return [
        StoreConfig("flat", "zstd", "aes256gcm", key_check).to_bytes(),
        StoreConfig("hourly", "gzip", None, None).to_bytes(),
        StoreConfig("v1", "none", "fernet", key_check, version=1).to_bytes(),
    ]


@STORE_SETTINGS
@given(config=hostile_bytes(_configs()))
def test_a_store_with_a_hostile_configuration_opens_and_adds_or_raises_gitblobts_errors(
    flat_repo: tuple[Path, str, str], config: bytes
) -> None:
    path, base, _ = flat_repo
    plant(path, {".gitblobts.json": config}, base, BRANCH)
    planted = head(path)
    at = Nanoseconds(2 * 10**18)

    store = outcome(lambda: Store(path, key=KEY, max_blob_size=MiB))

    if isinstance(store, Store):
        use(store)
        added = outcome(lambda: store.addblob(b"added", at))
        if isinstance(added, GitBlobTSError):
            assert head(path) == planted, "a refused add committed"
        else:
            assert [blob.blob for blob in store.getblobs(at, at)] == [b"added"]
        store.close()
    else:
        assert head(path) == planted, "a store that did not open wrote"


@pytest.mark.parametrize("version", [1, 2])
def test_a_configuration_naming_a_layout_of_format_1_names_is_refused(
    flat_repo: tuple[Path, str, str], version: int
) -> None:
    # Only stores of format 1, which have no configuration, have such a layout. The store
    # opened as one, then every add failed: "migrated meanwhile, add again".
    path, base, _ = flat_repo
    config = StoreConfig("v1", "none", version=version).to_bytes()
    plant(path, {".gitblobts.json": config}, base, BRANCH)

    with pytest.raises(ConfigError, match="names layout 'v1', which holds names of format 1"):
        Store(path, key=KEY)


# Stores of gitblobts 0.0.7 (format 1)

V1_BLOBS = {
    naming_v1.encode(timestamp_ns, random): blob
    for timestamp_ns, random, blob in [
        (1_700_000_000 * 10**9, 7, b"one"),
        (-(10**18), 1 << 255, b"two"),
        (10**21, 12345, b"far"),  # the year 33658: 0.0.7 took any time
    ]
}


def _v1_content(blob: bytes) -> bytes:
    compressed = PLUGINS.codecs.get("gzip")().encode(blob)
    return PLUGINS.ciphers.get("fernet")(RAW_KEY).encrypt(compressed, b"")


@pytest.fixture
def v1_repo(tmp_path: Path) -> tuple[Path, str]:
    """A bare repository holding a store as gitblobts 0.0.7 wrote it (gzip, a key)."""
    path = tmp_path / "v1.git"
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    files = {name: _v1_content(blob) for name, blob in V1_BLOBS.items()}
    return path, plant(path, files, None, BRANCH)


@STORE_SETTINGS
@given(
    names=st.lists(hostile_text(list(V1_BLOBS)), min_size=1, max_size=3),
    content=hostile_bytes([_v1_content(b"blob")]),
)
def test_a_format_1_store_holding_hostile_files_reads_and_migrates_or_raises_gitblobts_errors(
    v1_repo: tuple[Path, str], names: list[str], content: bytes
) -> None:
    path, base = v1_repo
    plant(path, {as_file_name(name): content for name in names}, base, BRANCH)

    store = outcome(lambda: Store(path, key=KEY, compression="gzip", max_blob_size=MiB))

    assert isinstance(store, Store)
    use(store)
    outcome(store.migrate)
    store.close()


# Time strings in queries


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(start=hostile_text(["2 hours ago", "2026-11-24T14:05:06Z", "yesterday noon"]))
def test_a_hostile_time_string_in_a_query_reads_or_raises_gitblobts_errors(
    flat_repo: tuple[Path, str, str], start: str
) -> None:
    store = Store(flat_repo[0], key=KEY)

    blobs = outcome(lambda: list(store.getblobs(start, None)))

    assert isinstance(blobs, (list, GitBlobTSError))
    store.close()
