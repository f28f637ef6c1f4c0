"""``gitblobts clone URL DIR``: a partial clone whose commands fetch only the blobs they
read (with a working tree: ``GITBLOBTS_BACKEND=git``; bare: either backend); ``--full`` for
any backend; a server without filters makes a whole clone, with a warning. A real git
daemon on loopback."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.command import assert_fails, environment, ok, run
from tests.helpers.gitservers import GitDaemon
from tests.helpers.partial import DAYS, PER_DAY, day_times, present, served_store

GIT = environment(GITBLOBTS_BACKEND="git")


def test_a_partial_clone_gets_a_day_and_lacks_the_others(
    git_daemon: GitDaemon, tmp_path: Path
) -> None:
    served = served_store(git_daemon)
    url = git_daemon.url("blobs.git")

    result = ok("clone", url, "clone", cwd=tmp_path, env=GIT)
    times = day_times(1)
    got = ok(
        "-C",
        "clone",
        "get",
        "--cat",
        "--start",
        str(times[0]),
        "--end",
        str(times[-1]),
        cwd=tmp_path,
        env=GIT,
    )

    assert f"cloned {DAYS * PER_DAY} blobs into clone (partial" in result.stderr
    assert got.output == b"".join(b"blob at %d" % t for t in times)
    assert sum(present(tmp_path / "clone", oid) for oid in served.values()) == PER_DAY


def test_full_makes_a_whole_clone_with_the_default_backend(
    git_daemon: GitDaemon, tmp_path: Path
) -> None:
    served = served_store(git_daemon)

    result = ok("clone", "--full", git_daemon.url("blobs.git"), "clone", cwd=tmp_path)

    assert "(whole)" in result.stderr
    assert all(present(tmp_path / "clone", oid) for oid in served.values())
    assert len(ok("-C", "clone", "ls", cwd=tmp_path).lines) == DAYS * PER_DAY


def test_a_bare_partial_clone_with_the_dulwich_backend_gets_a_day(
    git_daemon: GitDaemon, tmp_path: Path
) -> None:
    served = served_store(git_daemon)
    env = environment(GITBLOBTS_BACKEND="dulwich")

    ok("clone", "--bare", git_daemon.url("blobs.git"), "clone.git", cwd=tmp_path, env=env)
    times = day_times(3)
    got = ok(
        "-C",
        "clone.git",
        "get",
        "--cat",
        "--start",
        str(times[0]),
        "--end",
        str(times[-1]),
        cwd=tmp_path,
        env=env,
    )

    assert got.output == b"".join(b"blob at %d" % t for t in times)
    assert sum(present(tmp_path / "clone.git", oid) for oid in served.values()) == PER_DAY


def test_a_partial_clone_with_a_working_tree_and_the_dulwich_backend_is_refused(
    git_daemon: GitDaemon, tmp_path: Path
) -> None:
    served_store(git_daemon)
    env = environment(GITBLOBTS_BACKEND="dulwich")

    result = run("clone", git_daemon.url("blobs.git"), "clone", cwd=tmp_path, env=env)

    assert_fails(result, 1, "--bare", "GITBLOBTS_BACKEND=git", "--full")
    assert not (tmp_path / "clone").exists()


def test_a_server_without_filters_makes_a_whole_clone_and_says_so(
    git_daemon: GitDaemon, tmp_path: Path
) -> None:
    served = served_store(git_daemon, allow_filter=False)

    result = run("clone", git_daemon.url("blobs.git"), "clone", cwd=tmp_path, env=GIT)

    assert result.status == 0, result.stderr
    assert "gitblobts: warning:" in result.stderr
    assert "uploadpack.allowFilter" in result.stderr
    assert "(whole)" in result.stderr
    assert all(present(tmp_path / "clone", oid) for oid in served.values())
