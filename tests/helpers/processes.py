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
