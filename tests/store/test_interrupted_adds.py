"""An add interrupted in a working tree never leaves the index staging the removal of a
committed blob.

An add moves the branch by compare-and-swap and then brings the index and working tree in
step. The index lock is held across both steps, and Ctrl-C is held back between them: an
interrupted add either added nothing, or added everything and says so (``AddInterrupted``;
the command exits 130 with one line on standard error). A writer killed outright between
them leaves its lock behind, which proves that the index may lag; whoever finds it (the next
add, or any store opened on that working tree) mends the index and working tree for the
store's files from the branch. Each test runs on the backend of the test run
(``GITBLOBTS_BACKEND``).

The trials interrupt ``gitblobts -C store add FILES...`` with SIGINT or SIGKILL at a random
moment (seeded: the seed is in the test id), half of them anywhere in the add and half just
after the branch moved, for batches of 1 to 30,000 files. After each: once a store has
been opened on it, ``git status --porcelain`` is empty; a user's ``git commit -a`` removes no
blob; the add committed all of its blobs or none, all when it said so, and every blob reads
back byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitblobts import AddInterrupted, Store
from tests.helpers.git import git, make_repo
from tests.helpers.processes import wait_for_orphans
from tests.helpers.writers import blob_paths, kill_after_the_move

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="signals are POSIX")

SIZES = {
    signal.SIGINT: [1, 1, 2, 2, 5, 10, 10, 30, 100, 100, 300, 300, 1000, 1000, 3000, 3000, 30000],
    signal.SIGKILL: [1, 1, 2, 2, 5, 10, 10, 30, 100, 100, 300, 300, 1000, 1000, 3000, 3000, 30000],
}
"""Batch sizes of the trials of each signal; each size's trials alternate between a moment
anywhere in the add and one just after the branch moved."""
EXTRA = 3
"""Trials of each signal beyond the sizes above, with a batch of 1 to 30 files."""
TRIALS = [
    (sig.name, size, seed)
    for sig, sizes in SIZES.items()
    for seed, size in enumerate([*sizes, *[0] * EXTRA], start=100 * sig.value)
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working tree with a commit and a store's configuration, copied for each trial."""
    path = make_repo(tmp_path_factory.mktemp("template"), "non-bare")
    with Store(path) as store:
        store.init()
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Path]:
    """A folder of ``size`` files of distinct contents, made once per size."""
    made: dict[int, Path] = {}
    root = tmp_path_factory.mktemp("inputs")

    def folder(size: int) -> Path:
        if size not in made:
            path = root / str(size)
            path.mkdir()
            for number in range(size):
                (path / f"{number:05d}").write_bytes(b"blob %d of %d\n" % (number, size))
            made[size] = path
        return made[size]

    return folder


def contents(repo: Path) -> list[str]:
    """The SHA-256 of every blob the store holds."""
    with Store(repo) as store:
        return sorted(hashlib.sha256(blob.blob).hexdigest() for blob in store.getblobs())


def branch_file(repo: Path) -> Path:
    return repo / ".git" / "refs" / "heads" / "main"


COMMAND = (
    "import sys\n"
    "from gitblobts.cli.main import main\n"
    "print('ready', file=sys.stderr, flush=True)\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
)
"""``gitblobts ARGS``, once Python has started and imported the command: an interrupt
while the interpreter starts up is Python's to handle (a traceback), not the command's."""


def interrupt(
    args: list[str], cwd: Path, sig: signal.Signals, delay: float, after_move: Path | None
) -> tuple[int, str, str]:
    """Run ``gitblobts args``; send ``sig`` ``delay`` seconds after it starts, or after the
    file ``after_move`` changes (the branch moved); return its status, stdout and stderr."""
    before = after_move.read_bytes() if after_move is not None else b""
    process = subprocess.Popen(
        [sys.executable, "-c", COMMAND, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stderr is not None
    said = b""
    while not said.endswith(b"\n"):  # unbuffered: what follows is communicate()'s
        said += os.read(process.stderr.fileno(), 1) or b"\n"
    assert said == b"ready\n"
    started = time.monotonic()
    if after_move is not None:
        while process.poll() is None and time.monotonic() - started < 120:
            try:
                if after_move.read_bytes() != before:
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.001)
    time.sleep(delay)
    if process.poll() is None:
        process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=300)
    wait_for_orphans(process.pid)  # git processes of a killed writer finish alone
    return process.returncode, stdout.decode(), stderr.decode()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "size", "seed"), TRIALS, ids=[f"{n}-{s or 'few'}-seed{d}" for n, s, d in TRIALS]
)
def test_an_interrupted_add_leaves_the_index_and_working_tree_in_step_with_the_branch(
    tmp_path: Path,
    template: Path,
    inputs: Callable[[int], Path],
    name: str,
    size: int,
    seed: int,
) -> None:
    rng = random.Random(seed)
    sig = signal.Signals[name]
    size = size or rng.randint(1, 30)
    folder = inputs(size)
    files = sorted(os.listdir(folder))
    digests = sorted(hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in files)
    repo = tmp_path / "store"
    shutil.copytree(template, repo, symlinks=True)
    before = blob_paths(repo)
    after_move = seed % 2 == 1
    if after_move:  # just after the branch moved: within the checkout of the files
        delay = rng.uniform(0, 0.02 + size * 0.0002)
    else:  # anywhere, from the command's start to about its end
        delay = rng.uniform(0, 0.6 + size * 0.0005)

    status, stdout, stderr = interrupt(
        ["-C", str(repo), "add", *files],
        folder,
        sig,
        delay,
        branch_file(repo) if after_move else None,
    )

    # What the command said, and what the branch holds.
    stored = contents(repo)
    landed = stored == digests
    assert landed or stored == [], f"{len(stored)} of {size} blobs were committed"
    if status == 0:
        assert landed
        assert len(stdout.splitlines()) == size
    elif sig == signal.SIGINT and status == -signal.SIGINT:
        # Once the command was done, as the interpreter shut down: the blobs were listed.
        assert landed
        assert len(stdout.splitlines()) == size
    elif sig == signal.SIGINT:
        assert status == 130, (status, stdout, stderr)
        lines = stderr.splitlines()
        assert len(lines) == 1, (status, stdout, stderr)
        (line,) = lines
        if landed:
            tip = git(repo, "rev-parse", "HEAD").strip()
            assert f"the {size} blob" in line, line
            assert line.endswith("do not add them again") or line.endswith("do not add it again")
            # Interrupted as it committed, it names the commit; once the add had returned, no.
            assert f"committed as {tip}" in line or "added" in line, line
        else:
            assert line in (
                "gitblobts: interrupted: nothing was added",
                "gitblobts: interrupted before the command ran: nothing was done",
            )
    else:
        assert status == -signal.SIGKILL, stderr
    # A store opened on the working tree leaves it clean.
    Store(repo).close()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert blob_paths(repo) - before == (blob_paths(repo) - before if landed else set())
    # A user's commit of everything removes no blob.
    tip_blobs = blob_paths(repo)
    with open(repo / "README.md", "a") as readme:
        readme.write("A change of the user's.\n")
    git(repo, "commit", "--quiet", "-a", "-m", "The user's commit")
    assert blob_paths(repo) == tip_blobs
    assert git(repo, "diff", "--name-only", "HEAD~1", "HEAD") == "README.md\n"


# Ctrl-C just after the branch moved, in the library


def ctrl_c_once_the_branch_moves(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``store`` send itself SIGINT right after its branch moves, as a user's Ctrl-C
    would, right then."""
    compare_and_swap = store._backend.compare_and_swap

    def interrupted(ref: str, old: str | None, new: str) -> bool:
        moved = compare_and_swap(ref, old, new)
        os.kill(os.getpid(), signal.SIGINT)
        return moved

    monkeypatch.setattr(store._backend, "compare_and_swap", interrupted)


def test_ctrl_c_after_the_branch_moved_waits_for_the_checkout_and_says_the_add_landed(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(repo)
    ctrl_c_once_the_branch_moves(store, monkeypatch)

    with pytest.raises(AddInterrupted) as raised:
        store.addblobs([b"one", b"two"])

    assert isinstance(raised.value, KeyboardInterrupt)
    assert raised.value.commit == git(repo, "rev-parse", "HEAD").strip()
    assert "the 2 blobs were committed as" in str(raised.value)
    assert [ref.path for ref in raised.value.refs] == sorted(blob_paths(repo))
    assert [b.blob for b in Store(repo).getblobs()] == [b"one", b"two"]
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_ctrl_c_before_the_branch_moved_adds_nothing(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(repo)
    tip = git(repo, "rev-parse", "HEAD")
    write_commit = store._backend.write_commit

    def interrupted(*args: Any, **kwargs: Any) -> str:
        commit = write_commit(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return commit

    monkeypatch.setattr(store._backend, "write_commit", interrupted)

    with pytest.raises(KeyboardInterrupt) as raised:
        store.addblob(b"never")

    assert not isinstance(raised.value, AddInterrupted)
    assert git(repo, "rev-parse", "HEAD") == tip
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


# A writer killed just after the branch moved


def test_a_store_opened_after_a_writer_died_between_branch_and_index_mends_them(
    repo: Path,
) -> None:
    kill_after_the_move(repo)
    assert (repo / ".git" / "index.lock").exists()  # the proof that the index may lag

    Store(repo).close()

    assert not (repo / ".git" / "index.lock").exists()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert set(git(repo, "ls-files").splitlines()) >= blob_paths(repo)


def test_the_next_add_after_a_writer_died_between_branch_and_index_mends_them(
    repo: Path,
) -> None:
    store = Store(repo)
    kill_after_the_move(repo)

    store.addblob(b"four")

    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert len(blob_paths(repo)) == 4


def test_mending_the_index_leaves_the_user_s_other_changes_alone(repo: Path) -> None:
    (repo / "notes.txt").write_text("staged\n")
    git(repo, "add", "notes.txt")
    (repo / "README.md").write_text("changed, not staged\n")
    kill_after_the_move(repo)

    Store(repo).close()

    status = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert status == [" M README.md", "A  notes.txt"]


def test_a_user_s_commit_after_a_killed_add_removes_no_blob(repo: Path) -> None:
    kill_after_the_move(repo)
    tip_blobs = blob_paths(repo)
    (repo / "x").write_text("the user's file\n")

    refused = subprocess.run(["git", "-C", str(repo), "add", "x"], capture_output=True)
    assert refused.returncode != 0  # git will not write an index whose lock is taken
    assert b"index.lock" in refused.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "gitblobts", "-C", str(repo), "ls"], capture_output=True
    )
    assert listed.returncode == 0, listed.stderr.decode()
    git(repo, "add", "x")
    git(repo, "commit", "--quiet", "-m", "The user's commit")

    assert blob_paths(repo) == tip_blobs
    assert git(repo, "diff", "--name-only", "HEAD~1", "HEAD") == "x\n"


def test_a_user_s_commit_after_ctrl_c_removes_no_blob(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(repo)
    ctrl_c_once_the_branch_moves(store, monkeypatch)
    with pytest.raises(AddInterrupted):
        store.addblobs([b"one", b"two"])
    tip_blobs = blob_paths(repo)
    (repo / "x").write_text("the user's file\n")

    git(repo, "add", "x")
    git(repo, "commit", "--quiet", "-m", "The user's commit")

    assert blob_paths(repo) == tip_blobs
    assert git(repo, "diff", "--name-only", "HEAD~1", "HEAD") == "x\n"
