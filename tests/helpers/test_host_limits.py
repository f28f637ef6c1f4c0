"""A repository with a host's limits (``host_server``, :func:`gitservers.make_host_limited`)
refuses, on every transport and checked with the git command alone: a push bringing a blob
over ``max_object_bytes`` (naming the file and the limit), a push whose pack is over
``max_push_bytes``, and a commit with a folder over ``max_folder_entries`` entries (naming
the folder); and accepts what is within them. A refused push moves no ref. Over ``git://``
a pack over the size limit ends in a dropped connection: the client may not see why."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.helpers.gitservers import HostRepo

IDENTITY = {
    "GIT_AUTHOR_NAME": "Host Test",
    "GIT_AUTHOR_EMAIL": "host-test@example.com",
    "GIT_COMMITTER_NAME": "Host Test",
    "GIT_COMMITTER_EMAIL": "host-test@example.com",
    "GIT_TERMINAL_PROMPT": "0",
}


def run_git(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run git in ``work`` (the host's client environment is already in os.environ)."""
    return subprocess.run(
        ["git", "-C", str(work), *args],
        env={**os.environ, **IDENTITY},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def work_tree(tmp_path: Path) -> Path:
    """A new non-bare repository on ``main``."""
    work = tmp_path / "work"
    subprocess.run(
        ["git", "init", "--quiet", "--initial-branch=main", str(work)], check=True, timeout=60
    )
    return work


def commit_files(work: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (path: content) in ``work`` and commit them."""
    for name, content in files.items():
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    assert run_git(work, "add", "--all").returncode == 0
    assert run_git(work, "commit", "--quiet", "-m", "files").returncode == 0


def push(work: Path, host: HostRepo) -> subprocess.CompletedProcess[str]:
    """Push ``main`` of ``work`` to the host."""
    return run_git(work, "push", host.url, "main")


def on_host(host: HostRepo, args: list[str], stdin: bytes) -> str:
    """Run git in the host's repository directly (no hook runs); return its output."""
    return (
        subprocess.run(
            ["git", "--git-dir", str(host.repo), *args],
            input=stdin,
            env={**os.environ, **IDENTITY},
            capture_output=True,
            check=True,
            timeout=60,
        )
        .stdout.decode()
        .strip()
    )


def served_main(host: HostRepo) -> str | None:
    """The host's ``main``, or None when it has none."""
    result = subprocess.run(
        ["git", "-C", str(host.repo), "rev-parse", "-q", "--verify", "refs/heads/main"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or None


def test_a_push_within_the_limits_is_accepted(host_server: HostRepo, tmp_path: Path) -> None:
    limits = host_server.limits
    assert limits.max_object_bytes
    assert limits.max_folder_entries
    work = work_tree(tmp_path)
    files = {f"dir/{n}": os.urandom(100) for n in range(limits.max_folder_entries - 1)}
    commit_files(work, {**files, "at-the-limit": os.urandom(limits.max_object_bytes)})

    result = push(work, host_server)

    assert result.returncode == 0, result.stderr
    assert served_main(host_server) == run_git(work, "rev-parse", "main").stdout.strip()


def test_a_blob_over_the_object_limit_is_refused_by_name(
    host_server: HostRepo, tmp_path: Path
) -> None:
    limit = host_server.limits.max_object_bytes
    assert limit
    work = work_tree(tmp_path)
    commit_files(work, {"small": b"x", "big/blob.bin": os.urandom(limit + 1)})

    result = push(work, host_server)

    assert result.returncode != 0
    assert (
        f"File big/blob.bin is {limit + 1} bytes; this exceeds the host's file size limit "
        f"of {limit} bytes"
    ) in result.stderr
    assert served_main(host_server) is None


def test_a_blob_already_on_the_host_is_not_checked_again(
    host_server: HostRepo, tmp_path: Path
) -> None:
    limit = host_server.limits.max_object_bytes
    assert limit
    # A big blob put on the host behind its hook's back: an older push, before the limit.
    blob = on_host(host_server, ["hash-object", "-w", "--stdin"], os.urandom(limit + 1))
    tree = on_host(host_server, ["mktree"], f"100644 blob {blob}\tbig\n".encode())
    old = on_host(host_server, ["commit-tree", "-m", "big", tree], b"")
    on_host(host_server, ["update-ref", "refs/heads/main", old], b"")
    work = tmp_path / "work"
    assert run_git(tmp_path, "clone", "--quiet", host_server.url, str(work)).returncode == 0
    commit_files(work, {"small": b"small"})

    result = push(work, host_server)

    assert result.returncode == 0, result.stderr


def test_a_folder_over_the_width_is_refused_by_name(host_server: HostRepo, tmp_path: Path) -> None:
    width = host_server.limits.max_folder_entries
    assert width
    work = work_tree(tmp_path)
    commit_files(work, {f"wide/{n}": str(n).encode() for n in range(width + 1)})

    result = push(work, host_server)

    assert result.returncode != 0
    assert (
        f"Folder wide has {width + 1} entries; this exceeds the host's limit of {width} "
        "entries per folder"
    ) in result.stderr
    assert served_main(host_server) is None


def test_a_push_over_the_size_limit_is_refused(host_server: HostRepo, tmp_path: Path) -> None:
    limits = host_server.limits
    assert limits.max_push_bytes
    assert limits.max_object_bytes
    work = work_tree(tmp_path)
    count = limits.max_push_bytes // limits.max_object_bytes + 1
    commit_files(work, {f"part{n}": os.urandom(limits.max_object_bytes) for n in range(count)})

    result = push(work, host_server)

    assert result.returncode != 0
    if host_server.server.scheme == "git":  # git daemon drops the connection mid-pack
        assert "hung up" in result.stderr or "pack exceeds" in result.stderr
    else:
        assert "remote: fatal: pack exceeds maximum allowed size" in result.stderr
    assert served_main(host_server) is None
