"""The ``git`` backend's long-lived ``git update-ref --stdin`` process: one compare-and-swap
of a ref per transaction (``start``, ``update <ref> <new> <old>``, ``prepare``, ``commit``),
many transactions per process, under git's own ref locks.

The process starts on first use, with the backend's settings of the moment (``git -c``); it
is started anew when those settings change (durability), when it died (git ends it when a
transaction fails to prepare: the ref moved, or its lock was taken), and in a forked child,
which never writes to its parent's pipes. :meth:`RefUpdater.stop` ends it; it exits at the
end of its input. A transaction is sent in one write, and the audit event
``gitblobts.git.update_ref`` (ref, new, old) raised once it is: a writer killed before that
leaves git nothing to do, one killed after it leaves git to commit the transaction alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from typing import IO

from gitblobts.core.errors import RepositoryError
from gitblobts.plugins.backends import gitprocesses as processes

_STOP_TIMEOUT = 5.0


class RefMoveFailed(Exception):
    """The transaction did not commit; the message is what git said."""


class RefUpdater:
    """One ``git update-ref --stdin`` process, moving refs one transaction at a time."""

    def __init__(
        self,
        command: Callable[..., tuple[list[str], dict[str, str]]],
        cwd: str,
        settings: Mapping[str, str],
        message: str,
    ) -> None:
        self._command = command
        self._cwd = cwd
        self._settings = settings
        self._message = message
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None
        self._started_with: dict[str, str] = {}
        self._owner = os.getpid()
        self._stopped = False

    @property
    def pid(self) -> int | None:
        """The running process's id, if one runs for this process."""
        process = self._process
        return process.pid if process is not None and self._owner == os.getpid() else None

    def swap(self, ref: str, new: str, old: str) -> None:
        """Point ``ref`` at ``new`` if it holds ``old`` (all zeros: if it does not exist);
        raise :class:`RefMoveFailed` with git's message if it does not, ``RepositoryError``
        if git cannot be run."""
        with self._lock:
            process = self._running()
            assert process.stdin is not None
            assert process.stdout is not None
            request = f"start\nupdate {ref} {new} {old}\nprepare\ncommit\n".encode(
                "utf-8", "surrogateescape"
            )
            try:
                process.stdin.write(request)
                process.stdin.flush()
                sys.audit("gitblobts.git.update_ref", ref, new, old)  # git goes on alone now
                replies = [process.stdout.readline() for _ in range(3)]
            except OSError:
                replies = []
            if replies != [b"start: ok\n", b"prepare: ok\n", b"commit: ok\n"]:
                raise RefMoveFailed(self._halt() or f"unexpected replies {replies!r}")

    def _running(self) -> subprocess.Popen[bytes]:
        if self._stopped:
            raise RepositoryError("the git backend is closed")
        if self._owner != os.getpid():  # a forked child: the process and pipes are the parent's
            self._process, self._errors, self._owner = None, None, os.getpid()
        if self._process is not None and (
            self._process.poll() is not None or self._started_with != dict(self._settings)
        ):
            self._halt()
        if self._process is None:
            self._started_with = dict(self._settings)
            argv, env = self._command("update-ref", "-m", self._message, "--stdin")
            self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
            self._process = processes.start(
                argv, env, self._cwd, stdout=subprocess.PIPE, stderr=self._errors
            )
        return self._process

    def _halt(self) -> str:
        """End the process; return what it said on standard error."""
        process, self._process = self._process, None
        errors, self._errors = self._errors, None
        if process is not None and self._owner == os.getpid():
            processes.close_quietly(process.stdin)
            try:
                process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if errors is None:
            return ""
        errors.seek(0)
        said = processes.text(errors.read())
        errors.close()
        return said

    def stop(self) -> None:
        """End the process and refuse further updates."""
        with self._lock:
            self._stopped = True
            self._halt()
