"""Fixtures for every test: real git repositories of every kind, checked by ``git fsck
--strict``; the local time zone; real git servers. The helpers they use are in
``tests/helpers/``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

# Before the helpers' import: their asserts report as the tests' own do.
pytest.register_assert_rewrite("tests.helpers")

from tests.helpers.git import REPO_KINDS, assert_fsck_clean, make_repo  # noqa: E402
from tests.helpers.gitservers import (  # noqa: E402
    HOST_LIMITS,
    SERVER_CLASSES,
    GitDaemon,
    GitServer,
    HostRepo,
    HttpGitServer,
    SshGitServer,
    make_bare_repo,
    make_host_limited,
    require,
)

_S = TypeVar("_S", bound=GitServer)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests marked ``alone`` in a parallel run (``-n``): a latency they bound
    measures the machine's other processes as much as gitblobts. ``-m alone`` runs them."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    skip = pytest.mark.skip(reason="bounds a latency: run on its own, python -m pytest -m alone")
    for item in items:
        if item.get_closest_marker("alone") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _isolated_git_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the machine's git configuration out of the tests."""
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    os.environ.update(
        {
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
            "GIT_AUTHOR_NAME": "Test Author",
            "GIT_AUTHOR_EMAIL": "author@example.com",
            "GIT_COMMITTER_NAME": "Test Author",
            "GIT_COMMITTER_EMAIL": "author@example.com",
        }
    )
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def new_repo(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Make repositories of a given kind; each is checked by ``git fsck --strict`` after the
    test."""
    made: list[Path] = []

    def factory(kind: str = "non-bare") -> Path:
        root = tmp_path / f"r{len(made)}"
        root.mkdir()
        path = make_repo(root, kind)
        made.append(path)
        return path

    yield factory
    for path in made:
        assert_fsck_clean(path)


@pytest.fixture(params=REPO_KINDS)
def repo_kind(request: pytest.FixtureRequest) -> str:
    """Each repository kind in turn."""
    return str(request.param)


@pytest.fixture
def repo(new_repo: Callable[[str], Path]) -> Path:
    """A non-bare repository with one commit and no remote."""
    return new_repo("non-bare")


@pytest.fixture
def local_zone() -> Iterator[Callable[[str], None]]:
    """Set the local time zone: UTC until the test names another. Restored afterwards."""
    saved = os.environ.get("TZ")

    def use(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    use("UTC")
    yield use
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.fixture
def git_server_root(tmp_path: Path) -> Path:
    """An empty directory whose bare repositories the server fixtures serve."""
    root = tmp_path / "served"
    root.mkdir()
    return root


def _serve(cls: type[_S], root: Path) -> Iterator[_S]:
    """Require the programs of ``cls``, then run it on ``root`` for the test's duration."""
    require(*cls.commands)
    with cls(root) as server:
        yield server


@pytest.fixture
def git_daemon(git_server_root: Path) -> Iterator[GitDaemon]:
    """A running :class:`GitDaemon` serving ``git_server_root``."""
    yield from _serve(GitDaemon, git_server_root)


@pytest.fixture
def http_git_server(git_server_root: Path) -> Iterator[HttpGitServer]:
    """A running :class:`HttpGitServer` (no auth) serving ``git_server_root``."""
    yield from _serve(HttpGitServer, git_server_root)


@pytest.fixture
def https_git_server(git_server_root: Path) -> Iterator[HttpGitServer]:
    """A running :class:`HttpGitServer` with ``tls=True`` (no auth) serving ``git_server_root``.

    Clients need ``server.client_env()`` (``GIT_SSL_CAINFO``) for the git command and the
    git config ``http.sslCAInfo`` set to ``server.ca_file`` for dulwich.
    """
    require(*HttpGitServer.commands)
    with HttpGitServer(git_server_root, tls=True) as server:
        yield server


@pytest.fixture
def ssh_git_server(git_server_root: Path) -> Iterator[SshGitServer]:
    """A running :class:`SshGitServer` serving ``git_server_root``."""
    yield from _serve(SshGitServer, git_server_root)


@pytest.fixture(params=sorted(SERVER_CLASSES))
def git_server(request: pytest.FixtureRequest, git_server_root: Path) -> Iterator[GitServer]:
    """Each server in turn (``git``, ``http``, ``ssh``), serving ``git_server_root``.

    Clients need ``server.client_env()`` in their environment (GIT_SSH_COMMAND for ssh).
    """
    yield from _serve(SERVER_CLASSES[request.param], git_server_root)


@pytest.fixture(params=sorted(SERVER_CLASSES))
def host_server(
    request: pytest.FixtureRequest, git_server_root: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[HostRepo]:
    """Each server in turn serving ``host.git``, an empty repository with
    :data:`~tests.helpers.gitservers.HOST_LIMITS`; the client environment is set."""
    repo = make_bare_repo(git_server_root, "host.git")
    make_host_limited(repo, HOST_LIMITS)
    for server in _serve(SERVER_CLASSES[request.param], git_server_root):
        for name, value in server.client_env().items():
            monkeypatch.setenv(name, value)
        yield HostRepo(server, repo, server.url("host.git"), HOST_LIMITS)
