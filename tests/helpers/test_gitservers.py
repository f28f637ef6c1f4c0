"""The test git servers of ``gitservers`` work, checked with the git command alone.

Each transport (``git://``, smart ``http://``, ``ssh://``) must: clone an empty bare
repository, accept a push, and serve the pushed commit to a fresh clone; refuse pushes
while :func:`gitservers.make_rejecting` is in force and accept them after
:func:`gitservers.make_accepting`; honour ``receive.denyNonFastForwards``; and go down on
``stop()`` and come back on the same port on ``start()``.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers import gitservers
from tests.helpers.gitservers import (
    LOOPBACK,
    GitDaemon,
    GitServer,
    HttpGitServer,
    ServerError,
    SshGitServer,
    make_accepting,
    make_bare_repo,
    make_rejecting,
    require,
)

IDENTITY = {
    "GIT_AUTHOR_NAME": "Server Test",
    "GIT_AUTHOR_EMAIL": "server-test@example.com",
    "GIT_COMMITTER_NAME": "Server Test",
    "GIT_COMMITTER_EMAIL": "server-test@example.com",
    "GIT_TERMINAL_PROMPT": "0",
}


def run_git(
    *args: str, server: GitServer | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run git as a client of ``server``; assert success unless ``check`` is false."""
    env = {**os.environ, **IDENTITY, **(server.client_env() if server else {})}
    result = subprocess.run(
        ["git", *args], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    if check:
        assert result.returncode == 0, f"git {' '.join(args)} failed:\n{result.stderr}"
    return result


def commit(work: Path, name: str, content: bytes | str) -> str:
    """Write ``name`` in the working tree ``work``, commit it; return the commit id."""
    path = work / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    run_git("-C", str(work), "add", name)
    run_git("-C", str(work), "commit", "--quiet", "-m", f"add {name}")
    return run_git("-C", str(work), "rev-parse", "HEAD").stdout.strip()


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_bare_repo(tmp_path: Path) -> None:
    repo = make_bare_repo(tmp_path / "served", "nested/repo.git", initial_branch="trunk")
    assert repo == tmp_path / "served" / "nested" / "repo.git"
    assert run_git("-C", str(repo), "rev-parse", "--is-bare-repository").stdout.strip() == "true"
    assert run_git("-C", str(repo), "config", "http.receivepack").stdout.strip() == "true"
    assert run_git("-C", str(repo), "symbolic-ref", "HEAD").stdout.strip() == "refs/heads/trunk"
    assert (repo / "git-daemon-export-ok").is_file()


def test_clone_push_clone(git_server: GitServer, git_server_root: Path, tmp_path: Path) -> None:
    make_bare_repo(git_server_root, "repo.git")
    url = git_server.url("repo.git")
    assert url.startswith(f"{git_server.scheme}://")
    assert f"{LOOPBACK}:{git_server.port}" in url

    first = tmp_path / "first"
    run_git("clone", "--quiet", url, str(first), server=git_server)
    pushed = commit(first, "hello.txt", "hello over the wire\n")
    run_git(
        "-C", str(first), "push", "--quiet", "origin", "HEAD:refs/heads/main", server=git_server
    )

    second = tmp_path / "second"
    run_git("clone", "--quiet", url, str(second), server=git_server)
    assert run_git("-C", str(second), "rev-parse", "HEAD").stdout.strip() == pushed
    assert (second / "hello.txt").read_text() == "hello over the wire\n"
    served = run_git("-C", str(git_server_root / "repo.git"), "rev-parse", "refs/heads/main")
    assert served.stdout.strip() == pushed


def test_rejecting_then_accepting(
    git_server: GitServer, git_server_root: Path, tmp_path: Path
) -> None:
    repo = make_bare_repo(git_server_root, "repo.git")
    work = tmp_path / "work"
    run_git("clone", "--quiet", git_server.url("repo.git"), str(work), server=git_server)
    head = commit(work, "a.txt", "a\n")

    make_rejecting(repo, message="no pushes today")
    rejected = run_git(
        "-C", str(work), "push", "origin", "HEAD:main", server=git_server, check=False
    )
    assert rejected.returncode != 0
    assert "no pushes today" in rejected.stderr
    assert "pre-receive hook declined" in rejected.stderr
    assert run_git("-C", str(repo), "for-each-ref").stdout == ""

    make_accepting(repo)
    assert not (repo / "hooks" / "pre-receive").exists()
    run_git("-C", str(work), "push", "--quiet", "origin", "HEAD:main", server=git_server)
    assert run_git("-C", str(repo), "rev-parse", "main").stdout.strip() == head


def test_make_accepting_keeps_other_hooks(tmp_path: Path) -> None:
    repo = make_bare_repo(tmp_path, "repo.git")
    hook = repo / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 0\n")
    make_accepting(repo)
    assert hook.read_text() == "#!/bin/sh\nexit 0\n"


def test_deny_non_fast_forwards(
    git_server: GitServer, git_server_root: Path, tmp_path: Path
) -> None:
    repo = make_bare_repo(git_server_root, "repo.git")
    run_git("-C", str(repo), "config", "receive.denyNonFastForwards", "true")
    work = tmp_path / "work"
    run_git("clone", "--quiet", git_server.url("repo.git"), str(work), server=git_server)
    first = commit(work, "a.txt", "a\n")
    run_git("-C", str(work), "push", "--quiet", "origin", "HEAD:main", server=git_server)

    run_git("-C", str(work), "commit", "--quiet", "--amend", "-m", "rewritten")
    forced = run_git(
        "-C", str(work), "push", "--force", "origin", "HEAD:main", server=git_server, check=False
    )
    assert forced.returncode != 0
    assert "non-fast-forward" in forced.stderr
    assert run_git("-C", str(repo), "rev-parse", "main").stdout.strip() == first


def test_stop_then_start_on_same_port(git_server: GitServer, git_server_root: Path) -> None:
    make_bare_repo(git_server_root, "repo.git")
    url = git_server.url("repo.git")
    port = git_server.port
    pids = git_server.pids
    run_git("ls-remote", url, server=git_server)

    git_server.stop()
    assert not git_server.running
    assert not any(pid_alive(pid) for pid in pids)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((LOOPBACK, port), timeout=1).close()
    down = run_git("ls-remote", url, server=git_server, check=False)
    assert down.returncode != 0

    git_server.start()
    assert git_server.running
    assert git_server.port == port
    assert git_server.url("repo.git") == url
    run_git("ls-remote", url, server=git_server)


def test_context_manager_leaves_no_process(git_server_root: Path) -> None:
    require(*GitDaemon.commands)
    with GitDaemon(git_server_root) as server:
        pids = server.pids
        state = server.state_dir
        assert pids
        assert all(pid_alive(pid) for pid in pids)
    assert not any(pid_alive(pid) for pid in pids)
    assert not state.exists()
    assert server not in gitservers._RUNNING


def test_context_manager_stops_server_when_test_body_fails(git_server_root: Path) -> None:
    require(*HttpGitServer.commands)
    server = HttpGitServer(git_server_root)
    pids: list[int] = []

    def failing_test_body() -> None:
        with server:
            pids.extend(server.pids)
            raise RuntimeError("test failed")

    with pytest.raises(RuntimeError, match="test failed"):
        failing_test_body()
    assert len(pids) == 2  # fcgiwrap and nginx
    assert not any(pid_alive(pid) for pid in pids)


def test_atexit_safety_net_stops_leaked_servers(git_server_root: Path) -> None:
    require(*GitDaemon.commands)
    leaked = GitDaemon(git_server_root).start()
    pids = leaked.pids
    assert leaked in gitservers._RUNNING
    gitservers._stop_all()
    assert not leaked.running
    assert not any(pid_alive(pid) for pid in pids)
    assert leaked not in gitservers._RUNNING


def test_start_failure_is_reported_with_log(git_server_root: Path) -> None:
    require(*GitDaemon.commands)
    with socket.socket() as squatter:
        squatter.bind((LOOPBACK, 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = GitDaemon(git_server_root, port=port)
        with pytest.raises(
            ServerError, match=r"(?s)exited with status.*daemon\.log.*Address already in use"
        ):
            server.start()
        assert not server.running
        server.close()


def test_http_basic_auth(git_server_root: Path, tmp_path: Path) -> None:
    require(*HttpGitServer.commands)
    make_bare_repo(git_server_root, "repo.git")
    with HttpGitServer(git_server_root, auth=("alice", "s3cret p@ss")) as server:
        anonymous = run_git("ls-remote", server.url("repo.git"), check=False)
        assert anonymous.returncode != 0
        # Without a credential helper or terminal git cannot answer the 401 challenge.
        assert "could not read Username" in anonymous.stderr

        wrong = server.url("repo.git").replace("http://", "http://alice:wrong@")
        assert run_git("ls-remote", wrong, check=False).returncode != 0

        url = server.url_with_credentials("repo.git")
        assert url.startswith("http://alice:s3cret%20p%40ss@")
        work = tmp_path / "work"
        run_git("clone", "--quiet", url, str(work))
        head = commit(work, "a.txt", "a\n")
        run_git("-C", str(work), "push", "--quiet", "origin", "HEAD:main")
        listed = run_git("ls-remote", url, "refs/heads/main").stdout
        assert listed.split() == [head, "refs/heads/main"]


def test_http_large_push_is_chunked(http_git_server: HttpGitServer, tmp_path: Path) -> None:
    """Above http.postBuffer (1 MiB) git sends the pack chunked: nginx must cope."""
    make_bare_repo(http_git_server.root, "repo.git")
    url = http_git_server.url("repo.git")
    work = tmp_path / "work"
    run_git("clone", "--quiet", url, str(work))
    head = commit(work, "blob.bin", os.urandom(3 * 1024 * 1024))
    pushed = run_git("-C", str(work), "-c", "http.postBuffer=65536", "push", "origin", "HEAD:main")
    assert "error" not in pushed.stderr.lower()
    again = tmp_path / "again"
    run_git("clone", "--quiet", url, str(again))
    assert run_git("-C", str(again), "rev-parse", "HEAD").stdout.strip() == head
    assert (again / "blob.bin").stat().st_size == 3 * 1024 * 1024


def test_ssh_server_configuration(ssh_git_server: SshGitServer) -> None:
    command = ssh_git_server.git_ssh_command
    assert str(ssh_git_server.client_key) in command
    assert "StrictHostKeyChecking=no" in command
    assert "IdentitiesOnly=yes" in command
    assert ssh_git_server.client_env() == {"GIT_SSH_COMMAND": command}
    url = ssh_git_server.url("repo.git")
    expected = f"ssh://{ssh_git_server.user}@{LOOPBACK}:{ssh_git_server.port}/"
    assert url.startswith(expected)
    assert url.endswith(f"{ssh_git_server.root}/repo.git")


def test_require_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    require("git")
    with pytest.raises(pytest.skip.Exception, match="no-such-command-gbts"):
        require("git", "no-such-command-gbts")


def test_require_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    require("git")
    with pytest.raises(pytest.fail.Exception, match="no-such-command-gbts"):
        require("no-such-command-gbts")
