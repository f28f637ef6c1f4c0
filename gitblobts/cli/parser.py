"""The command line: ``gitblobts [-C PATH] COMMAND [OPTIONS]``, as argparse understands it."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from gitblobts.cli import commands
from gitblobts.cli.key import KEY_ENV
from gitblobts.cli.when import OPEN_HELP, WHEN_HELP

PROG = "gitblobts"

_DESCRIPTION = """\
Git-backed, time-indexed blob storage. Each blob is a file in a git repository, named by
its nanosecond UTC time, and blobs come back by time range."""

_EPILOG = f"""\
examples:
  gitblobts init demo
  echo hello | gitblobts -C demo add -
  gitblobts -C demo ls --start '1 hour ago'
  gitblobts -C demo get --start yesterday --output out/

Commands that read or write blob contents take the key from --key-file FILE or ${KEY_ENV}.
Exit status: 0 on success, 1 on a failure (a one-line message on standard error), 2 on a
usage error, 130 when interrupted."""


WHEN_OPTIONS = ("--time", "--start", "--end")
"""Options that take a time, which may begin with a minus sign."""

_MINUS_VALUE = re.compile(r"-(?:[0-9.]|inf\b)", re.IGNORECASE)
"""A time that begins with a minus sign: ``-90min``, ``-1.5h``, ``-inf``. Never an option:
no option name begins with a digit, a dot or ``inf``."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a time option takes a value that begins with a minus sign
    (``--time -90min``), which argparse would take for an option: it only takes plain
    negative numbers so."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        words = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(_attach_minus_values(words), namespace)


def _attach_minus_values(words: list[str]) -> list[str]:
    """``--time -90min`` as ``--time=-90min``; nothing after ``--`` changes."""
    joined: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            return joined + words[index:]
        following = words[index + 1] if index + 1 < len(words) else ""
        if word in WHEN_OPTIONS and _MINUS_VALUE.match(following):
            joined.append(f"{word}={following}")
            index += 2
            continue
        joined.append(word)
        index += 1
    return joined


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line."""
    # No abbreviations: '--key SECRET' must be a usage error, not '--key-file SECRET'.
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log what happens, and show the traceback of a failure",
    )
    keyed = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    keyed.add_argument(
        "--key-file",
        metavar="FILE",
        help=f"read the key from FILE ('-': standard input); default: ${KEY_ENV}",
    )

    parser = _Parser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "-C",
        dest="directory",
        metavar="PATH",
        action="append",
        help="the store is the repository in PATH (default: the current folder); files "
        "named on the command line are still taken from the current folder",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=False,
        help="log what happens, and show the traceback of a failure",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subcommands = parser.add_subparsers(
        title="commands", metavar="COMMAND", required=True, parser_class=argparse.ArgumentParser
    )

    def command(name: str, help: str, *parents: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub = subcommands.add_parser(
            name, help=help, description=help, parents=[common, *parents], allow_abbrev=False
        )
        sub.set_defaults(run=getattr(commands, name), parser=sub)
        return sub

    init = command(
        "init", "create a repository if needed, and record the store's configuration", keyed
    )
    init.add_argument("path", nargs="?", default=".", metavar="PATH", help="default: .")
    init.add_argument("--remote", metavar="URL", help="add URL as the remote 'origin'")
    init.add_argument(
        "--layout", metavar="NAME", help="folder layout: 20-second (default), hourly or flat"
    )
    init.add_argument(
        "--compression", metavar="NAME", help="codec: zstd (default), gzip, bz2, lzma, none"
    )
    init.add_argument(
        "--cipher",
        metavar="NAME",
        help="cipher when a key is given: aes256gcm (default), fernet, none",
    )
    init.add_argument(
        "--part-size",
        metavar="BYTES",
        type=int,
        help="keep a blob whose stored form is larger in parts of at most BYTES (default: "
        "$GITBLOBTS_PART_SIZE, else 16777216, 16 MiB)",
    )
    init.add_argument("--bare", action="store_true", help="create a bare repository")
    init.add_argument("--no-push", action="store_true", help="do not push the configuration")
    init.add_argument(
        "--shard-by",
        choices=("year", "month", "day"),
        help="make a sharded store: a repository per UTC year, month or day, and a catalog "
        "(--remote is the catalog's)",
    )
    init.add_argument(
        "--shard-remote",
        metavar="TEMPLATE",
        help="each shard's remote, {shard} replaced by its name (default: --remote's URL "
        "with -{shard} before .git)",
    )
    init.add_argument(
        "--max-shard-size",
        metavar="BYTES",
        type=int,
        help="a shard's repository size past which its period gets another shard (default: "
        "4294967296, 4 GiB; 0: never)",
    )

    clone = command(
        "clone",
        "make a store from a remote one: commits and trees only, blob contents fetched as "
        "queries read them (a working tree needs GITBLOBTS_BACKEND=git)",
        keyed,
    )
    clone.add_argument("url", metavar="URL", help="the remote store's repository")
    clone.add_argument("path", metavar="DIR", help="a new folder (or an empty one)")
    clone.add_argument(
        "--full", action="store_true", help="fetch every blob now: a whole clone, any backend"
    )
    clone.add_argument("--bare", action="store_true", help="make a bare repository")

    keygen = command("keygen", "print a new key, or write it to a file only you can read")
    keygen.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the key to FILE, created readable and writable by you only (mode 0600); "
        "an existing FILE is refused: it may hold the key of a store",
    )
    keygen.add_argument(
        "--force", action="store_true", help="with --output: replace an existing FILE"
    )

    add = command("add", "add each FILE as a blob, in one commit (per 1.5 GiB stored)", keyed)
    add.add_argument("files", nargs="+", metavar="FILE", help="a file to add; '-': standard input")
    add.add_argument("--time", metavar="WHEN", help=f"the blobs' time: {WHEN_HELP}; default: now")
    add.add_argument("--no-push", action="store_true", help="commit, but do not push")
    add.add_argument(
        "--background",
        action="store_true",
        help="print the blobs once committed, then push, retrying while the remote is "
        "down, for at most --wait seconds; what is left stays committed (docs/cli.rst)",
    )
    add.add_argument(
        "--wait",
        type=_seconds,
        metavar="SECONDS",
        help="with --background: the longest wait for the push (default 30)",
    )
    add.add_argument(
        "--key",
        metavar="NAME",
        help="add each FILE as a new version of the stream named NAME (any text; its versions "
        "by time: get --key NAME)",
    )
    add.set_defaults(interrupted="interrupted: nothing was added")  # until the add lands
    add.add_argument(
        "--durable",
        action="store_true",
        help="return only once the commit is on disk (fsync), safe from a power cut",
    )

    ls = command("ls", "list blobs: time, stored size in bytes, path")
    _range_options(ls)
    ls.add_argument("--json", action="store_true", help="one JSON object per line")

    get = command(
        "get",
        "write blobs to files named by their stored names, or to standard output; a rerun "
        "writes only what is missing",
        keyed,
    )
    get.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="a blob's path, as 'ls' prints it, or an ADDRESS, as 'put' prints it; without: "
        "the blobs from START to END",
    )
    _range_options(get)
    get.add_argument(
        "--key",
        metavar="NAME",
        help="the latest version of the key NAME; with --start/--end, its versions",
    )
    get.add_argument(
        "--at", metavar="WHEN", help="with --key: the latest version at or before WHEN"
    )
    target = get.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="write each blob to DIR/TIME_RANDOM (its stored name), unless there already "
        "('-': --cat)",
    )
    target.add_argument("--cat", action="store_true", help="write the blobs to standard output")
    get.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="after the blobs from START on, write each new blob as it arrives, pulling from "
        "the remote if there is one, until Ctrl-C (like tail -f)",
    )
    get.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="with --follow: how often to look for new blobs (default 1)",
    )

    keys = command("keys", "list the keys of the store's streams, sorted", keyed)
    keys.add_argument("prefix", nargs="?", default="", metavar="PREFIX", help="only keys so begun")
    listing = keys.add_mutually_exclusive_group()
    listing.add_argument("--json", action="store_true", help='one {"key": ...} per line')
    listing.add_argument("-z", dest="null", action="store_true", help="end each key with NUL")

    put = command(
        "put", "store each FILE under the hash of its bytes, once; print its ADDRESS", keyed
    )
    put.add_argument("files", nargs="+", metavar="FILE", help="a file to put; '-': standard input")
    put.add_argument("--no-push", action="store_true", help="commit, but do not push")
    put.add_argument(
        "--durable",
        action="store_true",
        help="return only once the commit is on disk (fsync), safe from a power cut",
    )

    json_help = "write one JSON object, on one line (its keys: docs/cli.rst)"
    push = command("push", "push commits to the remote; say how many went")
    push.add_argument("--json", action="store_true", help=json_help)
    pull = command("pull", "pull others' blobs from the remote; say how many arrived")
    pull.add_argument("--json", action="store_true", help=json_help)
    status = command(
        "status", "show the branch, remote, unpushed commits, blob count, configuration"
    )
    status.add_argument("--json", action="store_true", help=json_help)
    verify = command("verify", "read and check every file of the store; list the bad ones", keyed)
    verify.add_argument("--json", action="store_true", help=json_help)
    plugins = command("plugins", "list installed plugins and what each provides")
    plugins.add_argument("--json", action="store_true", help="one JSON object per plugin per line")

    migrate = command(
        "migrate", "rewrite a store of gitblobts 0.0.7 in the current format, in one commit", keyed
    )
    migrate.add_argument(
        "--from-compression",
        metavar="NAME",
        help="how gitblobts 0.0.7 compressed the blobs, which it did not record: gzip, bz2, "
        "lzma, none (default)",
    )
    migrate.add_argument(
        "--layout",
        metavar="NAME",
        help="folder layout of the store: 20-second (default), hourly or flat",
    )
    migrate.add_argument(
        "--compression",
        metavar="NAME",
        help="codec of the rewritten blobs: zstd (default), gzip, bz2, lzma, none",
    )
    migrate.add_argument(
        "--cipher",
        metavar="NAME",
        help="cipher of the rewritten blobs with a key: aes256gcm (default), fernet, none",
    )
    migrate.add_argument(
        "--no-push", action="store_true", help="migrate the local branch only: no pull, no push"
    )
    return parser


def _range_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--start",
        metavar="WHEN",
        help=f"from this time, inclusive ({WHEN_HELP}; {OPEN_HELP}); default: open (-inf)",
    )
    parser.add_argument(
        "--end",
        metavar="WHEN",
        help="to this time, inclusive; default: open (inf). Newest first when START is after "
        "END: --start now --end -inf",
    )


def _seconds(text: str) -> float:
    """A number of seconds, zero or more (``--wait``)."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of seconds, 0 or more")
    return seconds


def _version() -> str:
    from gitblobts import __version__

    return __version__
