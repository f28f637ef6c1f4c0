"""Against a host's limits (the ``host_server`` fixture: every transport, limits scaled
down): adds within them push and read back; a batch over the host's push limit goes as
several commits and pushes within ``max_push_bytes``, and reads back byte for byte, its
large blobs in parts within the host's object limit, plain or encrypted; a blob
over ``max_object_bytes``, and pushes with ``max_push_bytes`` above the host's limit, are
refused by the server after one push, never retried, and the error or
:class:`~gitblobts.PushFailedWarning` names the limit the remote gave (``git://`` may drop
the connection on an oversized pack, so there it cannot) and the setting to change; the
commit stays."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from gitblobts import PushFailedWarning, PushRejectedError, RemoteError, Store, generate_key
from gitblobts.core.locking import LockedBackend
from tests.helpers.git import git
from tests.helpers.gitservers import HostLimits, HostRepo


def clone(host: HostRepo, into: Path) -> Path:
    git(into.parent, "clone", "--quiet", host.url, str(into))
    return into


def served_main(host: HostRepo) -> str | None:
    result = subprocess.run(
        ["git", "-C", str(host.repo), "rev-parse", "-q", "--verify", "refs/heads/main"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or None


@pytest.fixture
def push_attempts(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Each push a store makes to a remote, as the seconds it took."""
    attempts: list[float] = []
    push = LockedBackend.push

    def counted(
        self: LockedBackend, remote: str, commit: str, remote_ref: str, expected: str | None
    ) -> bool:
        start = time.monotonic()
        try:
            return push(self, remote, commit, remote_ref, expected)
        finally:
            attempts.append(time.monotonic() - start)

    monkeypatch.setattr(LockedBackend, "push", counted)
    return attempts


def test_adds_within_the_limits_are_pushed_and_read_back(
    host_server: HostRepo, tmp_path: Path
) -> None:
    limit = host_server.limits.max_object_bytes
    assert limit
    blobs = [os.urandom(limit // 2), b"small", os.urandom(limit // 2)]
    store = Store(clone(host_server, tmp_path / "one"), strict=True)

    store.addblobs(blobs[:2])
    store.addblob(blobs[2])

    other = Store(clone(host_server, tmp_path / "two"), push=False)
    assert [blob.blob for blob in other.getblobs()] == blobs


def test_a_blob_over_the_object_limit_is_refused_once_naming_the_limit(
    host_server: HostRepo, tmp_path: Path, push_attempts: list[float]
) -> None:
    limit = host_server.limits.max_object_bytes
    assert limit
    store = Store(clone(host_server, tmp_path / "c"), strict=True)

    with pytest.raises(PushRejectedError, match=r"committed to .* but not pushed") as raised:
        store.addblob(os.urandom(limit + 1024))

    assert f"exceeds the host's file size limit of {limit} bytes" in str(raised.value)
    assert len(push_attempts) == 1  # a refusal is not retried
    assert served_main(host_server) is None


def test_without_strict_a_blob_over_the_object_limit_warns_and_stays_committed(
    host_server: HostRepo, tmp_path: Path, push_attempts: list[float]
) -> None:
    limit = host_server.limits.max_object_bytes
    assert limit
    store = Store(clone(host_server, tmp_path / "c"))
    blob = os.urandom(limit + 1024)

    with pytest.warns(PushFailedWarning, match=f"file size limit of {limit} bytes"):
        store.addblob(blob)

    assert len(push_attempts) == 1
    assert [b.blob for b in store.getblobs()] == [blob]
    assert store.unpushed == 1
    assert served_main(host_server) is None


def within_the_push_limit(limits: HostLimits) -> int:
    """A ``max_push_bytes`` for the host: its pack limit less room for trees and commits."""
    assert limits.max_push_bytes
    return limits.max_push_bytes - 16 * 1024


def batch_of(limits: HostLimits, times: int) -> list[bytes]:
    """Blobs half the host's object limit each, ``times`` its push limit together."""
    assert limits.max_push_bytes
    assert limits.max_object_bytes
    size = limits.max_object_bytes // 2
    return [os.urandom(size) for _ in range(times * limits.max_push_bytes // size)]


def commits_on(host: HostRepo) -> int:
    return int(git(host.repo, "rev-list", "--count", "refs/heads/main"))


def test_a_batch_three_times_the_push_limit_goes_as_several_commits_and_pushes(
    host_server: HostRepo, tmp_path: Path, push_attempts: list[float]
) -> None:
    limits = host_server.limits
    blobs = batch_of(limits, 3)
    store = Store(
        clone(host_server, tmp_path / "c"),
        strict=True,
        max_push_bytes=within_the_push_limit(limits),
    )

    refs = store.addblobs(blobs)

    assert len(refs) == len(blobs)
    assert commits_on(host_server) >= 4  # the server refuses any push over its limit
    assert len(push_attempts) == commits_on(host_server)  # each commit within it, pushed alone
    fresh = Store(clone(host_server, tmp_path / "fresh"), push=False)
    assert [blob.blob for blob in fresh.getblobs()] == blobs


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "encrypted"])
def test_a_batch_of_parted_blobs_three_times_the_push_limit_keeps_every_limit_of_the_host(
    host_server: HostRepo, tmp_path: Path, push_attempts: list[float], keyed: bool
) -> None:
    limits = host_server.limits
    assert limits.max_object_bytes
    assert limits.max_push_bytes
    key = generate_key() if keyed else None
    part_size = limits.max_object_bytes - 1024
    size = 5 * part_size // 2  # three parts each
    blobs = [os.urandom(size) for _ in range(3 * limits.max_push_bytes // size + 1)]
    store = Store(
        clone(host_server, tmp_path / "c"),
        key=key,
        strict=True,
        part_size=part_size,
        max_push_bytes=within_the_push_limit(limits),
    )

    store.addblobs(blobs)

    assert len(push_attempts) == commits_on(host_server) >= 4
    objects = git(host_server.repo, "cat-file", "--batch-check", "--batch-all-objects")
    assert max(int(line.split()[2]) for line in objects.splitlines()) <= part_size
    fresh = Store(clone(host_server, tmp_path / "fresh"), key=key, push=False)
    assert [blob.blob for blob in fresh.getblobs()] == blobs


def test_commits_made_offline_over_the_push_limit_go_in_several_pushes(
    host_server: HostRepo, tmp_path: Path, push_attempts: list[float]
) -> None:
    limits = host_server.limits
    blobs = batch_of(limits, 2)
    store = Store(clone(host_server, tmp_path / "c"), max_push_bytes=within_the_push_limit(limits))
    for blob in blobs:
        store.addblob(blob, push=False)

    result = store.push()

    assert result.pushed == len(blobs)
    assert result.pushes == len(push_attempts) >= 3
    assert store.unpushed == 0
    fresh = Store(clone(host_server, tmp_path / "fresh"), push=False)
    assert [blob.blob for blob in fresh.getblobs()] == blobs


def test_a_push_limit_above_the_hosts_is_refused_once_naming_max_push_bytes(
    host_server: HostRepo, tmp_path: Path, push_attempts: list[float]
) -> None:
    limits = host_server.limits
    assert limits.max_push_bytes
    assert limits.max_object_bytes
    store = Store(
        clone(host_server, tmp_path / "c"), strict=True, max_push_bytes=4 * limits.max_push_bytes
    )

    count = limits.max_push_bytes // (limits.max_object_bytes // 2) + 1  # just over the limit

    with pytest.raises(RemoteError, match=r"committed to .* but not pushed") as raised:
        store.addblobs([os.urandom(limits.max_object_bytes // 2) for _ in range(count)])

    # git daemon may drop the connection before its reason arrives: then the error says
    # what is known, and which setting to lower if that was the reason.
    if host_server.server.scheme != "git" or type(raised.value) is PushRejectedError:
        assert type(raised.value) is PushRejectedError
        assert "pack exceeds maximum allowed size" in str(raised.value)
    assert f"max_push_bytes={4 * limits.max_push_bytes}" in str(raised.value)
    assert len(push_attempts) == 1  # a refusal is not retried
    assert sum(push_attempts) < 10
    assert served_main(host_server) is None
    assert store.unpushed == 1
