"""Who the git backend's commits name, and when, by git's own rules: the environment, else
git's configuration (read again once it changes), else gitblobts' default."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gitblobts import Store
from tests.helpers.git import git

VARIABLES = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")


def last_commit(path: Path) -> str:
    return git(path, "log", "-1", "--format=%an <%ae> | %cn <%ce>").strip()


@pytest.fixture
def no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*VARIABLES, "EMAIL"):
        monkeypatch.delenv(name, raising=False)


def test_the_environment_names_author_and_committer(
    new_repo: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Someone Else")
    path = new_repo("bare")
    with Store(path, backend="git") as store:
        store.addblob(b"x", 1)
    assert (
        last_commit(path) == "Test Author <author@example.com> | Someone Else <author@example.com>"
    )


@pytest.mark.usefixtures("no_identity")
def test_else_the_configuration_names_them_and_is_read_again_once_changed(
    new_repo: Callable[[str], Path],
) -> None:
    path = new_repo("bare")
    git(path, "config", "user.name", "Config User")
    git(path, "config", "user.email", "config@example.com")
    git(path, "config", "committer.name", "Config Committer")
    with Store(path, backend="git") as store:
        store.addblob(b"x", 1)
        assert last_commit(path) == (
            "Config User <config@example.com> | Config Committer <config@example.com>"
        )
        git(path, "config", "user.name", "Renamed User")
        store.addblob(b"y", 2)
        assert last_commit(path) == (
            "Renamed User <config@example.com> | Config Committer <config@example.com>"
        )


@pytest.mark.usefixtures("no_identity")
def test_else_gitblobts_names_them(new_repo: Callable[[str], Path]) -> None:
    path = new_repo("bare")
    with Store(path, backend="git") as store:
        store.addblob(b"x", 1)
    assert last_commit(path) == "gitblobts <gitblobts@localhost> | gitblobts <gitblobts@localhost>"


def test_a_commit_date_the_environment_sets_is_the_commits(
    new_repo: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_AUTHOR_DATE", "2001-02-03T04:05:06Z")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2001-02-03T04:05:06Z")
    path = new_repo("bare")
    with Store(path, backend="git") as store:
        store.addblob(b"x", 1)
        store.addblob(b"y", 2)
        assert [b.blob for b in store.getblobs()] == [b"x", b"y"]
    assert git(path, "log", "-1", "--format=%at %ct").split() == ["981173106", "981173106"]
