"""Writers killed with SIGKILL at any moment leave a whole store behind.

Each trial starts a writer process that adds blobs in a loop, one at a time (``addblob``) or
in batches (``addblobs``), and reports each add once it has returned. The writer is killed
with SIGKILL after a seeded random delay, or at a chosen point of its work: an audit hook
(:func:`sys.addaudithook`) watches what it does and kills it there, so the code under test
runs unchanged. Then, once the git processes the writer had started are done (SIGKILL does
not reach them):

- ``git fsck --strict`` finds nothing wrong;
- a new store opens the repository and adds a blob within a few seconds: no lock left
  behind blocks it;
- every blob whose add was reported reads back byte for byte, and blobs the killed add
  committed without reporting are whole batches (an add commits all of its blobs or none);
- no lock and no temporary of a lock is left (a ``fast_import_crash_<pid>`` report, which
  git writes when fast-import's input ends inside a blob, may stay);
- in a repository with a working tree, ``git status`` is clean, even when the writer died
  after moving the branch and before the index and working tree followed: the index lock it
  left behind told the next store to mend them (see ``test_interrupted_adds.py``).

The trials run on the backend of the test run (``GITBLOBTS_BACKEND``, as every test here):
CI runs the suite once per backend, so each backend's share runs once per CI run. A trial's
seed (in its id) fixes its delay, blobs and whether the store exists beforehand; where
exactly the kill lands still depends on the machine's speed. Each trial records what
happened (``record_property``: see ``--junitxml``).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from gitblobts import Store
from tests.helpers.git import assert_fsck_clean, git
from tests.helpers.processes import wait_for_orphans

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
    pytest.mark.slow,  # dozens of writers killed, each checked with git fsck
]

BACKEND = os.environ.get("GITBLOBTS_BACKEND") or "dulwich"
NEXT_ADD_WITHIN = 5.0
"""Seconds a new writer may take to add a blob after a writer was killed."""
BATCH = 24

WRITER = r"""
import hashlib, os, random, signal, sys, threading
from gitblobts import Store

path, operation, point = sys.argv[1], sys.argv[2], sys.argv[4]
seed, skip, configured = int(sys.argv[3]), int(sys.argv[5]), sys.argv[6] == "configured"
rng = random.Random(seed)
hits = 0
die_next = False


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def hit(at_once=True):
    # The kill point is reached: die there (or at the next step), the time after skip times.
    global hits, die_next
    hits += 1
    if hits > skip:
        if at_once:
            die()
        die_next = True


def watch(event, args):
    global hits, die_next
    if die_next:
        die_next = False  # os.kill is audited too
        die()
    if event == "os.link" and point == "ref-locked" and str(args[1]).endswith("/main.lock"):
        hit(at_once=False)  # the link makes the lock: die at the step after it
    elif event == "os.rename" and point == "ref-renaming" and str(args[1]).endswith("/main"):
        hit()
    elif event == "os.remove" and point == "ref-renamed" and "/main.lock~" in str(args[0]):
        hit()
    elif event == "os.rename" and point == "index-locked" and str(args[1]).endswith("/index"):
        hit()
    elif event == "gitblobts.git.update_ref" and point == "git-update-ref":
        hits += 1
        if hits > skip:  # the transaction is sent: git commits it alone
            threading.Timer(0.002, die).start()
    elif event == "subprocess.Popen" and point.startswith("git-") and point[4:] in args[1]:
        hits += 1
        if hits > skip:  # die just after the git command starts: it goes on alone
            threading.Timer(0.002, die).start()


def blob():
    size = rng.choice((0, 7, 300, 5000, 70000))
    return rng.randbytes(size) if rng.random() < 0.5 else (b"%d " % seed) * (size // 4)


def batch(blobs):
    for position, blob in enumerate(blobs):
        if point == "mid-batch" and position == len(blobs) // 2:
            hit()
        yield blob


def report(refs, blobs):
    pairs = zip(refs, blobs)
    print(" ".join(f"{r.path}={hashlib.sha256(b).hexdigest()}" for r, b in pairs), flush=True)


store = Store(path)
if configured:
    report([store.addblob(b"set up")], [b"set up"])
if point != "random":
    sys.addaudithook(watch)
print("ready", flush=True)
while True:
    if operation == "addblob":
        blobs = [blob()]
        refs = [store.addblob(blobs[0])]
    else:
        blobs = [blob() for _ in range(BATCH)]
        refs = store.addblobs(batch(blobs))
    report(refs, blobs)
""".replace("BATCH", str(BATCH))
"""Adds blobs until killed; after each add returns, prints ``path=sha256`` of its blobs."""


@dataclass
class Outcome:
    """What one trial saw."""

    backend: str
    kind: str
    operation: str
    seed: int
    point: str
    delay: float | None = None
    adds_returned: int = 0
    unreported_committed: int = 0
    """Blobs of the interrupted add that were committed although it never returned."""
    orphans: int = 0
    """Git processes of the killed writer still running when it died."""
    left: list[str] = field(default_factory=list)
    """Locks, temporaries and crash reports left in the git directory by the killed writer."""
    garbage: list[str] = field(default_factory=list)
    """Temporary files the killed writer left in the object directory."""
    left_in_tmpdir: list[str] = field(default_factory=list)
    """What the killed writer left in its ``$TMPDIR``."""
    next_add_seconds: float = 0.0
    status_lag: list[str] = field(default_factory=list)
    """``git status`` lines after the next add (none expected)."""

    def describe(self) -> str:
        return json.dumps(asdict(self))


def git_dir(path: Path) -> Path:
    return path / ".git" if (path / ".git").is_dir() else path


def leftovers(path: Path) -> list[str]:
    """Locks, lock temporaries and fast-import crash reports in the git directory."""
    root = git_dir(path)
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.name.endswith(".lock") or p.name.startswith("fast_import_crash_")
    )


def garbage(path: Path) -> list[str]:
    """Temporary files in the object directory (which ``git gc`` removes in time)."""
    root = git_dir(path) / "objects"
    return sorted(str(p.relative_to(root)) for p in root.rglob("tmp_*"))


def tracked(path: Path) -> set[str]:
    """The files of the branch's tip."""
    return set(git(path, "ls-tree", "-r", "--name-only", "HEAD").splitlines())


def run_writer(path: Path, outcome: Outcome, skip: int, configured: bool) -> list[tuple[str, str]]:
    """Start a writer (which first creates the store if ``configured``), kill it, wait for
    what it started; return the ``(path, sha256)`` of every blob it reported."""
    tmpdir = path.parent / "tmp"
    tmpdir.mkdir()
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            WRITER,
            str(path),
            outcome.operation,
            str(outcome.seed),
            outcome.point,
            str(skip),
            "configured" if configured else "new",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "TMPDIR": str(tmpdir)},
    )
    assert writer.stdout is not None
    assert writer.stderr is not None
    lines: list[bytes] = []
    ready = threading.Event()

    def read() -> None:
        assert writer.stdout is not None
        for line in writer.stdout:
            if line == b"ready\n":
                ready.set()
            else:
                lines.append(line)
        ready.set()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        assert ready.wait(60), "the writer never started"
        if outcome.delay is not None:
            time.sleep(outcome.delay)
            writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        reader.join()
    errors = writer.stderr.read().decode()
    writer.stderr.close()
    assert writer.returncode == -signal.SIGKILL, f"the writer ended otherwise: {errors}"
    outcome.orphans = wait_for_orphans(writer.pid)
    outcome.left_in_tmpdir = sorted(p.name for p in tmpdir.iterdir())
    outcome.garbage = garbage(path)
    complete = [line.decode() for line in lines if line.endswith(b"\n")]
    outcome.adds_returned = len(complete) - (1 if configured else 0)
    reported: list[tuple[str, str]] = []
    for line in complete:
        for item in line.split():
            blob_path, digest = item.rsplit("=", 1)
            reported.append((blob_path, digest))
    return reported


def check_after_crash(path: Path, kind: str, outcome: Outcome, skip: int, configured: bool) -> None:
    """Run the writer of ``outcome`` to its death, then check what it left."""
    files_before = set() if kind == "bare" else tracked(path)
    reported = run_writer(path, outcome, skip, configured)
    outcome.left = leftovers(path)

    store = Store(path)
    started = time.monotonic()
    survivor = store.addblob(b"after the crash")
    outcome.next_add_seconds = round(time.monotonic() - started, 3)
    assert outcome.next_add_seconds < NEXT_ADD_WITHIN
    store.close()

    assert_fsck_clean(path)
    with Store(path) as reader:
        stored = {blob.path: blob.blob for blob in reader.getblobs()}
    for blob_path, digest in reported:
        assert blob_path in stored, f"a reported blob is lost: {blob_path}"
        assert hashlib.sha256(stored[blob_path]).hexdigest() == digest, blob_path
    assert stored.pop(survivor.path) == b"after the crash"
    extra = len(stored) - len(reported)
    outcome.unreported_committed = extra
    per_add = 1 if outcome.operation == "addblob" else BATCH
    assert extra in (0, per_add), f"{extra} blobs of the interrupted add were committed"
    assert leftovers(path) == [
        name for name in outcome.left if name.startswith("fast_import_crash_")
    ], "a lock was left behind after the next add"

    if kind == "non-bare":
        status = git(path, "status", "--porcelain", "--untracked-files=all").splitlines()
        outcome.status_lag = status
        assert status == [], status
        assert tracked(path) >= files_before | {p for p, _ in reported} | {survivor.path}


# Random moments

RANDOM_TRIALS = [
    (kind, operation, seed)
    for seed, (kind, operation) in enumerate(
        [(k, o) for k in ("bare", "non-bare") for o in ("addblob", "addblobs")] * 6
    )
]


@pytest.mark.parametrize(
    ("kind", "operation", "seed"),
    RANDOM_TRIALS,
    ids=[f"{kind}-{operation}-seed{seed}" for kind, operation, seed in RANDOM_TRIALS],
)
def test_a_writer_killed_at_a_random_moment_leaves_a_whole_store(
    new_repo: Callable[[str], Path],
    record_property: Callable[[str, object], None],
    kind: str,
    operation: str,
    seed: int,
) -> None:
    rng = random.Random(seed)
    delay = round(0.3 * rng.random() ** 2, 4)  # more kills early, in the first adds
    configured = rng.random() < 0.5
    path = new_repo(kind)
    outcome = Outcome(BACKEND, kind, operation, seed, "random", delay)

    check_after_crash(path, kind, outcome, skip=0, configured=configured)

    record_property("crash", outcome.describe())


# Chosen moments

POINTS = {
    "dulwich": ["mid-batch", "ref-locked", "ref-renaming", "ref-renamed", "index-locked"],
    "git": ["mid-batch", "git-fast-import", "git-update-ref", "git-update-index"],
}
"""Where a writer is killed: in the middle of a batch's blobs; just after the branch's lock
is taken; just before the lock is renamed over the branch; after that, before the lock's
temporary is removed; just before the index's lock is renamed over the index; just after
git fast-import or update-index started, or once the long-lived git update-ref has been sent
a transaction."""
CHOSEN_TRIALS = [
    (kind, point)
    for point in POINTS.get(BACKEND, [])
    for kind in ("bare", "non-bare")
    if not (kind == "bare" and point in ("index-locked", "git-update-index"))
]


@pytest.mark.parametrize(
    ("kind", "point"), CHOSEN_TRIALS, ids=[f"{kind}-{point}" for kind, point in CHOSEN_TRIALS]
)
def test_a_writer_killed_at_a_chosen_moment_leaves_a_whole_store(
    new_repo: Callable[[str], Path],
    record_property: Callable[[str, object], None],
    kind: str,
    point: str,
) -> None:
    seed = 1000 + CHOSEN_TRIALS.index((kind, point))
    operation = "addblobs" if point in ("mid-batch", "git-fast-import") else "addblob"
    path = new_repo(kind)
    outcome = Outcome(BACKEND, kind, operation, seed, point)

    check_after_crash(path, kind, outcome, skip=seed % 3, configured=True)

    record_property("crash", outcome.describe())
