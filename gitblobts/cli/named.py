"""Blobs found by name rather than time: the commands ``keys`` and ``put``, and what ``add
--key``, ``get --key`` and ``get ADDRESS`` need.

A key names a stream of versions (``add --key NAME``: each file a new version; ``get --key
NAME``: the latest, or the versions of ``--start``/``--end``); ``put`` stores each file
under the SHA-256 of its bytes and prints its address, which ``get ADDRESS`` reads back.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterator

from gitblobts.cli import opening, output, streams
from gitblobts.cli.errors import CommandError
from gitblobts.cli.when import parse_when
from gitblobts.core.blob import Blob
from gitblobts.core.errors import BlobNotFoundError, RemoteError
from gitblobts.core.store import Store

log = logging.getLogger("gitblobts")

_ENCRYPTION_KEY = re.compile(r"[A-Za-z0-9_-]{43}=")
"""What :func:`gitblobts.generate_key` makes: 32 bytes in URL-safe base64."""


def key_name(args: argparse.Namespace) -> str | None:
    """``--key NAME``, refused when it looks like an encryption key: those come from
    ``--key-file`` or the environment, never from the command line, where other users see
    them (and a key's name is stored in plain in a store without encryption)."""
    name: str | None = args.key
    if name is not None and _ENCRYPTION_KEY.fullmatch(name):
        args.parser.error(
            "--key NAME names a stream of versions, and this looks like an encryption key: "
            "give that with --key-file FILE or $GITBLOBTS_KEY, never on the command line"
        )
    return name


def keys(args: argparse.Namespace) -> int:
    """Print the store's keys beginning with PREFIX, sorted: one a line (escaped as any
    text the command prints), one JSON object a line (``--json``), or each followed by a
    NUL byte (``-z``), exactly."""
    with opening.open_store(args, keyed=True) as store:
        for key in store.keys(args.prefix):
            if args.json:
                output.document({"key": key})
            elif args.null:
                output.data(key.encode("utf-8") + b"\0")
            else:
                output.line(key)
    output.flush()
    return 0


def put(args: argparse.Namespace) -> int:
    """Store each file (``-``: standard input) under the hash of its bytes, in a commit of
    its own unless the store holds it already, and print ``ADDRESS  FILE`` for each, in
    order; then push once, as ``add`` does."""
    paths: list[str] = args.files
    if paths.count("-") > 1:
        args.parser.error("'-' (standard input) can be given only once")
    if "-" in paths and args.key_file == "-":
        args.parser.error("standard input cannot hold both the key and a blob")
    for path in paths:
        streams.input_size(path)  # fails before anything is written
    with opening.open_store(args, keyed=True, durable=args.durable) as store:
        for path in paths:
            with contextlib.closing(streams.opened_inputs([path])) as inputs:
                address = store.putblob(next(inputs), push=False)
            output.line(f"{address}  {streams.input_name(path)}")
            output.flush()
        if not args.no_push and store.remote is not None and store.unpushed:
            try:
                store.push()
            except RemoteError as error:  # as after an add: committed, delivered later
                log.warning("committed, but not pushed: %s; 'gitblobts push' delivers it", error)
    return 0


def versions(args: argparse.Namespace, store: Store, key: str) -> tuple[Iterator[Blob], int]:
    """``get --key NAME``: its latest version (at or before ``--at``), or its versions from
    ``--start`` to ``--end``; and how many there are, if known (else 0)."""
    if args.start is None and args.end is None:
        at = parse_when(args.at, store.plugins, time.time_ns()) if args.at is not None else None
        return iter([_found(lambda: store.getblob(key, at=at), f"key {key!r}", store)]), 1
    if args.at is not None:
        args.parser.error("--at picks one version, --start/--end a range: not both")
    start, end = opening.range_of(args, store)
    return store.getblobs(start, end, key=key), 0


def addressed(store: Store, address: str) -> Blob:
    """``get ADDRESS``: the blob stored under ``address``, its hash checked."""
    return _found(lambda: store.getblob(address), address, store)


def _found(get: Callable[[], Blob], what: str, store: Store) -> Blob:
    try:
        return get()
    except BlobNotFoundError:
        raise CommandError(f"{what}: no such blob in {store.path}") from None
