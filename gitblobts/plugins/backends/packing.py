"""Keeping a repository packed as a store writes to it.

An add writes its objects loose, one file each, with a full copy of every folder it changes
(eight objects for a blob in the ``20-second`` layout), and git's plumbing, unlike its
porcelain commands, never runs git's maintenance afterwards: 3,000 single adds of 1 KiB
leave 226 MB of loose objects, 5 MB once packed. So the dulwich backend watches as git
does: every :data:`CHECK_EVERY` commits it counts the loose objects of one of the 256
object folders, and past :data:`LOOSE_LIMIT` loose objects in all (git's ``gc.auto``) it
starts git's own ``maintenance run --task=loose-objects`` in a thread of its own, which
packs them with deltas between a folder's copies, then ``prune-packed``, which removes the
copies now packed. ``git config maintenance.auto false`` turns it off, as it does for git's
own commands; without the git command nothing is packed, and a warning says so once.

Git's maintenance is made to run beside other processes reading and writing the
repository, and locks itself against a second run. The dulwich backend's readers that miss
a loose object removed meanwhile find it in the new pack, and its writers make again an
object folder ``prune-packed`` removed (:func:`gitblobts.gitfiles.objects.write_loose`).
The git backend does not pack on its own: git's ``mktree`` and object writers (git 2.39)
can miss an object moved meanwhile and fail an add (which raises; nothing is lost), so its
users run git's maintenance when no writer does.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading

from gitblobts.plugins.backends import gitprocesses as processes

CHECK_EVERY = 32
"""How many commits pass between two counts of loose objects."""

LOOSE_LIMIT = 6700
"""How many loose objects start packing (git's default ``gc.auto``)."""

_SAMPLE = "17"
"""The object folder counted, as git counts it: a 256th of all loose objects."""

_STEPS = (("maintenance", "run", "--task=loose-objects", "--quiet"), ("prune-packed", "-q"))
"""What packing runs, one after the other."""

logger = logging.getLogger(__name__)


class Packing:
    """Packs one repository's loose objects when they pile up; told of each commit."""

    def __init__(self, git_dir: str) -> None:
        """``git_dir``: the git directory that holds ``objects`` (a linked working tree's
        common one)."""
        self._git_dir = git_dir
        self._commits = 0
        self._worker: threading.Thread | None = None
        self._warned = False
        self._warning = threading.Lock()
        self._lock = threading.Lock()

    def committed(self) -> None:
        """Count a commit, and start packing in a thread of its own if loose objects piled
        up and no packing runs. Costs a folder listing every :data:`CHECK_EVERY` commits."""
        with self._lock:
            self._commits += 1
            packing = self._worker is not None and self._worker.is_alive()
            if packing or self._commits % CHECK_EVERY:
                return
            if self.loose_objects() < LOOSE_LIMIT:
                return
            git = shutil.which("git")
            if git is None:
                self._warn("the git command is not installed, so nothing packs them")
                return
            self._worker = threading.Thread(
                target=self._pack, args=(git,), name="gitblobts packing", daemon=True
            )
            self._worker.start()

    def loose_objects(self) -> int:
        """About how many loose objects the repository holds, counted as git counts them."""
        try:
            names = os.listdir(os.path.join(self._git_dir, "objects", _SAMPLE))
        except OSError:
            return 0
        return 256 * sum(1 for name in names if len(name) == 38)

    def _pack(self, git: str) -> None:
        """Run the packing steps, unless the repository turns git's maintenance off. A
        process ending leaves a step under way to finish on its own."""
        if self._run(git, "config", "--bool", "--get", "maintenance.auto").stdout == b"false\n":
            return
        for step in _STEPS:
            done = self._run(git, *step)
            if done.returncode != 0:
                self._warn(f"git {step[0]} failed (exit status {done.returncode})")
                return

    def _run(self, git: str, *args: str) -> subprocess.CompletedProcess[bytes]:
        """``git args`` in the repository, in a session of its own (a Ctrl-C meant for the
        writer leaves it be)."""
        try:
            return subprocess.run(
                [git, *args],
                env=processes.environment(self._git_dir, None),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                check=False,
                start_new_session=True,
            )
        except OSError as error:
            return subprocess.CompletedProcess([git, *args], 127, b"", str(error).encode())

    def _warn(self, reason: str) -> None:
        with self._warning:  # from committed() (holding _lock) or the worker
            if self._warned:
                return
            self._warned = True
        logger.warning(
            "%s: loose objects pile up (about %d): %s; run 'git -C %s maintenance run "
            "--task=loose-objects', or 'git maintenance start' there",
            self._git_dir,
            self.loose_objects(),
            reason,
            self._git_dir,
        )
