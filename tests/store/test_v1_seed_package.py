"""Stores written by the real gitblobts 0.0.7, installed from the package index into a
virtual environment of its own, read back through the seed's API exactly as 0.0.7 reads
them, added to so that 0.0.7 still reads them, and migrated losslessly.

0.0.7 runs in a subprocess. It needs a working tree whose branch has an upstream on a remote
that exists (it pushes after every add): a local bare repository serves. The environment is
made once and kept in pytest's cache; the tests are skipped, saying why, only when the
package index cannot be reached.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import gitblobts
from gitblobts import Store
from tests.helpers import seedformat
from tests.helpers.git import git

pytestmark = pytest.mark.network  # gitblobts 0.0.7 from the package index

SEED_VERSION = "0.0.7"

DRIVER = r"""
import json, sys
import gitblobts

request = json.load(sys.stdin)
key = request["key"].encode() if request["key"] else None
store = gitblobts.Store(request["repo"], compression=request["compression"], key=key)

def when(value):
    if value is None or isinstance(value, (int, str)):
        return value
    return float.fromhex(value["float"])

results = []
for step in request["steps"]:
    if step["do"] == "addblobs":
        store.addblobs([bytes.fromhex(b) for b in step["blobs"]], [when(t) for t in step["times"]])
    elif step["do"] == "addblob":
        store.addblob(bytes.fromhex(step["blob"]), timestamp=when(step["time"]))
    else:
        found = store.getblobs(when(step["start"]), when(step["end"]))
        results.append([[b.timestamp.hex(), b.blob.hex()] for b in found])
json.dump(results, sys.stdout)
"""

Seed = Callable[..., list[list[tuple[float, bytes]]]]


def _usable(python: Path) -> bool:
    if not python.exists():
        return False
    check = "import importlib.metadata as m; print(m.version('gitblobts'))"
    result = subprocess.run(
        [str(python), "-I", "-c", check], cwd=python.parent, capture_output=True, check=False
    )
    return result.returncode == 0 and result.stdout.decode().strip() == SEED_VERSION


def _cache_folder(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = getattr(config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("gitblobts-seed-package"))
    return tmp_path_factory.getbasetemp().parent / "gitblobts-seed-package"


@pytest.fixture(scope="session")
def seed_python(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a virtual environment with gitblobts 0.0.7 from the package index."""
    folder = _cache_folder(pytestconfig, tmp_path_factory)
    folder.mkdir(parents=True, exist_ok=True)
    python = folder / f"venv-{SEED_VERSION}" / "bin" / "python"
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one pytest worker builds, the others wait
        if not _usable(python):
            _build(folder, python.parent.parent)
    return python


def _build(folder: Path, venv: Path) -> None:
    building = folder / f"building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(building)], check=True)
    # Isolated (-I), away from this checkout: this gitblobts must not shadow 0.0.7.
    pip = [str(building / "bin" / "python"), "-I", "-m", "pip", "--disable-pip-version-check"]
    fetch = subprocess.run(
        [*pip, "download", "--no-deps", "--timeout", "20", "--retries", "1",
         "--dest", str(folder / "download"), f"gitblobts=={SEED_VERSION}"],
        cwd=folder,
        capture_output=True,
        check=False,
    )  # fmt: skip
    if fetch.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        lines = fetch.stderr.decode(errors="replace").strip().splitlines()
        reason = lines[-1] if lines else f"pip exited with status {fetch.returncode}"
        pytest.skip(f"gitblobts {SEED_VERSION} cannot be fetched from the package index: {reason}")
    install = subprocess.run(
        [*pip, "install", "--quiet", f"gitblobts=={SEED_VERSION}"],
        cwd=folder,
        capture_output=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr.decode(errors="replace")
    shutil.rmtree(venv, ignore_errors=True)
    # The environment's scripts name the folder it was made in; only its python is used,
    # and that works from anywhere.
    building.rename(venv)
    assert _usable(venv / "bin" / "python")


def when(value: object) -> object:
    """A time as the driver takes it: floats exactly, as hexadecimal."""
    return {"float": value.hex()} if isinstance(value, float) else value


@pytest.fixture
def seed(seed_python: Path) -> Seed:
    """``seed(repo, compression, key, steps)``: run gitblobts 0.0.7 on ``repo``; returns what
    each ``getblobs`` step yielded, as ``(timestamp, blob)`` pairs."""

    def run(
        repo: Path, compression: str | None, key: bytes | None, steps: list[dict[str, object]]
    ) -> list[list[tuple[float, bytes]]]:
        request = {
            "repo": str(repo),
            "compression": compression,
            "key": key.decode() if key is not None else None,
            "steps": steps,
        }
        result = subprocess.run(
            [str(seed_python), "-I", "-c", DRIVER],
            cwd=repo.parent,
            input=json.dumps(request).encode(),
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise SeedFailed(result.stderr.decode(errors="replace"))
        return [
            [(float.fromhex(t), bytes.fromhex(b)) for t, b in found]
            for found in json.loads(result.stdout)
        ]

    return run


class SeedFailed(Exception):
    """gitblobts 0.0.7 raised; the message is its traceback."""


@pytest.fixture
def clone(new_repo: Callable[[str], Path]) -> Iterator[Path]:
    """A working tree as 0.0.7 wants one: an initial commit, and ``main`` tracking
    ``origin``, a local bare repository."""
    origin = new_repo("bare")
    work = new_repo("empty")
    git(work, "commit", "--quiet", "--allow-empty", "-m", "Start")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "--quiet", "--set-upstream", "origin", "main")
    yield work
    assert git(origin, "rev-parse", "main") == git(work, "rev-parse", "main")


def getblobs(start: object = None, end: object = None) -> dict[str, object]:
    return {"do": "getblobs", "start": when(start), "end": when(end)}


TIMES = [1700000000.123456, 1.5, 1.5, 1.5, -100.25, -30.064771072, -1e9, 0, 123, 1.5]
RANGES = [(None, None), (1e10, -1e10), (1.5, 1.5), (-100.25, 123), (123, -100.25)]


@pytest.mark.parametrize("compression", seedformat.COMPRESSIONS)
@pytest.mark.parametrize("keyed", [False, True], ids=["no-key", "key"])
def test_a_store_written_by_0_0_7_reads_adds_and_migrates_as_0_0_7_reads_it(
    seed: Seed, clone: Path, compression: str | None, keyed: bool
) -> None:
    key = gitblobts.generate_key() if keyed else None
    blobs = [b"blob %d" % i for i in range(len(TIMES))]
    write = [
        {"do": "addblobs", "blobs": [b.hex() for b in blobs], "times": [when(t) for t in TIMES]},
        {"do": "addblob", "blob": (bytes(range(256)) * 40).hex(), "time": "2001-02-03 04:05:06"},
        {"do": "addblob", "blob": "", "time": None},
    ]
    seed_view = seed(clone, compression, key, [*write, *(getblobs(*r) for r in RANGES)])
    assert any(name.startswith("-") for name in seedformat.stored_files(clone))

    store = Store(clone, compression=compression, key=key)
    ours = [[(b.timestamp, b.blob) for b in store.getblobs(*r)] for r in RANGES]
    assert ours == seed_view

    store.addblob(b"added by us", timestamp=1.5)
    store.addblobs([b"and", b"more"], timestamps=[-0.5, 1700000000.123456])
    seed_view = seed(clone, compression, key, [getblobs(*r) for r in RANGES])
    assert [[(b.timestamp, b.blob) for b in store.getblobs(*r)] for r in RANGES] == seed_view

    before = [[(b.timestamp_ns, b.blob) for b in store.getblobs(*r)] for r in RANGES]
    report = store.migrate()

    assert report.migrated == len(TIMES) + 5
    migrated = Store(clone, key=key)
    assert [[(b.timestamp_ns, b.blob) for b in migrated.getblobs(*r)] for r in RANGES] == before
    assert git(clone, "status", "--porcelain", "--untracked-files=all") == ""
    with pytest.raises(SeedFailed, match="BlobVersionUnsupported"):
        seed(clone, compression, key, [getblobs()])  # 0.0.7 cannot read the new format


def test_float_times_round_in_a_0_0_7_store_as_0_0_7_rounds_them(seed: Seed, clone: Path) -> None:
    seconds = [1700000000.123456789, 1924948642.7894197, -0.000000001, 2e9 + 0.5]
    add = {"do": "addblobs", "blobs": ["00"] * 4, "times": [when(t) for t in seconds]}
    seed(clone, None, None, [add])
    store = Store(clone)

    store.addblobs([b"\1"] * 4, seconds)

    (seed_view,) = seed(clone, None, None, [getblobs()])
    assert seed_view == [(b.timestamp, b.blob) for b in store.getblobs()]
    by_time: dict[float, set[bytes]] = {}
    for timestamp, blob in seed_view:
        by_time.setdefault(timestamp, set()).add(blob)
    assert list(by_time.values()) == [{b"\0", b"\1"}] * len(seconds)
