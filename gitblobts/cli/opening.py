"""How a command finds and opens its store: ``-C PATH`` as git's ``-C``, the key from
``--key-file`` or the environment, and ``--start``/``--end`` counted from one "now"."""

from __future__ import annotations

import argparse
import os
import time

from gitblobts.cli import repository
from gitblobts.cli.errors import CommandError
from gitblobts.cli.key import read_key
from gitblobts.cli.when import RangeEnd, parse_range_end
from gitblobts.core.store import Store

# Paths: -C PATH says where the store is, as git's -C says where the repository is. Files
# named on the command line are taken from the current folder, as the shell completes and
# expands them: the files to add live outside the store.


def store_path(args: argparse.Namespace, path: str | None = None) -> str:
    """The store's folder: ``-C`` (each taken from the one before), then ``path``."""
    directories: list[str] = args.directory or []
    parts = [*directories, *([path] if path is not None else [])]
    return os.path.join(*parts) if parts else os.getcwd()


def found_store_path(args: argparse.Namespace) -> str:
    """The root of the repository the store's folder is in (see :func:`store_path`),
    found upward as git finds it, so that the command works from any folder of a store."""
    path = store_path(args)
    if not os.path.isdir(path):
        return path  # the store says what is wrong
    root = repository.discover(path)
    if root is None:
        raise CommandError(
            f"{path}: not a git repository, nor in one; make it a store with "
            f"'gitblobts init', or name a store with -C PATH"
        )
    return root


def open_store(
    args: argparse.Namespace,
    *,
    keyed: bool = False,
    durable: bool = False,
    background: float | None = None,
) -> Store:
    """The store the command works on, with the key if the command uses one; pushing in the
    background, and waiting for it at most ``background`` seconds on closing, if given."""
    key = read_args_key(args) if keyed else None
    if background is None:
        return Store(found_store_path(args), key=key, durable=durable)
    return Store(
        found_store_path(args),
        key=key,
        durable=durable,
        push="background",
        close_timeout=background,
    )


def read_args_key(args: argparse.Namespace) -> bytes | None:
    key_file: str | None = args.key_file
    from_environment: str | None = getattr(args, "key_from_environment", None)
    return read_key(key_file, from_environment)


def range_of(args: argparse.Namespace, store: Store) -> tuple[RangeEnd, RangeEnd]:
    """``--start`` and ``--end``, counted from one "now"; ``None`` and the infinities leave
    an end open."""
    now_ns = time.time_ns()
    return (
        parse_range_end(args.start, store.plugins, now_ns),
        parse_range_end(args.end, store.plugins, now_ns),
    )
