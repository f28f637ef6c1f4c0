"""Benchmark: pushing a 10,000-blob batch over git:// with gitblobts, against ``git push`` of
the same commit by the git command, in the same run. Prints times and their ratio.

Run: ``python benchmarks/push.py [--blobs N]``. Needs ``git daemon`` (Debian: git).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from gitblobts import Store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bare(root: Path, name: str) -> Path:
    path = root / name
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


def wait_for(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"git daemon did not start on port {port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blobs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        served = root / "served"
        served.mkdir()
        bare(served, "gitblobts.git")
        bare(served, "git.git")
        port = free_port()
        daemon = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", f"--base-path={served}", "--export-all",
             "--enable=receive-pack", "--listen=127.0.0.1", f"--port={port}", str(served)],
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for(port)
            local = root / "local"
            subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(local)], check=True)
            store = Store(local, push=False)
            store.addblobs(os.urandom(1024) for _ in range(args.blobs))
            for name, url in (("origin", "gitblobts.git"), ("plain", "git.git")):
                subprocess.run(
                    ["git", "-C", str(local), "remote", "add", name,
                     f"git://127.0.0.1:{port}/{url}"], check=True,
                )  # fmt: skip

            start = time.perf_counter()
            store.push()
            ours = time.perf_counter() - start

            start = time.perf_counter()
            subprocess.run(
                ["git", "-C", str(local), "push", "-q", "plain", "main:refs/heads/main"],
                check=True,
            )
            theirs = time.perf_counter() - start
        finally:
            daemon.terminate()
            daemon.wait(timeout=10)
        shutil.rmtree(served, ignore_errors=True)
    print(f"push of {args.blobs} x 1 KiB blobs over git://")
    print(f"  gitblobts Store.push(): {ours:8.3f} s")
    print(f"  git push:               {theirs:8.3f} s")
    print(f"  ratio gitblobts / git:  {ours / theirs:8.2f}")


if __name__ == "__main__":
    main()
