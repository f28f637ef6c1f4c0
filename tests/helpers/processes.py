"""Waiting for the processes a killed writer left behind."""

from __future__ import annotations

import os
import time


def group_members(group: int) -> list[int]:
    """Processes of process group ``group`` that are still running (not zombies)."""
    if not os.path.isdir("/proc"):
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return []
        return [group]
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != b"Z":
            members.append(int(entry))
    return members


def wait_for_orphans(group: int) -> int:
    """Wait until the killed writer's git processes are done; return how many there were."""
    orphans = len(group_members(group))
    deadline = time.monotonic() + 30
    while group_members(group):
        assert time.monotonic() < deadline, "the killed writer's git processes never ended"
        time.sleep(0.01)
    return orphans


def git_children(repo: object, command: str) -> list[int]:
    """This process's children running ``git command`` in ``repo`` (zombies left out)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            cwd = os.path.realpath(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if (
            int(fields[1]) == os.getpid()
            and fields[0] != b"Z"
            and command.encode() in argv
            and cwd == os.path.realpath(str(repo))
        ):
            found.append(int(entry))
    return sorted(found)
