"""``durable=True``: an add returns only once what it wrote is on disk.

Whether data reached the disk cannot be seen from inside a test without cutting the power,
so these tests watch the system calls instead: the writer runs under ``strace``, and every
file an add must make durable has to be synced before the writer exits.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

import gitblobts
from gitblobts import PluginError, Store, load_plugins
from gitblobts.core.backend import Backend
from gitblobts.plugins.backends.dulwich import DulwichBackend
from tests.helpers.git import assert_fsck_clean, git

needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")

BACKEND = os.environ.get("GITBLOBTS_BACKEND", "dulwich")
ADD = """
import sys
from gitblobts import Store
with Store(sys.argv[1], durable=sys.argv[2] == "durable") as store:
    store.addblob(b"one")
    store.addblobs([b"batch %d" % i for i in range(40)])
"""


def synced_files(command: list[str], cwd: Path) -> list[str]:
    """The paths of the files and folders ``command`` (and its children) fsynced."""
    trace = cwd.parent / "fsync.trace"
    subprocess.run(
        ["strace", "-f", "-qq", "-y", "-e", "trace=fsync,fdatasync", "-e", "signal=none",
         "-o", str(trace), *command],
        cwd=cwd, check=True, capture_output=True,
    )  # fmt: skip
    return re.findall(r"f(?:data)?sync\(\d+<([^>]*)>\) = 0", trace.read_text())


def has(paths: Iterable[str], pattern: str) -> bool:
    return any(re.search(pattern, path) for path in paths)


@pytest.fixture
def tree(new_repo: Callable[[str], Path]) -> Path:
    """A working tree whose store exists, so that what is traced is adds alone."""
    path = new_repo("non-bare")
    Store(path, push=False).addblob(b"first")
    return path


@needs_strace
@pytest.mark.parametrize("via", ["library", "command"])
def test_a_durable_add_syncs_objects_ref_and_index(tree: Path, via: str) -> None:
    if via == "library":
        command = [sys.executable, "-c", ADD, str(tree), "durable"]
    else:
        (tree.parent / "blob").write_bytes(b"from a file")
        command = ["gitblobts", "add", "--durable", "--no-push", str(tree.parent / "blob")]

    synced = synced_files(command, tree)

    assert has(synced, r"/\.git/objects/"), synced
    assert has(synced, r"/\.git/refs/heads/main\.lock"), synced
    assert has(synced, r"/\.git/index\.lock"), synced
    if BACKEND == "dulwich":  # git syncs files, and leaves their folders to the system
        assert has(synced, r"/\.git/refs/heads$"), synced
        assert has(synced, r"/\.git/objects/[0-9a-f]{2}$|/\.git/objects/pack$"), synced


@needs_strace
@pytest.mark.skipif(BACKEND != "dulwich", reason="git syncs packs of its own accord")
def test_by_default_an_add_leaves_writing_back_to_the_system(tree: Path) -> None:
    assert synced_files([sys.executable, "-c", ADD, str(tree), "default"], tree) == []


@pytest.mark.parametrize("kind", ["bare", "non-bare"])
def test_durable_adds_read_back_and_leave_a_sound_repository(
    new_repo: Callable[[str], Path], kind: str
) -> None:
    path = new_repo(kind)
    with Store(path, durable=True, push=False) as store:
        store.addblob(b"one")
        store.addblobs([b"two", b"three"])

    assert sorted(blob.blob for blob in Store(path).getblobs()) == [b"one", b"three", b"two"]
    assert_fsck_clean(path)
    if kind == "non-bare":
        assert git(path, "status", "--porcelain") == ""


class _ForgetfulBackend(DulwichBackend):
    """A third-party backend that does not say how to make writes durable."""

    name = "forgetful"
    set_durable = Backend.set_durable


class _ForgetfulPlugin:
    @gitblobts.hookimpl
    def gitblobts_register_backends(self, register: Callable[[type[Backend]], None]) -> None:
        register(_ForgetfulBackend)


def test_a_backend_that_cannot_make_writes_durable_is_refused_by_name(repo: Path) -> None:
    plugins = load_plugins(extra=[_ForgetfulPlugin()])

    with pytest.raises(PluginError, match="'forgetful' backend cannot make writes durable"):
        Store(repo, backend="forgetful", plugins=plugins, durable=True)
    Store(repo, backend="forgetful", plugins=plugins).addblob(b"not durable, but fine")
