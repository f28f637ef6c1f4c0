"""The git processes the ``git`` backend runs: the command line and environment of each, the
long-lived object readers (``git cat-file --batch``, and ``--batch-check`` for sizes) and tree
writer (``git mktree --batch``), and what git says: output lines, taken locks, push statuses."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Protocol

from gitblobts.core.backend import TreeEntry
from gitblobts.core.errors import RepositoryError
from gitblobts.gitfiles import trees
from gitblobts.gitfiles.objects import shrinks

_STOP_TIMEOUT = 5.0
_OUTSTANDING = 64
_READER_TUNING = ("-c", "core.packedGitWindowSize=8m", "-c", "core.packedGitLimit=24m")
"""A reader maps at most 24 MiB of packs at a time, in windows of 8 MiB: reading a 1 GiB
blob's parts from one pack would otherwise keep all of it mapped, and resident."""
"""Most requests unanswered at once: their lines (at most 65 bytes each) fit any pipe."""
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_OBJECT_ID_BYTES = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")
_NAME = re.compile(r"[^\s\x00-\x1f\x7f]+")
"""A name one line of a ``git cat-file`` request can hold (a ref never holds others)."""
_REPOSITORY_VARIABLES = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_IMPLICIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_GRAFT_FILE",
        "GIT_SHALLOW_FILE",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
        "GIT_REPLACE_REF_BASE",
        "GIT_CEILING_DIRECTORIES",
        "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    }
)
"""Variables that would point git at another repository, index or object store."""
LOCK_EXISTS = re.compile(r"Unable to create '(.+?\.lock)': File exists")
"""What git says when it finds a lock taken: the lock's path."""
_FIXED_ENVIRONMENT = {
    "LC_ALL": "C",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_NO_REPLACE_OBJECTS": "1",
}


class Request:
    """One object asked of ``git cat-file``, and, once read, its type and contents (or,
    asked of a reader of sizes, its type and size)."""

    __slots__ = ("done", "error", "named", "oid", "reply", "size")

    def __init__(self, oid: str, *, named: bool = False) -> None:
        self.oid = oid
        self.named = named
        """Whether ``oid`` is a name git resolves (``refs/heads/main^{commit}``); once read,
        :attr:`oid` is the id it resolved to."""
        self.done = False
        self.reply: tuple[str, bytes] | None = None
        self.size = -1
        self.error: str | None = None


class ObjectReader:
    """One ``git cat-file --batch`` process, started on first use: object contents by id.
    With ``sizes``, one ``git cat-file --batch-check`` process: types and sizes only (the
    reply's contents are empty, :attr:`Request.size` holds the size), from the object's
    header, without reading its contents.

    Requests are pipelined: a caller sends several before reading the first reply. Replies
    come in request order; one that another caller's read passes over is kept in its request.
    At most :data:`_OUTSTANDING` requests are unanswered at any time, so the requests waiting
    in the pipe stay far below its capacity, and writing them never blocks while git waits
    for its replies to be read.
    """

    def __init__(
        self,
        command: Callable[..., tuple[list[str], dict[str, str]]],
        cwd: str,
        *,
        sizes: bool = False,
    ) -> None:
        self._command = command
        self._sizes = sizes
        self._cwd = cwd
        self._lock = threading.RLock()
        self._process: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None
        self._queue: deque[Request] = deque()
        self._owner = os.getpid()
        self._stopped = False

    def send(self, oids: Iterable[str], *, named: bool = False) -> list[Request]:
        """Ask for objects ``oids`` (``named``: names git resolves, as ``git rev-parse``
        does, each time anew); :meth:`receive` each request for its reply."""
        requests = [Request(oid, named=named) for oid in oids]
        with self._lock:
            self._restart_if_ended()
            for request in requests:
                if not (_NAME if named else _OBJECT_ID).fullmatch(request.oid):
                    request.done = True  # no such object: git would say "missing"
                    continue
                while len(self._queue) >= _OUTSTANDING:
                    self._receive_next()
                process = self._running()
                assert process.stdin is not None
                self._queue.append(request)
                try:
                    process.stdin.write(request.oid.encode("utf-8", "surrogateescape") + b"\n")
                except OSError as error:
                    self._fail(str(error))  # fails this request too; the next starts afresh
            if self._process is not None and self._process.stdin is not None:
                try:
                    self._process.stdin.flush()
                except OSError as error:
                    self._fail(str(error))
        return requests

    def receive(self, request: Request) -> tuple[str, bytes] | None:
        """The type and contents of the requested object, ``None`` if there is none."""
        with self._lock:
            while not request.done:
                if not self._queue:  # dropped by close() or a fork
                    raise RepositoryError(f"git cat-file: no reply for {request.oid}")
                self._receive_next()
        if request.error is not None:
            raise RepositoryError(f"git cat-file failed: {request.error}")
        return request.reply

    def read(self, oid: str) -> tuple[str, bytes] | None:
        """The type and contents of object ``oid``, ``None`` if there is none."""
        (request,) = self.send([oid])
        return self.receive(request)

    def _receive_next(self) -> None:
        request = self._queue.popleft()
        process = self._process
        assert process is not None
        assert process.stdout is not None
        try:
            if process.stdin is not None:
                process.stdin.flush()  # requests still in our buffer get no reply
            header = process.stdout.readline()
            fields = header.split()
            if len(fields) == 2 and fields[1] == b"missing":
                request.done = True
                return
            if len(fields) != 3 or not (
                _OBJECT_ID_BYTES.fullmatch(fields[0])  # what a name resolved to
                if request.named
                else fields[0] == request.oid.encode("ascii")
            ):
                raise OSError(f"unexpected reply {header!r}")
            size = int(fields[2])
            data = b"" if self._sizes else process.stdout.read(size)
            if not self._sizes and (len(data) != size or process.stdout.read(1) != b"\n"):
                raise OSError("reply cut short")
        except (OSError, ValueError, MemoryError) as error:  # a damaged object's size, say
            self._queue.appendleft(request)
            self._fail(str(error))
            return
        request.reply = fields[1].decode("ascii"), data
        request.oid = fields[0].decode("ascii")
        request.size = size
        request.done = True

    def _restart_if_ended(self) -> None:
        """Let a process that ended (killed, say) go, failing what it left unanswered: the
        next request starts a new one."""
        process = self._process
        if process is not None and self._owner == os.getpid() and process.poll() is not None:
            self._fail(f"git cat-file ended (exit status {process.returncode})")

    def _running(self) -> subprocess.Popen[bytes]:
        if self._stopped:
            raise RepositoryError("the git backend is closed")
        if self._process is not None and self._owner != os.getpid():
            # A forked child: the process and its pipes are the parent's.
            self._process, self._errors = None, None
            self._queue.clear()
        if self._process is None:
            mode = "--batch-check" if self._sizes else "--batch"
            argv, env = self._command(*_READER_TUNING, "cat-file", mode)
            self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
            self._process = start(argv, env, self._cwd, stdout=subprocess.PIPE, stderr=self._errors)
            self._owner = os.getpid()
        return self._process

    def _fail(self, reason: str) -> None:
        """Stop the broken process, failing every unanswered request with what it said; the
        next request starts a new one."""
        errors, self._errors = self._errors, None
        unanswered = list(self._queue)
        self._halt()
        if errors is not None:
            errors.seek(0)
            said = text(errors.read())
            errors.close()
            reason = f"{reason}; {said}" if said else reason
        for request in unanswered:
            request.done, request.error = True, reason

    def _halt(self) -> None:
        process, self._process = self._process, None
        if self._errors is not None:
            self._errors.close()
            self._errors = None
        self._queue.clear()
        if process is None or self._owner != os.getpid():
            return
        close_quietly(process.stdin)
        if process.stdout is not None:
            # Replies nobody will read: drain them, so git can write them and see the end.
            with contextlib.suppress(OSError):
                while process.stdout.read(1 << 16):
                    pass
            process.stdout.close()
        try:
            process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        """End the process (it exits at the end of its input) and refuse further reads."""
        with self._lock:
            self._stopped = True
            self._halt()


def blob_sizes(reader: ObjectReader, oids: Iterable[str]) -> Iterator[int]:
    """The sizes of the blobs ``oids``, in order, lazily, from ``reader`` (one of sizes),
    :data:`_OUTSTANDING` requests ahead; a missing object, or one that is no blob, raises
    ``RepositoryError``."""
    source = iter(oids)
    pending: deque[Request] = deque()
    while True:
        if len(pending) <= _OUTSTANDING // 2:
            pending.extend(reader.send(itertools.islice(source, _OUTSTANDING - len(pending))))
        if not pending:
            return
        request = pending.popleft()
        found = reader.receive(request)
        if found is None:  # git says so of an object it cannot read, too
            raise RepositoryError(
                f"blob {request.oid} is missing from the repository, or damaged past reading "
                "(git fsck tells which)"
            )
        if found[0] != "blob":
            raise RepositoryError(f"object {request.oid} is not a blob")
        yield request.size


class Stoppable(Protocol):
    def stop(self) -> None: ...


def stop(*readers: Stoppable) -> None:
    """Stop ``readers`` (a backend's finalizer: it must not refer back to the backend)."""
    for reader in readers:
        reader.stop()


class TreeWriter:
    """One ``git mktree --batch`` process: trees in, their ids out, one at a time."""

    def __init__(
        self, command: Callable[..., tuple[list[str], dict[str, str]]], cwd: str, path: str
    ) -> None:
        self._command = command
        self._cwd = cwd
        self._path = path
        self._process: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None

    def write(self, entries: list[TreeEntry]) -> str:
        """Write a tree of ``entries``; return its id."""
        if self._process is None:
            argv, env = self._command("mktree", "-z", "--batch")
            self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
            self._process = start(argv, env, self._cwd, stdout=subprocess.PIPE, stderr=self._errors)
        process = self._process
        assert process.stdin is not None
        assert process.stdout is not None
        lines = [
            b"%o %s %s\t%s\0"
            % (entry.mode, type_of(entry.mode), entry.oid.encode("ascii"), name_bytes(entry.name))
            for entry in entries
        ]
        try:
            process.stdin.write(b"".join(lines) + b"\0")
            process.stdin.flush()
            reply = process.stdout.readline().strip()
        except OSError:
            reply = b""
        if not _OBJECT_ID.fullmatch(reply.decode("ascii", "replace")):
            raise RepositoryError(f"{self._path}: git mktree failed: {self._close()}")
        return reply.decode("ascii")

    def _close(self) -> str:
        """End the process; return what it said on standard error."""
        process, self._process = self._process, None
        errors, self._errors = self._errors, None
        if process is not None:
            close_quietly(process.stdin)
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
        message = ""
        if errors is not None:
            errors.seek(0)
            message = text(errors.read())
            errors.close()
        return message

    def __enter__(self) -> TreeWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close()


def locate(path: str) -> tuple[str, str | None]:
    """The git directory and working tree (``None``: bare) of the repository at ``path``,
    which must be its root, as for dulwich."""
    env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_VARIABLES}
    env.update(_FIXED_ENVIRONMENT)
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--absolute-git-dir", "--is-inside-work-tree", "--show-prefix"],
            cwd=path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    except OSError as error:
        raise RepositoryError(f"{path}: cannot run git: {error}") from None
    lines = result.stdout.decode("utf-8", "surrogateescape").splitlines()
    if result.returncode != 0 or len(lines) < 2:
        message = text(result.stderr)
        if "not a git repository" in message or result.returncode == 0:
            raise RepositoryError(f"{path}: not a git repository; create one with 'git init' first")
        raise RepositoryError(f"{path}: cannot open the repository: {message}")
    git_dir, inside = lines[0], lines[1] == "true"
    here = os.path.realpath(path)
    if inside and (len(lines) < 3 or lines[2] == ""):
        return git_dir, here
    if not inside and os.path.realpath(git_dir) == here:
        return git_dir, None
    raise RepositoryError(f"{path}: not a git repository; create one with 'git init' first")


def outside_environment() -> dict[str, str]:
    """The caller's environment made predictable, pointing git at no repository: for a
    command that makes one (``git clone``)."""
    env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_VARIABLES}
    env.update(_FIXED_ENVIRONMENT)
    return env


def environment(git_dir: str, work_tree: str | None) -> dict[str, str]:
    """The caller's environment, with git pointed at this repository and made predictable."""
    env = outside_environment()
    env["GIT_DIR"] = git_dir
    if work_tree is not None:
        env["GIT_WORK_TREE"] = work_tree
    return env


def command(
    git_dir: str, work_tree: str | None, settings: Mapping[str, str], *args: str
) -> tuple[list[str], dict[str, str]]:
    """The argument list and environment of ``git args`` in this repository, with
    ``settings`` (configuration names and values) given on the command line."""
    given = [part for item in settings.items() for part in ("-c", "=".join(item))]
    return ["git", *given, *args], environment(git_dir, work_tree)


def start(
    argv: list[str], env: dict[str, str], cwd: str, stdout: int, stderr: IO[bytes]
) -> subprocess.Popen[bytes]:
    """Start a git process fed through a pipe."""
    try:
        return subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=stdout, stderr=stderr
        )
    except OSError as error:
        raise RepositoryError(f"cannot run git: {error}") from None


def fast_import_tuning(first: bytes | bytearray) -> tuple[str, ...]:
    """``git -c`` options for a ``git fast-import`` of blobs like ``first``. Blobs that do
    not shrink (compressed by a codec, encrypted) are stored as they are and not deltified:
    trying costs most of the time. After blobs of a MiB or more (parts of a large blob) the
    pack is kept as it is: under ``fastimport.unpackLimit`` objects (100) git would write
    each again as a loose object, deflating it anew (256 MiB of parts: 10 s, not 3)."""
    options: tuple[str, ...] = ()
    if not shrinks(first):
        options += ("-c", "pack.compression=0", "-c", "pack.depth=0")
    if len(first) >= 1 << 20:
        options += ("-c", "fastimport.unpackLimit=1")
    return options


def close_quietly(stream: IO[bytes] | None) -> None:
    if stream is not None:
        with contextlib.suppress(OSError):  # the process died; its exit status tells why
            stream.close()


def type_of(mode: int) -> bytes:
    if mode == trees.FOLDER_MODE:
        return b"tree"
    return b"commit" if mode == 0o160000 else b"blob"


def name_bytes(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").strip()


def line(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape").strip()


def taken_lock(message: str) -> str | None:
    """The lock file git found taken, from what it said."""
    match = LOCK_EXISTS.search(message)
    return match[1] if match is not None else None


def push_status(output: bytes, remote_ref: str) -> tuple[str, str] | None:
    """The flag and summary ``git push --porcelain`` reports for ``remote_ref``."""
    for line in output.decode("utf-8", "replace").splitlines():
        flag, _, rest = line.partition("\t")
        refspec, _, summary = rest.partition("\t")
        if len(flag) == 1 and refspec.endswith(f":{remote_ref}"):
            return flag, summary
    return None


def remote_messages(stderr: bytes) -> str:
    """What the remote said (``remote: ...`` lines), to explain a refusal."""
    lines = [
        line.removeprefix("remote:").strip()
        for line in text(stderr).splitlines()
        if line.startswith("remote:") and line.removeprefix("remote:").strip()
    ]
    return f": {'; '.join(lines)}" if lines else ""
