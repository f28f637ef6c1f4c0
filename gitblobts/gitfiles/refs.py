"""Moving a ref by compare-and-swap, with git's own lock protocol.

A writer takes ``<ref>.lock`` exclusively (as git does, in the way :mod:`.locks` says),
checks that the ref still holds the expected value (as a loose ref, else in
``packed-refs``), writes the new value into the lock file and renames it over the ref: the
rename is the commit point, atomic on POSIX. A writer that finds the lock taken backs off and
lets its caller retry, exactly as when the ref has moved; a lock whose writer died is cleared.

The reflog is appended as git does: when ``core.logAllRefUpdates`` asks for it (by default,
for branches of repositories with a working tree) or the ref already has a log.
"""

from __future__ import annotations

import os
import time

from gitblobts.core.backend import Identity
from gitblobts.gitfiles import locks

ZERO_ID = "0" * 40


def read_ref(common_dir: str, ref: str) -> str | None:
    """The object id ``ref`` holds (loose, else packed), ``None`` if it does not exist."""
    try:
        with open(os.path.join(common_dir, *ref.split("/")), "rb") as f:
            value = f.read().strip()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return _packed_ref(common_dir, ref)
    if value.startswith(b"ref: "):
        return read_ref(common_dir, value[5:].decode("utf-8", "surrogateescape"))
    return value.decode("ascii")


def _packed_ref(common_dir: str, ref: str) -> str | None:
    wanted = b" " + ref.encode("utf-8", "surrogateescape") + b"\n"
    try:
        with open(os.path.join(common_dir, "packed-refs"), "rb") as f:
            for line in f:
                if line.endswith(wanted) and not line.startswith((b"#", b"^")):
                    return line[:40].decode("ascii")
    except FileNotFoundError:
        pass
    return None


def compare_and_swap(
    common_dir: str,
    ref: str,
    old: str | None,
    new: str,
    *,
    log_as: tuple[Identity, str] | None = None,
    head_log: str | None = None,
    durable: bool = False,
) -> bool:
    """Point ``ref`` at ``new`` if it holds ``old`` (``None``: if it does not exist). Return
    whether it did; ``False`` too when another writer holds the ref's lock (a lock whose
    gitblobts writer died is cleared; one no gitblobts writer holds raises RepositoryError
    once it is :data:`~gitblobts.gitfiles.locks.PATIENCE` seconds old). ``log_as``:
    ``(who, message)`` for the reflog, when one is kept; ``head_log``: the git directory
    whose ``HEAD`` points at ``ref``, whose reflog gains the same line, as git does.
    ``durable``: fsync the ref (and its logs) before returning."""
    path = os.path.join(common_dir, *ref.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    lock = locks.try_take(path + ".lock")
    if lock is None:
        return False
    with lock:
        if read_ref(common_dir, ref) != old:
            return False
        lock.file.write(new.encode("ascii") + b"\n")
        if log_as is not None:
            line = _log_line(old, new, *log_as)
            _append_log(os.path.join(common_dir, "logs", *ref.split("/")), line, durable)
            if head_log is not None:
                _append_log(os.path.join(head_log, "logs", "HEAD"), line, durable)
        lock.commit(path, durable=durable)
    return True


def keeps_log(common_dir: str, ref: str, setting: str | None, bare: bool) -> bool:
    """Whether git would log updates of ``ref``, given ``core.logAllRefUpdates``."""
    if os.path.exists(os.path.join(common_dir, "logs", *ref.split("/"))):
        return True
    value = (setting or ("false" if bare else "true")).lower()
    if value == "always":
        return True
    if value in ("true", "yes", "on", "1"):
        return ref.startswith(("refs/heads/", "refs/remotes/", "refs/notes/")) or ref == "HEAD"
    return False


def signature(who: Identity, when: int) -> str:
    """``name <email> <epoch seconds> <+HHMM>``, in the local zone: who did something and
    when, as git writes it in commits (author, committer) and reflogs."""
    offset = time.localtime(when).tm_gmtoff or 0
    sign = "-" if offset < 0 else "+"
    return f"{who} {when} {sign}{abs(offset) // 3600:02d}{abs(offset) % 3600 // 60:02d}"


def _log_line(old: str | None, new: str, who: Identity, message: str) -> bytes:
    """A reflog line: ids, who and when, and the message's lines joined, as git writes."""
    text = " ".join(message.split())
    return f"{old or ZERO_ID} {new} {signature(who, int(time.time()))}\t{text}\n".encode()


def _append_log(path: str, line: bytes, durable: bool) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "ab") as f:
        f.write(line)
        if durable:
            f.flush()
            os.fsync(f.fileno())


def short_branch(branch: str) -> str:
    """A branch's name without ``refs/heads/``."""
    return branch.removeprefix("refs/heads/")


def tracking_ref(remote: str, remote_ref: str) -> str:
    """The ref that follows ``remote``'s branch ``remote_ref`` here."""
    return f"refs/remotes/{remote}/{short_branch(remote_ref)}"
