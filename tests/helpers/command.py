"""The ``gitblobts`` command run as users run it: the installed command, in a subprocess."""

from __future__ import annotations

import os
import pty
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from gitblobts import Nanoseconds, Store
from tests.helpers.git import git

INSTALLED = shutil.which("gitblobts")
COMMAND = [INSTALLED] if INSTALLED else [sys.executable, "-m", "gitblobts"]
LS_LINE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) +(\d+) (\S+)")
SECOND = 10**9


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str
    output: bytes

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def environment(**extra: str) -> dict[str, str]:
    """The tests' environment (its git configuration isolated by conftest), without a key."""
    env = {k: v for k, v in os.environ.items() if k != "GITBLOBTS_KEY"}
    env.update(extra)
    return env


def run(
    *args: str,
    cwd: Path,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> Result:
    """Run ``gitblobts args`` in ``cwd``."""
    result = subprocess.run(
        [*COMMAND, *args],
        cwd=cwd,
        input=input if input is not None else b"",
        capture_output=True,
        env=dict(env) if env is not None else environment(),
        timeout=120,
        check=False,
    )
    return Result(
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
        result.stdout,
    )


def ok(*args: str, cwd: Path, **options: object) -> Result:
    """Run ``gitblobts args`` and require success: no warning nor error on stderr, where
    status lines ("wrote 3 blobs to out") may be."""
    result = run(*args, cwd=cwd, **options)  # type: ignore[arg-type]
    assert result.status == 0, f"gitblobts {shlex.join(args)}: {result.stderr}"
    assert not any(line.startswith("gitblobts:") for line in result.stderr.splitlines())
    return result


def stderr_on_terminal(argv: list[str], cwd: Path, input: bytes = b"") -> str:
    """Run ``argv`` with standard error on a pseudo-terminal and ``input`` on standard input;
    require success; return what it drew on the terminal (the progress bar)."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=terminal,
        )
        os.close(terminal)
        assert process.stdin is not None
        with process.stdin:
            process.stdin.write(input)
        drawn = bytearray()
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            drawn += chunk
        assert process.wait(timeout=120) == 0, drawn.decode()
    finally:
        os.close(controller)
    return drawn.decode("utf-8", "replace")


def assert_fails(result: Result, status: int, *fragments: str) -> None:
    """Failed with ``status``, one line on stderr naming ``fragments``, no traceback."""
    assert result.status == status, result.stderr
    assert "Traceback" not in result.stderr
    if status == 1:
        assert result.stderr.startswith("gitblobts: ")
        assert result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def blob_times(store: Path) -> list[str]:
    return [LS_LINE.fullmatch(line)[1] for line in ok("ls", cwd=store).lines]  # type: ignore[index]


def commits(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


def add_blobs(store: Path, blobs: Mapping[float, bytes]) -> None:
    """Set up: add blobs at epoch seconds, through the library, in one commit."""
    times = [Nanoseconds(round(Fraction(seconds) * SECOND)) for seconds in blobs]
    Store(store).addblobs(list(blobs.values()), times)
