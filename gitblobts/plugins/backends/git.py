"""The ``git`` backend: git plumbing through the git command.

Git runs as a few long-lived processes per backend, started on first use, started anew if
one dies or in a forked child, and stopped by :meth:`~GitCommandBackend.close` or when the
backend is collected: ``git cat-file --batch`` reads objects (trees a listed folder's
subfolders need are asked for together, see :mod:`.gitreadahead`), ``git cat-file
--batch-check`` their sizes and the ids refs resolve to (a branch whose file still holds a
commit read or written before is read here, :mod:`gitblobts.gitfiles.refs`), and ``git
update-ref --stdin`` moves the branch, one transaction per compare-and-swap under git's own
ref lock (see :mod:`.gitsession`). Trees and commits are parsed here and cached by id (they
never change). A batch of blobs streams into one ``git fast-import``; a single blob, the
trees along the changed paths (in one pack if many) and the commit are written without a
process (see :mod:`.gitwrites`; git writes them, with ``git mktree`` and ``git
commit-tree``, where that cannot follow git exactly). The working tree and index follow
through ``git update-index`` and ``git checkout-index``, so git's index extensions and
attributes all apply; they work on a copy of the index (``GIT_INDEX_FILE``), which is
installed under git's ``index.lock``, taken as :mod:`~gitblobts.gitfiles.locks` says and
held from before the branch moves (see
:meth:`~gitblobts.core.backend.Backend.holding_index`). A lock git finds taken is cleared if
a gitblobts writer that died left it, and named in the error once it is old otherwise (see
:mod:`gitblobts.gitfiles.locks`).

A writer killed outright (SIGKILL) does not take its git processes with it: they see the end
of their input and finish, releasing git's locks, or fail and remove them. ``update-ref`` may
so commit a transaction sent before the writer died; a loose object cut short stays a
``tmp_obj_*`` file, which ``git gc`` removes; ``fast-import`` cut short in a blob keeps the
blobs before it (unreachable) and leaves a ``fast_import_crash_<pid>`` report in the git
directory.

Every command runs without a shell, with ``LC_ALL=C`` so that its messages parse, without
terminal prompts, and with repository-locating variables (``GIT_DIR``, ``GIT_INDEX_FILE``,
...) of the caller's environment replaced by this repository's.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import re
import shutil
import subprocess
import tempfile
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping

from gitblobts.core.backend import FILE_MODE, Backend, Identity, TreeEntry
from gitblobts.core.errors import PluginError, PushRejectedError, RemoteError, RepositoryError
from gitblobts.core.hookspecs import hookimpl
from gitblobts.core.redaction import redact
from gitblobts.gitfiles import checkouts, commits, locks, refs, trees, worktree
from gitblobts.gitfiles.objects import object_id, shrinks
from gitblobts.plugins.backends import gitprocesses as processes
from gitblobts.plugins.backends import gitreadahead, gitsession, gitwrites
from gitblobts.plugins.backends.base import TreeReadingBackend
from gitblobts.plugins.backends.gitpartial import PartialClones

_COMMIT_CACHE = 4096
_INDEX_COPY = "gitblobts-index-"
"""How the copies of the index that git writes begin; any one found by the holder of the
index lock was left by a writer that died."""
_WINDOW = 64
_SHARED_REFS = ("refs/heads/", "refs/remotes/")
"""Refs every working tree shares, in files of the common git directory."""
"""Blob requests one read sends ahead of the reply it waits for."""
_DURABLE_SETTINGS = (("core.fsync", "added"), ("core.fsyncMethod", "fsync"))
"""What makes git sync objects, packs, refs and the index before it goes on."""
_FSYNC_SINCE = (2, 36)
"""The git release that has ``core.fsync``."""
_MOVED_ON = ("stale info", "fetch first", "non-fast-forward")
"""Push rejections that mean the remote has moved on."""
_MOVED_MEANWHILE = "cannot lock ref"
"""What the remote says when another push moved its branch (or was moving it) after it told
us where the branch was: it has moved on too."""
_CAS_LOST = ("but expected", "reference already exists", "unable to resolve reference")


class GitCommandBackend(PartialClones, TreeReadingBackend):
    """Git plumbing through the git command."""

    name = "git"

    def __init__(self, path: str) -> None:
        self._path = path
        self._git_dir, self._work_tree = processes.locate(path)
        self._cwd = self._work_tree or self._git_dir
        self._start_reading()
        self._commits: OrderedDict[str, commits.Commit] = OrderedDict()
        # The reader must not refer back to the backend, or the backend would never be
        # collected and its finalizer never run.
        self._settings: dict[str, str] = {}
        """Configuration every git process of the backend is given (``git -c``)."""
        self._command = functools.partial(
            processes.command, self._git_dir, self._work_tree, self._settings
        )
        self._reader = processes.ObjectReader(self._command, self._cwd)
        self._sizes = processes.ObjectReader(self._command, self._cwd, sizes=True)
        self._updater = gitsession.RefUpdater(
            self._command, self._cwd, self._settings, "gitblobts: commit"
        )
        self._writer = gitwrites.LooseWriter(self._git_dir, self._config_values)
        self._ahead = gitreadahead.TreeReadAhead(self._reader)
        self._finalizer = weakref.finalize(
            self, processes.stop, self._reader, self._sizes, self._updater
        )
        self._working_trees = checkouts.WorkingTrees(
            self._git_dir, own_work_tree=self._work_tree is not None
        )

    def _environment(self) -> dict[str, str]:
        return processes.environment(self._git_dir, self._work_tree)

    def _git(
        self,
        *args: str,
        input: bytes | bytearray | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``git args``; raise RepositoryError if it fails and ``check``."""
        argv, default_env = self._command(*args)
        try:
            result = subprocess.run(
                argv,
                input=input,
                stdin=subprocess.DEVNULL if input is None else None,
                capture_output=True,
                cwd=self._cwd,
                env=env or default_env,
                check=False,
            )
        except OSError as error:
            raise RepositoryError(f"{self._path}: cannot run git: {error}") from None
        if check and result.returncode != 0:
            raise RepositoryError(
                f"{self._path}: git {args[0]} failed: {redact(processes.text(result.stderr))}"
            )
        return result

    @property
    def is_bare(self) -> bool:
        return self._work_tree is None

    def head_branch(self) -> str | None:
        result = self._git("symbolic-ref", "-q", "HEAD", check=False)
        if result.returncode == 1:
            return None
        if result.returncode != 0:
            raise RepositoryError(
                f"{self._path}: cannot read HEAD: {processes.text(result.stderr)}"
            )
        return processes.line(result.stdout)

    def resolve(self, ref: str) -> str | None:
        # A branch's file (or packed-refs) read here, if it holds a commit read before;
        # else the long-lived cat-file --batch-check resolves it as rev-parse does.
        if ref.startswith(_SHARED_REFS) and self._writer.reads_refs:
            held = refs.read_ref(self._writer.common_dir, ref)
            if held is not None and held in self._commits:
                self._commits.move_to_end(held)
                return held
        commit = self._named(f"{ref}^{{commit}}")
        if commit is not None:
            return commit
        # No such ref, or one whose commit git cannot read (cat-file calls that missing
        # too; rev-parse names what the ref holds): that is no empty branch.
        pointed = self._git("rev-parse", "-q", "--verify", "--end-of-options", ref, check=False)
        if pointed.returncode != 0:
            return None
        target = processes.line(pointed.stdout)
        # Or a ref that another writer made meanwhile: its commit decides.
        again = self._named(f"{target}^{{commit}}")
        if again is not None:
            return again
        raise RepositoryError(
            f"{self._path}: {ref} points at {target}, which cannot be read as a commit: the "
            "repository is damaged (git fsck tells more)"
        )

    def _named(self, name: str) -> str | None:
        """The id git resolves ``name`` to, ``None`` if none (``rev-parse --verify``)."""
        if name.startswith("-"):
            return None
        (request,) = self._sizes.send([name], named=True)
        try:
            found = self._sizes.receive(request)
        except RepositoryError:
            # Its git ended meanwhile (a Ctrl-C at a terminal reaches it too): once more,
            # with a new one, as a process started for this request would have been.
            (request,) = self._sizes.send([name], named=True)
            found = self._sizes.receive(request)
        return None if found is None else request.oid

    # Reading

    def _object(self, oid: str, kind: str) -> bytes:
        return self._checked(oid, self._reader.read(oid), kind)

    @staticmethod
    def _checked(oid: str, found: tuple[str, bytes] | None, kind: str) -> bytes:
        if found is None:  # git says so of an object it cannot read, too
            raise RepositoryError(
                f"{kind} {oid} is missing from the repository, or damaged past reading "
                "(git fsck tells which)"
            )
        actual, data = found
        if actual != kind:
            raise RepositoryError(f"object {oid} is not a {kind}")
        return data

    def _root(self, commit: str) -> str:
        return self._commit(commit).tree

    def _read_tree(self, oid: str) -> bytes:
        found = self._ahead.take(oid)
        return self._object(oid, "tree") if found is None else self._checked(oid, found, "tree")

    def list_folder(self, commit: str, folder: str) -> list[TreeEntry]:
        entries = super().list_folder(commit, folder)
        # The layout reads subfolders next: all asked for in one round trip.
        self._ahead.request(e.oid for e in entries if e.is_folder and e.oid not in self._trees)
        return entries

    def _commit(self, oid: str) -> commits.Commit:
        commit = self._commits.get(oid)
        if commit is None:
            commit = commits.parse(self._object(oid, "commit"), oid)
            self._remember_commit(oid, commit)
        return commit

    def _remember_commit(self, oid: str, commit: commits.Commit) -> None:
        self._commits[oid] = commit
        if len(self._commits) > _COMMIT_CACHE:
            self._commits.popitem(last=False)

    def read_blobs(self, oids: Iterable[str]) -> Iterator[bytes]:
        source = iter(oids)
        pending: deque[processes.Request] = deque()
        more = True
        while True:
            if more and len(pending) <= _WINDOW // 2:
                sent = self._reader.send(itertools.islice(source, _WINDOW - len(pending)))
                more = len(sent) == _WINDOW - len(pending)
                pending.extend(sent)
            if not pending:
                return
            request = pending.popleft()
            yield self._checked(request.oid, self._reader.receive(request), "blob")

    def blob_sizes(self, oids: Iterable[str]) -> Iterator[int]:
        return processes.blob_sizes(self._sizes, oids)

    # Writing

    def write_blobs(self, contents: Iterable[bytes | bytearray]) -> list[str]:
        stream = iter(contents)
        first = next(stream, None)
        if first is None:
            return []
        second = next(stream, None)
        if second is None and self._writer.usable:  # loose, stored as is if it won't shrink
            return [self._writer.write(b"blob", first, durable=self._durable)]
        if second is None:  # one blob, loose: one light process, stored as is if it won't shrink
            level = () if shrinks(first) else ("-c", "core.looseCompression=0")
            result = self._git(*level, "hash-object", "-w", "--no-filters", "--stdin", input=first)
            return [processes.line(result.stdout)]
        tuning, ahead = processes.fast_import_tuning(first), [first, second]
        del first, second  # each blob is let go once written: a blob's parts come one by one
        with tempfile.TemporaryDirectory(prefix="gitblobts-") as scratch:
            marks = os.path.join(scratch, "marks")
            blobs = itertools.chain((ahead.pop(0) for _ in range(2)), stream)
            count = gitwrites.fast_import(
                self._command, self._cwd, self._path, blobs, marks, tuning
            )
            with open(marks, "rb") as f:
                ids = dict(line.split() for line in f.read().splitlines())
        try:
            return [ids[b":%d" % mark].decode("ascii") for mark in range(1, count + 1)]
        except KeyError:
            raise RepositoryError(f"{self._path}: git fast-import lost a blob") from None

    def _commit_changes(
        self, parent: str | None, changes: trees.Changes, message: str, author: Identity | None
    ) -> str:
        base = self._commit(parent).tree if parent is not None else None
        if self._writer.usable:  # no process: loose objects, as git writes them
            new_trees: list[bytes] = []

            def write_tree(entries: list[TreeEntry]) -> str:
                new_trees.append(trees.serialize(entries))
                return object_id(b"tree", new_trees[-1])

            root = self._edit_tree(base, changes, write_tree)
            self._writer.write_trees(new_trees, durable=self._durable)
            oid, when = self._writer.commit(root, parent, message, author, self._durable)
            self._remember_commit(oid, commits.Commit(root, parent, message, when))
            return oid
        with processes.TreeWriter(self._command, self._cwd, self._path) as writer:
            root = self._edit_tree(base, changes, writer.write)
        args = ["commit-tree", "--no-gpg-sign", root]
        if parent is not None:
            args += ["-p", parent]
        env = self._environment()
        for role in ("AUTHOR", "COMMITTER"):  # git's rules, and DEFAULT_IDENTITY where none
            who = author or self._writer.identity(role)
            env[f"GIT_{role}_NAME"], env[f"GIT_{role}_EMAIL"] = who.name, who.email
        result = self._git(*args, input=message.encode("utf-8"), env=env)
        return processes.line(result.stdout)

    @property
    def _durable(self) -> bool:
        return "core.fsync" in self._settings

    def _config_values(self, pattern: str) -> dict[str, str]:
        """Configuration keys matching ``pattern`` and their (last) values."""
        result = self._git("config", "-z", "--get-regexp", pattern, check=False)
        if result.returncode not in (0, 1):
            raise RepositoryError(
                f"{self._path}: cannot read git configuration: {processes.text(result.stderr)}"
            )
        values: dict[str, str] = {}
        for record in result.stdout.split(b"\0"):
            if record:
                key, _, value = record.partition(b"\n")
                values[key.decode("utf-8", "surrogateescape")] = value.decode(
                    "utf-8", "surrogateescape"
                )
        return values

    def set_durable(self, durable: bool) -> None:
        if not durable:
            for name, _ in _DURABLE_SETTINGS:
                self._settings.pop(name, None)
            return
        version = processes.line(self._git("version").stdout)
        found = re.search(r"(\d+)\.(\d+)", version)
        if found is None or tuple(map(int, found.groups())) < _FSYNC_SINCE:
            raise PluginError(
                f"the 'git' backend cannot make writes durable with {version} (core.fsync "
                f"needs git {'.'.join(map(str, _FSYNC_SINCE))} or later)"
            )
        self._settings.update(_DURABLE_SETTINGS)

    def compare_and_swap(self, ref: str, old: str | None, new: str) -> bool:
        self._working_trees.refuse_if_checked_out_elsewhere(ref)
        expected = old if old is not None else "0" * len(new)
        try:
            self._updater.swap(ref, new, expected)
            return True
        except gitsession.RefMoveFailed as failure:
            message = str(failure)
        lock = processes.taken_lock(message)
        if lock is not None:
            locks.clear_if_dead(lock)  # and raises for a lock no gitblobts writer holds
            return False
        if any(text in message for text in _CAS_LOST):
            return False
        raise RepositoryError(f"{self._path}: cannot move {ref}: {message}")

    # Working tree

    def _index_path(self) -> str:
        return os.path.join(self._git_dir, "index")

    def _resync(self, lock: locks.Lock, is_store_file: Callable[[str], bool]) -> int:
        """Bring the index and working tree in step with the checked-out branch for the
        paths ``is_store_file`` accepts, under ``lock``, which this commits; return how many
        paths changed."""
        for name in os.listdir(self._git_dir):
            if name.startswith(_INDEX_COPY) and not name.endswith(".lock"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self._git_dir, name))
        head = self.head_branch()
        commit = self.resolve(head) if head is not None else None
        if commit is None:
            base = self._git("hash-object", "-t", "tree", "--stdin", input=b"")
            against = processes.line(base.stdout)  # the empty tree: every entry is the index's own
        else:
            against = commit
        output = self._git("diff-index", "--cached", "-z", "--no-renames", against).stdout
        fields = output.split(b"\0")
        files: dict[str, str] = {}
        removed: list[str] = []
        for meta, raw_path in zip(fields[0:-1:2], fields[1::2], strict=False):
            # :branch_mode index_mode branch_id index_id status
            _, _, branch_id, _, status = meta.split()
            path = _path(raw_path)
            if not is_store_file(path):
                continue
            if status == b"A":
                removed.append(path)
            else:
                files[path] = branch_id.decode("ascii")
        self._write_index(files, removed, lock)
        return len(files) + len(removed)

    def _write_index(self, files: Mapping[str, str], removed: list[str], lock: locks.Lock) -> None:
        """Write ``files`` to the working tree and index, delete ``removed`` from both, and
        commit the index ``lock``: git works on a copy of the index, which then becomes the
        lock's contents."""
        for path in [*files, *removed]:
            worktree.check_path(path)  # all of them, before anything changes
        for path in removed:
            worktree.remove_file(self._cwd, path)
        entries = b""
        if removed:  # mode 0 takes a path out of the index
            null = b"0" * len(processes.line(self._git("rev-parse", "--verify", "HEAD").stdout))
            entries = b"".join(b"0 %s\t%s\0" % (null, path.encode()) for path in removed)
        entries += b"".join(
            b"%o %s\t%s\0" % (FILE_MODE, oid.encode("ascii"), path.encode())
            for path, oid in files.items()
        )
        index = self._index_path()
        fd, copy = tempfile.mkstemp(prefix=_INDEX_COPY, dir=self._git_dir)
        os.close(fd)
        try:
            try:
                shutil.copyfile(index, copy)
            except FileNotFoundError:
                os.unlink(copy)  # no index yet: git starts an empty one
            env = {**self._environment(), "GIT_INDEX_FILE": copy}
            # Into the index first, then out to the working tree: checkout-index writes each
            # file as git would check it out (attributes, filters) and records its stat data.
            if entries:
                self._git("update-index", "-z", "--add", "--index-info", input=entries, env=env)
            self._check_out_files(files, env)
            if not os.path.exists(copy):  # no index, and nothing to put in one
                lock.abort()
                return
            with open(copy, "rb") as written:
                shutil.copyfileobj(written, lock.file)
            lock.commit(index, durable=self._durable)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(copy)

    # Remotes

    def remotes(self) -> list[str]:
        result = self._git("remote")
        return result.stdout.decode("utf-8", "surrogateescape").splitlines()

    def upstream(self, branch: str) -> tuple[str, str] | None:
        section = f"branch.{refs.short_branch(branch)}"
        config = self._config_values(r"^branch\..*\.(remote|merge)$")
        remote = config.get(f"{section}.remote")
        merge = config.get(f"{section}.merge")
        if remote is None or merge is None:
            return None
        return remote, merge

    def set_upstream(self, branch: str, remote: str, remote_ref: str) -> None:
        section = f"branch.{refs.short_branch(branch)}"
        self._git("config", f"{section}.remote", remote)
        self._git("config", f"{section}.merge", remote_ref)

    def _url(self, remote: str) -> str:
        result = self._git("config", "--get", f"remote.{remote}.url", check=False)
        if result.returncode != 0:
            raise RemoteError(f"{self._path}: no remote named {redact(repr(remote))}")
        return processes.line(result.stdout)

    def fetch(self, remote: str, remote_ref: str) -> str | None:
        url = self._url(remote)
        tracking = refs.tracking_ref(remote, remote_ref)
        result = self._git(
            "fetch", "--quiet", "--no-tags", "--", remote, f"+{remote_ref}:{tracking}", check=False
        )
        if result.returncode != 0:
            message = processes.text(result.stderr)
            if "couldn't find remote ref" in message:
                return None
            raise RemoteError(f"cannot fetch from {remote} ({redact(url)}): {redact(message)}")
        return self.resolve(tracking)

    def push(self, remote: str, commit: str, remote_ref: str, expected: str | None) -> bool:
        url = self._url(remote)
        result = self._git(
            "push",
            "--porcelain",
            f"--force-with-lease={remote_ref}:{expected or ''}",
            "--",
            remote,
            f"{commit}:{remote_ref}",
            check=False,
        )
        status = processes.push_status(result.stdout, remote_ref)
        if status is None or (result.returncode != 0 and status[0] != "!"):
            message = redact(processes.text(result.stderr) or f"exit status {result.returncode}")
            if "hook declined" in message or "pack exceeds maximum allowed size" in message:
                raise PushRejectedError(f"{remote} ({redact(url)}) refused the push: {message}")
            raise RemoteError(f"cannot push to {remote} ({redact(url)}): {message}")
        flag, summary = status
        if flag == "!":
            details = processes.remote_messages(result.stderr)
            if any(reason in summary for reason in _MOVED_ON) or _MOVED_MEANWHILE in details:
                return False
            raise PushRejectedError(
                f"{remote} ({redact(url)}) refused the push: {redact(summary + details)}"
            )
        self._git(
            "update-ref",
            "-m",
            "gitblobts: push",
            "--",
            refs.tracking_ref(remote, remote_ref),
            commit,
        )
        return True

    def tracking(self, remote: str, remote_ref: str) -> str | None:
        return self.resolve(refs.tracking_ref(remote, remote_ref))

    # History

    def merge_base(self, a: str, b: str) -> str | None:
        result = self._git("merge-base", "--end-of-options", a, b, check=False)
        if result.returncode == 1 and not result.stderr:
            return None
        if result.returncode != 0:
            raise RepositoryError(
                f"{self._path}: git merge-base failed: {processes.text(result.stderr)}"
            )
        return processes.line(result.stdout)

    def commit_time(self, commit: str) -> int:
        return self._commit(commit).time

    def commit_info(self, commit: str) -> tuple[str | None, str]:
        parsed = self._commit(commit)
        return parsed.parent, parsed.message

    def added_files(self, base: str | None, tip: str) -> dict[str, str]:
        if base is None:
            output = self._git("ls-tree", "-r", "-z", "--full-tree", tip).stdout
            records = (r.partition(b"\t") for r in output.split(b"\0") if r)
            return {_path(path): meta.split()[2].decode("ascii") for meta, _, path in records}
        output = self._git(
            "diff-tree", "-r", "-z", "--no-renames", "--diff-filter=AMT", base, tip
        ).stdout
        fields = output.split(b"\0")
        added: dict[str, str] = {}
        for meta, path in zip(fields[0:-1:2], fields[1::2], strict=False):
            # :old_mode new_mode old_id new_id status
            added[_path(path)] = meta.split()[3].decode("ascii")
        return added

    def removals(self, tip: str) -> Iterator[tuple[str, str, list[str]]]:
        # Two processes for the whole history: rev-list names each commit's first parent,
        # diff-tree --stdin diffs each pair along changed paths.
        listed = self._git("rev-list", "--first-parent", "--parents", tip).stdout
        pairs = b"".join(
            b"%s %s\n" % (ids[0], ids[1])
            for ids in (line.split() for line in listed.splitlines())
            if len(ids) >= 2
        )
        if not pairs:
            return
        output = self._git(
            "diff-tree", "--stdin", "-r", "-z", "--no-renames", "--diff-filter=DMT", input=pairs
        ).stdout
        fields = iter(output.split(b"\0"))
        commit: str | None = None
        paths: list[str] = []
        for field in fields:
            if field.startswith(b":"):  # :old_mode new_mode old_id new_id status, then the path
                paths.append(_path(next(fields)))
                continue
            if commit is not None and paths:
                yield commit, self.commit_info(commit)[1], paths
            if field:  # the next commit's id
                commit, paths = field.decode("ascii"), []

    def close(self) -> None:
        self._finalizer()
        self._close_presence()
        self._trees.clear()
        self._ahead.clear()
        self._commits.clear()


def _path(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


@hookimpl
def gitblobts_register_backends(register: Callable[[type[Backend]], None]) -> None:
    """Provide the ``git`` backend."""
    register(GitCommandBackend)
