"""Stage hooks observe, annotate or refuse; they never change bytes or places.

Everything that changes bytes or chooses a path is recorded in the store (codec and cipher in
the file name, layout in ``.gitblobts.json``), so a store reads back with the plugins it
names. A plugin that returns a value of its own from a stage, or wraps a stage and changes
its result, is refused with ``PluginError`` before anything is committed; what the store
acknowledges reads back byte-identical without the plugin. ``gitblobts_committed`` tells
plugins of each commit that landed, and of nothing else.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

import gitblobts
from gitblobts import ConflictError, PluginError, Store, generate_key, load_plugins
from gitblobts.core.contexts import BlobContext, Committed
from tests.helpers.git import assert_fsck_clean, git

KEY = generate_key()
WRITE_STAGES = ["encode", "compress", "encrypt", "place"]
READ_STAGES = ["decrypt", "decompress", "decode"]


def plugins_with(*plugins: object) -> gitblobts.core.plugins.Plugins:
    return load_plugins(only=(), extra=list(plugins))


def tip(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def blobs(store: Store) -> list[bytes]:
    return [blob.blob for blob in store.getblobs()]


# Hostile write stages: each returns something other than what core produced.


class ElsewherePlace:
    @gitblobts.hookimpl
    def gitblobts_place(self, blob: BlobContext) -> str:
        return f"elsewhere/{blob.name}"


class PlaceWrapperMovingFiles:
    @gitblobts.hookimpl(wrapper=True)
    def gitblobts_place(self, blob: BlobContext) -> Generator[None, str, str]:
        path = yield
        return "elsewhere/" + path


class UncompressingCompress:
    @gitblobts.hookimpl
    def gitblobts_compress(self, blob: BlobContext, data: bytes) -> bytes:
        return data


class PlaintextEncrypt:
    @gitblobts.hookimpl
    def gitblobts_encrypt(self, blob: BlobContext, data: bytes) -> bytes:
        return data


class ShoutingEncode:
    @gitblobts.hookimpl
    def gitblobts_encode(self, blob: BlobContext, data: bytes) -> bytes:
        return data.upper()


class AppendingCompressWrapper:
    @gitblobts.hookimpl(wrapper=True)
    def gitblobts_compress(self, blob: BlobContext, data: bytes) -> Generator[None, bytes, bytes]:
        compressed = yield
        return compressed + b"!"


HOSTILE_WRITES = [
    pytest.param(ElsewherePlace(), "place", {}, id="place-returns-another-path"),
    pytest.param(PlaceWrapperMovingFiles(), "place", {}, id="place-wrapper-moves"),
    pytest.param(
        UncompressingCompress(), "compress", {"compression": "zstd"}, id="compress-unchanged"
    ),
    pytest.param(
        AppendingCompressWrapper(), "compress", {"compression": "gzip"}, id="compress-wrapper"
    ),
    pytest.param(PlaintextEncrypt(), "encrypt", {"key": KEY}, id="encrypt-returns-plaintext"),
    pytest.param(ShoutingEncode(), "encode", {}, id="encode-alters-bytes"),
]


@pytest.mark.parametrize(("hostile", "stage", "options"), HOSTILE_WRITES)
def test_a_stage_hook_that_changes_what_is_written_is_refused_and_nothing_is_committed(
    repo: Path, hostile: object, stage: str, options: dict[str, Any]
) -> None:
    Store(repo, **options).addblob(b"before")
    before = tip(repo)

    store = Store(repo, **options, plugins=plugins_with(hostile))
    with pytest.raises(PluginError, match=f"the {stage} stage") as refused:
        store.addblobs([b"one", b"two"])

    assert type(hostile).__qualname__ in str(refused.value)
    assert f"gitblobts_{stage}" in str(refused.value)
    assert tip(repo) == before
    assert git(repo, "status", "--porcelain") == ""
    assert_fsck_clean(repo)
    assert blobs(Store(repo, **options)) == [b"before"]


# Hostile read stages: each alters the bytes a read returns.


class ChangingDecrypt:
    @gitblobts.hookimpl
    def gitblobts_decrypt(self, blob: BlobContext, data: bytes) -> bytes:
        return data[::-1]


class ChangingDecompress:
    @gitblobts.hookimpl
    def gitblobts_decompress(self, blob: BlobContext, data: bytes) -> bytes:
        return blob.codec.decode(data, max_size=blob.max_size) + b"!"


class ChangingDecodeWrapper:
    @gitblobts.hookimpl(wrapper=True)
    def gitblobts_decode(self, blob: BlobContext, data: bytes) -> Generator[None, bytes, bytes]:
        decoded = yield
        return decoded.upper()


HOSTILE_READS = [
    pytest.param(ChangingDecrypt(), "decrypt", id="decrypt-alters-bytes"),
    pytest.param(ChangingDecompress(), "decompress", id="decompress-alters-bytes"),
    pytest.param(ChangingDecodeWrapper(), "decode", id="decode-wrapper-alters-bytes"),
]


@pytest.mark.parametrize(("hostile", "stage"), HOSTILE_READS)
def test_a_stage_hook_that_changes_what_is_read_is_refused(
    repo: Path, hostile: object, stage: str
) -> None:
    Store(repo, compression="gzip", key=KEY).addblobs([b"one", b"two"])

    store = Store(repo, key=KEY, plugins=plugins_with(hostile))
    with pytest.raises(PluginError, match=f"the {stage} stage") as refused:
        blobs(store)

    assert type(hostile).__qualname__ in str(refused.value)
    assert blobs(Store(repo, key=KEY)) == [b"one", b"two"]


# Refusing by raising.


class Refusal(Exception):
    """What a policy plugin raises to refuse a blob."""


class RefusingLargeBlobs:
    @gitblobts.hookimpl
    def gitblobts_encode(self, blob: BlobContext, data: bytes) -> None:
        if len(data) > 3:
            raise Refusal(f"{len(data)} bytes is too large")


def test_a_stage_hook_refuses_a_blob_by_raising_and_the_batch_commits_nothing(
    repo: Path,
) -> None:
    Store(repo).addblob(b"before")
    before = tip(repo)

    store = Store(repo, plugins=plugins_with(RefusingLargeBlobs()))
    with pytest.raises(PluginError, match="the encode stage refused a blob") as refused:
        store.addblobs([b"ok", b"too large"])

    assert isinstance(refused.value.__cause__, Refusal)
    assert tip(repo) == before
    assert git(repo, "status", "--porcelain") == ""
    assert_fsck_clean(repo)
    assert blobs(store) == [b"before"]


def test_a_refusing_plugin_lets_through_what_it_does_not_refuse(repo: Path) -> None:
    store = Store(repo, plugins=plugins_with(RefusingLargeBlobs()))

    store.addblobs([b"a", b"bc"])

    assert blobs(Store(repo)) == [b"a", b"bc"]


# The withdrawn commit take-over.


class CommitTakeOver:
    @gitblobts.hookimpl
    def gitblobts_commit(self, commit: object) -> str:
        return "0" * 40


def test_a_plugin_implementing_the_withdrawn_commit_hook_is_warned_of_when_registered() -> None:
    with pytest.warns(FutureWarning, match="gitblobts_commit is withdrawn"):
        plugins_with(CommitTakeOver())


@pytest.mark.filterwarnings("ignore:gitblobts_commit is withdrawn:FutureWarning")
def test_a_store_refuses_to_open_with_a_plugin_implementing_the_commit_hook(repo: Path) -> None:
    before = tip(repo)

    with pytest.raises(PluginError, match="CommitTakeOver' implements gitblobts_commit"):
        Store(repo, plugins=plugins_with(CommitTakeOver()))

    assert tip(repo) == before


# Observers.


class StageTimer:
    """Wraps every stage, as a metrics plugin would, and returns each result unchanged."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def _timed(self, stage: str) -> Generator[None, Any, Any]:
        result = yield
        self.calls[stage] += 1
        return result

    @gitblobts.hookimpl(wrapper=True)
    def gitblobts_encode(self, blob: BlobContext, data: bytes) -> Generator[None, Any, Any]:
        return (yield from self._timed("encode"))

    @gitblobts.hookimpl(wrapper=True)
    def gitblobts_compress(self, blob: BlobContext, data: bytes) -> Generator[None, Any, Any]:
        return (yield from self._timed("compress"))

    @gitblobts.hookimpl(wrapper=True)
    def gitblobts_encrypt(self, blob: BlobContext, data: bytes) -> Generator[None, Any, Any]:
        return (yield from self._timed("encrypt"))

    @gitblobts.hookimpl(wrapper=True)
    def gitblobts_place(self, blob: BlobContext) -> Generator[None, Any, Any]:
        return (yield from self._timed("place"))

    @gitblobts.hookimpl(wrapper=True)
    def gitblobts_decrypt(self, blob: BlobContext, data: bytes) -> Generator[None, Any, Any]:
        return (yield from self._timed("decrypt"))

    @gitblobts.hookimpl(wrapper=True)
    def gitblobts_decompress(self, blob: BlobContext, data: bytes) -> Generator[None, Any, Any]:
        return (yield from self._timed("decompress"))

    @gitblobts.hookimpl(wrapper=True)
    def gitblobts_decode(self, blob: BlobContext, data: bytes) -> Generator[None, Any, Any]:
        return (yield from self._timed("decode"))


def test_a_wrapper_sees_every_stage_of_every_blob(repo: Path) -> None:
    timer = StageTimer()
    store = Store(repo, compression="gzip", key=KEY, plugins=plugins_with(timer))

    store.addblobs([b"one", b"two", b"three"])
    read = blobs(store)

    assert read == [b"one", b"two", b"three"]
    assert timer.calls == dict.fromkeys(WRITE_STAGES + READ_STAGES, 3)


class Annotator:
    """Notes the size of each blob as it comes in, and reads the note when it is placed."""

    def __init__(self) -> None:
        self.placed: list[tuple[str, int]] = []

    @gitblobts.hookimpl
    def gitblobts_encode(self, blob: BlobContext, data: bytes) -> None:
        blob.extra["size"] = len(data)

    @gitblobts.hookimpl
    def gitblobts_place(self, blob: BlobContext) -> None:
        self.placed.append((str(blob.name), blob.extra["size"]))


def test_an_observer_annotates_a_blob_between_stages_and_changes_nothing_stored(
    repo: Path,
) -> None:
    annotator = Annotator()
    store = Store(repo, plugins=plugins_with(annotator))

    refs = store.addblobs([b"a", b"bcd"])

    assert [size for _, size in annotator.placed] == [1, 3]
    assert [name for name, _ in annotator.placed] == [ref.path.rsplit("/", 1)[-1] for ref in refs]
    assert blobs(Store(repo)) == [b"a", b"bcd"]


# The commit notification.


class CommitListener:
    def __init__(self) -> None:
        self.commits: list[Committed] = []

    @gitblobts.hookimpl
    def gitblobts_committed(self, commit: Committed) -> None:
        self.commits.append(commit)


def test_each_landed_commit_is_announced_once_with_the_branch_tip(repo: Path) -> None:
    listener = CommitListener()
    store = Store(repo, plugins=plugins_with(listener))

    first = store.addblobs([b"a", b"b"])
    first_tip = tip(repo)
    second = store.addblob(b"c")

    assert [commit.commit_id for commit in listener.commits] == [first_tip, tip(repo)]
    assert [commit.paths for commit in listener.commits] == [
        tuple(ref.path for ref in first),
        (second.path,),
    ]
    announced = listener.commits[0]
    assert (announced.store_path, announced.branch) == (str(repo), store.branch)
    assert announced.message == git(repo, "cat-file", "commit", first_tip).split("\n\n", 1)[1]


def test_the_commit_of_init_is_announced_with_no_paths(repo: Path) -> None:
    listener = CommitListener()

    Store(repo, plugins=plugins_with(listener)).init()

    assert [(commit.commit_id, commit.paths) for commit in listener.commits] == [(tip(repo), ())]


def test_a_refused_add_is_not_announced(repo: Path) -> None:
    listener = CommitListener()
    store = Store(repo, plugins=plugins_with(listener, RefusingLargeBlobs()))

    with pytest.raises(PluginError):
        store.addblob(b"too large")

    assert listener.commits == []


def test_an_add_that_conflicts_is_not_announced(repo: Path) -> None:
    listener = CommitListener()
    store = Store(repo, layout="flat", plugins=plugins_with(listener))
    Store(repo, layout="hourly").addblob(b"another writer's")

    with pytest.raises(ConflictError):
        store.addblob(b"ours")

    assert listener.commits == []


class FailingListener:
    @gitblobts.hookimpl
    def gitblobts_committed(self, commit: Committed) -> None:
        raise RuntimeError("webhook down")


def test_a_listener_that_fails_is_logged_and_the_commit_stands(
    repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    listener = CommitListener()
    store = Store(repo, plugins=plugins_with(FailingListener(), listener))

    with caplog.at_level(logging.WARNING, logger="gitblobts"):
        ref = store.addblob(b"kept")

    assert blobs(Store(repo)) == [b"kept"]
    assert [commit.paths for commit in listener.commits] == [(ref.path,)]
    (record,) = [r for r in caplog.records if "gitblobts_committed" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "FailingListener" in record.getMessage()
    assert tip(repo) in record.getMessage()


class WrappingListener:
    @gitblobts.hookimpl(wrapper=True)
    def gitblobts_committed(self, commit: Committed) -> Generator[None, None, None]:
        yield


def test_a_store_refuses_to_open_with_a_listener_that_wraps(repo: Path) -> None:
    with pytest.raises(PluginError, match="WrappingListener' implements gitblobts_committed"):
        Store(repo, plugins=plugins_with(WrappingListener()))


def test_a_migration_is_not_announced(repo: Path) -> None:
    Store(repo, layout="v1").addblobs([b"a", b"b"])
    listener = CommitListener()
    store = Store(repo, plugins=plugins_with(listener))

    report = store.migrate()

    assert report.commit == tip(repo)
    assert listener.commits == []


class CommitCounter:
    """A listener that takes no arguments, as pluggy allows."""

    def __init__(self) -> None:
        self.count = 0

    @gitblobts.hookimpl
    def gitblobts_committed(self) -> None:
        self.count += 1


def test_a_listener_may_take_no_arguments(repo: Path) -> None:
    counter = CommitCounter()

    Store(repo, plugins=plugins_with(counter)).addblob(b"x")

    assert counter.count == 1
