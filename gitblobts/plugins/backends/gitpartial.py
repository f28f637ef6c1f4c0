"""Partial clones through the git command: cloning commits and trees only, telling which
blobs a read needs that the clone lacks, and fetching exactly those in one request. For
the ``git`` backend (:class:`PartialClones` is one of its bases).

A partial clone is git's own (``git clone --filter=blob:none``): its remote ``origin``
becomes a promisor remote (``remote.origin.promisor``, ``extensions.partialClone``), so
that git fetches an object it lacks when a command asks for it, one request per object.
Reads ask first (:meth:`PartialClones.missing`, from the object directory alone, which
starts no fetch) and fetch what a query lacks at once (:meth:`PartialClones.fetch_objects`)
as git's ``promisor-remote.c`` does: ``git fetch --filter=blob:none --stdin`` with the ids
on standard input and no negotiation. The server must allow filters
(``uploadpack.allowFilter``) and, over protocol version 0, wants of objects it did not
advertise (``uploadpack.allowAnySHA1InWant`` or ``allowReachableSHA1InWant``); protocol
version 2 allows those wants by itself.

A working tree is cloned sparse (``--sparse``: the files at the root only, the store's
configuration), so that a checkout does not fetch every blob. A server that ignores the
filter sends every blob: the clone is then made an ordinary one (no promisor remote, the
whole working tree checked out) and :meth:`PartialClones.clone` says it is not partial.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable, Sequence

from gitblobts.core.errors import RemoteError, RepositoryError
from gitblobts.core.redaction import redact
from gitblobts.gitfiles.presence import ObjectPresence
from gitblobts.plugins.backends import gitprocesses as processes
from gitblobts.plugins.backends.promisor import FILTER, NO_PROMISOR, PromisorReads

_TRUE = ("", "true", "yes", "on", "1")
"""git's spellings of a true boolean (a key without a value is one)."""
_NO_LAZY_FETCH = {"GIT_NO_LAZY_FETCH": "1"}


class PartialClones(PromisorReads):
    """The partial-clone verbs of the ``git`` backend (see the module docstring)."""

    _git_dir: str
    _cwd: str
    _path: str
    _command: Callable[..., tuple[list[str], dict[str, str]]]

    @classmethod
    def clone(cls, url: str, path: str, *, bare: bool, partial: bool) -> bool:
        args = ["clone", "--quiet", "--no-tags"]
        if bare:
            args.append("--bare")
        if partial:
            args += [f"--filter={FILTER}"] + ([] if bare else ["--sparse"])
        path = os.path.abspath(path)
        _run(os.getcwd(), processes.outside_environment(), *args, "--", url, path)
        if not partial:
            return False
        env = processes.environment(path if bare else os.path.join(path, ".git"), None)
        env.update(_NO_LAZY_FETCH)
        cwd = path
        if not _sent_blobs(cwd, env, bare):
            return True
        for key in ("remote.origin.promisor", "remote.origin.partialclonefilter"):
            _run(cwd, env, "config", "--unset", key)
        if _run(cwd, env, "config", "--get-regexp", r"^extensions\.partialclone$", check=False):
            _run(cwd, env, "config", "--unset", "extensions.partialClone")
        if not bare:
            del env["GIT_DIR"]
            _run(cwd, env, "sparse-checkout", "disable")
        return False

    def _objects_dir(self) -> str:
        return os.path.join(self._git_dir, "objects")

    def _fetch_missing(self, remote: str, oids: Sequence[str]) -> None:
        argv, env = self._command(
            "-c",
            "fetch.negotiationAlgorithm=noop",
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--recurse-submodules=no",
            f"--filter={FILTER}",
            "--stdin",
            remote,
        )
        wanted = "".join(f"{oid}\n" for oid in oids).encode("ascii")
        try:
            result = subprocess.run(
                argv, input=wanted, capture_output=True, cwd=self._cwd, env=env, check=False
            )
        except OSError as error:
            raise RepositoryError(f"{self._path}: cannot run git: {error}") from None
        if result.returncode != 0:
            raise RemoteError(
                f"cannot fetch {len(oids)} missing objects from {remote}: "
                f"{redact(processes.text(result.stderr))} (the server must allow "
                "uploadpack.allowFilter, and, over protocol version 0, "
                "uploadpack.allowAnySHA1InWant or allowReachableSHA1InWant)"
            )

    def _check_out_files(self, files: Iterable[str], env: dict[str, str]) -> None:
        """Write the ``files`` just added to the index of ``env`` to the working tree, as
        git would check them out; in a partial clone's sparse working tree, mark those
        outside it ``skip-worktree`` instead: writing them would fetch their blobs."""
        inside, outside = b"", b""
        cone = self._sparse_cone() if self._promisor_remote() is not None else None
        for path in files:
            if cone is None or _in_cone(cone, path):
                inside += path.encode() + b"\0"
            else:
                outside += path.encode() + b"\0"
        if outside:
            self._git("update-index", "-z", "--skip-worktree", "--stdin", input=outside, env=env)
        if inside:
            self._git("checkout-index", "-u", "-f", "-z", "--stdin", input=inside, env=env)

    def _sparse_cone(self) -> tuple[set[str], set[str]] | None:
        """The folders a cone-mode sparse working tree holds the files of, and those it
        holds whole; ``None`` if it is not one (every file is checked out)."""
        setting = self._git("config", "--bool", "core.sparseCheckoutCone", check=False)
        if processes.line(setting.stdout) != "true":
            return None
        try:
            with open(os.path.join(self._git_dir, "info", "sparse-checkout"), "rb") as f:
                lines = [line.strip() for line in f.read().decode("utf-8", "replace").splitlines()]
        except OSError:
            return None
        parents: set[str] = {""}
        whole: set[str] = set()
        for index, line in enumerate(lines):
            if line.startswith("/") and line.endswith("/") and line != "/":
                folder = line.strip("/")
                following = lines[index + 1] if index + 1 < len(lines) else ""
                (parents if following == f"!/{folder}/*/" else whole).add(folder)
        return parents, whole

    def _git(
        self,
        *args: str,
        input: bytes | bytearray | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        raise NotImplementedError  # the backend's

    def _promisor_remote(self) -> str | None:
        """The promisor remote: ``extensions.partialClone`` names it, else the first remote
        with ``remote.<name>.promisor`` true (git 2.39 sets only that). Until a promisor pack
        arrives there is none to ask, and no configuration is read: a look costs a
        repository that is no partial clone one listing of its pack folder."""
        if self._promisor is None and not _has_promisor_pack(self._git_dir):
            return None  # git marks each pack a promisor remote sent: none came yet
        if self._promisor is None:
            argv, env = self._command(
                "config", "--get-regexp", r"^(extensions\.partialclone|remote\..*\.promisor)$"
            )
            found = subprocess.run(argv, capture_output=True, cwd=self._cwd, env=env, check=False)
            self._promisor = NO_PROMISOR
            for line in found.stdout.decode("utf-8", "surrogateescape").splitlines():
                key, _, value = line.partition(" ")
                if key.startswith("extensions."):
                    self._promisor = value
                    break
                if value.lower() in _TRUE and self._promisor == NO_PROMISOR:
                    self._promisor = key[len("remote.") : -len(".promisor")]
        return None if self._promisor == NO_PROMISOR else self._promisor


def _run(cwd: str, env: dict[str, str], *args: str, check: bool = True) -> str:
    """Run ``git args``; the output, or with ``check`` ``RemoteError`` (for a clone) or
    ``RepositoryError`` if it fails."""
    try:
        result = subprocess.run(
            ["git", *args],
            capture_output=True,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except OSError as error:
        raise RepositoryError(f"cannot run git: {error}") from None
    if check and result.returncode != 0:
        message = redact(processes.text(result.stderr))
        if args[0] == "clone":
            raise RemoteError(f"cannot clone {redact(args[-2])}: {message}")
        raise RepositoryError(f"{cwd}: git {args[0]} failed: {message}")
    return result.stdout.decode("utf-8", "surrogateescape")


def _sent_blobs(cwd: str, env: dict[str, str], bare: bool) -> bool:
    """Whether a clone made with a filter holds the blobs it should lack: the first file
    below the root of its ``HEAD`` (the root's files a sparse checkout fetched). A server
    that ignores the filter sends every blob, one that honours it none of them; so one look,
    a few ``ls-tree`` down one path, rather than a listing of every object of the clone."""
    if not _has_head(cwd, env):
        return False
    tree, depth = "HEAD", 0
    while True:
        entries = [line.split(None, 3) for line in _run(cwd, env, "ls-tree", tree).splitlines()]
        files = [oid for _, kind, oid, _ in entries if kind == "blob"]
        if depth and files:
            git_dir = cwd if bare else os.path.join(cwd, ".git")
            presence = ObjectPresence(os.path.join(git_dir, "objects"))
            try:
                return presence.has(files[0])
            finally:
                presence.close()
        folders = [oid for _, kind, oid, _ in entries if kind == "tree"]
        if not folders:
            return False
        tree, depth = folders[0], depth + 1


def _has_head(cwd: str, env: dict[str, str]) -> bool:
    try:
        _run(cwd, env, "rev-parse", "-q", "--verify", "HEAD^{commit}")
    except RepositoryError:
        return False
    return True


def _in_cone(cone: tuple[set[str], set[str]], path: str) -> bool:
    """Whether the file ``path`` is in a sparse working tree's ``cone`` (see
    :meth:`PartialClones._sparse_cone`)."""
    parents, whole = cone
    folder = path.rpartition("/")[0]
    return folder in parents or any(folder == w or folder.startswith(w + "/") for w in whole)


def _has_promisor_pack(git_dir: str) -> bool:
    """Whether a pack of the repository's came from a promisor remote (``.promisor``)."""
    try:
        names = os.listdir(os.path.join(git_dir, "objects", "pack"))
    except OSError:
        return False
    return any(name.endswith(".promisor") for name in names)
