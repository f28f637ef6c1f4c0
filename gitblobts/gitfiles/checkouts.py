"""Which working trees have a branch checked out, read from the files git keeps, without
running git.

A repository's working trees are its main one (unless the repository is bare), whose
``HEAD`` is the common git directory's, and the linked ones of ``git worktree add``, each
with a git directory of its own, ``<common dir>/worktrees/<name>``, holding its ``HEAD`` and a
``gitdir`` file that names the ``.git`` file at its root. Moving a branch that another
working tree has checked out leaves that tree's index and files behind, so that its
``git status`` stages the branch's new files for deletion; git refuses to, and so do both
backends (:func:`refuse_if_checked_out_elsewhere`), before anything is committed.
"""

from __future__ import annotations

import os

from dulwich.config import ConfigFile

from gitblobts.core.errors import RepositoryError


class WorkingTrees:
    """The working trees of the repository whose git directory is ``git_dir``, as seen by a
    store opened there (``own_work_tree``: in its working tree, else through the git
    directory or a bare repository)."""

    def __init__(self, git_dir: str, *, own_work_tree: bool) -> None:
        self._git_dir = os.path.realpath(git_dir)
        self._common = _common_dir(self._git_dir)
        self._own = self._git_dir if own_work_tree else None
        self._main = None if _is_bare(self._common) else os.path.dirname(self._common)
        """The main working tree's root, ``None`` for a bare repository."""

    def checked_out_elsewhere(self, ref: str) -> str | None:
        """The root of a working tree other than the store's own that has ``ref`` checked
        out, if there is one. Costs a listing of ``worktrees`` and a read of a ``HEAD`` or
        two: cheap enough to ask before every move of the branch."""
        if self._main is not None and self._own != self._common and _head(self._common) == ref:
            return self._main
        folder = os.path.join(self._common, "worktrees")
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            return None
        for name in names:
            linked = os.path.join(folder, name)
            if linked != self._own and _head(linked) == ref:
                return _root(linked)
        return None

    def refuse_if_checked_out_elsewhere(self, ref: str) -> None:
        """Raise :class:`~gitblobts.RepositoryError` if another working tree has ``ref``
        checked out, as git refuses to update such a branch."""
        elsewhere = self.checked_out_elsewhere(ref)
        if elsewhere is not None:
            branch = ref.removeprefix("refs/heads/")
            raise RepositoryError(
                f"{branch!r} is checked out in the working tree {elsewhere}, which would stage "
                "the removal of every blob added here; nothing was added: open the store "
                f"there (gitblobts -C {elsewhere}), or use another branch (branch=)"
            )


def _common_dir(git_dir: str) -> str:
    """The git directory shared by every working tree (a linked tree's ``commondir``)."""
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as file:
            relative = file.read().strip()
    except OSError:
        return git_dir
    return os.path.realpath(os.path.join(git_dir, relative))


def _is_bare(common: str) -> bool:
    """Whether the repository has no main working tree: ``core.bare``, else git's guess
    from the git directory's name."""
    try:
        bare = ConfigFile.from_path(os.path.join(common, "config")).get_boolean((b"core",), b"bare")
    except (OSError, ValueError):
        bare = None
    return bare if bare is not None else os.path.basename(common) != ".git"


def _head(git_dir: str) -> str | None:
    """The branch ``git_dir``'s ``HEAD`` points at, if it points at one."""
    try:
        with open(os.path.join(git_dir, "HEAD"), "rb") as file:
            head = file.read(4096).strip()
    except OSError:
        return None
    if not head.startswith(b"ref: "):
        return None
    return head[5:].strip().decode("utf-8", "surrogateescape")


def _root(linked: str) -> str:
    """The root of the linked working tree whose git directory is ``linked``."""
    try:
        with open(os.path.join(linked, "gitdir"), encoding="utf-8", errors="replace") as file:
            dot_git = file.read().strip()
    except OSError:
        return linked
    return os.path.dirname(dot_git) if dot_git else linked
