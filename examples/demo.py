"""A small demo: a new local store with no remote, a few blobs in, a time range out.

Run it with ``python examples/demo.py [PATH]``; without PATH it uses a temporary folder.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import gitblobts


def main(path: Path) -> None:
    subprocess.run(["git", "init", "--quiet", str(path)], check=True)
    key = gitblobts.generate_key()
    store = gitblobts.Store(path, key=key)
    print(f"new store: {store!r}")

    store.addblob(b"written three days ago", timestamp="3 days ago")
    store.addblob(b"written an hour ago", timestamp="1 hour ago")
    store.addblobs([b"first of a batch", b"second of a batch"])  # one commit

    print("blobs since midnight yesterday, oldest first:")
    for blob in store.getblobs(start_time="midnight yesterday", end_time="now"):
        print(f"  {blob.iso}  {blob.blob.decode()!r:24}  {blob.path}")

    print("every blob, newest first:")
    for blob in store.getblobs(start_time="now", end_time="1 week ago"):
        print(f"  {blob.iso}  {blob.blob.decode()!r}")

    log = subprocess.run(
        ["git", "-C", str(path), "log", "--oneline"], capture_output=True, text=True, check=True
    )
    print(f"git log:\n{log.stdout}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            main(Path(folder) / "demo-store")
