"""One function per command: each takes the parsed arguments and returns the exit status.

Failures are raised (a :class:`~gitblobts.GitBlobTSError`, or a
:class:`~gitblobts.cli.errors.CommandError` for the command's own files);
:func:`gitblobts.cli.main.main` turns them into a message and an exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import importlib.metadata
import json
import os
import re
import time
from collections.abc import Iterable, Iterator, Sequence

from gitblobts.cli import named, opening, output, repository, streams
from gitblobts.cli.errors import CommandError
from gitblobts.cli.progress import Progress
from gitblobts.cli.when import parse_when
from gitblobts.core import cloning
from gitblobts.core.addresses import is_address
from gitblobts.core.blob import Blob, BlobRef
from gitblobts.core.catalog import DEFAULT_MAX_SHARD_BYTES
from gitblobts.core.errors import KeyRequiredError, RemoteError
from gitblobts.core.formats import registry
from gitblobts.core.keys import generate_key
from gitblobts.core.plugins import ENTRY_POINT_GROUP, default_plugins
from gitblobts.core.sharded import ShardedStore
from gitblobts.core.sharding import init_sharded
from gitblobts.core.store import NO_CIPHER, Store
from gitblobts.core.timestamps import Nanoseconds

_REGISTER_HOOK = "gitblobts_register_"
_URL_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://|[^/]*:")
"""A URL, or git's scp-like ``host:path``: anything but a local path."""


# Commands


def init(args: argparse.Namespace) -> int:
    """Create the repository if there is none, then record the store's configuration."""
    path = opening.store_path(args, args.path)
    key = opening.read_args_key(args)
    if args.cipher not in (None, NO_CIPHER) and key is None:
        raise KeyRequiredError(f"--cipher {args.cipher} needs a key")
    if args.shard_by is not None:
        return _init_sharded(args, path, key)
    if args.shard_remote is not None or args.max_shard_size is not None:
        args.parser.error("--shard-remote and --max-shard-size are for --shard-by")
    found = repository.kind(path)
    if found is not None and args.bare and found != "bare":
        raise CommandError(f"{path}: is a repository with a working tree; --bare is for a new one")
    made = repository.Made()
    try:
        if found is None:
            repository.create(path, bare=args.bare, made=made)
        if args.remote is not None:
            repository.set_origin(path, _remote_url(args.remote), made)
        with Store(path) as existing:
            if existing.remote is not None:
                existing.pull()  # a store that exists on the remote is joined, not created anew
        with Store(
            path,
            layout=args.layout,
            compression=args.compression,
            cipher=args.cipher,
            key=key,
            part_size=args.part_size,
        ) as store:
            recorded = store.init(push=False if args.no_push else None)
            config = store.config
    except BaseException:
        made.undo()  # a failed init leaves no repository, no origin behind
        raise
    if found is None:
        output.status(f"created {'a bare' if args.bare else 'a'} git repository in {path}")
    settings = (
        f"layout {config.layout}, compression {config.codec}, cipher {config.cipher or NO_CIPHER}"
    )
    if recorded:
        output.status(f"recorded the store's configuration in {path}: {settings}")
    else:
        output.status(f"{path} is a store already: {settings}")
    return 0


def _init_sharded(args: argparse.Namespace, path: str, key: bytes | None) -> int:
    """Make a sharded store: its catalog, and its shards as blobs come."""
    if args.part_size is not None:
        args.parser.error("--part-size is not for --shard-by; open the store with it")
    size = args.max_shard_size
    with init_sharded(
        path,
        shard_by=args.shard_by,
        remote=None if args.remote is None else _remote_url(args.remote),
        shard_remote=args.shard_remote,
        max_shard_bytes=DEFAULT_MAX_SHARD_BYTES if size is None else (size or None),
        layout=args.layout,
        compression=args.compression,
        cipher=args.cipher,
        key=key,
        push=not args.no_push,
    ) as store:
        assert isinstance(store, ShardedStore)
        template = store.sharding.remote
    output.status(
        f"created a sharded store in {path}: a repository per {args.shard_by}, "
        f"{'pushed to ' + template if template else 'without remotes'}"
    )
    return 0


def _remote_url(url: str) -> str:
    """A local path made absolute, since git would take it from the repository; other URLs
    as they are."""
    if _URL_SCHEME.match(url):
        return url
    return os.path.abspath(url)


def clone(args: argparse.Namespace) -> int:
    """Clone a remote store, partially unless ``--full``, and say what was made."""
    path = opening.store_path(args, args.path)
    key = opening.read_args_key(args)
    url = _remote_url(args.url)
    partial = cloning.clone_store(url, path, partial=not args.full, bare=args.bare)
    with Store(path, key=key) as store:
        # counting a sharded store's blobs would clone every shard
        what = _shards(store) if isinstance(store, ShardedStore) else _blobs(store.count())
    kind = "partial: blob contents are fetched as queries read them" if partial else "whole"
    output.status(f"cloned {what} into {path} ({kind})")
    return 0


def keygen(args: argparse.Namespace) -> int:
    """Print a new key, or write it to a new file only its owner can read."""
    key = generate_key().decode("ascii")
    path: str | None = args.output
    if args.force and path is None:
        args.parser.error("--force is for --output FILE")
    if path is None or path == "-":
        output.line(key)
        return 0
    output.secret_file(path, (key + "\n").encode("ascii"), replace=args.force)
    output.status(f"wrote a new key to {path} (mode 0600: only you can read it); keep a copy")
    return 0


def add(args: argparse.Namespace) -> int:
    """Add each file (``-``: standard input) as a blob, in one commit per at most
    ``max_push_bytes`` stored bytes (one commit unless they are larger). The files are
    streamed: the store reads each from its file object, opened when its turn comes."""
    paths: list[str] = args.files
    if paths.count("-") > 1:
        args.parser.error("'-' (standard input) can be given only once")
    if "-" in paths and args.key_file == "-":
        args.parser.error("standard input cannot hold both the key and a blob")
    if args.background and args.no_push:
        args.parser.error("--background pushes: it cannot go with --no-push")
    if args.wait is not None and not args.background:
        args.parser.error("--wait is the wait of --background")
    wait = (30.0 if args.wait is None else args.wait) if args.background else None
    key = named.key_name(args)
    sizes = [streams.input_size(path) for path in paths]  # fails before anything is written
    with opening.open_store(args, keyed=True, durable=args.durable, background=wait) as store:
        when = parse_when(args.time, store.plugins, time.time_ns())
        with _adding_progress(sizes) as progress:
            inputs = streams.opened_inputs(
                paths,
                on_read=progress.add_bytes,
                on_done=progress.add_items,
            )
            # Ctrl-C may come as the add returns: what landed is known by then, since the
            # result is appended in one step (no Python code runs, so no signal between).
            added: list[Sequence[BlobRef]] = []
            args.interrupted = functools.partial(_interrupted_add, added)
            times, push = None if when is None else [when] * len(paths), not args.no_push
            with contextlib.closing(inputs):
                added.append(store.addblobs(inputs, times, push=None if push else False, key=key))
        refs = added[0]
        if wait is not None:  # committed: say where, then wait for the push
            _print_refs(refs)
            output.flush()
            store.close()  # pushes within the wait; says what is left
            return 0
    _print_refs(refs)
    return 0


def _print_refs(refs: Sequence[BlobRef]) -> None:
    for ref in refs:
        output.line(f"{ref.iso} {ref.path}")


def _adding_progress(sizes: list[int | None]) -> Progress:
    """The bar of ``add``: bytes of the total when every input's size is known (regular
    files); else files done of the total, or the bytes read of a single input (standard
    input), without a total."""
    if all(size is not None for size in sizes):
        return Progress("adding", total=sum(size or 0 for size in sizes), unit="bytes")
    if len(sizes) == 1:
        return Progress("adding", unit="bytes")
    return Progress("adding", total=len(sizes))


def _interrupted_add(added: list[Sequence[BlobRef]]) -> str:
    """What an add interrupted once it returned (``added`` holds its result; before:
    empty) says."""
    count = sum(len(refs) for refs in added)
    if not count:
        return "interrupted: nothing was added"
    return f"interrupted, but the {_blobs_were(count)} added: do not add them again"


def _blobs_were(count: int) -> str:
    return f"{count} blob was" if count == 1 else f"{count} blobs were"


def ls(args: argparse.Namespace) -> int:
    """List blobs: time, stored size, path; or JSON Lines."""
    with opening.open_store(args) as store:
        start, end = opening.range_of(args, store)
        for info in store.listblobs(start, end):
            if args.json:
                document = {
                    "time": info.iso,
                    "timestamp_ns": info.timestamp_ns,
                    "size": info.stored_size,
                    "path": info.path,
                }
                output.line(json.dumps(document))
            else:
                output.line(f"{info.iso} {info.stored_size:>10} {info.path}")
    output.flush()
    return 0


def get(args: argparse.Namespace) -> int:
    """Write blobs to files named by their stored names (a rerun writes only what is
    missing), or concatenate them to standard output: those of the range, or those named."""
    paths: list[str] = args.paths
    key = named.key_name(args)
    if paths and (args.start is not None or args.end is not None or key is not None):
        args.parser.error("give blob paths or addresses, or --key, --start/--end: not both")
    if args.at is not None and key is None:
        args.parser.error("--at picks a version of a key: give --key NAME")
    to_stdout = args.cat or args.output == "-"
    if args.follow:
        if paths or args.end is not None or key is not None:
            args.parser.error("--follow follows blobs from --start on: no PATH, no --end")
        if not 0 < args.interval < float("inf"):
            args.parser.error(f"--interval {args.interval}: give a positive number of seconds")
        with opening.open_store(args, keyed=True) as store:
            return _follow(args, store, None if to_stdout else output.OutputFolder(args.output))
    written = skipped = 0
    with opening.open_store(args, keyed=True) as store, Progress("getting") as progress:
        files = None if to_stdout else output.OutputFolder(args.output)
        if paths:
            blobs: Iterable[Blob] = _blobs_at(store, paths)
            total = len(paths)
        elif key is not None:
            blobs, total = named.versions(args, store, key)
        else:
            start, end = opening.range_of(args, store)
            blobs = store.getblobs(start, end)
            total = store.count(start, end) if progress.enabled else 0
        progress.update(0, total)
        for blob in blobs:
            if files is None:
                with blob.open() as source:
                    streams.copy(source, output.data, progress.add_bytes)
            elif files.write(
                blob.address or output.file_name(blob.path), blob.open, progress.add_bytes
            ):
                written += 1
            else:
                skipped += 1
            progress.advance()
    if files is None:
        output.flush()
    else:
        there = f" ({skipped} there already)" if skipped else ""
        output.status(f"wrote {_blobs(written)} to {files.folder}{there}")
    return 0


def _follow(args: argparse.Namespace, store: Store, files: output.OutputFolder | None) -> int:
    """``get --follow``: write the blobs from ``--start`` on, then each new one as it
    arrives, until Ctrl-C (exit status 130). To standard output each blob is flushed as it
    is written; to a folder, each file written is named on standard error (one there
    already is skipped, as a rerun of ``get`` does)."""
    start, _ = opening.range_of(args, store)
    written = 0
    for blob in store.follow(start, interval=args.interval):
        if files is None:
            with blob.open() as source:
                streams.copy(source, output.data, lambda count: None)
            output.flush()
            continue
        name = output.file_name(blob.path)
        if files.write(name, blob.open):
            written += 1
            output.status(os.path.join(files.folder, name))
        args.interrupted = f"stopped following: wrote {_blobs(written)} to {files.folder}"
    return 0  # never: following ends with Ctrl-C


def _blobs_at(store: Store, paths: list[str]) -> Iterator[Blob]:
    """The blobs stored at ``paths`` (as ``ls`` prints them) or under content addresses (as
    ``put`` prints them), in that order. A path's blob is found by a query of its exact
    time, read from its name."""
    for path in paths:
        if is_address(path):
            yield named.addressed(store, path)
            continue
        filename = path.rpartition("/")[2]
        name = registry.parse(filename)
        if name is None:
            raise CommandError(f"{path}: not a blob's path; 'gitblobts ls' lists them")
        at = Nanoseconds(name.timestamp_ns)
        found = [blob for blob in store.getblobs(at, at) if blob.path == path.strip("/")]
        if not found:
            raise CommandError(f"{path}: no such blob in {store.path}; 'gitblobts ls' lists them")
        yield found[0]


def keys(args: argparse.Namespace) -> int:
    """List keys: :func:`gitblobts.cli.named.keys`."""
    return named.keys(args)


def put(args: argparse.Namespace) -> int:
    """Store files by content: :func:`gitblobts.cli.named.put`."""
    return named.put(args)


def push(args: argparse.Namespace) -> int:
    """Push the branch's commits to its remote; say how many went, or that none had to."""
    with opening.open_store(args) as store:
        _require_remote(store, "push to")
        result = store.push()
    branch, remote_ref = _short(store.branch), _short(result.ref)
    if args.json:
        output.document(
            {
                "branch": branch,
                "remote": result.remote,
                "remote_ref": remote_ref,
                "pushed": result.pushed,
                "pushes": result.pushes,
                "commit": result.commit,
            }
        )
    elif result.pushed and isinstance(store, ShardedStore):
        output.status(
            f"pushed {_commits(result.pushed)} of the catalog and its shards to their remotes "
            f"in {result.pushes} pushes"
        )
    elif result.pushed:
        pushes = (
            f" in {result.pushes} pushes, each within max_push_bytes" if result.pushes > 1 else ""
        )
        output.status(
            f"pushed {_commits(result.pushed)} of {branch} to {result.remote} ({remote_ref})"
            + pushes
        )
    else:
        output.status(
            f"nothing to push: {result.remote} ({remote_ref}) has every commit of {branch}"
        )
    return 0


def pull(args: argparse.Namespace) -> int:
    """Bring in the blobs others pushed to the remote; say how many arrived."""
    with opening.open_store(args) as store:
        _require_remote(store, "pull from")
        result = store.pull()
    branch = _short(store.branch)
    remote_ref = _short(result.ref) if result.ref is not None else None
    if args.json:
        output.document(
            {
                "branch": branch,
                "remote": result.remote,
                "remote_ref": remote_ref,
                "blobs": result.blobs,
                "commit": result.commit,
            }
        )
    else:
        output.status(
            f"pulled {_blobs(result.blobs)} from {result.remote} ({remote_ref}) into {branch}"
        )
    return 0


def _require_remote(store: Store, action: str) -> None:
    if isinstance(store, ShardedStore):
        if store.remote is None and store.sharding.remote is None:
            raise RemoteError(
                f"{store.path}: the sharded store has no remote to {action}: it was made "
                "without --remote nor --shard-remote"
            )
    elif store.remote is None:
        raise RemoteError(
            f"{store.path}: the branch has no remote to {action}; add one with "
            "git remote add origin URL"
        )


def status(args: argparse.Namespace) -> int:
    """Show the store: branch, remote, unpushed commits, blob count, configuration."""
    with opening.open_store(args) as store:
        target = store.remote
        url = repository.remote_url(store.path, target[0]) if target is not None else None
        unpushed = store.unpushed if target is not None else None
        age = store.unpushed_age if unpushed else None
        failure = store.push_failure if unpushed else None
        config = store.config
        count = store.count()
        configured = store.configured
        path, branch = store.path, _short(store.branch)
        shards = (len(store.shards), store.shard_by) if isinstance(store, ShardedStore) else None
    if args.json:
        output.document(
            {
                "store": path,
                "branch": branch,
                "remote": None
                if target is None
                else {"name": target[0], "url": url, "ref": _short(target[1])},
                "unpushed": unpushed,
                "unpushed_age": None if age is None else round(age, 3),
                "push_failure": None
                if failure is None
                else {
                    "message": failure.message,
                    "since": _iso(failure.since),
                    "attempts": failure.attempts,
                    "pid": failure.pid,
                },
                "blobs": count,
                "layout": config.layout,
                "compression": config.codec,
                "cipher": config.cipher,
                "configured": configured,
                **({} if shards is None else {"shards": {"count": shards[0], "by": shards[1]}}),
            }
        )
        return 0
    remote = "none"
    if target is not None:
        remote = f"{target[0]} {url or '(no URL)'} ({_short(target[1])})"
    fields = [
        ("store", path),
        ("branch", branch),
        ("remote", remote),
        ("unpushed", _commits(unpushed) if unpushed is not None else "-"),
        *([("oldest", f"committed {age:.0f} s ago")] if age is not None else []),
        *(
            [
                (
                    "push failed",
                    f"{failure.attempts} time(s) since {_iso(failure.since)} "
                    f"(process {failure.pid}): {failure.message}",
                )
            ]
            if failure is not None
            else []
        ),
        ("blobs", str(count)),
        ("layout", config.layout),
        ("compression", config.codec),
        ("cipher", config.cipher or NO_CIPHER),
        ("configured", "yes" if configured else "not yet (init or the first add)"),
        *([("shards", f"{shards[0]}, one per {shards[1]}")] if shards is not None else []),
    ]
    for name, value in fields:
        output.line(f"{name + ':':<13}{value}")
    return 0


def verify(args: argparse.Namespace) -> int:
    """Read and check every file; list the bad ones."""
    with opening.open_store(args, keyed=True) as store, Progress("verifying") as progress:
        report = store.verify(progress=progress.update)
    if args.json:
        output.document(
            {
                "checked": report.checked,
                "problems": [{"path": p.path, "reason": p.reason} for p in report.problems],
            }
        )
    else:
        for problem in report.problems:
            output.line(str(problem))
    noun = "file" if report.checked == 1 else "files"
    if report.problems:
        output.flush()
        count = len(report.problems)
        problems = "problem" if count == 1 else "problems"
        output.error(f"{count} {problems} in {report.checked} {noun}")
        return 1
    output.status(f"{report.checked} {noun} checked, no problems")
    return 0


def plugins(args: argparse.Namespace) -> int:
    """List the installed plugins and what each provides."""
    loaded = default_plugins()
    origins = _distributions()
    for name in loaded.plugin_names():
        origin = origins.get(name)
        provided = loaded.provided_by(name)
        callers = loaded.manager.get_hookcallers(loaded.manager.get_plugin(name)) or []
        stages = sorted(c.name for c in callers if not c.name.startswith(_REGISTER_HOOK))
        if args.json:
            output.document(
                {
                    "name": name,
                    "distribution": origin,
                    "provides": {kind: list(names) for kind, names in provided.items()},
                    "hooks": stages,
                }
            )
            continue
        output.line(f"{name} ({origin})" if origin else name)
        for kind, names in provided.items():
            output.line(f"  {kind}: {', '.join(names)}")
        if stages:
            output.line(f"  hooks: {', '.join(stages)}")
    return 0


def migrate(args: argparse.Namespace) -> int:
    """Rewrite the blobs of a gitblobts 0.0.7 store in the current format, in one commit. The
    key (if the store has one) reads the old blobs and encrypts the new ones."""
    key = opening.read_args_key(args)
    if args.cipher not in (None, NO_CIPHER) and key is None:
        raise KeyRequiredError(f"--cipher {args.cipher} needs a key")
    with Store(opening.found_store_path(args), compression=args.from_compression, key=key) as store:
        report = store.migrate(
            layout=args.layout,
            compression=args.compression,
            cipher=args.cipher,
            push=False if args.no_push else None,
        )
        config = store.config
    if not report.migrated:
        output.status(f"{store.path}: no blobs of gitblobts 0.0.7 to migrate")
        return 0
    noun = "blob" if report.migrated == 1 else "blobs"
    output.status(
        f"migrated {report.migrated} {noun} of gitblobts 0.0.7 in {store.path}: layout "
        f"{config.layout}, compression {config.codec}, cipher {config.cipher or NO_CIPHER}"
    )
    return 0


def _distributions() -> dict[str, str]:
    """Entry-point name to ``distribution version``, for installed plugins."""
    found: dict[str, str] = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(entry_point, "dist", None)
        if dist is not None:
            found[entry_point.name] = f"{dist.name} {dist.version}"
    return found


def _iso(seconds: float) -> str:
    """A time as seconds since the epoch, in ISO 8601, UTC, to the second."""
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat(
        timespec="seconds"
    )


def _commits(count: int) -> str:
    return f"{count} commit" if count == 1 else f"{count} commits"


def _blobs(count: int) -> str:
    return f"{count} blob" if count == 1 else f"{count} blobs"


def _shards(store: ShardedStore) -> str:
    count = len(store.shards)
    return f"the catalog of {count} shard{'' if count == 1 else 's'} by {store.shard_by}"


def _short(ref: str) -> str:
    return ref.removeprefix("refs/heads/")
