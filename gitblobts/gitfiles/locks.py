"""Git's lock files, taken so that a lock whose holder died can be told apart and cleared.

Git updates a file (a ref, the index) by creating ``<file>.lock`` exclusively, writing the
new contents into it and renaming it over ``<file>``. A lock says nothing of who holds it, so
git never removes one it did not create: a lock left by a crash blocks every writer until a
person removes it. gitblobts takes its locks so that ownership can be proven:

1. The writer creates a temporary ``<file>.lock~gitblobts-<pid>-<random>.lock`` exclusively
   and holds ``flock(LOCK_EX)`` on it for as long as it holds the lock.
2. It publishes the lock with ``link(temporary, <file>.lock)``: atomic, and refused if the
   lock exists, as an exclusive create is. The lock and the temporary are one file. An
   exception as the link returns (Ctrl-C) removes the lock before the temporary: a lock
   without one would pass for git's.
3. It writes the new contents through the temporary's descriptor, renames the lock over
   ``<file>`` (or removes it), and only then removes the temporary name and closes the
   descriptor, which releases the ``flock``.

However a process dies, even by SIGKILL, the system closes its descriptors and so releases
its ``flock``. So a lock whose file is ``flock``-ed is held by a live gitblobts writer (or a
child it forked, which shares the descriptor), and a lock whose temporary is the same file
but whose ``flock`` is free was left by one that died. A writer that finds a lock taken opens
it and tries ``flock`` without waiting:

* it cannot: a live gitblobts writer holds the lock (or another writer is clearing it). Wait.
* it can, the lock's name still leads to the file it opened (checked while holding the
  ``flock``, so no gitblobts writer can publish or clear meanwhile) and a temporary of this
  lock is the same file: the writer that published it died. Remove the lock, then the
  temporary, still holding the ``flock``, and take the lock afresh. Two writers may find the
  same dead lock; only the one holding the ``flock`` clears, and the other then finds the
  name gone or leading to a new, live lock, and leaves it.
* it can, but no temporary is the same file: git or another program took the lock, is using
  it or crashed. Such a lock is never removed; once it is older than the caller's patience
  the error names it and says how to check.

Temporaries whose ``flock`` is free, left by writers that died before publishing or after
renaming, are swept now and then (the first lock a process takes in a folder, and every
:data:`SWEEP_INTERVAL` seconds), together with a lock still sharing their file, but for the
locks of :data:`CLEARED_BY_TAKERS`: a dead holder of those may have left work half done,
which only a writer taking that very lock knows how to finish, so only it clears them, and
:attr:`Lock.cleared` tells it so.

A temporary's name ends in ``.lock``, which git's loose-ref scan skips, and contains ``~``,
which no ref name may contain, so it is never a ref nor the lock of one. Where ``flock`` is
missing (Windows) or the file system refuses hard links, locks are created as git creates
them, and a dead holder's lock has to be removed by hand, as with git.

Threads of one process take a lock path one at a time (a mutex per path), and a sweep
leaves the temporaries of its own process alone: where ``flock`` is emulated by per-process
locks (NFS), a process could otherwise not tell its own threads' locks from dead ones, and
closing a descriptor would release them.

The one case this cannot close: between the check that the lock's name leads to the dead
writer's file and its removal, a person or program outside this protocol removes that lock
and another takes the name; POSIX has no "remove if still this file".
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO

from gitblobts.core.errors import RepositoryError
from gitblobts.gitfiles.objects import fsync_folder

if sys.platform != "win32":
    import fcntl

PATIENCE = 10.0
"""Seconds a lock no gitblobts writer holds may exist before it is reported, not waited for."""
SWEEP_INTERVAL = 60.0
"""Seconds between sweeps of one folder's leftover temporaries by one process."""
CLEARED_BY_TAKERS = frozenset({"index.lock"})
"""Names of locks that sweeps leave to their takers: a dead holder of git's index lock may
have moved the branch and not the index (see :attr:`Lock.cleared`)."""
_MARK = "~gitblobts-"
_TEMPORARY = re.compile(r"(?P<lock>.+\.lock)~gitblobts-(?P<pid>\d+)-[0-9a-f]{16}\.lock")
_ATTEMPTS = 16
"""Tries :func:`try_take` makes while the lock comes and goes between its steps."""
_UNSUPPORTED = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.ENOLCK)
"""What ``link`` or ``flock`` say on a file system without hard links or locks."""
_GONE, _LIVE, _OTHER = "gone", "live", "other"

log = logging.getLogger("gitblobts")

_state = threading.Lock()
_mutexes: dict[str, threading.Lock] = {}
"""One per lock path: this process's threads take a lock one at a time."""
_swept: dict[str, float] = {}
"""When this process last swept each folder."""
_plain_folders: set[str] = set()
"""Folders where ownership cannot be proven: locks there are taken as git takes them."""


def _forget_mutexes() -> None:
    """In a forked child, which holds none of its parent's mutexes: start afresh."""
    global _state
    _state = threading.Lock()
    _mutexes.clear()


if sys.platform != "win32":
    os.register_at_fork(after_in_child=_forget_mutexes)


class Lock:
    """A lock taken by :func:`take` or :func:`try_take`: write the new contents to
    :attr:`file`, then :meth:`commit`, or :meth:`abort`. As a context manager, a lock not
    committed by the end of the block is aborted."""

    def __init__(
        self, path: str, temporary: str | None, file: BinaryIO, mutex: threading.Lock
    ) -> None:
        self.path = path
        self._temporary = temporary
        self._mutex = mutex
        self.file = file
        self._done = False
        self.cleared = False
        """Whether taking the lock cleared it first, its gitblobts holder having died: what
        it guarded may be half done."""

    def commit(self, target: str, *, durable: bool = False) -> None:
        """Rename the lock over ``target``, which makes the new contents visible, and release
        it. ``durable``: return only once the contents and the rename are on disk."""
        self.file.flush()
        if durable:
            os.fsync(self.file.fileno())
        os.replace(self.path, target)
        if durable:
            fsync_folder(os.path.dirname(target) or ".")
        self._release()

    def abort(self) -> None:
        """Remove the lock, leaving its target as it was (harmless once released)."""
        if self._done:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self._release()

    def _release(self) -> None:
        self._done = True
        try:
            if self._temporary is not None:
                _remove(self._temporary)
            self.file.close()  # releases the flock: only once both names are gone
        finally:
            self._mutex.release()

    def __enter__(self) -> Lock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.abort()


def try_take(path: str, *, patience: float = PATIENCE) -> Lock | None:
    """Take lock ``path`` now, clearing it first if the gitblobts writer holding it died;
    ``None`` while a live process holds it. Raises RepositoryError naming the lock if no
    gitblobts writer holds it and it is older than ``patience`` seconds."""
    mutex = _mutex(path)
    if not mutex.acquire(blocking=False):
        return None
    taken: Lock | None = None
    cleared = False
    try:
        for _ in range(_ATTEMPTS):
            found = _attempt(path, mutex)
            if isinstance(found, Lock):
                taken = found  # which releases the mutex
                taken.cleared = cleared
                return taken
            cleared = cleared or found.cleared
            if found.state == _OTHER and found.age > patience:
                raise _held_error(path, found, patience)
            if found.state != _GONE:
                return None
        return None
    finally:
        if taken is None:
            mutex.release()


def take(path: str, *, timeout: float) -> Lock:
    """Take lock ``path``, waiting up to ``timeout`` seconds for its holder and clearing it if
    the gitblobts writer holding it died. Raises RepositoryError naming the lock if it stays
    held, at once if no gitblobts writer holds it and it is older than ``timeout``."""
    deadline = time.monotonic() + timeout
    mutex = _mutex(path)
    if not mutex.acquire(timeout=timeout):
        raise _held_error(path, _Found(_LIVE), timeout)
    delay = 0.001
    taken: Lock | None = None
    cleared = False
    try:
        while True:
            found = _attempt(path, mutex)
            if isinstance(found, Lock):
                taken = found  # which releases the mutex
                taken.cleared = cleared
                return taken
            cleared = cleared or found.cleared
            if found.state == _OTHER and found.age > timeout:
                raise _held_error(path, found, timeout)
            if found.state != _GONE:
                if time.monotonic() > deadline:
                    raise _held_error(path, found, timeout)
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
    finally:
        if taken is None:
            mutex.release()


def clear_if_dead(path: str, *, patience: float = PATIENCE) -> None:
    """For a lock ``path`` found taken (by git, say): remove it if the gitblobts writer
    holding it died; raise RepositoryError naming it if no gitblobts writer holds it and it
    is older than ``patience`` seconds; otherwise leave it."""
    mutex = _mutex(path)
    if not mutex.acquire(blocking=False):
        return  # this process holds it
    try:
        found = _examine(path)
    finally:
        mutex.release()
    if found.state == _OTHER and found.age > patience:
        raise _held_error(path, found, patience)


def held_error(path: str, waited: float) -> RepositoryError:
    """The error for lock ``path``, which stayed taken for ``waited`` seconds: it names the
    lock and says who holds it, as far as can be told."""
    mutex = _mutex(path)
    if not mutex.acquire(blocking=False):
        return _held_error(path, _Found(_LIVE), waited)
    try:
        return _held_error(path, _examine(path), waited)
    finally:
        mutex.release()


def sweep(folder: str) -> int:
    """Remove the temporaries that gitblobts writers which died left in ``folder``, and any
    lock such a temporary still shares its file with. Returns how many temporaries it
    removed."""
    try:
        names = [entry.name for entry in os.scandir(folder)]
    except OSError:
        return 0
    own = str(os.getpid())
    removed = 0
    for name in names:
        match = _TEMPORARY.fullmatch(name)
        if match is not None and match["pid"] != own:
            lock = os.path.join(folder, match["lock"])
            removed += _sweep_one(os.path.join(folder, name), lock)
    return removed


# Taking a lock


@dataclass(frozen=True, slots=True)
class _Found:
    """What a writer found at a taken lock."""

    state: str
    """``gone``: released or cleared meanwhile, try again; ``live``: a live gitblobts writer
    holds it; ``other``: no gitblobts writer holds it."""
    age: float = 0.0
    """Seconds since an ``other`` lock was last written."""
    cleared: bool = False
    """Whether a ``gone`` lock was a dead holder's, cleared just now."""


def _mutex(path: str) -> threading.Lock:
    key = os.path.abspath(path)
    with _state:
        mutex = _mutexes.get(key)
        if mutex is None:
            mutex = _mutexes[key] = threading.Lock()
    return mutex


def _attempt(path: str, mutex: threading.Lock) -> Lock | _Found:
    """One try at taking lock ``path``, this process's ``mutex`` for it held."""
    folder = os.path.dirname(path) or "."
    if sys.platform == "win32" or folder in _plain_folders:
        return _attempt_plain(path, mutex)
    _sweep_now_and_then(folder)
    temporary = f"{path}{_MARK}{os.getpid()}-{secrets.token_hex(8)}.lock"
    file = os.fdopen(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644), "wb")
    try:
        # A sweep may hold, and then remove, a temporary it found before its writer locked
        # it: start again with a new one.
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.link(temporary, path)
        return Lock(path, temporary, file, mutex)
    except (BlockingIOError, FileNotFoundError):
        return _discard(temporary, file, _Found(_GONE))
    except FileExistsError:
        return _discard(temporary, file, _examine(path))
    except OSError as error:
        _discard(temporary, file, _Found(_GONE))
        if error.errno not in _UNSUPPORTED:
            raise
        with _state:
            _plain_folders.add(folder)
        return _attempt_plain(path, mutex)
    except BaseException:
        # Ctrl-C may land just as the link returns: a published lock must go with its
        # temporary, or it would pass for git's, which is never cleared.
        _unpublish(path, file)
        _discard(temporary, file, _Found(_GONE))
        raise


def _attempt_plain(path: str, mutex: threading.Lock) -> Lock | _Found:
    """One try at taking lock ``path`` as git does, where ownership cannot be proven."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return _examine(path)
    if sys.platform != "win32":
        with contextlib.suppress(OSError):  # where it works, live holders show as such
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return Lock(path, None, os.fdopen(fd, "wb"), mutex)


def _unpublish(path: str, file: BinaryIO) -> None:
    """Remove lock ``path`` if it is ``file``, whose ``flock`` this process holds: no other
    gitblobts writer can clear or publish it meanwhile."""
    if _same_file(path, os.fstat(file.fileno())):
        _remove(path)


def _discard(temporary: str, file: BinaryIO, found: _Found) -> _Found:
    _remove(temporary)
    file.close()
    return found


def _examine(path: str) -> _Found:
    """Who holds the taken lock ``path``; clear it if the gitblobts writer that did died."""
    if sys.platform == "win32":
        return _Found(_OTHER, _age(path)) if os.path.exists(path) else _Found(_GONE)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return _Found(_GONE)
    except OSError:  # unreadable: nothing can be proven
        return _Found(_OTHER, _age(path))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _Found(_LIVE)
        except OSError:  # no locks on this file system: nothing can be proven
            return _Found(_OTHER, _age(path))
        # No live gitblobts writer holds this file, and while this flock is held no other
        # writer can clear it: if the name still leads here, it stays so.
        opened = os.fstat(fd)
        if not _same_file(path, opened):
            return _Found(_GONE)
        temporaries = _temporaries_of(path, opened) if opened.st_nlink >= 2 else []
        if not temporaries:
            return _Found(_OTHER, max(0.0, time.time() - opened.st_mtime))
        os.unlink(path)
        for temporary in temporaries:
            _remove(temporary)
        _report_cleared(path, temporaries[0])
        return _Found(_GONE, cleared=True)
    finally:
        os.close(fd)


def _held_error(path: str, found: _Found, waited: float) -> RepositoryError:
    if found.state == _GONE:
        return RepositoryError(
            f"{path}: other writers kept taking this lock for over {waited:g} s; retry"
        )
    if found.state == _LIVE:
        pid = _holder_pid(path)
        who = f"gitblobts process {pid}" if pid is not None else "another gitblobts writer"
        return RepositoryError(
            f"{path}: {who} has held this lock for over {waited:g} s and is still running, so "
            "the lock is left alone; retry when it is done"
        )
    return RepositoryError(
        f"{path} exists and no running gitblobts writer holds it: git or another program is "
        "using it, or crashed and left it behind. gitblobts never removes such a lock: make "
        "sure no git process is working in this repository (e.g. 'ps -ef | grep git'), then "
        "remove the file"
    )


# Temporaries


def _temporaries_of(path: str, opened: os.stat_result) -> list[str]:
    """The temporaries of lock ``path`` that are the file ``opened``."""
    folder, name = os.path.split(path)
    prefix = name + _MARK
    found: list[str] = []
    with contextlib.suppress(FileNotFoundError), os.scandir(folder or ".") as entries:
        for entry in entries:
            if (
                entry.name.startswith(prefix)
                and _TEMPORARY.fullmatch(entry.name)
                and _same_file(entry.path, opened)
            ):
                found.append(entry.path)
    return found


def _holder_pid(path: str) -> str | None:
    """The process id in the name of the temporary that is lock ``path``'s file."""
    try:
        current = os.stat(path)
    except OSError:
        return None
    temporaries = _temporaries_of(path, current)
    return _pid_of(temporaries[0]) if temporaries else None


def _pid_of(temporary: str) -> str:
    match = _TEMPORARY.fullmatch(os.path.basename(temporary))
    return match["pid"] if match is not None else "?"


def _sweep_now_and_then(folder: str) -> None:
    now = time.monotonic()
    with _state:
        last = _swept.get(folder)
        if last is not None and now - last < SWEEP_INTERVAL:
            return
        _swept[folder] = now
    sweep(folder)


def _sweep_one(temporary: str, lock: str) -> bool:
    """Remove ``temporary``, and ``lock`` first if it is the same file, if no writer holds
    it."""
    if sys.platform == "win32":
        return False
    try:
        fd = os.open(temporary, os.O_RDONLY)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # its writer is alive, or nothing can be proven
        opened = os.fstat(fd)
        if not _same_file(temporary, opened):
            return False
        if _same_file(lock, opened):  # published, and its writer died: a dead lock
            if os.path.basename(lock) in CLEARED_BY_TAKERS:
                return False  # for its next taker to clear, and finish what it guarded
            os.unlink(lock)
            _report_cleared(lock, temporary)
        os.unlink(temporary)
        return True
    finally:
        os.close(fd)


def _report_cleared(lock: str, temporary: str) -> None:
    log.warning(
        "%s: removed the lock of gitblobts process %s, which died holding it",
        lock,
        _pid_of(temporary),
    )


def _same_file(path: str, opened: os.stat_result) -> bool:
    try:
        current = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return (current.st_dev, current.st_ino) == (opened.st_dev, opened.st_ino)


def _age(path: str) -> float:
    try:
        return max(0.0, time.time() - os.stat(path).st_mtime)
    except OSError:
        return 0.0


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
