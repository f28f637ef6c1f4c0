"""The working tree's files, as both built-in backends change them."""

from __future__ import annotations

import contextlib
import os


def remove_file(root: str, path: str) -> None:
    """Delete the checked-out file ``path`` (``/``-separated) under ``root`` if it is there,
    and the folders it leaves empty."""
    target = os.path.join(root, *path.split("/"))
    with contextlib.suppress(FileNotFoundError):
        os.remove(target)
    folder = os.path.dirname(target)
    while os.path.normpath(folder) != os.path.normpath(root):
        try:
            os.rmdir(folder)
        except OSError:
            break
        folder = os.path.dirname(folder)
