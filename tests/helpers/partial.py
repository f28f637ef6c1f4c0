"""A store served for partial clones, and what a test of them looks at: the server's
upload-pack sessions, the objects a clone holds (asked without letting git fetch them)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gitblobts import Store
from tests.helpers.git import git
from tests.helpers.gitservers import GitDaemon, GitServer, make_bare_repo

DAY = 86_400
START = 1_700_000_000
DAYS = 5
PER_DAY = 8


def day_times(day: int) -> list[int]:
    return [START + day * DAY + 60 * n for n in range(PER_DAY)]


def served_store(server: GitServer, allow_filter: bool = True) -> dict[str, str]:
    """A store of :data:`DAYS` days of blobs on ``server`` as ``blobs.git``; its blobs' paths
    and object ids."""
    repo = make_bare_repo(server.root, "blobs.git")
    git(repo, "config", "uploadpack.allowFilter", "true" if allow_filter else "false")
    times = [t for day in range(DAYS) for t in day_times(day)]
    with Store(repo, push=False, layout="hourly") as store:
        store.addblobs([b"blob at %d" % t for t in times], times)
    listed = git(repo, "ls-tree", "-r", "main").splitlines()
    return {line.split("\t")[1]: line.split()[2] for line in listed if ".v2" in line}


def fetches(server: GitServer) -> int:
    """How many upload-pack sessions (clones and fetches) the server has served."""
    if isinstance(server, GitDaemon):
        log = (server.state_dir / "daemon.log").read_text(errors="replace")
        return log.count("Request upload-pack")
    log = (server.state_dir / "access.log").read_text(errors="replace")
    return sum("info/refs?service=git-upload-pack" in line for line in log.splitlines())


def present(clone: Path, oid: str) -> bool:
    """Whether ``clone`` holds object ``oid``, asked without letting git fetch it."""
    result = subprocess.run(
        ["git", "-C", str(clone), "cat-file", "-e", oid],
        env={**os.environ, "GIT_NO_LAZY_FETCH": "1"},
        capture_output=True,
        check=False,
    )
    return result.returncode == 0
