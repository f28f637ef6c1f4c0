"""Git plumbing for tests that build repositories by hand: objects and commits of any entries
(symbolic links, submodules, odd names), the way someone else's tool would write them, and
where each object lies on disk, to damage it."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tests.helpers.git import git

Entries = Mapping[str | bytes, tuple[int, str] | None]
"""Paths to commit: to ``(mode, object id)``, or to ``None`` to remove the file there."""


def hash_object(repo: Path, content: bytes) -> str:
    """Write a blob of ``content``; return its id."""
    return git(repo, "hash-object", "-w", "--stdin", input=content).strip()


def commit_entries(repo: Path, entries: Entries) -> str:
    """Commit ``entries`` on top of the checked-out branch with git's plumbing, leaving the
    index and working tree as they are; return the new commit."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "GIT_INDEX_FILE": os.path.join(scratch, "index")}

        def plumbing(*args: str, input: bytes | None = None) -> str:
            result = subprocess.run(
                ["git", "-C", str(repo), *args],
                input=input,
                env=env,
                capture_output=True,
                check=False,
            )
            assert result.returncode == 0, result.stderr.decode()
            return result.stdout.decode().strip()

        plumbing("read-tree", "HEAD")
        lines = b""
        for path, entry in entries.items():
            raw = path.encode() if isinstance(path, str) else path
            mode, oid = entry if entry is not None else (0, "0" * 40)
            lines += b"%o %s\t%s\0" % (mode, oid.encode(), raw)
        plumbing("update-index", "-z", "--add", "--index-info", input=lines)
        tree = plumbing("write-tree")
        commit = plumbing("commit-tree", tree, "-p", "HEAD", "-m", "entries by hand")
        plumbing("update-ref", "HEAD", commit)
    return commit


def object_ids(repo: Path, ref: str = "HEAD") -> dict[str, str]:
    """Each file of ``ref``'s tree, path to object id."""
    ids = {}
    for record in git(repo, "ls-tree", "-r", "-z", ref).split("\0"):
        if record:
            meta, _, path = record.partition("\t")
            ids[path] = meta.split()[2]
    return ids


def loose_object(repo: Path, oid: str) -> Path:
    """Where the loose object ``oid`` of the bare repository ``repo`` is (or would be)."""
    return repo / "objects" / oid[:2] / oid[2:]


def packed_object(repo: Path, oid: str) -> tuple[Path, int, int]:
    """The pack of the bare repository ``repo`` holding ``oid``, and where the object's
    bytes start and end in it."""
    for index in sorted((repo / "objects" / "pack").glob("*.idx")):
        with index.open("rb") as f:
            listing = git(repo, "show-index", input=f.read())
        offsets = sorted((int(line.split()[0]), line.split()[1]) for line in listing.splitlines())
        pack = index.with_suffix(".pack")
        ends = [offset for offset, _ in offsets[1:]] + [pack.stat().st_size - 20]
        for (offset, found), end in zip(offsets, ends, strict=True):
            if found == oid:
                return pack, offset, end
    raise LookupError(f"{oid} is in no pack of {repo}")


def overwrite(path: Path, content: bytes) -> None:
    """Replace the read-only file ``path`` (as git leaves objects) with ``content``."""
    path.chmod(0o644)
    path.write_bytes(content)


def pack_objects(repo: Path, oids: list[str]) -> None:
    """Move the loose objects ``oids`` of the bare repository ``repo`` into a pack of their
    own, without deltas (so that damage to one object is damage to one file)."""
    listing = "".join(f"{oid}\n" for oid in oids).encode()
    git(
        repo,
        "pack-objects",
        "-q",
        "--window=0",
        str(repo / "objects" / "pack" / "pack"),
        input=listing,
    )
    git(repo, "prune-packed")
